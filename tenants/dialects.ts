// The dialect registry: each manifest names one folder under routes/. Adding a dialect = one folder
// under routes/ (index.ts default-exports its manifest) + one registerDialect line here. The tenant
// schema, loader checks, CORS, log redaction, rate-limit client keys and OpenAPI security derive from it.
import type { FastifyPluginAsync } from 'fastify'
import type { DialectManifest } from '../plugins/dialect.ts'
import byLink from '../routes/by-link/index.ts'
import capture from '../routes/capture/index.ts'
import oauthConfirm from '../routes/oauth-confirm/index.ts'
import restSocialAuth from '../routes/rest-social-auth/index.ts'
import syncano from '../routes/syncano/index.ts'

export type { DialectManifest } from '../plugins/dialect.ts'

const registry = new Map<string, DialectManifest>()
let version = 0

/** Registers a dialect; every schema and list derived from the registry follows. */
export function registerDialect (manifest: DialectManifest): void {
  if (registry.has(manifest.name)) throw new Error(`dialect ${manifest.name} is already registered`)
  registry.set(manifest.name, manifest)
  version++
}

registerDialect(restSocialAuth)
registerDialect(byLink)
registerDialect(oauthConfirm)
registerDialect(syncano)
registerDialect(capture)

/** Changes whenever a dialect is registered, so derived values can be cached. */
export function registryVersion (): number { return version }
export function dialectManifests (): DialectManifest[] { return [...registry.values()] }
export function dialectNames (): string[] { return [...registry.keys()] }
export function dialectManifest (name: string): DialectManifest | undefined { return registry.get(name) }

/** The dialects a tenant document mounts, in registry order. */
export function mountedDialects (dialects: Record<string, unknown>): DialectManifest[] {
  return dialectManifests().filter((m) => dialects[m.name] !== undefined)
}

/** Request headers some dialect reads and that carry secrets: redacted from every log line. */
export function secretHeaders (): string[] {
  return [...new Set(dialectManifests().flatMap((m) => m.headers?.secret ?? []).map((h) => h.toLowerCase()))]
}

const loaded = new Map<string, Promise<FastifyPluginAsync<any>>>()
export function loadDialect (name: string): Promise<FastifyPluginAsync<any>> {
  let p = loaded.get(name)
  if (!p) {
    const m = registry.get(name)
    if (!m) return Promise.reject(new Error(`unknown dialect ${name}`))
    p = m.load().then((mod) => mod.default)
    p.catch(() => loaded.delete(name))
    loaded.set(name, p)
  }
  return p
}
