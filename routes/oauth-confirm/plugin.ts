// The oauth-confirm dialect (seed 002, DESIGN 5.3): init → provider → callback → frontend confirmation → login.
import { randomBytes } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../../db/index.ts'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { hashToken, randomToken } from '../../plugins/crypto.ts'
import {
  consumeOneTimeToken, createOneTimeToken, getUser, inTransaction, issueSession,
  resolveSocialLogin, revokeSessionsBySource, updateUser, transactionWithRaceRetry } from '../../plugins/identity/index.ts'
import type { OAuth2Provider } from '../../plugins/providers/types.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import type { TenantContext } from '../../plugins/tenant/context.ts'
import type { OAuthConfirmOptions } from './options.ts'
import { type AccountType, BareError, CallbackParams, CallbackQuery, InitBody, InitReply, LoginBody, LoginReply } from './schemas.ts'

const TAGS = ['oauth-confirm']
// Purposes of our own, so a state or confirmation minted by another dialect can never be consumed here (nor ours there).
const STATE_PURPOSE = 'oauth-confirm:state'
const CONFIRMATION_PURPOSE = 'oauth-confirm:confirmation'
const SESSION_KIND = 'oauth-confirm'
const CALLBACK_ROUTE = '/oauth/callback/from/:provider'
// Types whose provider checks an id_token nonce (LinkedIn's id_token is not used, so a nonce would prove nothing).
const NONCE_TYPES = new Set(['google', 'oidc', 'demo'])

/** Codes appended to errorUrl as `?error=`; documented in docs/oauth-confirm.md. */
export type CallbackError =
  | 'invalid_request' | 'invalid_state' | 'access_denied' | 'invalid_credentials'
  | 'provider_unavailable' | 'email_in_use' | 'rate_limited' | 'server_error'

interface StateData { provider: string, language: string, codeVerifier: string, nonce?: string }
interface ConfirmationData { provider: string, language: string, isNew: boolean }

/** 96 random bits as 24 lowercase hex characters: the shape the seed shows for states and confirmations. */
const seedToken = () => randomBytes(12).toString('hex')

export default async function oauthConfirm (fastify: FastifyInstance, opts: OAuthConfirmOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tenant: TenantContext = app.tenant
  const { confirmUrl, errorUrl } = checkOptions(opts)
  const stateTtl = opts.stateTtlSeconds ?? 600
  const confirmationTtl = opts.confirmationTtlSeconds ?? 300
  const sessionTtl = opts.sessionTtlSeconds ?? null
  const languages = acceptedLanguages(opts.languages ?? defaultLanguages(tenant.locales))
  const callbackUrl = (provider: string) => `${tenant.publicUrl}/oauth/callback/from/${provider}`

  function oauth2 (name: string): OAuth2Provider | undefined {
    const p = tenant.providers.get(name)
    return p?.protocol === 'oauth2' ? p : undefined
  }

  function failCallback (reply: FastifyReply, code: CallbackError): FastifyReply {
    if (errorUrl) {
      const target = new URL(errorUrl)
      target.searchParams.set('error', code)
      return reply.redirect(target.toString(), 302)
    }
    // Without an errorUrl the seed's bare status: 503 keeps "try again" apart from "refused", 500 for our own faults.
    return reply.code(code === 'provider_unavailable' ? 503 : code === 'server_error' ? 500 : code === 'rate_limited' ? 429 : 400).send()
  }

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500
    const isCallback = req.routeOptions.url === CALLBACK_ROUTE
    if (status >= 500) req.log.error({ err }, 'oauth-confirm: unexpected error')
    else req.log.info({ code: err.code, validation: err.validationContext }, 'oauth-confirm: bad request')
    // The tenant-wide limit (Retry-After already set): the seed has no throttling body, so a bare 429.
    if (status === 429) return isCallback ? failCallback(reply, 'rate_limited') : bare(reply, 429)
    if (isCallback) return failCallback(reply, status >= 500 ? 'server_error' : 'invalid_request')
    // Validation errors, bad or unsupported bodies: the seed's bare 400; our own faults: a bare 500, no stack.
    return reply.code(status >= 500 ? 500 : 400).send()
  })

  // Opt-in (tenant `rateLimits.login`): one counter per tenant and client address over the three steps,
  // since init writes a row per call and the callback and login spend provider round trips.
  const limit = tenant.rateLimits.login
  let throttle: ((req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>) | undefined
  if (limit) {
    const limiter = app.limiter('oauth-confirm:ip', limit, (req) => clientIpKey(req.ip))
    throttle = async (req, reply) => {
      const retryAfter = await limiter(req)
      if (retryAfter !== null) {
        reply.header('retry-after', String(retryAfter))
        return req.routeOptions.url === CALLBACK_ROUTE ? failCallback(reply, 'rate_limited') : bare(reply, 429)
      }
    }
  }
  const Throttled = BareError('Too many requests from this address (only with the tenant\'s `rateLimits.login`); see Retry-After (empty body).')

  app.post('/oauth/init', {
    onRequest: throttle,
    schema: {
      operationId: 'oauthConfirmInit',
      tags: TAGS,
      summary: 'Start an OAuth sign-in: returns a single-use state and the provider authorization URL',
      description: 'The state is stored hashed, expires after `stateTtlSeconds`, and is bound to this tenant, the provider and the language. The URL carries a PKCE (S256) challenge and, for OpenID Connect providers, a nonce.',
      consumes: JSON_AND_FORM,
      body: InitBody,
      response: {
        200: InitReply,
        400: BareError('Unknown provider or language, or a malformed body (empty body).'),
        ...(limit ? { 429: Throttled } : {}),
        503: BareError('The provider\'s discovery document cannot be fetched (empty body).')
      }
    }
  }, async (req, reply) => {
    const { provider: name } = req.body
    const language = languages.get(req.body.language.toLowerCase())
    const provider = oauth2(name)
    if (!provider || language === undefined) return bare(reply, 400)
    const ready = (provider as Partial<{ ready: () => Promise<{ ok: boolean, detail?: string }> }>).ready
    if (typeof ready === 'function') {
      const r = await ready.call(provider)
      if (!r.ok) { req.log.warn({ provider: name, detail: r.detail }, 'oauth-confirm: provider discovery failed'); return bare(reply, 503) }
    }
    const codeVerifier = randomToken(32)
    const nonce = NONCE_TYPES.has(provider.type) ? randomToken(16) : undefined
    const state = seedToken()
    const data: StateData = { provider: name, language, codeVerifier, ...(nonce ? { nonce } : {}) }
    const url = provider.authorizeUrl({ state, redirectUri: callbackUrl(name), codeVerifier, nonce })
    await createOneTimeToken(tenant.db, { tenantId: tenant.id, purpose: STATE_PURPOSE, ttlSeconds: stateTtl, data: data as unknown as Record<string, unknown>, token: state })
    return { state, url }
  })

  app.get(CALLBACK_ROUTE, {
    onRequest: throttle,
    schema: {
      operationId: 'oauthConfirmCallback',
      tags: TAGS,
      summary: 'Provider callback: checks the state, exchanges the code, finds or creates the account, redirects to the frontend',
      description: 'Success: 302 to `confirmUrl` with a fresh single-use confirmation. Failure: 302 to `errorUrl?error=<code>` (invalid_request, invalid_state, access_denied, invalid_credentials, provider_unavailable, email_in_use, server_error); without an errorUrl, a bare 400 (503 when the provider is unavailable).',
      params: CallbackParams,
      querystring: CallbackQuery,
      response: {
        302: BareError('Redirect (Location header) to confirmUrl, or to errorUrl on failure.'),
        400: BareError('Failure when no errorUrl is configured (empty body).'),
        ...(limit ? { 429: Throttled } : {}),
        503: BareError('The provider is unavailable and no errorUrl is configured (empty body).')
      }
    }
  }, async (req, reply) => {
    const { provider: name } = req.params
    const { state, code, error } = req.query
    if (!state) return failCallback(reply, 'invalid_request')
    // Consumed first and for good: a state is spent even when a later step fails, so it can never be replayed.
    const consumed = await consumeOneTimeToken(tenant.db, tenant.id, STATE_PURPOSE, state)
    if (!consumed.ok) {
      req.log.warn({ reason: consumed.reason }, 'oauth-confirm: state refused')
      return failCallback(reply, 'invalid_state')
    }
    const data = consumed.row.data as unknown as StateData
    if (data.provider !== name) {
      req.log.warn({ issuedFor: data.provider, provider: name }, 'oauth-confirm: state issued for another provider')
      return failCallback(reply, 'invalid_state')
    }
    const provider = oauth2(name)
    if (!provider) return failCallback(reply, 'invalid_request')
    if (error !== undefined) return failCallback(reply, 'access_denied')
    if (!code) return failCallback(reply, 'invalid_request')

    const tokens = await provider.exchangeCode({ code, redirectUri: callbackUrl(name), codeVerifier: data.codeVerifier })
    if (!tokens.ok) {
      req.log.warn({ provider: name, error: tokens.error, detail: tokens.detail }, 'oauth-confirm: code exchange failed')
      return failCallback(reply, tokens.error === 'unavailable' ? 'provider_unavailable' : 'invalid_credentials')
    }
    const profile = await provider.profileFromTokens(tokens.value, { nonce: data.nonce })
    if (!profile.ok) {
      req.log.warn({ provider: name, error: profile.error, detail: profile.detail }, 'oauth-confirm: profile refused')
      return failCallback(reply, profile.error === 'unavailable' ? 'provider_unavailable' : 'invalid_credentials')
    }

    // Account resolution and the confirmation commit together: a failure leaves neither behind.
    const result = await transactionWithRaceRetry(tenant.db, async (trx) => {
      const outcome = await resolveSocialLogin(trx, {
        tenantId: tenant.id,
        linking: tenant.linking,
        profile: profile.value,
        newUser: { locale: data.language }
      })
      if (outcome.kind !== 'login' && outcome.kind !== 'linked' && outcome.kind !== 'created') return outcome.kind
      // An account that has no language yet (made by another dialect) takes the one chosen here.
      if (outcome.user.locale === null) await updateUser(trx, tenant.id, outcome.user.id, { locale: data.language })
      const confirmation: ConfirmationData = { provider: name, language: data.language, isNew: outcome.isNew }
      const { token } = await createOneTimeToken(trx, {
        tenantId: tenant.id, purpose: CONFIRMATION_PURPOSE, ttlSeconds: confirmationTtl,
        userId: outcome.user.id, data: confirmation as unknown as Record<string, unknown>, token: seedToken()
      })
      return { token }
    })
    if (typeof result === 'string') {
      req.log.info({ provider: name, outcome: result }, 'oauth-confirm: sign-in refused')
      return failCallback(reply, result === 'email-in-use' ? 'email_in_use' : 'invalid_credentials')
    }
    return reply.redirect(confirmUrl.replaceAll('{confirmation}', encodeURIComponent(result.token)), 302)
  })

  app.post('/oauth/login', {
    onRequest: throttle,
    schema: {
      operationId: 'oauthConfirmLogin',
      tags: TAGS,
      summary: 'Trade the confirmation from the frontend redirect for the account and a token',
      description: 'The confirmation is single use and expires after `confirmationTtlSeconds`. Presenting a used confirmation again revokes the token it issued.',
      consumes: JSON_AND_FORM,
      body: LoginBody,
      response: {
        200: LoginReply,
        400: BareError('Unknown, used or expired confirmation, or a malformed body (empty body).'),
        ...(limit ? { 429: Throttled } : {})
      }
    }
  }, async (req, reply) => {
    const { confirmation } = req.body
    const source = hashToken(`${CONFIRMATION_PURPOSE}:${confirmation}`)
    const result = await inTransaction(tenant.db, async (trx) => {
      const consumed = await consumeOneTimeToken(trx, tenant.id, CONFIRMATION_PURPOSE, confirmation)
      if (!consumed.ok) return consumed
      const user = consumed.row.user_id === null ? undefined : await getUser(trx, tenant.id, consumed.row.user_id)
      if (!user) return { ok: false as const, reason: 'unknown' as const }
      const { token } = await issueSession(trx, { tenantId: tenant.id, userId: user.id, kind: SESSION_KIND, ttlSeconds: sessionTtl, source })
      return { ok: true as const, user, token, data: consumed.row.data as unknown as ConfirmationData }
    })
    if (!result.ok) {
      if (result.reason === 'replayed') {
        // A second use means the confirmation leaked: whoever used it first loses the token it got.
        const revoked = await revokeSessionsBySource(tenant.db, tenant.id, source)
        req.log.warn({ revoked }, 'oauth-confirm: confirmation replayed; its token is revoked')
      }
      return bare(reply, 400)
    }
    return { account: account(result.user, result.data), token: result.token }
  })
}

/** The seed's bare failure: a status and no body at all. */
function bare (reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).send()
}

function account (user: User, data: ConfirmationData): AccountType {
  return {
    id: user.uuid,
    username: user.username,
    email: user.email,
    emailVerified: user.email_verified,
    language: user.locale ?? data.language,
    name: user.display_name,
    givenName: user.given_name,
    familyName: user.family_name,
    picture: user.photo,
    provider: data.provider,
    isNew: data.isNew,
    createdAt: new Date(user.created_at).toISOString()
  }
}

/** The tenant locales plus their primary subtags (`fr-FR` → `fr-FR`, `fr`), so the seed's bare codes work. */
export function defaultLanguages (locales: string[]): string[] {
  const out = new Set<string>()
  for (const l of locales) out.add(l)
  for (const l of locales) out.add(l.split('-')[0])
  return [...out]
}

/** Lower-cased code → the configured spelling (language codes are case-insensitive; the stored form is the configured one). */
function acceptedLanguages (list: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const l of list) if (!map.has(l.toLowerCase())) map.set(l.toLowerCase(), l)
  return map
}

function checkOptions (opts: OAuthConfirmOptions): { confirmUrl: string, errorUrl: string | undefined } {
  const fail = (option: string, why: string) => Object.assign(new Error(`oauth-confirm: option ${option} ${why}`), { code: 'VST_ERR_OAUTH_CONFIRM_OPTIONS' })
  if (typeof opts?.confirmUrl !== 'string' || !opts.confirmUrl.includes('{confirmation}')) throw fail('confirmUrl', 'must be a URL containing {confirmation}')
  try { new URL(opts.confirmUrl.replaceAll('{confirmation}', 'x')) } catch { throw fail('confirmUrl', 'is not a valid URL') }
  if (opts.errorUrl !== undefined) {
    try { new URL(opts.errorUrl) } catch { throw fail('errorUrl', 'is not a valid URL') }
  }
  return { confirmUrl: opts.confirmUrl, errorUrl: opts.errorUrl }
}
