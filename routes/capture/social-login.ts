// Social Login (Janrain Engage) tokens: the hosted provider round trip ending at the client's token_url with a
// 40-character single-use token, and POST /api/v2/auth_info that trades the token for the profile.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { matchesAny, randomAlnum } from '../../plugins/crypto.ts'
import { authorizationFlow } from '../../plugins/providers/flow.ts'
import type { NormalizedProfile, ProviderResult } from '../../plugins/providers/types.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import { EngageError } from './errors.ts'
import { SOCIAL_LOGIN } from './native.ts'
import type { CaptureClient, CaptureOptions } from './options.ts'
import { AuthInfoBody, AuthInfoResponse, CallbackQuery, EngageErrorBody, SocialParams, StartQuery } from './schemas.ts'
import { engageProfile } from './user.ts'

const withoutQuery = (u: string) => u.replace(/[?#].*$/, '')

// The token page of `tokenUrlMethod: "POST"`: one form posting the token to token_url, submitted by this script
// (allowed by its hash, nothing else may run or load); without JavaScript its button does the same.
const SUBMIT_SCRIPT = 'document.getElementById("vst-token-form").submit()'
export const SUBMIT_SCRIPT_HASH = `'sha256-${createHash('sha256').update(SUBMIT_SCRIPT).digest('base64')}'`

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The auto-submitting page: `fields` posted as application/x-www-form-urlencoded to `action`. */
export function tokenPostPage (action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('')
  return '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Signing in…</title></head><body>' +
    `<form id="vst-token-form" method="post" action="${escapeHtml(action)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form>` +
    `<script>${SUBMIT_SCRIPT}</script></body></html>`
}

export default async function socialLoginRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant
  // One flow for OAuth2 (PKCE + nonce) and OAuth 1.0a request tokens alike; its states carry the token_url. The
  // round trip starts and ends on Vestibule's own origin (start, then the callback, are top-level navigations), so
  // every state is bound to the browser that opened start: an attacker's unused callback URL signs no one in.
  const flow = authorizationFlow(tenant.identity, { purpose: 'capture:social-state', ttlSeconds: 600, bindBrowser: true })
  const allowed = new Set((opts.tokenUrls ?? []).map(withoutQuery))
  const callbackUrl = (provider: string) => `${tenant.publicUrl}/social/${encodeURIComponent(provider)}/callback`

  /** The client's token_url with the token (or an error) added to its own query. */
  function toTokenUrl (tokenUrl: string, params: Record<string, string>): string {
    const url = new URL(tokenUrl)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    return url.toString()
  }

  /** The token (or error) to token_url the way the tenant chose: a 302 with it in the query, or a form post. */
  function deliver (reply: FastifyReply, tokenUrl: string, params: Record<string, string>): FastifyReply {
    if (opts.tokenUrlMethod !== 'POST') return reply.redirect(toTokenUrl(tokenUrl, params), 302)
    return reply.code(200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', `default-src 'none'; script-src ${SUBMIT_SCRIPT_HASH}; form-action ${new URL(tokenUrl).origin}; base-uri 'none'; frame-ancestors 'none'`)
      .send(tokenPostPage(tokenUrl, params))
  }

  const redirectResponses = {
    302: { type: 'null', description: 'Redirect (to the provider, or to token_url).' },
    200: { description: 'tokenUrlMethod POST: the page that posts `token` (or `error`) to token_url.', content: { 'text/html': { schema: { type: 'string' } } } },
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
      description: '302 to the provider\'s login page, setting a short-lived cookie (scoped to the callback\'s path) that binds the round trip to this browser. `token_url` must equal one of the tenant\'s `tokenUrls` (its query string ignored); anything else is refused and never redirected to.',
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

    const started = await flow.start(provider, { redirectUri, data: { tokenUrl } })
    if (!started.ok) return providerDown(req, name, started)
    if (started.value.cookie) reply.header('set-cookie', started.value.cookie)
    return reply.redirect(started.value.url, 302)
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
      description: 'Checks the single-use state and that this browser started it (the cookie start set), completes the provider login and 302s to token_url with `token` (40 characters [a-z0-9], single use), or with the tenant\'s `tokenUrlMethod: "POST"` answers a page that posts `token` to token_url as a form field. A provider failure sends `error` instead, the same way; an unknown, used or other browser\'s state is a 400.',
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
    const done = await flow.complete(provider, q, { cookie: req.headers.cookie })
    if (done.clearCookie) reply.header('set-cookie', done.clearCookie)
    if (!done.ok) {
      if (done.reason === 'missing_state') throw new EngageError(0, `Missing parameter: ${oauth1 ? 'oauth_token' : 'state'}`, 400)
      if (done.reason === 'invalid_state') {
        if (done.browser) req.log.warn({ provider: name, browser: done.browser }, 'capture: social login state not started by this browser')
        throw new EngageError(1, `Invalid parameter: ${oauth1 ? 'oauth_token' : 'state'}`, 400)
      }
      const tokenUrl = String((done as { data: Record<string, unknown> }).data.tokenUrl)
      if (done.reason === 'provider') {
        req.log.warn({ provider: name, error: done.failure.error, detail: done.failure.detail }, 'capture: social login failed at the provider')
        return deliver(reply, tokenUrl, { error: 'provider_error' })
      }
      return deliver(reply, tokenUrl, { error: 'access_denied' })
    }

    const token = randomAlnum(40)
    await tenant.identity.createToken(SOCIAL_LOGIN, { ttlSeconds: opts.socialTokenTtlSeconds, token, data: { profile: done.profile } })
    return deliver(reply, String(done.data.tokenUrl), { token })
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
    const keys = (tenant.clients as CaptureClient[]).map((c) => c.apiKey).filter((k): k is string => typeof k === 'string')
    if (!matchesAny(body.apiKey, keys)) throw new EngageError(1, 'Invalid parameter: apiKey')
    const r = await tenant.identity.consumeToken(SOCIAL_LOGIN, body.token)
    const profile = r.ok ? r.row.data.profile as NormalizedProfile | undefined : undefined
    if (!profile) throw new EngageError(2, 'Data not found')
    return { stat: 'ok', profile: engageProfile(profile) }
  })
}
