// oauth-confirm init and callback: a state for the provider round trip, then the account and a confirmation for the frontend.
import { hashToken, randomHex } from '../../plugins/crypto.ts'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { DialectError, ProviderFailureError } from '../../plugins/errors.ts'
import { authorizationFlow } from '../../plugins/providers/flow.ts'
import type { OAuth2Provider } from '../../plugins/providers/types.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { CALLBACK_ROUTE, defaultLanguages, fillTemplate, INIT_ROUTE, TAGS, type Shared } from './shared.ts'
import { BareError, CallbackParams, CallbackQuery, InitBody, InitReply } from './schemas.ts'

// Purposes of our own, so a state or confirmation minted by another dialect can never be consumed here (nor ours there).
const STATE_PURPOSE = 'oauth-confirm:state'
export const CONFIRMATION_PURPOSE = 'oauth-confirm:confirmation'

/** `validation`: the SHA-256 of the validation, when the redirect template carried one (login then requires it). */
export interface ConfirmationData { provider: string, language: string, isNew: boolean, validation?: string }

/** 128 random bits as 32 lowercase hex characters: the seed's lowercase-hex shape, longer than its 24-character examples. */
const seedToken = () => randomHex(16)

export const Throttled = BareError('Too many requests from this address (only with the tenant\'s `rateLimits.login`); see Retry-After (empty body).')

export default async function signInRoutes (fastify: FastifyInstance, shared: Shared): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = app.tenant
  const { opts, confirmUrl, signupUrl, callbackFailure, throttle } = shared
  // `frontend`: the frontend builds the provider URL from the state (freesewing.org's src/config/oauth.js), so the
  // provider never sees a PKCE challenge or a nonce, and may not be asked for `openid`: the profile comes from userinfo.
  const frontendUrls = opts.providerUrls === 'frontend'
  const stateTtl = opts.stateTtlSeconds ?? 600
  const confirmationTtl = opts.confirmationTtlSeconds ?? 300
  const languages = acceptedLanguages(opts.languages ?? defaultLanguages(tenant.locales))
  const callbackUrl = (provider: string) => `${tenant.publicUrl}/oauth/callback/from/${provider}`
  // With bindStateToBrowser the state is also bound to the browser that called init (its cookie comes back at the
  // callback, a top-level navigation to this origin); see docs/oauth-confirm.md for when a browser keeps it.
  const flow = authorizationFlow(tenant.identity, {
    purpose: STATE_PURPOSE,
    ttlSeconds: stateTtl,
    stateToken: seedToken,
    bindBrowser: opts.bindStateToBrowser === true,
    ...(frontendUrls ? { pkce: false, nonce: false, userinfoProfile: true } : {})
  })
  const limit = tenant.rateLimits.login
  const fail = (code: Parameters<Shared['callbackFailure']>[0]) => new DialectError(callbackFailure(code))

  function oauth2 (name: string): OAuth2Provider | undefined {
    const p = tenant.providers.get(name)
    return p?.protocol === 'oauth2' ? p : undefined
  }

  app.post(INIT_ROUTE, {
    onRequest: throttle,
    schema: {
      operationId: 'oauthConfirmInit',
      tags: TAGS,
      summary: 'Start an OAuth sign-in: returns a single-use state and the provider authorization URL',
      description: 'The state is stored hashed, expires after `stateTtlSeconds`, and is bound to this tenant, the provider and the language (with `bindStateToBrowser`, also to this browser through a cookie set here). The URL carries a PKCE (S256) challenge and, for OpenID Connect providers, a nonce.',
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
    if (!provider || language === undefined) throw new DialectError({ status: 400 })
    const started = await flow.start(provider, { redirectUri: callbackUrl(name), data: { language } })
    // Discovery down: the envelope's bare 503.
    if (!started.ok) throw new ProviderFailureError(started, name)
    const { cookie, ...body } = started.value
    if (cookie) reply.header('set-cookie', cookie)
    return body
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
    const provider = oauth2(name)
    if (!provider) {
      // No provider to complete the flow with, but a presented state is spent all the same (it is never replayed):
      // one minted for another provider is invalid_state, as the flow would say.
      const { state } = req.query
      if (!state) throw fail('invalid_request')
      const consumed = await tenant.identity.consumeToken(STATE_PURPOSE, state)
      if (!consumed.ok || consumed.row.data.provider !== name) throw fail('invalid_state')
      throw fail('invalid_request')
    }
    const done = await flow.complete(provider, req.query, { cookie: req.headers.cookie })
    if (done.clearCookie) reply.header('set-cookie', done.clearCookie)
    if (!done.ok) {
      req.log.warn({ provider: name, reason: done.reason, ...(done.reason === 'invalid_state' && done.browser ? { browser: done.browser } : {}) }, 'oauth-confirm: callback refused')
      if (done.reason === 'provider') throw new ProviderFailureError(done.failure, name)
      throw fail(done.reason === 'invalid_state' ? 'invalid_state' : done.reason === 'access_denied' ? 'access_denied' : 'invalid_request')
    }
    const language = String(done.data.language)
    const state = String(req.query.state)
    // A fresh validation per confirmation (freesewing's second path segment); kept only as its hash.
    const validation = seedToken()

    // Account resolution and the confirmation commit together: a failure leaves neither behind.
    const outcome = await tenant.identity.signInWithProfile(done.profile, {
      newUser: { locale: language },
      then: async (tx, s) => {
        // An account that has no language yet (made by another dialect) takes the one chosen here.
        if (s.user.locale === null) await tx.updateUser(s.user.id, { locale: language })
        const template = s.isNew ? signupUrl : confirmUrl
        const data: ConfirmationData = { provider: name, language, isNew: s.isNew, ...(template.includes('{validation}') ? { validation: hashToken(validation) } : {}) }
        const confirmation = (await tx.createToken(CONFIRMATION_PURPOSE, {
          ttlSeconds: confirmationTtl, userId: s.user.id, data: data as unknown as Record<string, unknown>, token: seedToken()
        })).token
        return fillTemplate(template, { confirmation, validation, state, language })
      }
    })
    if (outcome.kind !== 'signed-in') {
      req.log.info({ provider: name, outcome: outcome.kind }, 'oauth-confirm: sign-in refused')
      throw fail(outcome.kind === 'email-in-use' ? 'email_in_use' : 'invalid_credentials')
    }
    return reply.redirect(outcome.result, 302)
  })
}

/** Lower-cased code → the configured spelling (language codes are case-insensitive; the stored form is the configured one). */
function acceptedLanguages (list: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const l of list) if (!map.has(l.toLowerCase())) map.set(l.toLowerCase(), l)
  return map
}
