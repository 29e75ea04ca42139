// The rest-social-auth dialect's manifest (seed 000): what the house needs to know; the plugin loads on first use.
import type { DialectManifest } from '../../plugins/dialect.ts'
import { RestSocialAuthOptionsSchema, securitySchemes } from './options.ts'

export default {
  name: 'rest-social-auth',
  options: RestSocialAuthOptionsSchema,
  securitySchemes,
  load: () => import('./plugin.ts')
} satisfies DialectManifest
