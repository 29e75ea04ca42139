// What a dialect knows about its tenant: its config, its provider registry and the shared services.
// Decorated on each tenant's Fastify instance as `fastify.tenant`.
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/index.ts'
import type { MailOutbox } from '../mail/types.ts'
import type { ProviderRegistry } from '../providers/types.ts'
import type { ClientConfig, EmailConfig, FlowConfig, InstanceConfig, Linking, RateLimitsConfig } from './schema-parts.ts'

export interface TenantContext {
  id: string
  hosts: string[]
  /** Base URL of this tenant as the outside world reaches it (includes `/t/<id>` when served under the prefix). */
  publicUrl: string
  frontendUrl: string | null
  locales: string[]
  defaultLocale: string
  linking: Linking
  clients: ClientConfig[]
  instances: InstanceConfig[]
  flows: FlowConfig[]
  email: EmailConfig
  rateLimits: RateLimitsConfig
  providers: ProviderRegistry
  db: Kysely<Database>
  mail: MailOutbox
  /** Shared Redis client (rate-limit stores, caches), or null in single-node mode. */
  redis: Redis | null
  /** Prefix for every Redis key this deployment writes (e.g. rate-limit counters): `${redisPrefix}:…`. */
  redisPrefix: string
  /** Client by its public id (client_id / client_key), or undefined. */
  client (id: unknown): ClientConfig | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    tenant: TenantContext
  }
}
