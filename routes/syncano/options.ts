// Tenant options of the syncano dialect (seed 003): `dialects["syncano"]`; instances and keys are top-level `instances`.
import { Type, type Static } from '@sinclair/typebox'
import { Name } from '../../plugins/tenant/strings.ts'

export const SyncanoOptionsSchema = Type.Object({
  backends: Type.Optional(Type.Array(Type.String(), { description: 'Provider keys accepted as `:backend`; default: every configured provider.' }))
}, { additionalProperties: false, description: 'POST /v1.1/instances/:instance/user/auth/:backend/ with X-API-KEY; X-USER-KEY user endpoints.' })
export type SyncanoOptions = Static<typeof SyncanoOptionsSchema>

export const InstanceSchema = Type.Object({
  name: Name({ description: 'Syncano instance name as it appears in `/v1.1/instances/:instance/`.' }),
  apiKeys: Type.Array(Type.String({ minLength: 8, writeOnly: true }), { minItems: 1, description: 'API keys accepted in `X-API-KEY` for this instance; use "${ENV_VAR}".' })
}, { additionalProperties: false })
export type InstanceConfig = Static<typeof InstanceSchema>

/** The top-level tenant section this dialect owns. */
export const sections = {
  instances: Type.Array(InstanceSchema, { default: [], description: 'Syncano instances and their API keys.' })
}

/** The auth line of generated clients (README "Generating a client"; test/openapi/generators.test.ts uses it). */
export const SYNCANO_AUTH_LINE = "auth: (scheme) => (scheme.name === 'X-USER-KEY' ? userKey : apiKey)"
const GENERATED_AUTH = `With @hey-api/openapi-ts one callback fills both keys: \`${SYNCANO_AUTH_LINE}\`; with openapi-fetch or orval pass \`headers: { 'X-API-KEY': apiKey, 'X-USER-KEY': userKey }\`.`

/** OpenAPI security schemes this dialect's routes name in `security`. */
export const securitySchemes = {
  SyncanoApiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: `An API key of the instance named in the path. ${GENERATED_AUTH}` },
  SyncanoUserKey: { type: 'apiKey', in: 'header', name: 'X-USER-KEY', description: 'The `user_key` a social login returned (sent with the API key; see SyncanoApiKey for generated clients).' }
}
