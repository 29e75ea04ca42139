// The rest-social-auth dialect (seed 000): POST /social-auth (OAuth1 two-step, OAuth2 code), GET/PATCH /user, POST /logout.
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../../db/index.ts'
import { hashToken, safeEqual } from '../../plugins/crypto.ts'
import {
  consumeOneTimeToken, createOneTimeToken, findUserByEmail, inTransaction, isUniqueViolation, issueSession,
  peekOneTimeToken, resolveSocialLogin, revokeSession, transactionWithRaceRetry, updateUser, type UserFields
} from '../../plugins/identity/index.ts'
import type { NormalizedProfile, OAuth1Provider, OAuth2Provider, ProviderFailure } from '../../plugins/providers/types.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { auth, DETAIL, installErrorHandler, rawBody, MSG, requireFields, tokenAuth, validateFields, type FieldSpec } from '../../plugins/drf.ts'
import type { RestSocialAuthOptions } from './options.ts'
import {
  LogoutResponse, OAuth1Step1Response, SOCIAL_FIELDS, SocialAuthBody, SocialAuthErrors, TokenResponse, Unauthorized,
  Unavailable, UnsupportedMedia, USER_FIELDS, UserResponse, UserUpdateBody, UserUpdateErrors
} from './schemas.ts'

const TAGS = ['rest-social-auth']
const SECURITY = [{ TokenAuth: [] }]
const SESSION_KINDS = ['token'] as const
/** How long an OAuth1 request token issued in step 1 may be used in step 2. */
const OAUTH1_REQUEST_TTL_SECONDS = 900

const E = {
  invalidProvider: { provider: ['Invalid provider'] },
  invalidCredentials: { non_field_errors: 'invalid_credentials' },
  noEmail: { email: 'no_email_provided' },
  emailInUse: { email: 'email_already_in_use' },
  unavailable: { detail: 'The authentication provider is unavailable. Try again later.' }
}

export default async function restSocialAuth (app: FastifyInstance, opts: RestSocialAuthOptions): Promise<void> {
  const tenant = app.tenant
  const sessionTtl = opts.tokenTtlSeconds ?? null
  const fieldsByRoute = new Map<string, FieldSpec[]>([['POST /social-auth', SOCIAL_FIELDS], ['PATCH /user', USER_FIELDS]])
  installErrorHandler(app, (req) => fieldsByRoute.get(`${req.routeOptions.method} ${req.routeOptions.url}`))
  const authenticate = tokenAuth(app, SESSION_KINDS)

  const providerFailure = (reply: FastifyReply, f: ProviderFailure, req: FastifyRequest) => {
    if (f.error === 'unavailable') {
      req.log.warn({ provider: req.body && (req.body as Record<string, unknown>).provider, detail: f.detail }, 'provider unavailable')
      return reply.code(503).send(E.unavailable)
    }
    req.log.info({ detail: f.detail }, 'provider refused the credentials')
    return reply.code(400).send(E.invalidCredentials)
  }

  /** Resolve + issue the token in one transaction; a lost race on a unique key is decided again once. */
  async function signIn (profile: NormalizedProfile, email: string | undefined, referralCode: string | undefined) {
    return transactionWithRaceRetry(tenant.db, async (trx) => {
      const newUser: UserFields = referralCode !== undefined ? { referral_code: referralCode } : {}
      const outcome = await resolveSocialLogin(trx, {
        tenantId: tenant.id, linking: tenant.linking, profile, suppliedEmail: email ?? null, requireEmail: true, newUser
      })
      if (outcome.kind !== 'login' && outcome.kind !== 'linked' && outcome.kind !== 'created') return { outcome, token: null }
      const { token } = await issueSession(trx, { tenantId: tenant.id, userId: outcome.user.id, kind: 'token', ttlSeconds: sessionTtl })
      return { outcome, token }
    })
  }

  async function finish (reply: FastifyReply, profile: NormalizedProfile, values: Record<string, string | undefined>) {
    const { outcome, token } = await signIn(profile, values.email, values.referral_code)
    if (outcome.kind === 'no-email') return reply.code(400).send(E.noEmail)
    if (outcome.kind === 'email-in-use') return reply.code(400).send(E.emailInUse)
    if (token === null) throw new Error(`unexpected outcome ${outcome.kind}`)
    return reply.code(200).send({ token, is_new: outcome.isNew })
  }

  app.post('/social-auth', {
    schema: {
      operationId: 'restSocialAuthSocialAuth',
      tags: TAGS,
      summary: 'Register or log in with a social provider (OAuth1 step 1, OAuth1 step 2, or OAuth2 code)',
      description: 'OAuth1 providers (twitter): step 1 `{provider, redirect_uri}` returns a request token; step 2 `{provider, oauth_token, oauth_token_secret, oauth_verifier}` logs in. OAuth2 providers: `{provider, code, redirect_uri}`. `email` is used when the provider gives none; `referral_code` is stored on first registration.',
      consumes: JSON_AND_FORM,
      body: SocialAuthBody,
      response: {
        200: Type.Union([TokenResponse, OAuth1Step1Response], { description: '`{token, is_new}` on login/registration; `{oauth_token, oauth_token_secret, oauth_callback_confirmed}` for OAuth1 step 1.' }),
        400: SocialAuthErrors,
        413: UnsupportedMedia,
        415: UnsupportedMedia,
        503: Unavailable
      }
    }
  }, async (req, reply) => {
    const v = validateFields(SOCIAL_FIELDS, rawBody(req))
    if (!v.ok) return reply.code(400).send(v.errors)
    const values = v.values
    const provider = tenant.providers.get(values.provider!)
    if (!provider) return reply.code(400).send(E.invalidProvider)

    if (provider.protocol === 'oauth2') {
      const missing = requireFields(SOCIAL_FIELDS, values, ['code', 'redirect_uri'])
      if (missing) return reply.code(400).send(missing)
      return oauth2(req, reply, provider, values)
    }
    const step2 = values.oauth_token !== undefined || values.oauth_token_secret !== undefined || values.oauth_verifier !== undefined
    if (!step2) {
      const missing = requireFields(SOCIAL_FIELDS, values, ['redirect_uri'])
      if (missing) return reply.code(400).send(missing)
      return oauth1Step1(req, reply, provider, values.redirect_uri!)
    }
    const missing = requireFields(SOCIAL_FIELDS, values, ['oauth_token', 'oauth_token_secret', 'oauth_verifier'])
    if (missing) return reply.code(400).send(missing)
    return oauth1Step2(req, reply, provider, values)
  })

  async function oauth2 (req: FastifyRequest, reply: FastifyReply, provider: OAuth2Provider, values: Record<string, string | undefined>) {
    const tokens = await provider.exchangeCode({ code: values.code!, redirectUri: values.redirect_uri! })
    if (!tokens.ok) return providerFailure(reply, tokens, req)
    const profile = await provider.profileFromTokens(tokens.value)
    if (!profile.ok) return providerFailure(reply, profile, req)
    return finish(reply, profile.value, values)
  }

  async function oauth1Step1 (req: FastifyRequest, reply: FastifyReply, provider: OAuth1Provider, callbackUrl: string) {
    if (!isHttpUrl(callbackUrl)) return reply.code(400).send({ redirect_uri: [MSG.url] })
    if (opts.oauth1CallbackUrls && !opts.oauth1CallbackUrls.includes(callbackUrl)) {
      return reply.code(400).send({ redirect_uri: ['This redirect_uri is not allowed.'] })
    }
    const rt = await provider.requestToken({ callbackUrl })
    if (!rt.ok) return providerFailure(reply, rt, req)
    if (!rt.value.callbackConfirmed) {
      // Without oauth_callback_confirmed the provider speaks OAuth 1.0, whose callback can be swapped.
      return providerFailure(reply, { ok: false, error: 'unavailable', detail: 'oauth_callback_confirmed is not true' }, req)
    }
    // Step 2 accepts only request tokens this tenant issued, through this provider, once.
    await createOneTimeToken(tenant.db, {
      tenantId: tenant.id,
      purpose: 'oauth1-request',
      ttlSeconds: OAUTH1_REQUEST_TTL_SECONDS,
      token: rt.value.oauthToken,
      data: { provider: provider.name, secretHash: hashToken(rt.value.oauthTokenSecret) }
    })
    return reply.code(200).send({ oauth_token: rt.value.oauthToken, oauth_token_secret: rt.value.oauthTokenSecret, oauth_callback_confirmed: 'true' })
  }

  async function oauth1Step2 (req: FastifyRequest, reply: FastifyReply, provider: OAuth1Provider, values: Record<string, string | undefined>) {
    const oauthToken = values.oauth_token!
    const secret = values.oauth_token_secret!
    // Check before consuming, so a caller who only saw oauth_token (it travels in the callback URL) cannot burn it.
    const row = await peekOneTimeToken(tenant.db, tenant.id, 'oauth1-request', oauthToken)
    const bound = row !== undefined && row.data.provider === provider.name && safeEqual(hashToken(secret), String(row.data.secretHash ?? ''))
    if (!bound) return reply.code(400).send(E.invalidCredentials)
    const consumed = await consumeOneTimeToken(tenant.db, tenant.id, 'oauth1-request', oauthToken)
    if (!consumed.ok) return reply.code(400).send(E.invalidCredentials)
    const at = await provider.accessToken({ oauthToken, oauthTokenSecret: secret, verifier: values.oauth_verifier! })
    if (!at.ok) return providerFailure(reply, at, req)
    const profile = await provider.profileFromAccessToken(at.value.accessToken, at.value.accessTokenSecret)
    if (!profile.ok) return providerFailure(reply, profile, req)
    return finish(reply, profile.value, values)
  }

  app.get('/user', {
    onRequest: authenticate,
    schema: {
      operationId: 'restSocialAuthGetUser',
      tags: TAGS,
      summary: 'The authenticated user',
      security: SECURITY,
      response: { 200: UserResponse, 401: Unauthorized }
    }
  }, async (req) => serializeUser(auth(req).user))

  app.patch('/user', {
    onRequest: authenticate,
    schema: {
      operationId: 'restSocialAuthUpdateUser',
      tags: TAGS,
      summary: 'Update the authenticated user (referral_code, email, first_name, last_name)',
      security: SECURITY,
      consumes: JSON_AND_FORM,
      body: UserUpdateBody,
      response: { 200: UserResponse, 400: UserUpdateErrors, 401: Unauthorized, 413: UnsupportedMedia, 415: UnsupportedMedia }
    }
  }, async (req, reply) => {
    const v = validateFields(USER_FIELDS, rawBody(req))
    if (!v.ok) return reply.code(400).send(v.errors)
    const { user } = auth(req)
    const fields: UserFields = {}
    const blankToNull = (s: string) => (s === '' ? null : s)
    if (v.values.first_name !== undefined) fields.given_name = blankToNull(v.values.first_name)
    if (v.values.last_name !== undefined) fields.family_name = blankToNull(v.values.last_name)
    if (v.values.referral_code !== undefined) fields.referral_code = blankToNull(v.values.referral_code)
    const email = v.values.email
    if (email !== undefined && email.toLowerCase() !== (user.email ?? '').toLowerCase()) {
      fields.email = email
      fields.email_verified = false // a typed-in address proves nothing
    }
    const taken = { email: ['user with this email already exists.'] }
    try {
      const updated = await inTransaction(tenant.db, async (trx) => {
        if (fields.email) {
          const other = await findUserByEmail(trx, tenant.id, fields.email)
          if (other && other.id !== user.id) return null
        }
        return updateUser(trx, tenant.id, user.id, fields)
      })
      if (updated === null) return reply.code(400).send(taken)
      if (!updated) throw new Error('authenticated user vanished')
      return serializeUser(updated)
    } catch (err) {
      if (isUniqueViolation(err)) return reply.code(400).send(taken)
      throw err
    }
  })

  app.post('/logout', {
    onRequest: authenticate,
    schema: {
      operationId: 'restSocialAuthLogout',
      tags: TAGS,
      summary: 'Revoke the token used for this request',
      security: SECURITY,
      response: { 200: LogoutResponse, 401: Unauthorized, 413: UnsupportedMedia, 415: UnsupportedMedia }
    }
  }, async (req) => {
    await revokeSession(tenant.db, tenant.id, auth(req).token)
    return { detail: DETAIL.loggedOut }
  })
}

function isHttpUrl (s: string): boolean {
  try {
    const u = new URL(s)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== ''
  } catch { return false }
}

function serializeUser (u: User) {
  return {
    id: Number(u.id),
    email: u.email,
    email_verified: u.email_verified,
    first_name: u.given_name ?? '',
    last_name: u.family_name ?? '',
    referral_code: u.referral_code
  }
}
