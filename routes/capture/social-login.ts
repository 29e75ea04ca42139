// Social Login (Janrain Engage) tokens: the hosted provider round trip ending at the client's token_url with a
// 40-character single-use token, and POST /api/v2/auth_info that trades the token for the profile.
import type { FastifyInstance } from 'fastify'
import { consumeOneTimeToken, createOneTimeToken } from '../../plugins/identity/index.ts'
import { matchesAny, randomAlnum, randomToken } from '../../plugins/crypto.ts'
import type { NormalizedProfile, OAuth1Provider, OAuth2Provider, ProviderResult } from '../../plugins/providers/types.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import { EngageError } from './errors.ts'
import { SOCIAL_LOGIN } from './native.ts'
import type { CaptureOptions } from './options.ts'
import { AuthInfoBody, AuthInfoResponse, CallbackQuery, EngageErrorBody, SocialParams, StartQuery } from './schemas.ts'
import { engageProfile } from './user.ts'

const STATE_TTL_SECONDS = 600
const withoutQuery = (u: string) => u.replace(/[?#].*$/, '')

interface StateData { provider: string, tokenUrl: string, redirectUri: string, codeVerifier?: string, nonce?: string, secret?: string }

export default async function socialLoginRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant
  const allowed = new Set((opts.tokenUrls ?? []).map(withoutQuery))
  const callbackUrl = (provider: string) => `${tenant.publicUrl}/social/${encodeURIComponent(provider)}/callback`

  /** The client's token_url with the token (or an error) added to its own query. */
  function toTokenUrl (tokenUrl: string, params: Record<string, string>): string {
    const url = new URL(tokenUrl)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    return url.toString()
  }

  const redirectResponses = {
    302: { type: 'null', description: 'Redirect (to the provider, or to token_url).' },
    400: EngageErrorBody,
    404: EngageErrorBody,
    502: EngageErrorBody
  }

  app.get('/social/:provider/start', {
    config: { envelope: 'engage-page' },
    schema: {
      operationId: 'captureSocialStart',
      tags: ['capture'],
      summary: 'Start the hosted Social Login round trip',
      description: '302 to the provider\'s login page. `token_url` must equal one of the tenant\'s `tokenUrls` (its query string ignored); anything else is refused and never redirected to.',
      params: SocialParams,
      querystring: StartQuery,
      response: redirectResponses
    }
  }, async (req, reply) => {
    const { provider: name } = req.params as { provider: string }
    const tokenUrl = (req.query as { token_url?: string }).token_url
    const provider = tenant.providers.get(name)
    if (!provider) throw new EngageError(1, 'Invalid parameter: provider', 404)
    if (!tokenUrl) throw new EngageError(0, 'Missing parameter: token_url', 400)
    if (!allowed.has(withoutQuery(tokenUrl)) || !URL.canParse(tokenUrl)) throw new EngageError(1, 'Invalid parameter: token_url', 400)
    const redirectUri = callbackUrl(name)

    if (provider.protocol === 'oauth1') {
      const rt = await provider.requestToken({ callbackUrl: redirectUri })
      if (!rt.ok) return providerDown(req, name, rt)
      await createOneTimeToken(tenant.db, {
        tenantId: tenant.id,
        purpose: 'oauth1-request',
        ttlSeconds: STATE_TTL_SECONDS,
        token: rt.value.oauthToken,
        data: { provider: name, tokenUrl, redirectUri, secret: rt.value.oauthTokenSecret } satisfies StateData
      })
      return reply.redirect(provider.authorizeUrl(rt.value.oauthToken), 302)
    }

    const ready = (provider as OAuth2Provider & { ready?: () => Promise<ProviderResult<void>> }).ready
    if (typeof ready === 'function') {
      const r = await ready.call(provider)
      if (!r.ok) return providerDown(req, name, r)
    }
    const codeVerifier = randomToken(32)
    const nonce = randomToken(16)
    const { token: state } = await createOneTimeToken(tenant.db, {
      tenantId: tenant.id,
      purpose: 'oauth-state',
      ttlSeconds: STATE_TTL_SECONDS,
      data: { provider: name, tokenUrl, redirectUri, codeVerifier, nonce } satisfies StateData
    })
    return reply.redirect(provider.authorizeUrl({ state, redirectUri, codeVerifier, nonce }), 302)
  })

  function providerDown (req: { log: FastifyInstance['log'] }, name: string, r: Extract<ProviderResult<unknown>, { ok: false }>): never {
    req.log.warn({ provider: name, error: r.error, detail: r.detail }, 'capture: provider unavailable')
    throw new EngageError(6, 'Error interacting with a previously operational provider', 502)
  }

  app.get('/social/:provider/callback', {
    config: { envelope: 'engage-page' },
    schema: {
      operationId: 'captureSocialCallback',
      tags: ['capture'],
      summary: 'Provider callback of the hosted Social Login round trip',
      description: 'Checks the single-use state, completes the provider login and 302s to token_url with `token` (40 characters [a-z0-9], single use). A provider failure 302s to token_url with `error` instead; an unknown or used state is a 400.',
      params: SocialParams,
      querystring: CallbackQuery,
      response: redirectResponses
    }
  }, async (req, reply) => {
    const { provider: name } = req.params as { provider: string }
    const q = req.query as Record<string, string | undefined>
    const provider = tenant.providers.get(name)
    if (!provider) throw new EngageError(1, 'Invalid parameter: provider', 404)

    const oauth1 = provider.protocol === 'oauth1'
    const handle = oauth1 ? q.oauth_token : q.state
    if (!handle) throw new EngageError(0, `Missing parameter: ${oauth1 ? 'oauth_token' : 'state'}`, 400)
    const consumed = await consumeOneTimeToken(tenant.db, tenant.id, oauth1 ? 'oauth1-request' : 'oauth-state', handle)
    const state = consumed.ok ? consumed.row.data as unknown as StateData : undefined
    // A state minted for another provider (or tenant: the lookup is tenant-scoped) is no state at all.
    if (!state || state.provider !== name) throw new EngageError(1, `Invalid parameter: ${oauth1 ? 'oauth_token' : 'state'}`, 400)

    let profile: ProviderResult<NormalizedProfile>
    if (oauth1) {
      if (q.denied || !q.oauth_verifier) return reply.redirect(toTokenUrl(state.tokenUrl, { error: 'access_denied' }), 302)
      const p = provider as OAuth1Provider
      const at = await p.accessToken({ oauthToken: handle, oauthTokenSecret: state.secret ?? '', verifier: q.oauth_verifier })
      profile = at.ok ? await p.profileFromAccessToken(at.value.accessToken, at.value.accessTokenSecret) : at
    } else {
      if (q.error || !q.code) return reply.redirect(toTokenUrl(state.tokenUrl, { error: 'access_denied' }), 302)
      const p = provider as OAuth2Provider
      const tokens = await p.exchangeCode({ code: q.code, redirectUri: state.redirectUri, codeVerifier: state.codeVerifier })
      profile = tokens.ok ? await p.profileFromTokens(tokens.value, { nonce: state.nonce }) : tokens
    }
    if (!profile.ok) {
      req.log.warn({ provider: name, error: profile.error, detail: profile.detail }, 'capture: social login failed at the provider')
      return reply.redirect(toTokenUrl(state.tokenUrl, { error: 'provider_error' }), 302)
    }

    const token = randomAlnum(40)
    await createOneTimeToken(tenant.db, { tenantId: tenant.id, purpose: SOCIAL_LOGIN, ttlSeconds: opts.socialTokenTtlSeconds, token, data: { profile: profile.value } })
    return reply.redirect(toTokenUrl(state.tokenUrl, { token }), 302)
  })

  app.post('/api/v2/auth_info', {
    config: { envelope: 'engage' },
    schema: {
      operationId: 'captureAuthInfo',
      tags: ['capture'],
      summary: 'Profile of a Social Login token (Janrain Engage auth_info)',
      description: 'Trades a Social Login token (single use) and an API key for the social profile. Errors are HTTP 200 `{"stat":"fail","err":{"code","msg"}}`: 0 missing parameter, 1 invalid apiKey, 2 token not found (unknown, used or expired).',
      consumes: FORM_ONLY,
      body: AuthInfoBody,
      response: { 200: AuthInfoResponse }
    }
  }, async (req) => {
    const body = req.body as { apiKey?: string, token?: string }
    if (!body.apiKey) throw new EngageError(0, 'Missing parameter: apiKey')
    if (!body.token) throw new EngageError(0, 'Missing parameter: token')
    const keys = tenant.clients.map((c) => c.apiKey).filter((k): k is string => typeof k === 'string')
    if (!matchesAny(body.apiKey, keys)) throw new EngageError(1, 'Invalid parameter: apiKey')
    const r = await consumeOneTimeToken(tenant.db, tenant.id, SOCIAL_LOGIN, body.token)
    const profile = r.ok ? r.row.data.profile as NormalizedProfile | undefined : undefined
    if (!profile) throw new EngageError(2, 'Data not found')
    return { stat: 'ok', profile: engageProfile(profile) }
  })
}
