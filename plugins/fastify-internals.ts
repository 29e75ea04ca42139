// The one module that touches Fastify internals, to make a built tenant instance smaller (docs/bench.md,
// "Tenants in the database"). Each piece checks what it relies on and installs nothing when Fastify or
// find-my-way has changed, leaving Fastify's own behaviour (and its memory cost); test/tenants/fastify-internals.test.ts
// fails then, so the saving is not lost unnoticed.
//
// 1. One response-serializer map per distinct route schema, shared by every Fastify instance of the process.
// Fastify gives each route context a map from status code to serializer (lib/validation.js,
// compileSchemasForSerialization). Its keys are integers (200, 400, …, 500), so V8 backs each map with a holey
// elements array of some 600 slots: about 5 KB per route, a fifth of a built tenant, although the serializers in
// it are already shared (plugins/compilers.ts caches them by schema). Every tenant's route with the same schema
// gets the same serializers, so it can get the same map: an accessor for the map's symbol on the route Context's
// prototype, whose setter swaps the fresh map for the shared one with the same serializers (Fastify only ever
// reads the map after it is set).
//
// 2. One not-found tree for every method (shareNotFoundTrees). Fastify registers each not-found handler (the
// instance's, and one per prefixed scope that sets its own) in a router of its own for all 35 HTTP methods
// (router.all), and find-my-way keeps a tree per method: 70 routes, their nodes and handler stores for each
// handler, about 60 KB. A not-found route answers every method alike, so the methods can share one tree.
//
// 3. No boot timings of after() callbacks (trimPluginTree). avvio, which loads Fastify's plugins, keeps a tree of
// every plugin it loaded, with its timings, for printPlugins(); Fastify queues an after() callback for every route,
// and each is a node of that tree ("bound _after"): about 45 KB of a built tenant. Tenant instances leave them out;
// the plugins themselves are still listed.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

type ResponseMap = Record<string, unknown>

// Held weakly: a map lives as long as some route uses it (instances built with Fastify's own, uncached
// serializer compiler get maps nobody shares, and must not be kept by this registry).
const shared = new Map<string, WeakRef<ResponseMap>>()
const forget = new FinalizationRegistry<string>((key) => { if (shared.get(key)?.deref() === undefined) shared.delete(key) })
const ids = new WeakMap<object, number>()
let nextId = 1

function idOf (value: unknown): string {
  if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) return `?${String(value)}`
  let id = ids.get(value)
  if (id === undefined) { id = nextId++; ids.set(value, id) }
  return String(id)
}

/** The map's identity: its status codes and, per code, the serializer (or the serializer per content type). */
function keyOf (map: ResponseMap): string | undefined {
  let key = ''
  for (const status of Object.keys(map)) {
    const v = map[status]
    if (typeof v === 'function') key += `${status}=${idOf(v)};`
    else if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      key += `${status}={`
      for (const type of Object.keys(v)) key += `${JSON.stringify(type)}=${idOf((v as Record<string, unknown>)[type])},`
      key += '};'
    } else return undefined // not what Fastify builds: leave it alone
  }
  return key
}

/** The shared map with the same serializers as `map` (the first one seen becomes the shared one). */
export function sharedResponseMap (map: unknown): unknown {
  if (typeof map !== 'object' || map === null || Object.getPrototypeOf(map) !== Object.prototype) return map
  const key = keyOf(map as ResponseMap)
  if (key === undefined) return map
  const found = shared.get(key)?.deref()
  if (found) return found
  shared.set(key, new WeakRef(map as ResponseMap))
  forget.register(map as ResponseMap, key)
  return map
}

/** How many distinct maps the process holds (tests, diagnostics). */
export function sharedResponseMapCount (): number { return shared.size }

function install (): boolean {
  try {
    const Context = require('fastify/lib/context.js') as unknown
    const symbols = require('fastify/lib/symbols.js') as Record<string, unknown>
    const sym = symbols.kSchemaResponse
    if (typeof Context !== 'function' || typeof sym !== 'symbol' || sym.description !== 'response-schema') return false
    if (Object.getOwnPropertyDescriptor(Context.prototype, sym) !== undefined) return false
    Object.defineProperty(Context.prototype, sym, {
      configurable: true,
      get () { return undefined },
      set (this: object, map: unknown) {
        Object.defineProperty(this, sym, { value: sharedResponseMap(map), writable: true, configurable: true, enumerable: true })
      }
    })
    return true
  } catch {
    return false
  }
}

/** True when route contexts share their response maps (false: Fastify changed, each route keeps its own). */
export const responseMapsShared: boolean = install()

interface NotFoundRouter {
  trees: Record<string, unknown>
  on (method: string, path: string, handler: unknown, store: unknown): void
  all (path: string, handler: unknown, store: unknown): void
  find (method: string, path: string): { store: unknown } | null
}

const ANCHOR = 'GET'
let notFoundRouterOf: ((app: object) => NotFoundRouter | undefined) | undefined
let httpMethods: string[] = []
try {
  const kFourOhFour = (require('fastify/lib/symbols.js') as Record<string, unknown>).kFourOhFour
  const fmwMethods = require(require.resolve('find-my-way/lib/http-methods', { paths: [require.resolve('fastify')] })) as unknown
  if (typeof kFourOhFour === 'symbol' && Array.isArray(fmwMethods) && fmwMethods.includes(ANCHOR)) {
    httpMethods = fmwMethods as string[]
    notFoundRouterOf = (app) => (app as Record<symbol, { router?: NotFoundRouter } | undefined>)[kFourOhFour]?.router
  }
} catch { /* Fastify changed: nothing to share */ }

/** A path the pattern matches, to check that the shared tree answers as the per-method ones would. */
const probeOf = (path: string): string => path.replace(/\*$/, 'probe')

/**
 * Makes this instance's not-found router register each not-found handler once, for GET, with every other method
 * using the same tree. Call it on a fresh instance (before its plugins load). False when nothing was changed.
 */
export function shareNotFoundTrees (app: object): boolean {
  const router = notFoundRouterOf?.(app)
  if (!router || typeof router.trees !== 'object' || typeof router.on !== 'function' || typeof router.find !== 'function' ||
    typeof router.all !== 'function' || Object.hasOwn(router, 'all') || Object.keys(router.trees).length !== 0) return false
  const all = router.all
  const others = httpMethods.filter((m) => m !== ANCHOR)
  const registered: Array<[string, unknown, unknown]> = []
  router.all = function sharedAll (this: NotFoundRouter, path: string, handler: unknown, store: unknown): void {
    this.on(ANCHOR, path, handler, store)
    registered.push([path, handler, store])
    const tree = this.trees[ANCHOR]
    for (const m of others) this.trees[m] = tree
    // The shared tree must find what it was given, for any method. If find-my-way looks elsewhere now, this router
    // goes back to a tree per method, as Fastify would have built it.
    const probe = probeOf(path)
    if (this.find('PROPFIND', probe)?.store === store && this.find('POST', probe)?.store === this.find(ANCHOR, probe)?.store) return
    for (const m of others) delete this.trees[m]
    for (const [p, h, st] of registered) for (const m of others) this.on(m, p, h, st)
    router.all = all
    failed = true
  }
  return true
}

let failed = false
/** False once a router had to fall back to a tree per method (tests). */
export function notFoundTreesShared (): boolean { return notFoundRouterOf !== undefined && !failed }

interface AvvioPlugin { isAfter?: unknown }
interface AvvioBoot { _server?: unknown, _current?: AvvioPlugin[] }
const kTrimmed = Symbol('vestibule.trimPluginTree')
let pluginTreeTrimmable = false
try {
  const Boot = require(require.resolve('avvio', { paths: [require.resolve('fastify')] })) as { prototype?: Record<string, unknown> } | undefined
  const track = Boot?.prototype?._trackPluginLoading
  if (typeof track === 'function' && track.length === 1) {
    const skipped = new WeakSet<object>()
    Boot!.prototype!._trackPluginLoading = function trackPluginLoading (this: AvvioBoot, plugin: AvvioPlugin) {
      const server = this._server as Record<symbol, unknown> | undefined
      if (server?.[kTrimmed] === true && typeof plugin === 'object' && plugin !== null) {
        const parent = this._current?.[0]
        // A plugin registered inside a skipped callback is skipped too: avvio would make it the tree's root.
        if (plugin.isAfter === true || (parent !== undefined && skipped.has(parent))) { skipped.add(plugin); return }
      }
      return (track as (this: AvvioBoot, p: AvvioPlugin) => unknown).call(this, plugin)
    }
    pluginTreeTrimmable = true
  }
} catch { /* avvio changed: every instance keeps its whole tree */ }

/** Leaves this instance's after() callbacks out of its plugin tree (call it on a fresh instance). False: not possible. */
export function trimPluginTree (app: object): boolean {
  if (!pluginTreeTrimmable) return false
  ;(app as Record<symbol, unknown>)[kTrimmed] = true
  return true
}
