// The dialect manifest: everything the rest of the house must know about a dialect, declared by the
// dialect itself (routes/<dialect>/index.ts default-exports one). tenants/ composes the tenant schema,
// the loader's cross-checks, CORS, log redaction, rate-limit client keys, OpenAPI security schemes and
// the demo IdP's redirect URIs from the registered manifests; no shared file names a dialect.
import type { TSchema } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'

/** A tenant document after defaults, as cross-checks see it (each dialect reads its own sections). */
export type TenantDocument = Record<string, any> & { id: string, clients: Array<Record<string, any> & { id: string }>, providers: Record<string, unknown>, dialects: Record<string, unknown> }

export interface DialectManifest {
  /** The key of `dialects` that mounts it, e.g. `by-link`. */
  name: string
  /** Schema of `dialects[name]`. */
  options: TSchema
  /** Top-level tenant sections this dialect owns (e.g. Syncano `instances`, Capture `flows`); each schema carries its default. */
  sections?: Record<string, TSchema>
  /** Fields this dialect adds to every entry of `clients` (e.g. Capture's `apiKey`, `defaultFlow`). */
  clientFields?: Record<string, TSchema>
  /** Rules a JSON schema cannot say, run on every tenant document (mounted or not: a section may exist without its dialect). */
  crossChecks? (doc: TenantDocument, error: (path: string, message: string) => void): void
  /** Request headers the dialect reads: allowed in CORS preflights, and redacted from logs when secret. */
  headers?: { cors?: string[], secret?: string[] }
  /** The API client a request proves it speaks for (`null`: not this dialect's, or not proven), for the tenant-wide rate
   *  limit. Return a client only for a credential that checks out (a valid key), never for a claimed name: a
   *  claimed name would give every guess a fresh budget. Built once per tenant. */
  rateLimitClient? (doc: TenantDocument): (req: FastifyRequest) => string | null
  /** OpenAPI security schemes its routes name in `security`. */
  securitySchemes?: Record<string, unknown>
  /** The published OpenAPI document (tenants/openapi-publish.ts): the tag's description, and what only the tenant
   *  document knows (e.g. Capture's form fields), added to the dialect's own operations in place. */
  openapi?: { tagDescription?: string, publish? (doc: any, tenant: TenantDocument): void }
  /** Provider redirect URIs it builds, relative to the tenant's public URL (the demo IdP registers them). */
  callbackPaths? (providerKey: string): string[]
  /** The plugin, loaded on first use so a process imports only the dialects its tenants mount. */
  load (): Promise<{ default: FastifyPluginAsync<any> }>
}
