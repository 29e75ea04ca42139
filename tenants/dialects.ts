// The dialect registry: each key of a tenant's `dialects` names one folder under routes/.
// Adding a dialect = one folder under routes/ (index.ts default-exports the plugin, options.ts its schema) + one line here.
import type { TSchema } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { ByLinkOptionsSchema, securitySchemes as byLinkSecurity } from '../routes/by-link/options.ts'
import { CaptureOptionsSchema, securitySchemes as captureSecurity } from '../routes/capture/options.ts'
import { OAuthConfirmOptionsSchema, securitySchemes as oauthConfirmSecurity } from '../routes/oauth-confirm/options.ts'
import { RestSocialAuthOptionsSchema, securitySchemes as restSocialAuthSecurity } from '../routes/rest-social-auth/options.ts'
import { SyncanoOptionsSchema, securitySchemes as syncanoSecurity } from '../routes/syncano/options.ts'

export interface DialectEntry {
  options: TSchema
  /** OpenAPI security schemes the dialect's routes refer to (merged into the tenant document). */
  securitySchemes?: Record<string, unknown>
  /** Loaded on first use, so a process imports only the dialects its tenants mount. */
  load: () => Promise<{ default: FastifyPluginAsync<any> }>
}

export const dialects = {
  'rest-social-auth': { options: RestSocialAuthOptionsSchema, securitySchemes: restSocialAuthSecurity, load: () => import('../routes/rest-social-auth/index.ts') },
  'by-link': { options: ByLinkOptionsSchema, securitySchemes: byLinkSecurity, load: () => import('../routes/by-link/index.ts') },
  'oauth-confirm': { options: OAuthConfirmOptionsSchema, securitySchemes: oauthConfirmSecurity, load: () => import('../routes/oauth-confirm/index.ts') },
  syncano: { options: SyncanoOptionsSchema, securitySchemes: syncanoSecurity, load: () => import('../routes/syncano/index.ts') },
  capture: { options: CaptureOptionsSchema, securitySchemes: captureSecurity, load: () => import('../routes/capture/index.ts') }
}

export type DialectName = keyof typeof dialects
export const dialectNames = Object.keys(dialects) as DialectName[]

const loaded = new Map<string, Promise<FastifyPluginAsync<any>>>()
export function loadDialect (name: DialectName): Promise<FastifyPluginAsync<any>> {
  let p = loaded.get(name)
  if (!p) {
    p = dialects[name].load().then((m) => m.default)
    p.catch(() => loaded.delete(name))
    loaded.set(name, p)
  }
  return p
}
