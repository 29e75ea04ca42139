// Stored tenants as a source of the front router, next to tenant files. A node reads none at start: a request
// for a tenant the router does not hold is resolved from the database in one indexed statement (by primary key
// for `/t/<id>`, through tenant_hosts' primary key joined to the config for a Host), built, and kept. At most
// `maxKept` stored tenants are kept (default 500, TENANTS_DB_MAX_KEPT: a built tenant with all five dialects
// holds about 1 MB); past it the least recently used one is dropped and loads again on its next request. Kept tenants stay current on every node through the
// tenant-reload announcement on Redis (a write publishes `db <id>` on the channel file reloads use) and a
// periodic comparison of their versions, so a node that missed an announcement (Redis down, a reconnect)
// converges on its next poll. Misses (ids and hosts the database does not have) are remembered, at most 10,000,
// until the next announcement or poll, so a flood of requests for an unknown host costs one lookup, not one
// per request. A tenant defined by a file wins over a stored one of the same id.
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { LoadedStored, TenantStore } from './db-store.ts'
import type { TenantRouter } from './router.ts'

export interface DbSourceOptions {
  store: TenantStore
  router: TenantRouter
  redis: Redis | null
  redisPrefix: string
  log: FastifyBaseLogger
  /** Compare kept tenants' versions with the database this often (default 30 s); 0 turns polling off. */
  pollMs?: number
  /** Stored tenants kept at most (default DEFAULT_MAX_KEPT); past it the least recently used one is dropped (and reloaded on its next request). */
  maxKept?: number
}

/** The channel file reloads are announced on (app.ts); stored tenants' changes travel on it as `db <id>`. */
export const reloadChannel = (prefix: string): string => `${prefix}:tenants:reload`
const MESSAGE = 'db '
const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/
const MAX_MISSES = 10_000
/** Stored tenants a node keeps (built) at most, unless told otherwise: about 0.45 MB each with every dialect mounted (docs/bench.md). */
export const DEFAULT_MAX_KEPT = 500

type Errors = Array<{ path: string, message: string }>

export class DbTenantSource {
  readonly #o: DbSourceOptions
  /** Stored tenants this node serves: id → version, in the order they were first kept. */
  readonly #served = new Map<string, number>()
  /** Stored tenants that cannot serve (a key missing, a document the schema now refuses): id → errors. */
  readonly #refused = new Map<string, { version: number, errors: Errors }>()
  /** Ids and hosts the database did not have (`i:<id>`, `h:<host>`), until the next announcement or poll. */
  readonly #misses = new Set<string>()
  readonly #chains = new Map<string, Promise<void>>()
  /** Lookups under way, by miss key: concurrent first requests for one id or host wait for the same one. */
  readonly #resolving = new Map<string, Promise<boolean>>()
  #sub: Redis | null = null
  #timer: NodeJS.Timeout | null = null
  #closed = false

  constructor (opts: DbSourceOptions) {
    this.#o = opts
  }

  /** Starts resolving misses of the router, listening for announcements, and polling. */
  async start (): Promise<void> {
    this.#o.router.setResolver((key) => this.resolve(key))
    const { redis, log } = this.#o
    if (redis) {
      const sub = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
      this.#sub = sub
      sub.on('error', (err) => log.warn({ err: err.message }, 'stored-tenant announcements'))
      sub.on('message', (_channel: string, message: string) => {
        if (message.startsWith(MESSAGE)) this.#announced(message.slice(MESSAGE.length))
      })
      // Announcements sent while this node was disconnected are lost: compare everything after a reconnect.
      let first = true
      sub.on('ready', () => { if (!first) void this.sync(); first = false })
      // Not awaited: with Redis down at start the subscription waits for it, and the node must serve meanwhile.
      sub.subscribe(reloadChannel(this.#o.redisPrefix)).catch((err: Error) => log.warn({ err: err.message }, 'cannot subscribe to stored-tenant announcements yet'))
    }
    const every = this.#o.pollMs ?? 30_000
    if (every > 0) this.#timer = setInterval(() => { void this.sync() }, every).unref()
  }

  /** The router's resolver: loads a stored tenant by id or host; false when there is none (or it cannot serve). */
  resolve (key: { id: string } | { host: string }): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false)
    const missKey = 'id' in key ? `i:${key.id}` : `h:${key.host}`
    if (this.#misses.has(missKey)) return Promise.resolve(false)
    // Concurrent first requests for one tenant share one lookup.
    let pending = this.#resolving.get(missKey)
    if (!pending) {
      pending = this.#lookup(key).then((found) => {
        if (!found) {
          if (this.#misses.size >= MAX_MISSES) this.#misses.clear()
          this.#misses.add(missKey)
        }
        return found
      }).finally(() => this.#resolving.delete(missKey))
      this.#resolving.set(missKey, pending)
    }
    return pending
  }

  /** One indexed statement: by primary key for an id, through tenant_hosts' primary key joined to the config for a host. */
  async #lookup (key: { id: string } | { host: string }): Promise<boolean> {
    if ('id' in key) {
      if (!TENANT_ID.test(key.id) || this.#refused.has(key.id)) return false
      await (this.#chains.get(key.id) ?? this.refresh(key.id))
      return this.#served.has(key.id)
    }
    const loaded = await this.#o.store.loadByHost(key.host)
    if (!loaded || this.#refused.has(loaded.id)) return false
    await (this.#chains.get(loaded.id) ?? this.refresh(loaded.id, loaded))
    return this.#served.has(loaded.id)
  }

  #announced (id: string): void {
    this.#misses.clear() // a new tenant, or a host moved: what was missing may exist now
    if (this.#served.has(id) || this.#refused.has(id)) void this.refresh(id)
  }

  /** Applies a change made on this node, then tells every other node; never throws. */
  async announce (id: string): Promise<void> {
    this.#misses.clear()
    await this.refresh(id)
    if (!this.#o.redis) return
    await this.#o.redis.publish(reloadChannel(this.#o.redisPrefix), MESSAGE + id)
      .catch((err: Error) => this.#o.log.warn({ err: err.message, tenant: id }, 'could not announce a tenant change; other nodes pick it up on their next poll'))
  }

  /** Compares the kept tenants' versions with the database and catches up; forgets remembered misses. */
  async sync (): Promise<void> {
    if (this.#closed) return
    this.#misses.clear()
    const known = [...new Set([...this.#served.keys(), ...this.#refused.keys()])]
    let index: Map<string, number>
    try { index = await this.#o.store.index(known) } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'cannot read stored tenants; trying again on the next poll')
      return
    }
    const jobs: Array<Promise<void>> = []
    for (const id of known) {
      const v = index.get(id)
      if (v === undefined || (this.#served.get(id) !== v && this.#refused.get(id)?.version !== v)) jobs.push(this.refresh(id))
    }
    await Promise.all(jobs)
  }

  /** Re-reads one stored tenant (or takes `loaded`, just read) and applies it to the router (one at a time per tenant, in order). */
  refresh (id: string, loaded?: LoadedStored): Promise<void> {
    const prev = this.#chains.get(id) ?? Promise.resolve()
    const next = prev.then(() => this.#apply(id, loaded)).catch((err) => { this.#o.log.error({ err, tenant: id }, 'cannot apply a stored tenant') })
    this.#chains.set(id, next)
    void next.then(() => { if (this.#chains.get(id) === next) this.#chains.delete(id) })
    return next
  }

  async #apply (id: string, preloaded?: LoadedStored): Promise<void> {
    if (this.#closed) return
    const { router, store, log } = this.#o
    const loaded = preloaded ?? await store.load(id)
    if (!loaded) {
      this.#refused.delete(id)
      if (this.#served.delete(id) && this.#ownsRouterEntry(id)) { router.remove(id); log.info({ tenant: id }, 'stored tenant removed') }
      return
    }
    const file = router.fileOf(id)
    if (router.get(id) && (file || !this.#served.has(id))) {
      // Held by a file or the app options: they win. Logged once per version.
      this.#served.delete(id)
      if (this.#refused.get(id)?.version !== loaded.version) log.warn({ tenant: id, file }, 'a stored tenant has the id of a tenant defined elsewhere; it is not served')
      this.#refused.set(id, { version: loaded.version, errors: [{ path: '/id', message: `defined by ${file ?? 'the app options'}` }] })
      return
    }
    if (!loaded.config) {
      if (this.#refused.get(id)?.version !== loaded.version) log.error({ tenant: id, errors: loaded.errors }, 'stored tenant refused')
      this.#refused.set(id, { version: loaded.version, errors: loaded.errors })
      return // a tenant that was serving keeps its last good config
    }
    const r = await router.upsert(loaded.config, null)
    const isNew = !this.#served.has(id)
    this.#served.set(id, loaded.version)
    this.#refused.delete(id)
    if (r === 'replaced') log.info({ tenant: id, version: loaded.version }, 'stored tenant replaced')
    if (isNew) this.#evict(id)
  }

  /**
   * Past the cap, the least recently used stored tenant goes (requests running on it finish; its next request
   * loads it again). The router stamps each entry on every request it dispatches; finding the oldest stamp is
   * one pass over the kept tenants, made only when a newly kept tenant takes the count past the cap.
   */
  #evict (keep: string): void {
    const max = this.#o.maxKept ?? DEFAULT_MAX_KEPT
    const { router } = this.#o
    while (this.#served.size > max) {
      let victim: string | undefined
      let oldest = Infinity
      for (const id of this.#served.keys()) {
        if (id === keep) continue // just loaded for the request waiting on it
        const used = router.lastUsed(id) ?? 0
        if (used < oldest) { oldest = used; victim = id }
      }
      if (victim === undefined) return
      this.#served.delete(victim)
      if (this.#ownsRouterEntry(victim)) router.remove(victim)
    }
  }

  #ownsRouterEntry (id: string): boolean {
    return this.#o.router.get(id) !== undefined && this.#o.router.fileOf(id) == null
  }

  /** True when `id` is served from the database by this node now. */
  serves (id: string): boolean { return this.#served.has(id) }
  servedVersion (id: string): number | undefined { return this.#served.get(id) }
  /** Why this node does not serve a stored tenant it tried to load, or undefined. */
  refusal (id: string): { version: number, errors: Errors } | undefined { return this.#refused.get(id) }
  kept (): number { return this.#served.size }

  async close (): Promise<void> {
    this.#closed = true
    this.#o.router.setResolver(null)
    if (this.#timer) clearInterval(this.#timer)
    const sub = this.#sub
    this.#sub = null
    // disconnect, not quit: a subscriber that never reached Redis would wait for it to QUIT.
    sub?.disconnect()
    await Promise.all([...this.#chains.values()])
  }
}
