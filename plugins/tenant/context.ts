// What a dialect knows about its tenant: its config, its provider registry, its identity core (bound to
// this tenant's database, id, linking rule and mail) and the shared services. Decorated on each tenant's
// Fastify instance as `fastify.tenant`. No dialect sees a database handle.
import type { FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { TenantIdentity } from '../identity/tenant-identity.ts'
import type { ProviderRegistry } from '../providers/types.ts'
import type { ClientConfig, EmailConfig, Linking, RateLimitsConfig } from './schema-parts.ts'

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
  email: EmailConfig
  rateLimits: RateLimitsConfig
  providers: ProviderRegistry
  /** Accounts, identities, sessions, one-time tokens and mail of this tenant. */
  identity: TenantIdentity
  /** Shared Redis client (rate-limit stores, caches), or null in single-node mode. */
  redis: Redis | null
  /** Prefix for every Redis key this deployment writes (e.g. rate-limit counters): `${redisPrefix}:…`. */
  redisPrefix: string
  /** Live nodes of the deployment (the Redis heartbeat set; 1 without Redis): the tenant-wide limit's share. */
  nodes (): number
  /** Client by its public id (client_id / client_key), or undefined. */
  client (id: unknown): ClientConfig | undefined
  /** A top-level section a dialect owns (e.g. `instances`), as validated against that dialect's schema. */
  section<T> (name: string): T
  /** Who a request speaks for, per the mounted dialects' manifests (the tenant-wide rate limit's client key). */
  rateLimitClients: Array<(req: FastifyRequest) => string | null>
}

declare module 'fastify' {
  interface FastifyInstance {
    tenant: TenantContext
  }
}
