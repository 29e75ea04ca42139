// What the oauth-confirm route files share: tags, the callback route, the failure codes and the options
// plugin.ts hands them (kept apart from plugin.ts, which imports the route files).
import type { FastifyRequest } from 'fastify'
import type { Answer } from '../../plugins/errors.ts'
import type { OAuthConfirmOptions } from './options.ts'

export const TAGS = ['oauth-confirm']
export const CALLBACK_ROUTE = '/oauth/callback/from/:provider'

/** Codes appended to errorUrl as `?error=`; documented in docs/oauth-confirm.md. */
export type CallbackError =
  | 'invalid_request' | 'invalid_state' | 'access_denied' | 'invalid_credentials'
  | 'provider_unavailable' | 'email_in_use' | 'rate_limited' | 'server_error' | 'account_disabled'

/** What plugin.ts hands the route files. */
export interface Shared {
  opts: OAuthConfirmOptions
  confirmUrl: string
  /** The answer of a failed callback: errorUrl with the code, or the seed's bare status. */
  callbackFailure: (code: CallbackError) => Answer
  /** The login limiter (tenant `rateLimits.login`), or undefined. */
  throttle: ((req: FastifyRequest) => Promise<void>) | undefined
}

/** The tenant locales plus their primary subtags (`fr-FR` → `fr-FR`, `fr`), so the seed's bare codes work. */
export function defaultLanguages (locales: string[]): string[] {
  const out = new Set<string>()
  for (const l of locales) out.add(l)
  for (const l of locales) out.add(l.split('-')[0])
  return [...out]
}
