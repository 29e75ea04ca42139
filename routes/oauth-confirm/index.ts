// The oauth-confirm dialect's manifest (seed 002): what the house needs to know; the plugin loads on first use.
import type { DialectManifest } from '../../plugins/dialect.ts'
import { OAuthConfirmOptionsSchema, securitySchemes } from './options.ts'

export default {
  name: 'oauth-confirm',
  options: OAuthConfirmOptionsSchema,
  securitySchemes,
  callbackPaths: (provider) => [`/oauth/callback/from/${provider}`],
  load: () => import('./plugin.ts')
} satisfies DialectManifest
