// What the oauth-confirm route files share: tags, the callback route, the failure codes and the options
// plugin.ts hands them (kept apart from plugin.ts, which imports the route files).
import { STATUS_CODES } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { Answer } from '../../plugins/errors.ts'
import type { JwtAlgorithm } from '../../plugins/identity/index.ts'
import type { OAuthConfirmOptions } from './options.ts'

export const TAGS = ['oauth-confirm']
export const CALLBACK_ROUTE = '/oauth/callback/from/:provider'
export const LOGIN_ROUTE = '/oauth/login'
export const INIT_ROUTE = '/oauth/init'
export const JWKS_ROUTE = '/.well-known/jwks.json'
export const ACCOUNT_ROUTE = '/account'
export const LOGOUT_ROUTE = '/oauth/logout'

/** Express's `res.sendStatus(code)`: the reason phrase as a text/plain body (freesewing's failures). */
export function sendStatus (code: number): Answer {
  return { status: code, body: STATUS_CODES[code] ?? String(code), type: 'text/plain; charset=utf-8' }
}

export type TemplateValues = Record<'confirmation' | 'validation' | 'state' | 'language', string>

/** A redirect template with its placeholders replaced (URL-encoded: a value never adds a path or a host part). */
export function fillTemplate (template: string, values: TemplateValues): string {
  return template.replace(/\{(confirmation|validation|state|language)\}/g, (_m, k: keyof TemplateValues) => encodeURIComponent(values[k]))
}

/** Codes appended to errorUrl as `?error=`; documented in docs/oauth-confirm.md. */
export type CallbackError =
  | 'invalid_request' | 'invalid_state' | 'access_denied' | 'invalid_credentials'
  | 'provider_unavailable' | 'email_in_use' | 'rate_limited' | 'server_error' | 'account_disabled'

/** What plugin.ts hands the route files. */
export interface Shared {
  opts: OAuthConfirmOptions
  /** Redirect template for an existing account. */
  confirmUrl: string
  /** Redirect template for an account this sign-in created. */
  signupUrl: string
  /** The answer of a failed callback: errorUrl with the code, or the seed's bare status. */
  callbackFailure: (code: CallbackError) => Answer
  /** How tokens are signed and checked: `iss` (the tenant's public URL), `aud` when configured, the key algorithm. */
  jwt: { issuer: string, audience?: string | string[], alg: JwtAlgorithm }
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
