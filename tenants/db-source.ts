// Stored tenants as a source of the front router, next to tenant files: loaded at start, and kept current
// on every node by the tenant-reload announcement on Redis (a write publishes `db <id>` on the channel the
// file reloads use) and by a periodic comparison of versions, so a node that missed an announcement (Redis
// down, a reconnect) converges on its next poll. A tenant defined by a file wins over a stored one of the
// same id (the API refuses to create such a one; this covers a file added later).
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { TenantStore } from './db-store.ts'
import type { TenantRouter } from './router.ts'

export interface DbSourceOptions {
  store: TenantStore
  router: TenantRouter
  redis: Redis | null
  redisPrefix: string
  log: FastifyBaseLogger
  /** Compare versions with the database this often (default 30 s); 0 turns polling off. */
  pollMs?: number
}

/** The channel file reloads are announced on (app.ts); stored tenants' changes travel on it as `db <id>`. */
export const reloadChannel = (prefix: string): string => `${prefix}:tenants:reload`
const MESSAGE = 'db '

export class DbTenantSource {
  readonly #o: DbSourceOptions
  /** Stored tenants this node serves: id → version. */
  readonly #served = new Map<string, number>()
  /** Stored tenants that cannot serve (a key missing, a document the schema now refuses): id → errors. */
  readonly #refused = new Map<string, { version: number, errors: Array<{ path: string, message: string }> }>()
  readonly #chains = new Map<string, Promise<void>>()
  #sub: Redis | null = null
  #timer: NodeJS.Timeout | null = null
  #closed = false

  constructor (opts: DbSourceOptions) {
    this.#o = opts
  }

  /** Loads every stored tenant, then listens for announcements and starts polling. */
  async start (): Promise<void> {
    await this.sync()
    const { redis, log } = this.#o
    if (redis) {
      const sub = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
      this.#sub = sub
      sub.on('error', (err) => log.warn({ err: err.message }, 'stored-tenant announcements'))
      sub.on('message', (_channel: string, message: string) => {
        if (message.startsWith(MESSAGE)) void this.refresh(message.slice(MESSAGE.length))
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

  /** Tells every node (this one included) that a stored tenant changed; never throws. */
  async announce (id: string): Promise<void> {
    await this.refresh(id)
    if (!this.#o.redis) return
    await this.#o.redis.publish(reloadChannel(this.#o.redisPrefix), MESSAGE + id)
      .catch((err: Error) => this.#o.log.warn({ err: err.message, tenant: id }, 'could not announce a tenant change; other nodes pick it up on their next poll'))
  }

  /** Compares every stored tenant's version with what this node serves, and catches up. */
  async sync (): Promise<void> {
    if (this.#closed) return
    let index: Map<string, number>
    try { index = await this.#o.store.index() } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'cannot read stored tenants; trying again on the next poll')
      return
    }
    const jobs: Array<Promise<void>> = []
    for (const [id, version] of index) {
      if (this.#served.get(id) !== version && this.#refused.get(id)?.version !== version) jobs.push(this.refresh(id))
    }
    for (const id of [...this.#served.keys(), ...this.#refused.keys()]) if (!index.has(id)) jobs.push(this.refresh(id))
    await Promise.all(jobs)
  }

  /** Re-reads one stored tenant and applies it to the router (one at a time per tenant, in order). */
  refresh (id: string): Promise<void> {
    const prev = this.#chains.get(id) ?? Promise.resolve()
    const next = prev.then(() => this.#apply(id)).catch((err) => { this.#o.log.error({ err, tenant: id }, 'cannot apply a stored tenant') })
    this.#chains.set(id, next)
    void next.then(() => { if (this.#chains.get(id) === next) this.#chains.delete(id) })
    return next
  }

  async #apply (id: string): Promise<void> {
    if (this.#closed) return
    const { router, store, log } = this.#o
    const loaded = await store.load(id)
    if (!loaded) {
      this.#refused.delete(id)
      if (this.#served.delete(id) && this.#ownsRouterEntry(id)) { router.remove(id); log.info({ tenant: id }, 'stored tenant removed') }
      return
    }
    const file = router.fileOf(id)
    if (router.get(id) && (file || !this.#served.has(id))) {
      this.#served.delete(id)
      // Held by a file or the app options: they win. Logged once per version.
      if (this.#refused.get(id)?.version !== loaded.version) log.warn({ tenant: id, file: router.fileOf(id) }, 'a stored tenant has the id of a tenant defined elsewhere; it is not served')
      this.#refused.set(id, { version: loaded.version, errors: [{ path: '/id', message: `defined by ${router.fileOf(id) ?? 'the app options'}` }] })
      return
    }
    if (!loaded.config) {
      if (this.#refused.get(id)?.version !== loaded.version) log.error({ tenant: id, errors: loaded.errors }, 'stored tenant refused')
      this.#refused.set(id, { version: loaded.version, errors: loaded.errors })
      return // a tenant that was serving keeps its last good config
    }
    const r = await router.upsert(loaded.config, null)
    this.#served.set(id, loaded.version)
    this.#refused.delete(id)
    if (r !== 'unchanged') log.info({ tenant: id, version: loaded.version }, `stored tenant ${r}`)
  }

  #ownsRouterEntry (id: string): boolean {
    return this.#o.router.get(id) !== undefined && this.#o.router.fileOf(id) == null
  }

  /** True when `id` is served from the database by this node. */
  serves (id: string): boolean { return this.#served.has(id) }
  servedVersion (id: string): number | undefined { return this.#served.get(id) }
  refusal (id: string): { version: number, errors: Array<{ path: string, message: string }> } | undefined { return this.#refused.get(id) }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    const sub = this.#sub
    this.#sub = null
    // disconnect, not quit: a subscriber that never reached Redis would wait for it to QUIT.
    sub?.disconnect()
    await Promise.all([...this.#chains.values()])
  }
}
