// Who calls the admin API: `Authorization: Bearer vsta_…`, a live admin token (tokens.ts) whose scopes
// and tenant restriction each route checks. Failed attempts are counted per client address (Redis when the
// deployment has one, so every node counts together); over the limit every attempt from that address gets 429
// until the window ends, a right token included. A token restricted to one tenant sees no other: any other
// tenant is "not found", so a customer's token cannot even learn which tenants exist.
import proxyAddr from '@fastify/proxy-addr'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/index.ts'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { credentialsFor } from '../../plugins/http-auth.ts'
import { AdminError, notFound } from './errors.ts'
import { verifyAdminToken, type AdminTokenInfo, type Scope } from './tokens.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin token of this request (admin API routes only). */
    adminToken: AdminTokenInfo | null
  }
  interface FastifyContextConfig {
    /** The scope an admin route needs; `public` for none (the OpenAPI document). */
    adminScope?: Scope | 'public'
    /** The route acts on the deployment, not on one tenant: refused to tenant-restricted tokens. */
    adminAllTenants?: boolean
  }
}

export interface AuthOptions {
  db: Kysely<Database>
  redis: Redis | null
  redisPrefix: string
  trustProxy: boolean | string | string[]
  /** Failed attempts allowed per client address per window (default 20 per 5 minutes). */
  failures?: { max: number, windowSeconds: number }
}

type Trust = (addr: string, i: number) => boolean

function trustFn (t: AuthOptions['trustProxy']): Trust {
  if (t === true) return () => true
  if (t === false) return () => false
  return proxyAddr.compile(Array.isArray(t) ? t : t.split(',').map((s) => s.trim()))
}

/** Failed-auth counters: a fixed window per client address. */
class FailureCounter {
  readonly #memory = new Map<string, { count: number, resetAt: number }>()
  constructor (private readonly redis: Redis | null, private readonly prefix: string, private readonly max: number, private readonly windowMs: number) {}

  /** Seconds until the address may try again, or null when it may now. */
  async blocked (key: string): Promise<number | null> {
    if (this.redis) {
      try {
        const [count, ttl] = await Promise.all([this.redis.get(this.#key(key)), this.redis.pttl(this.#key(key))])
        return Number(count ?? 0) >= this.max ? Math.max(1, Math.ceil(Math.max(ttl, 0) / 1000)) : null
      } catch { return null } // Redis down: fail open; tokens are 256 random bits, the limit is a second line
    }
    const e = this.#memory.get(key)
    if (!e || e.resetAt <= Date.now()) return null
    return e.count >= this.max ? Math.max(1, Math.ceil((e.resetAt - Date.now()) / 1000)) : null
  }

  async fail (key: string): Promise<void> {
    if (this.redis) {
      try {
        const k = this.#key(key)
        const n = await this.redis.incr(k)
        if (n === 1) await this.redis.pexpire(k, this.windowMs)
      } catch { /* fail open */ }
      return
    }
    const now = Date.now()
    if (this.#memory.size > 10_000) for (const [k, v] of this.#memory) if (v.resetAt <= now) this.#memory.delete(k)
    const e = this.#memory.get(key)
    if (!e || e.resetAt <= now) this.#memory.set(key, { count: 1, resetAt: now + this.windowMs })
    else e.count++
  }

  #key (k: string): string { return `${this.prefix}:admin:authfail:${k}` }
}

export function installAdminAuth (app: FastifyInstance, opts: AuthOptions): void {
  const trust = trustFn(opts.trustProxy)
  const failures = opts.failures ?? { max: 20, windowSeconds: 300 }
  const counter = new FailureCounter(opts.redis, opts.redisPrefix, failures.max, failures.windowSeconds * 1000)
  const unauthorized = (message: string) => new AdminError(401, 'unauthorized', message, {}, { 'www-authenticate': 'Bearer realm="vestibule-admin"' })

  app.decorateRequest('adminToken', null)
  app.addHook('onRequest', async (req) => {
    const cfg = req.routeOptions.config
    if (cfg.adminScope === 'public') return
    const address = clientIpKey(proxyAddr(req.raw, trust))
    const wait = await counter.blocked(address)
    if (wait !== null) throw new AdminError(429, 'too_many_failed_attempts', `Too many failed admin authentications from this address; try again in ${wait} seconds.`, {}, { 'retry-after': String(wait) })
    const header = req.headers.authorization
    const bearer = credentialsFor(header, 'Bearer')
    const token = bearer ? await verifyAdminToken(opts.db, bearer) : undefined
    if (!token) {
      await counter.fail(address)
      req.log.warn({ address }, 'admin authentication failed')
      throw unauthorized(header ? 'The admin token is unknown, revoked or expired.' : 'An admin token is required: Authorization: Bearer <token>.')
    }
    req.adminToken = token
  })

  // After routing and parsing: the tenant restriction first (another tenant is not found), then the scope.
  app.addHook('preHandler', async (req) => {
    const cfg = req.routeOptions.config
    const token = req.adminToken
    if (cfg.adminScope === 'public' || !token) return
    const tenant = (req.params as { id?: string } | undefined)?.id
    if (token.tenantId !== null) {
      if (tenant !== undefined && tenant !== token.tenantId) throw notFound(`no tenant "${tenant}"`)
      if (cfg.adminAllTenants) throw new AdminError(403, 'forbidden', `This token is restricted to tenant "${token.tenantId}"; this call needs a token for every tenant.`)
    }
    if (cfg.adminScope && !token.scopes.includes(cfg.adminScope)) throw new AdminError(403, 'forbidden', `This token lacks the scope ${cfg.adminScope}.`)
  })
}

/** The one tenant a request's token is restricted to, or null for every tenant. */
export function restrictedTo (req: FastifyRequest): string | null {
  return req.adminToken?.tenantId ?? null
}
