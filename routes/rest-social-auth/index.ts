// The rest-social-auth dialect's manifest (seed 000): what the house needs to know; the plugin loads on first use.
import type { DialectManifest } from '../../plugins/dialect.ts'
import { normalisedUrl, RestSocialAuthOptionsSchema, securitySchemes, type RestSocialAuthOptions } from './options.ts'

export default {
  name: 'rest-social-auth',
  options: RestSocialAuthOptionsSchema,
  securitySchemes,
  crossChecks (doc, error) {
    const options = doc.dialects['rest-social-auth'] as RestSocialAuthOptions | undefined
    if (!options) return
    const list = options.oauth1CallbackUrls ?? []
    list.forEach((u, i) => { if (normalisedUrl(u) === null) error(`/dialects/rest-social-auth/oauth1CallbackUrls/${i}`, 'is not an absolute http(s) URL') })
    // OAuth1 step 1 hands the provider's verifier to whatever redirect_uri it is given: without an exact
    // allow-list anyone could collect it. Said at load time, not discovered at the first refused sign-in.
    const oauth1 = Object.entries(doc.providers).filter(([, p]) => (p as { type?: string }).type === 'twitter').map(([k]) => k)
    if (oauth1.length > 0 && list.length === 0) {
      error('/dialects/rest-social-auth/oauth1CallbackUrls', `required with an OAuth1 provider (${oauth1.map((k) => `"${k}"`).join(', ')}): list the exact redirect_uri values your clients send in OAuth1 step 1`)
    }
  },
  load: () => import('./plugin.ts')
} satisfies DialectManifest
