// The oauth-confirm dialect (seed 002, DESIGN 5.3): init → provider → callback → frontend confirmation → login.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { installEnvelope, type Answer, type Envelope } from '../../plugins/errors.ts'
import accountRoutes from './account.ts'
import loginRoutes from './login.ts'
import type { OAuthConfirmOptions } from './options.ts'
import { ACCOUNT_ROUTE, CALLBACK_ROUTE, fillTemplate, JWKS_ROUTE, LOGIN_ROUTE, LOGOUT_ROUTE, sendStatus, type CallbackError, type Shared } from './shared.ts'
import signInRoutes from './sign-in.ts'
import { routeGroups } from '../../plugins/plugin-name.ts'

const REASON_PHRASE_ROUTES = new Set([LOGIN_ROUTE, JWKS_ROUTE, ACCOUNT_ROUTE, LOGOUT_ROUTE])
/** The bare status of init; on login and the token routes, the status with its reason phrase as text/plain (Express's sendStatus). */
const status = (req: FastifyRequest, code: number): Answer => REASON_PHRASE_ROUTES.has(req.routeOptions.url ?? '') ? sendStatus(code) : { status: code }

routeGroups(signInRoutes, loginRoutes, accountRoutes)

export default async function oauthConfirm (app: FastifyInstance, opts: OAuthConfirmOptions): Promise<void> {
  const tenant = app.tenant
  const { confirmUrl, signupUrl, errorUrl } = checkOptions(opts)

  function callbackFailure (code: CallbackError): Answer {
    if (errorUrl) {
      const target = new URL(errorUrl)
      target.searchParams.set('error', code)
      return { status: 302, redirect: target.toString() }
    }
    // Without an errorUrl the seed's bare status: 503 keeps "try again" apart from "refused", 500 for our own faults.
    return { status: code === 'provider_unavailable' ? 503 : code === 'server_error' ? 500 : code === 'rate_limited' ? 429 : 400 }
  }
  const onCallback = (req: FastifyRequest) => req.routeOptions.url === CALLBACK_ROUTE
  // Init's failures are a bare status (no body); login's are Express sendStatus answers (freesewing's
  // controllers/auth.js loginOauth); the callback says the same through errorUrl.
  const bad = (req: FastifyRequest): Answer => onCallback(req) ? callbackFailure('invalid_request') : status(req, 400)
  const envelope: Envelope = {
    validation: (_f, req) => bad(req),
    unsupportedMediaType: (_m, req) => bad(req),
    bodyTooLarge: (req) => bad(req),
    malformed: (_e, req) => bad(req),
    rateLimited: (_s, _m, req) => onCallback(req) ? callbackFailure('rate_limited') : status(req, 429),
    // Only init (discovery down: a bare 503) and the callback reach a provider.
    providerFailure: (f, req) => onCallback(req)
      ? callbackFailure(f.error === 'unavailable' ? 'provider_unavailable' : 'invalid_credentials')
      : { status: 503 },
    internal: (req) => onCallback(req) ? callbackFailure('server_error') : status(req, 500),
    // A blocked account: freesewing's bare 403 for a user who is not active; errorUrl?error=account_disabled on the callback.
    accountDisabled: (req) => onCallback(req) ? { ...callbackFailure('account_disabled'), ...(errorUrl ? {} : { status: 403 }) } : status(req, 403)
  }
  installEnvelope(app, envelope)

  // Opt-in (tenant `rateLimits.login`): one counter per tenant and client address over the three steps,
  // since init writes a row per call and the callback and login spend provider round trips.
  const limit = tenant.rateLimits.login
  const throttle = limit ? app.limitHook('oauth-confirm:ip', limit, (req) => clientIpKey(req.ip)) : undefined

  const jwt: Shared['jwt'] = { issuer: tenant.publicUrl, alg: opts.jwt?.algorithm ?? 'ES256', ...(opts.jwt?.audience !== undefined ? { audience: opts.jwt.audience } : {}) }
  const shared: Shared = { opts, confirmUrl, signupUrl, callbackFailure, throttle, jwt }
  await app.register(signInRoutes, shared)
  await app.register(loginRoutes, shared)
  await app.register(accountRoutes, shared)
}

function checkOptions (opts: OAuthConfirmOptions): { confirmUrl: string, signupUrl: string, errorUrl: string | undefined } {
  const fail = (option: string, why: string) => Object.assign(new Error(`oauth-confirm: option ${option} ${why}`), { code: 'VST_ERR_OAUTH_CONFIRM_OPTIONS' })
  for (const option of ['confirmUrl', 'signupUrl'] as const) {
    const template = opts?.[option]
    if (option === 'signupUrl' && template === undefined) continue
    if (typeof template !== 'string' || !template.includes('{confirmation}')) throw fail(option, 'must be a URL containing {confirmation}')
    try { new URL(fillTemplate(template, { confirmation: 'x', validation: 'x', state: 'x', language: 'en' })) } catch { throw fail(option, 'is not a valid URL') }
  }
  if (opts.errorUrl !== undefined) {
    try { new URL(opts.errorUrl) } catch { throw fail('errorUrl', 'is not a valid URL') }
  }
  return { confirmUrl: opts.confirmUrl, signupUrl: opts.signupUrl ?? opts.confirmUrl, errorUrl: opts.errorUrl }
}
