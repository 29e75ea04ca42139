// Tenant options of the syncano dialect (seed 003): `dialects["syncano"]`; instances and keys are top-level `instances`.
import { Type, type Static } from '@sinclair/typebox'

export const SyncanoOptionsSchema = Type.Object({
  backends: Type.Optional(Type.Array(Type.String(), { description: 'Provider keys accepted as `:backend`; default: every configured provider.' }))
}, { additionalProperties: false, description: 'POST /v1.1/instances/:instance/user/auth/:backend/ with X-API-KEY; X-USER-KEY user endpoints.' })
export type SyncanoOptions = Static<typeof SyncanoOptionsSchema>

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  SyncanoApiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: 'An API key of the instance named in the path.' },
  SyncanoUserKey: { type: 'apiKey', in: 'header', name: 'X-USER-KEY', description: 'The `user_key` a social login returned.' }
}
