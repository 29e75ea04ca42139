// Per-tenant rate limits, registered once per tenant instance. A tenant-wide limit covers every route,
// keyed by tenant + authenticated client (from headers) + client address (IPv6 /64). It is counted in
// this node's memory, no Redis round trip per request: each node allows its share of the budget,
// ceil(max / live nodes), the node count coming from the Redis heartbeat set (plugins/node-census.ts).
// Tolerance: across N nodes a key is allowed at most N * ceil(max / N) (< max + N) per window when the
// load balancer spreads its requests, and fewer (its node's share) when they all land on one node; for a
// heartbeat interval after a node joins or leaves, the others still share by the old count.
// Dialects add named limiters on credential paths keyed by the identifier (an email, an address): those are
// @fastify/rate-limit counters in Redis when the deployment has one (exact, shared by every node), in memory
// otherwise. When Redis fails, requests are served (fail open, logged): a Redis outage must not refuse
// every sign-in. A 429 leaves through the dialect's own error handler as a RateLimitedError, so each
// dialect answers in its own envelope. The first refusal of a
// counter in its window is recorded as a `rate-limited` audit event (deduped per window: in Redis with SET NX
// across nodes for the credential limiters; per node for the tenant-wide limit, which never calls Redis), never
// blocking the answer.
import { createHash } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import { parse as parseDuration } from '@lukeed/ms'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import fp from 'fastify-plugin'
import { clientIpKey } from './client-ip.ts'
import { hashToken, safeEqual } from './crypto.ts'
import { basicCredentials } from './http-auth.ts'
import type { RateLimitsConfig } from './tenant/schema-parts.ts'

type Limit = NonNullable<RateLimitsConfig['default']>

/** Applies when a tenant sets no `rateLimits.default`: generous, but a single client cannot flood a tenant. */
export const DEFAULT_TENANT_LIMIT: Limit = { max: 600, timeWindow: '1 minute' }

/** Most keys one tenant instance counts in memory: past it, expired windows are swept, then the oldest keys dropped. */
export const LOCAL_KEYS = 20_000

/**
 * Fixed-window counters in memory, one per key; `budget()` is read on each hit so a change in the node
 * count applies at once. hit() answers null (allowed) or the seconds until the key's window ends.
 */
export class LocalWindows {
  readonly #windows = new Map<string, { count: number, resetAt: number }>()
  constructor (readonly windowMs: number, readonly budget: () => number, readonly maxKeys = LOCAL_KEYS) {}
  get size (): number { return this.#windows.size }
  hit (key: string, now = Date.now()): number | null {
    let w = this.#windows.get(key)
    if (w === undefined || w.resetAt <= now) {
      if (w !== undefined) this.#windows.delete(key)
      else if (this.#windows.size >= this.maxKeys) this.#evict(now)
      w = { count: 0, resetAt: now + this.windowMs }
      this.#windows.set(key, w)
    }
    if (w.count >= this.budget()) return Math.max(1, Math.ceil((w.resetAt - now) / 1000))
    w.count++
    return null
  }
  #evict (now: number): void {
    for (const [k, w] of this.#windows) if (w.resetAt <= now) this.#windows.delete(k)
    // Still full: drop the oldest windows (Map order is insertion order; a renewed window is re-inserted).
    const excess = this.#windows.size - Math.floor(this.maxKeys * 0.9)
    if (excess <= 0) return
    let n = 0
    for (const k of this.#windows.keys()) {
      if (n++ >= excess) break
      this.#windows.delete(k)
    }
  }
}

const windowMs = (w: number | string): number => (typeof w === 'number' ? w : parseDuration(w) ?? 60_000)

export class RateLimitedError extends Error {
  readonly statusCode = 429
  readonly code = 'VST_ERR_RATE_LIMITED'
  readonly retryAfter: number
  constructor (retryAfter: number) {
    super(`Request was throttled. Expected available in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`)
    this.retryAfter = retryAfter
  }
}

/** Resolves to null when allowed, or to the seconds until the client may try again. */
export type Limiter = (req: FastifyRequest) => Promise<number | null>

declare module 'fastify' {
  interface FastifyInstance {
    /** A named limiter of this tenant: `key` picks the counter (e.g. the email a credential path names). */
    limiter (name: string, limit: Limit, key: (req: FastifyRequest) => string): Limiter
    /** The same limiter as a hook: over the limit it throws RateLimitedError, which the dialect's envelope answers. */
    limitHook (name: string, limit: Limit, key: (req: FastifyRequest) => string): (req: FastifyRequest) => Promise<void>
  }
}

/** Windows already recorded in single-node mode: counter key → window end (ms). Bounded. */
const recorded = new Map<string, number>()
const RECORDED_MAX = 10_000

/** True the first time a counter is refused in its window (the caller records that one refusal). */
async function firstInWindow (redis: Redis | null, prefix: string, key: string, ttlSeconds: number): Promise<boolean> {
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 22) // the key may hold an email
  if (redis) return (await redis.set(`${prefix}:rl-event:${id}`, '1', 'EX', Math.max(1, ttlSeconds), 'NX')) === 'OK'
  const now = Date.now()
  if ((recorded.get(id) ?? 0) > now) return false
  if (recorded.size >= RECORDED_MAX) for (const [k, until] of recorded) if (until <= now || recorded.size >= RECORDED_MAX) recorded.delete(k)
  recorded.set(id, now + ttlSeconds * 1000)
  return true
}

export default fp(async function tenantRateLimits (app: FastifyInstance) {
  const tenant = app.tenant
  // `local`: deduped in this process only (the tenant-wide limit, which must cost no Redis round trip: at most
  // one event per node and window).
  const record = (name: string, key: string, retryAfter: number, local = false): void => {
    void firstInWindow(local ? null : tenant.redis, tenant.redisPrefix, key, retryAfter)
      .then((first) => first ? tenant.identity.recordEvent('rate-limited', null, { limiter: name, retryAfter }) : undefined)
      .catch((err: Error) => app.log.warn({ err: err.message, limiter: name }, 'could not record a rate-limited event'))
  }
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    ...(tenant.redis ? { redis: tenant.redis, nameSpace: `${tenant.redisPrefix}:rl:` } : {})
  })
  app.decorate('limiter', (name: string, limit: Limit, key: (req: FastifyRequest) => string): Limiter => {
    const counter = (req: FastifyRequest) => `${tenant.id}|${name}|${key(req)}`
    const check = app.createRateLimit({ max: limit.max, timeWindow: limit.timeWindow, keyGenerator: counter })
    return async (req) => {
      const r = await check(req)
      if (!(!r.isAllowed && r.isExceeded)) return null
      const retryAfter = Math.max(1, r.ttlInSeconds)
      record(name, counter(req), retryAfter)
      return retryAfter
    }
  })

  app.decorate('limitHook', (name: string, limit: Limit, key: (req: FastifyRequest) => string) => {
    const check = app.limiter(name, limit, key)
    return async (req: FastifyRequest) => {
      const retryAfter = await check(req)
      if (retryAfter !== null) throw new RateLimitedError(retryAfter)
    }
  })

  // SHA-256 of each confidential client's secret: a claimed client id selects that client's budget only with its
  // secret, or anyone could spread guesses over fresh budgets by naming a client (wrong secret and all).
  const secretOf = new Map(tenant.clients.flatMap((c) => (c.secret ? [[c.id, hashToken(c.secret)] as const] : [])))
  /** The API client a request proves it speaks for, read from its headers (the limit runs before the body is read,
   *  ahead of every dialect's own checks): HTTP Basic client credentials that match, or what a dialect's manifest
   *  recognises (a Syncano instance from a valid API key). Anything else, claimed or unknown, counts as no client:
   *  the per-address bucket. */
  const clientOf = (req: FastifyRequest): string => {
    const basic = basicCredentials(req.headers.authorization)
    const expected = basic ? secretOf.get(basic.id) : undefined
    if (basic && expected !== undefined && safeEqual(hashToken(basic.secret), expected)) return `c:${basic.id}`
    for (const of of tenant.rateLimitClients) {
      const client = of(req)
      if (client !== null) return client
    }
    return '-'
  }
  const limit = tenant.rateLimits.default ?? DEFAULT_TENANT_LIMIT
  const tenantWide = new LocalWindows(windowMs(limit.timeWindow), () => Math.ceil(limit.max / Math.max(1, tenant.nodes())))
  // First thing on every request, so refused and malformed requests count too. Synchronous: no promise per request.
  app.addHook('onRequest', (req, _reply, done) => {
    const key = `${clientOf(req)}|${clientIpKey(req.ip)}`
    const retryAfter = tenantWide.hit(key)
    if (retryAfter !== null) record('default', `${tenant.id}|default|${key}`, retryAfter, true) // not awaited, no Redis
    done(retryAfter === null ? undefined : new RateLimitedError(retryAfter))
  })
}, { name: 'vestibule-rate-limits', fastify: '5.x', decorators: { fastify: ['tenant'] } })
