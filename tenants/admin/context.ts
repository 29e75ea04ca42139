// What the admin API's route files share: the store, the source, the router, the keyring, and the small
// helpers every route needs (If-Match, ETags, cursors, how a tenant is shown).
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/index.ts'
import type { SecretKeyring } from '../../db/sealing.ts'
import type { DbTenantSource } from '../db-source.ts'
import { redact, type StoredTenant, type TenantStore, type WriteOptions } from '../db-store.ts'
import type { TenantRouter } from '../router.ts'
import { AdminError } from './errors.ts'

export interface AdminContext {
  db: Kysely<Database>
  store: TenantStore
  source: DbTenantSource
  router: TenantRouter
  ring: SecretKeyring
  redis: Redis | null
  redisPrefix: string
}

/** If-Match as versions: `"3"`, `W/"3"`, `3`, a list, or `*`. An entity tag that is not a version matches nothing. */
export function ifMatchOf (req: FastifyRequest): WriteOptions['ifMatch'] {
  const h = req.headers['if-match']
  if (typeof h !== 'string') return undefined
  if (h.trim() === '*') return '*'
  return h.split(',').flatMap((part) => {
    const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(part)
    return m ? [Number(m[1])] : []
  })
}

/** Who makes a change, as history and audit events name them: `token:<id>`. */
export const actorOf = (req: FastifyRequest): string | null => (req.adminToken ? `token:${req.adminToken.id}` : null)

export function writeOptions (req: FastifyRequest): WriteOptions {
  return {
    ifMatch: ifMatchOf(req),
    actor: actorOf(req),
    restricted: (req.adminToken?.tenantId ?? null) !== null,
    what: (req.routeOptions.schema as { operationId?: string } | undefined)?.operationId
  }
}

export const etag = (version: number): string => `"${version}"`

export function encodeCursor (v: string | number): string { return Buffer.from(String(v)).toString('base64url') }
export function decodeCursor (c: string | undefined): string | undefined {
  if (c === undefined) return undefined
  const v = Buffer.from(c, 'base64url').toString('utf8')
  if (!v || v.length > 256) throw new AdminError(400, 'bad_request', 'querystring/cursor: not a cursor this API gave')
  return v
}

const iso = (d: Date | undefined) => d?.toISOString()

/** A stored tenant as the API shows it (secrets as placeholders), with its ETag set on the reply. */
export function storedView (ctx: AdminContext, t: StoredTenant, reply?: FastifyReply): Record<string, unknown> {
  if (reply) void reply.header('etag', etag(t.version))
  const refusal = ctx.source.refusal(t.id)
  return {
    id: t.id,
    source: 'database',
    version: t.version,
    // Stored tenants load on their first request; one this node could not load says why.
    serving: !(refusal && refusal.version === t.version),
    ...(refusal && refusal.version === t.version ? { errors: refusal.errors.map((e) => `${e.path || '/'}: ${e.message}`) } : {}),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    config: redact(ctx.ring, t.doc, t.id)
  }
}

/** A tenant defined outside the database (a file, the app options), read-only here. */
export function outsideView (ctx: AdminContext, id: string): Record<string, unknown> | undefined {
  const config = ctx.router.get(id)
  if (!config || ctx.source.serves(id)) return undefined
  const file = ctx.router.fileOf(id)
  return { id, source: file ? 'file' : 'inline', ...(file ? { file } : {}), serving: true, config: redact(ctx.ring, config, id) }
}
