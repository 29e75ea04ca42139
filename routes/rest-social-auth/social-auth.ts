// POST /social-auth: OAuth1 step 1 (request token), OAuth1 step 2 and OAuth2 code sign-in, answering {token, is_new}.
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { hashToken, safeEqual } from '../../plugins/crypto.ts'
import { MSG, providerMissing, requireFields } from '../../plugins/drf.ts'
import { DialectError, ProviderFailureError, unwrapProvider } from '../../plugins/errors.ts'
import type { NormalizedProfile, OAuth1Provider, OAuth2Provider, OAuth2Tokens } from '../../plugins/providers/types.ts'
import { DRF_BODIES } from '../../plugins/schemas.ts'
import { normalisedUrl, type RestSocialAuthOptions } from './options.ts'
import { OAuth1Step1Response, SOCIAL_FIELDS, SocialAuthBody, SocialAuthErrors, TokenResponse, Unavailable, UnsupportedMedia } from './schemas.ts'

/** How long an OAuth1 request token issued in step 1 may be used in step 2. */
const OAUTH1_REQUEST_TTL_SECONDS = 900
const OAUTH1_PURPOSE = 'oauth1-request'
/** The provider's answer to a code (or an OAuth1 token + verifier) is kept this long, so a retry completes
 *  (baseapp_social_auth cache/models.py, cache/tasks.py: one hour). */
export const ANSWER_CACHE_TTL_SECONDS = 3600
export const ANSWER_CACHE_PURPOSE = 'rsa-provider-answer'

export const E = {
  invalidProvider: { provider: ['Invalid provider'] },
  invalidCredentials: { non_field_errors: 'invalid_credentials' },
  noEmail: { email: 'no_email_provided' },
  emailInUse: { email: 'email_already_in_use' },
  invalidReferralCode: 'Invalid referral code.',
  unavailable: { detail: 'The authentication provider is unavailable. Try again later.' }
}

const refuse = (body: unknown) => new DialectError({ status: 400, body })
type Values = Record<string, string | undefined>

export default async function socialAuthRoutes (app: FastifyInstance, opts: RestSocialAuthOptions): Promise<void> {
  const { identity, providers } = app.tenant
  const sessionTtl = opts.tokenTtlSeconds ?? null
  // Exact allow-list of OAuth1 callbacks, compared in their normalised spelling; empty: step 1 is refused.
  const oauth1Callbacks = new Set((opts.oauth1CallbackUrls ?? []).map(normalisedUrl).filter((u): u is string => u !== null))

  async function finish (profile: NormalizedProfile, values: Values, referrerId: string | null) {
    const outcome = await identity.signInWithProfile(profile, {
      suppliedEmail: values.email ?? null,
      requireEmail: true,
      // Who referred the user is recorded only when this request creates the account (baseapp_referrals pipeline.py).
      newUser: referrerId !== null ? { referred_by_id: referrerId } : {},
      session: { kind: 'token', ttlSeconds: sessionTtl }
    })
    if (outcome.kind === 'no-email') throw refuse(E.noEmail)
    if (outcome.kind === 'email-in-use') throw refuse(E.emailInUse)
    if (outcome.kind !== 'signed-in') throw new Error(`unexpected outcome ${outcome.kind}`)
    return { token: outcome.token!, is_new: outcome.isNew }
  }

  app.post('/social-auth', {
    // No provider at all: upstream answers before its serializer runs, with a bare 400 and no body
    // (baseapp_social_auth views.py: do() -> respond_error("Provider is not specified") -> Response(status=400)).
    preValidation: async (req, reply) => {
      if (providerMissing(req.body)) await reply.code(400).send()
    },
    schema: {
      operationId: 'restSocialAuthSocialAuth',
      tags: ['rest-social-auth'],
      summary: 'Register or log in with a social provider (OAuth1 step 1, OAuth1 step 2, or OAuth2 code)',
      description: 'OAuth1 providers (twitter): step 1 `{provider, redirect_uri}` returns a request token; step 2 `{provider, oauth_token, oauth_token_secret, oauth_verifier}` logs in. OAuth2 providers: `{provider, code, redirect_uri}`. `email` is used when the provider gives none; `referral_code` is stored on first registration.',
      consumes: DRF_BODIES,
      body: SocialAuthBody,
      response: {
        200: Type.Union([TokenResponse, OAuth1Step1Response], { description: '`{token, is_new}` on login/registration; `{oauth_token, oauth_token_secret, oauth_callback_confirmed}` for OAuth1 step 1.' }),
        400: SocialAuthErrors,
        413: UnsupportedMedia,
        415: UnsupportedMedia,
        503: Unavailable
      }
    }
  }, async (req) => {
    const values = req.body as Values
    const provider = providers.get(values.provider!)
    if (!provider) throw refuse(E.invalidProvider)
    const need = (names: string[]) => { const missing = requireFields(SOCIAL_FIELDS, values, names); if (missing) throw refuse(missing) }

    const step2 = provider.protocol === 'oauth1' && (values.oauth_token !== undefined || values.oauth_token_secret !== undefined || values.oauth_verifier !== undefined)
    if (provider.protocol === 'oauth1' && !step2) {
      // Only {provider}: the provider's configured callback, the first listed (upstream test_twitter_can_perform_step1).
      // Step 1 returns before the serializer runs upstream, so referral_code is not looked at here.
      const configured = [...oauth1Callbacks][0]
      if (values.redirect_uri === undefined && configured === undefined) need(['redirect_uri'])
      return oauth1Step1(provider, values.redirect_uri ?? configured!)
    }
    // The serializer (baseapp_social_auth serializers.py) runs before the provider is called: missing fields and an
    // unknown referral code are reported together, and nothing is sent to the provider.
    const errors: Record<string, string[]> = requireFields(SOCIAL_FIELDS, values, provider.protocol === 'oauth2' ? ['code', 'redirect_uri'] : ['oauth_token', 'oauth_token_secret', 'oauth_verifier']) ?? {}
    let referrerId: string | null = null
    if (values.referral_code !== undefined) {
      const referrer = await identity.findUserByReferralCode(values.referral_code)
      if (referrer) referrerId = referrer.id
      else errors.referral_code = [E.invalidReferralCode]
    }
    if (Object.keys(errors).length > 0) throw refuse(errors)
    return provider.protocol === 'oauth2' ? oauth2(provider, values, referrerId) : oauth1Step2(provider as OAuth1Provider, values, referrerId)
  })

  // The provider answer cache (baseapp_social_auth cache/pipeline.py): a code can be exchanged once, so its answer
  // is kept for an hour as a one-time-token row of this tenant, looked up by the SHA-256 of a key naming the provider,
  // the redirect_uri and the code (the row stores a hash of that: never the code), the answer sealed under the row.
  const answerKey = (parts: string[]) => hashToken(JSON.stringify(parts))
  async function cachedAnswer<T> (key: string): Promise<T | undefined> {
    const row = await identity.peekToken(ANSWER_CACHE_PURPOSE, key)
    return row ? row.data.answer as T : undefined
  }
  async function keepAnswer (key: string, answer: unknown): Promise<void> {
    try {
      await identity.createToken(ANSWER_CACHE_PURPOSE, { ttlSeconds: ANSWER_CACHE_TTL_SECONDS, token: key, data: { answer } })
    } catch (err) {
      // A parallel request kept the same answer first: theirs serves the retries.
      app.log.debug({ err }, 'provider answer already cached')
    }
  }

  async function oauth2 (provider: OAuth2Provider, values: Values, referrerId: string | null) {
    const key = answerKey(['oauth2', provider.name, values.redirect_uri!, values.code!])
    let tokens = await cachedAnswer<OAuth2Tokens>(key)
    if (!tokens) {
      tokens = unwrapProvider(await provider.exchangeCode({ code: values.code!, redirectUri: values.redirect_uri! }), provider.name)
      await keepAnswer(key, tokens)
    }
    return finish(unwrapProvider(await provider.profileFromTokens(tokens), provider.name), values, referrerId)
  }

  async function oauth1Step1 (provider: OAuth1Provider, redirectUri: string) {
    const callbackUrl = normalisedUrl(redirectUri)
    if (callbackUrl === null) throw refuse({ redirect_uri: [MSG.url] })
    // The provider sends the verifier to this URL: only one the tenant listed (the loader refuses a tenant with an
    // OAuth1 provider and no list; an empty list here still refuses rather than trusting the client).
    if (!oauth1Callbacks.has(callbackUrl)) throw refuse({ redirect_uri: ['This redirect_uri is not allowed.'] })
    const rt = unwrapProvider(await provider.requestToken({ callbackUrl }), provider.name)
    // Without oauth_callback_confirmed the provider speaks OAuth 1.0, whose callback can be swapped.
    if (!rt.callbackConfirmed) throw new ProviderFailureError({ ok: false, error: 'unavailable', detail: 'oauth_callback_confirmed is not true' }, provider.name)
    // Step 2 accepts only request tokens this tenant issued, through this provider, once.
    await identity.createToken(OAUTH1_PURPOSE, {
      ttlSeconds: OAUTH1_REQUEST_TTL_SECONDS,
      token: rt.oauthToken,
      data: { provider: provider.name, secretHash: hashToken(rt.oauthTokenSecret) }
    })
    return { oauth_token: rt.oauthToken, oauth_token_secret: rt.oauthTokenSecret, oauth_callback_confirmed: 'true' }
  }

  async function oauth1Step2 (provider: OAuth1Provider, values: Values, referrerId: string | null) {
    const oauthToken = values.oauth_token!
    const secret = values.oauth_token_secret!
    // A retry within the hour (baseapp caches per oauth_token + oauth_verifier; here the secret is bound too).
    const key = answerKey(['oauth1', provider.name, oauthToken, values.oauth_verifier!, hashToken(secret)])
    const cached = await cachedAnswer<{ accessToken: string, accessTokenSecret: string }>(key)
    if (cached) return finish(unwrapProvider(await provider.profileFromAccessToken(cached.accessToken, cached.accessTokenSecret), provider.name), values, referrerId)
    // Check before consuming, so a caller who only saw oauth_token (it travels in the callback URL) cannot burn it.
    const row = await identity.peekToken(OAUTH1_PURPOSE, oauthToken)
    const bound = row !== undefined && row.data.provider === provider.name && safeEqual(hashToken(secret), String(row.data.secretHash ?? ''))
    if (!bound) throw refuse(E.invalidCredentials)
    if (!(await identity.consumeToken(OAUTH1_PURPOSE, oauthToken)).ok) throw refuse(E.invalidCredentials)
    const at = unwrapProvider(await provider.accessToken({ oauthToken, oauthTokenSecret: secret, verifier: values.oauth_verifier! }), provider.name)
    await keepAnswer(key, { accessToken: at.accessToken, accessTokenSecret: at.accessTokenSecret })
    return finish(unwrapProvider(await provider.profileFromAccessToken(at.accessToken, at.accessTokenSecret), provider.name), values, referrerId)
  }
}

