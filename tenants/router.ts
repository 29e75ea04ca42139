// The front router: a Map lookup on the `/t/<id>` prefix or the Host header hands the raw request
// to that tenant's own Fastify instance (built on first use). Swapping a tenant's config replaces
// its instance atomically; requests already running finish on the old one, which closes after them.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isDeepStrictEqual } from 'node:util'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { API_CSP, headersFor } from '../plugins/security-headers.ts'
import { buildTenantApp, type SharedServices } from './mount.ts'
import type { TenantConfig } from './schema.ts'

interface Entry {
  config: TenantConfig
  file: string | null
  app: Promise<FastifyInstance> | null
  /** The instance once `app` has resolved: requests then go to it without waiting on a promise. */
  built: FastifyInstance | null
  inflight: number
  retired: boolean
  /** The router's request count when this entry last got a request (0: never), for least-recently-used eviction. */
  used: number
}

export interface RouterStats { configured: number, built: number }

/**
 * Finds a tenant the maps do not hold (stored tenants are resolved on their first request, not loaded at
 * start): upserts it into the router and resolves true, or resolves false when there is none.
 */
export type TenantResolver = (key: { id: string } | { host: string }) => Promise<boolean>

const PREFIX = '/t/'
/** Paths under this prefix belong to the process (shared assets), whatever the Host. */
const PROCESS_PREFIX = '/_vestibule/'
/** The one answer written here, outside any Fastify instance, carries the same security headers. */
const UNAVAILABLE_HEADERS = { ...headersFor(API_CSP), 'content-type': 'application/json; charset=utf-8' }

export class TenantRouter {
  readonly #byId = new Map<string, Entry>()
  readonly #byHost = new Map<string, Entry>()
  readonly #shared: SharedServices
  readonly #fallback: (req: IncomingMessage, res: ServerResponse) => void
  readonly #opsPaths: Set<string>
  readonly #log: FastifyBaseLogger
  readonly #build: typeof buildTenantApp
  #resolver: TenantResolver | null = null
  #requests = 0

  constructor (shared: SharedServices, fallback: (req: IncomingMessage, res: ServerResponse) => void, opsPaths: string[], build = buildTenantApp) {
    this.#shared = shared
    this.#build = build
    this.#fallback = fallback
    this.#opsPaths = new Set(opsPaths)
    this.#log = shared.log
  }

  /** Consulted when neither map holds the tenant a request names (see TenantResolver). */
  setResolver (resolver: TenantResolver | null): void { this.#resolver = resolver }

  /** The request handler for node:http. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/'
    let entry: Entry | undefined
    let key: { id: string } | { host: string } | null = null
    if (url.startsWith(PREFIX)) {
      let end = PREFIX.length
      while (end < url.length && url[end] !== '/' && url[end] !== '?') end++
      const id = url.slice(PREFIX.length, end)
      entry = this.#byId.get(id)
      if (entry) this.#strip(req, url, end)
      else key = { id }
    } else if (!this.#opsPaths.has(pathOf(url)) && !url.startsWith(PROCESS_PREFIX)) {
      const host = hostOf(req.headers.host)
      entry = this.#byHost.get(host)
      if (!entry && host) key = { host }
    }
    if (entry) { this.#dispatch(entry, req, res); return }
    const resolver = this.#resolver
    if (!resolver || !key) { this.#fallback(req, res); return }
    // A miss: ask the resolver (one indexed lookup), then route as if the tenant had been there.
    resolver(key).then((found) => {
      const e = found ? ('id' in key ? this.#byId.get(key.id) : this.#byHost.get(key.host)) : undefined
      if (!e) { this.#fallback(req, res); return }
      if ('id' in key) this.#strip(req, url, PREFIX.length + key.id.length)
      this.#dispatch(e, req, res)
    }, (err) => {
      this.#log.error({ err }, 'tenant resolution failed')
      if (!res.headersSent) {
        res.writeHead(503, { 'content-type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify({ error: 'tenant_unavailable', message: 'This tenant cannot serve requests right now.' }))
      }
    })
  }

  #strip (req: IncomingMessage, url: string, end: number): void {
    const rest = url.slice(end)
    req.url = rest === '' ? '/' : rest[0] === '?' ? '/' + rest : rest
  }

  #dispatch (entry: Entry, req: IncomingMessage, res: ServerResponse): void {
    entry.used = ++this.#requests
    entry.inflight++
    res.once('close', () => {
      entry.inflight--
      if (entry.retired && entry.inflight === 0) void this.#closeEntry(entry)
    })
    if (entry.built !== null) { entry.built.routing(req, res); return }
    this.#appFor(entry).then(
      (app) => app.routing(req, res),
      (err) => {
        this.#log.error({ err, tenant: entry.config.id }, 'tenant instance failed to build')
        if (!res.headersSent) {
          res.writeHead(503, UNAVAILABLE_HEADERS)
          res.end(JSON.stringify({ error: 'tenant_unavailable', message: 'This tenant cannot serve requests right now.' }))
        }
      }
    )
  }

  #appFor (entry: Entry): Promise<FastifyInstance> {
    if (!entry.app) {
      const app = entry.app = this.#build(entry.config, this.#shared)
      app.then((built) => { if (entry.app === app) entry.built = built }, () => { entry.app = null }) // the next request tries again
    }
    return entry.app
  }

  /** Adds or replaces a tenant. A replaced tenant that was serving is rebuilt before the swap, so a
   *  config that cannot build never takes over from a working one. */
  async upsert (config: TenantConfig, file: string | null = null): Promise<'added' | 'replaced' | 'unchanged'> {
    const old = this.#byId.get(config.id)
    if (old && isDeepStrictEqual(old.config, config)) { old.file = file; return 'unchanged' }
    const entry: Entry = { config, file, app: null, built: null, inflight: 0, retired: false, used: old?.used ?? 0 }
    if (old?.app) {
      const app = this.#build(config, this.#shared)
      entry.built = await app // throws: the old instance keeps serving
      entry.app = app
    }
    if (old) this.#unmap(old)
    this.#byId.set(config.id, entry)
    for (const h of config.hosts) this.#byHost.set(h.toLowerCase(), entry)
    if (old) this.#retire(old)
    return old ? 'replaced' : 'added'
  }

  remove (id: string): boolean {
    const old = this.#byId.get(id)
    if (!old) return false
    this.#unmap(old)
    this.#retire(old)
    return true
  }

  get (id: string): TenantConfig | undefined { return this.#byId.get(id)?.config }
  /** The tenant's config, loading a stored tenant through the resolver when it is not held yet (webhooks). */
  async lookup (id: string): Promise<TenantConfig | undefined> {
    const held = this.#byId.get(id)
    if (held || !this.#resolver) return held?.config
    return (await this.#resolver({ id })) ? this.#byId.get(id)?.config : undefined
  }
  fileOf (id: string): string | null | undefined { return this.#byId.get(id)?.file }
  ids (): string[] { return [...this.#byId.keys()] }
  /** When the tenant last got a request, as the router's running request count (0: never; undefined: not held). */
  lastUsed (id: string): number | undefined { return this.#byId.get(id)?.used }
  /** The tenant serving `host` (no port; any case), or undefined. */
  tenantOfHost (host: string): string | undefined { return this.#byHost.get(host.toLowerCase())?.config.id }

  /** Builds the instances of these tenants now instead of on their first request. */
  async warm (ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => { const e = this.#byId.get(id); return e ? this.#appFor(e) : undefined }))
  }

  /** The tenant's built instance (building it if needed); for tools that need its OpenAPI document. */
  async instance (id: string): Promise<FastifyInstance | undefined> {
    const e = this.#byId.get(id)
    return e ? this.#appFor(e) : undefined
  }

  stats (): RouterStats {
    let built = 0
    for (const e of this.#byId.values()) if (e.app) built++
    return { configured: this.#byId.size, built }
  }

  async close (): Promise<void> {
    const entries = [...this.#byId.values()]
    this.#byId.clear()
    this.#byHost.clear()
    await Promise.all(entries.map((e) => this.#closeEntry(e)))
  }

  #unmap (e: Entry): void {
    if (this.#byId.get(e.config.id) === e) this.#byId.delete(e.config.id)
    for (const h of e.config.hosts) if (this.#byHost.get(h.toLowerCase()) === e) this.#byHost.delete(h.toLowerCase())
  }

  #retire (e: Entry): void {
    e.retired = true
    if (e.inflight === 0) void this.#closeEntry(e)
  }

  async #closeEntry (e: Entry): Promise<void> {
    const app = e.app
    e.app = null
    e.built = null
    if (!app) return
    try { await (await app).close() } catch { /* a failed build has nothing to close */ }
  }
}

function pathOf (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** Host header without its port, lower-cased; IPv6 literals keep their brackets. */
export function hostOf (host: string | undefined): string {
  if (!host) return ''
  const h = host.trim().toLowerCase()
  if (h.startsWith('[')) { const end = h.indexOf(']'); return end === -1 ? h : h.slice(0, end + 1) }
  const colon = h.indexOf(':')
  return colon === -1 ? h : h.slice(0, colon)
}
