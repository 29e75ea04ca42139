// One response-serializer map per distinct route schema, shared by every Fastify instance of the process.
// Fastify gives each route context a map from status code to serializer (lib/validation.js,
// compileSchemasForSerialization). Its keys are integers (200, 400, …, 500), so V8 backs each map with a holey
// elements array of some 600 slots: about 5 KB per route, a fifth of a built tenant, although the serializers in
// it are already shared (plugins/compilers.ts caches them by schema). Every tenant's route with the same
// schema gets the same serializers, so it can get the same map.
//
// This is the one place that touches Fastify internals: an accessor for the map's symbol on the route Context's
// prototype, whose setter swaps the fresh map for the shared one with the same serializers (Fastify only ever
// reads the map after it is set). When Fastify changes (no Context module, no such symbol, the constructor
// setting the map itself, someone else defining it), nothing is installed and every route keeps its own map, as
// before; test/tenants/response-maps.test.ts fails then, so the saving is not lost unnoticed.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

type ResponseMap = Record<string, unknown>

const shared = new Map<string, ResponseMap>()
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
  const found = shared.get(key)
  if (found) return found
  shared.set(key, map as ResponseMap)
  return map
}

/** How many distinct maps the process holds (tests, diagnostics). */
export function sharedResponseMapCount (): number { return shared.size }

function install (): boolean {
  try {
    const Context = require('fastify/lib/context.js') as { prototype: object }
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
