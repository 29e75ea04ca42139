// Facebook- and GitHub-shaped OAuth2 servers on node:http (127.0.0.1:0) with real code → token issuance.
//
//   const peer = await startSocialPeer({ clients: [{ clientId, clientSecret, redirectUris }], users })
//   peer.facebook.{authorize,token,me} / peer.github.{authorize,token,user,emails}  → provider endpoint config
//   const { code, state } = await peer.authorize(provider.authorizeUrl({...}), 'alice')  // acts as the browser
//   const code = peer.codeFor('github', { userId: 'alice', clientId, redirectUri })      // a client app's code
//   const token = peer.accessTokenFor('facebook', 'alice')                               // a raw access token
//   peer.requests  // every request seen: { method, path, authorization? } (assert what was sent)
//   await peer.close()
//
// Codes are single use, expire in 60 s, and are bound to client_id and redirect_uri (and to the PKCE
// challenge when one was sent). The API endpoints check the bearer token and which site issued it.
// Facebook, like the real one, omits `email` for users whose address is not confirmed and checks
// `appsecret_proof` when sent (`checkAppsecretProof: false` imitates a Graph that lets it pass).
// GitHub, like the real one, answers a bad code with 200 + `error`.
// Whose a raw token is: GitHub's "check a token" (POST /github/applications/{client_id}/token, Basic
// client_id:client_secret, JSON {access_token} → 200 with app.client_id and user, 404 for a token that is
// not that app's) and Facebook's debug_token (GET /facebook/debug_token?input_token&access_token=APP_ID|SECRET
// → {data: {app_id, user_id, is_valid, ...}}); `github.check(clientId)` and `facebook.debugToken` are their URLs.
// Users (SOCIAL_PEER_USERS): alice (verified primary), bob (unverified primary, plus a verified
// secondary), carol (no email).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Browser } from './browser.ts'

export type Site = 'facebook' | 'github'

export interface SocialUser {
  id: string
  login: string
  name: string
  firstName?: string
  lastName?: string
  /** GitHub /user/emails entries; the Facebook email is the primary one when verified. */
  emails: Array<{ email: string, primary: boolean, verified: boolean }>
  /** GitHub's public profile email (often null). */
  publicEmail?: string | null
}

export const SOCIAL_PEER_USERS: Record<string, SocialUser> = {
  alice: { id: '1001', login: 'alice', name: 'Alice Liddell', firstName: 'Alice', lastName: 'Liddell', emails: [{ email: 'alice@example.test', primary: true, verified: true }, { email: 'alice@old.test', primary: false, verified: true }] },
  bob: { id: '1002', login: 'bob', name: 'Bob Builder', firstName: 'Bob', lastName: 'Builder', emails: [{ email: 'bob@example.test', primary: true, verified: false }, { email: 'bob@verified.test', primary: false, verified: true }] },
  carol: { id: '1003', login: 'carol', name: 'Carol Danvers', firstName: 'Carol', lastName: 'Danvers', emails: [] }
}

export interface SocialClient { clientId: string, clientSecret: string, redirectUris: string[] }
export const DEFAULT_SOCIAL_CLIENT: SocialClient = { clientId: 'social-client', clientSecret: 'social-secret', redirectUris: ['http://127.0.0.1:1/callback'] }

export interface SocialPeer {
  url: string
  facebook: { authorize: string, token: string, me: string, debugToken: string }
  github: { authorize: string, token: string, user: string, emails: string, check (clientId: string): string }
  users: Record<string, SocialUser>
  clients: SocialClient[]
  requests: Array<{ method: string, path: string, authorization?: string }>
  /** Opens the authorize URL as a browser, picks `userKey` on the login page, returns the code sent to redirect_uri. */
  authorize (url: string, userKey: string): Promise<{ code: string, state: string, redirect: string }>
  codeFor (site: Site, o: { userKey: string, clientId?: string, redirectUri?: string, codeChallenge?: string }): string
  accessTokenFor (site: Site, userKey: string, clientId?: string): string
  /** Revoke every token issued for userKey (later API calls answer 401). */
  revoke (userKey: string): void
  close (): Promise<void>
}

interface CodeRecord { site: Site, userKey: string, clientId: string, redirectUri: string, challenge?: string, expires: number }
interface TokenRecord { site: Site, userKey: string, clientId: string }

export async function startSocialPeer (opts: { clients?: SocialClient[], users?: Record<string, SocialUser>, checkAppsecretProof?: boolean, beforeAnswer?: (path: string) => Promise<void> | void } = {}): Promise<SocialPeer> {
  const clients = opts.clients ?? [DEFAULT_SOCIAL_CLIENT]
  const users = opts.users ?? SOCIAL_PEER_USERS
  const codes = new Map<string, CodeRecord>()
  const tokens = new Map<string, TokenRecord>()
  const requests: SocialPeer['requests'] = []

  function issueCode (rec: Omit<CodeRecord, 'expires'>): string {
    const code = randomBytes(16).toString('hex')
    codes.set(code, { ...rec, expires: Date.now() + 60_000 })
    return code
  }
  function issueToken (site: Site, userKey: string, clientId: string): string {
    const token = (site === 'github' ? 'gho_' : 'EAAB') + randomBytes(20).toString('hex')
    tokens.set(token, { site, userKey, clientId })
    return token
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, { error: 'server_error', message: String(err) }))
  })

  async function handle (req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://peer')
    requests.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization })
    await opts.beforeAnswer?.(url.pathname) // a test's hook: act while the provider call is in flight
    const raw = req.method === 'POST' ? await readBody(req) : ''
    const body = new URLSearchParams(raw)
    const param = (k: string) => body.get(k) ?? url.searchParams.get(k)
    const site: Site | null = url.pathname.startsWith('/facebook/') ? 'facebook' : url.pathname.startsWith('/github/') ? 'github' : null
    const path = url.pathname.replace(/^\/(facebook|github)/, '')

    if (site !== null && (path === '/dialog/oauth' || path === '/login/oauth/authorize')) {
      const client = clients.find((c) => c.clientId === param('client_id'))
      const redirectUri = param('redirect_uri') ?? ''
      if (client === undefined || !client.redirectUris.includes(redirectUri)) return send(res, 400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' })
      if (req.method === 'GET') {
        // The "login page": a form per user, carrying the request's parameters back.
        const hidden = [...url.searchParams].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('')
        const html = `<!doctype html><title>${site} login</title><form method="post" action="${esc(url.pathname)}">${hidden}<select name="user">${Object.keys(users).map((k) => `<option value="${esc(k)}">${esc(k)}</option>`).join('')}</select><button type="submit">Log in</button></form>`
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        return res.end(html)
      }
      const userKey = param('user') ?? ''
      if (users[userKey] === undefined) return send(res, 400, { error: 'unknown user' })
      const challenge = param('code_challenge') ?? undefined
      if (challenge !== undefined && param('code_challenge_method') !== 'S256') return send(res, 400, { error: 'invalid_request', error_description: 'only S256' })
      const code = issueCode({ site, userKey, clientId: client.clientId, redirectUri, challenge })
      const target = new URL(redirectUri)
      target.searchParams.set('code', code)
      const state = param('state')
      if (state !== null) target.searchParams.set('state', state)
      res.writeHead(302, { location: target.toString() })
      return res.end()
    }

    if (site !== null && (path === '/oauth/access_token' || path === '/login/oauth/access_token')) {
      const fail = (status: number, error: string) => site === 'github'
        // GitHub reports token errors with 200 and an error member.
        ? send(res, 200, { error, error_description: error })
        : send(res, status, { error: { message: error, type: 'OAuthException', code: 100 } })
      const client = clients.find((c) => c.clientId === param('client_id'))
      if (client === undefined || client.clientSecret !== param('client_secret')) return fail(401, 'incorrect_client_credentials')
      const code = param('code') ?? ''
      const rec = codes.get(code)
      codes.delete(code)
      if (rec === undefined || rec.site !== site || rec.expires < Date.now()) return fail(400, 'bad_verification_code')
      if (rec.clientId !== client.clientId) return fail(400, 'bad_verification_code')
      if (rec.redirectUri !== param('redirect_uri')) return fail(400, 'redirect_uri_mismatch')
      if (rec.challenge !== undefined) {
        const verifier = param('code_verifier') ?? ''
        if (createHash('sha256').update(verifier).digest('base64url') !== rec.challenge) return fail(400, 'bad_verification_code')
      }
      const token = issueToken(site, rec.userKey, client.clientId)
      return site === 'github'
        ? send(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' })
        : send(res, 200, { access_token: token, token_type: 'bearer', expires_in: 5183944 })
    }

    const check = /^\/applications\/([^/]+)\/token$/.exec(path)
    if (site === 'github' && check !== null && req.method === 'POST') {
      // Basic client_id:client_secret of the app in the path; 404 for a token of any other app.
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
      const [id, secret] = basic !== undefined ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent) : []
      const client = clients.find((c) => c.clientId === decodeURIComponent(check[1]))
      if (client === undefined || id !== client.clientId || secret !== client.clientSecret) return send(res, 401, { message: 'Requires authentication' })
      let given: unknown
      try { given = JSON.parse(raw).access_token } catch { given = undefined }
      if (typeof given !== 'string') return send(res, 422, { message: 'Validation Failed' })
      const rec = tokens.get(given)
      if (rec === undefined || rec.site !== 'github' || rec.clientId !== client.clientId) return send(res, 404, { message: 'Not Found' })
      const u = users[rec.userKey]
      return send(res, 200, {
        id: 1, token: given, token_last_eight: given.slice(-8), scopes: ['read:user', 'user:email'],
        app: { client_id: client.clientId, name: 'app', url: 'http://127.0.0.1/app' },
        user: { login: u.login, id: Number(u.id) }
      })
    }

    if (site === 'facebook' && path === '/debug_token') {
      const [appId, appSecret] = (url.searchParams.get('access_token') ?? '').split('|')
      const app = clients.find((c) => c.clientId === appId && c.clientSecret === appSecret)
      if (app === undefined) return send(res, 400, { error: { message: 'Invalid OAuth access token signature.', type: 'OAuthException', code: 190 } })
      const rec = tokens.get(url.searchParams.get('input_token') ?? '')
      if (rec === undefined || rec.site !== 'facebook') {
        return send(res, 200, { data: { error: { code: 190, message: 'Invalid OAuth access token.' }, is_valid: false, scopes: [] } })
      }
      // Like Graph, it reports the app the token really belongs to, whichever app asks.
      return send(res, 200, { data: { app_id: rec.clientId, type: 'USER', application: 'app', expires_at: Math.floor(Date.now() / 1000) + 3600, is_valid: true, scopes: ['email', 'public_profile'], user_id: users[rec.userKey].id } })
    }

    if (site !== null) {
      const auth = req.headers.authorization ?? ''
      const token = /^(Bearer|token) (.+)$/i.exec(auth)?.[2] ?? url.searchParams.get('access_token') ?? ''
      const rec = tokens.get(token)
      if (rec === undefined || rec.site !== site) {
        return site === 'github'
          ? send(res, 401, { message: 'Bad credentials' })
          : send(res, 400, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } })
      }
      const user = users[rec.userKey]
      const primary = user.emails.find((e) => e.primary)
      if (site === 'facebook' && path === '/me') {
        const proof = url.searchParams.get('appsecret_proof')
        if (proof !== null && opts.checkAppsecretProof !== false) {
          const secret = clients.find((c) => c.clientId === rec.clientId)?.clientSecret ?? ''
          if (proof !== createHmac('sha256', secret).update(token).digest('hex')) {
            return send(res, 400, { error: { message: 'Invalid appsecret_proof', type: 'GraphMethodException', code: 100 } })
          }
        }
        const fields = new Set((url.searchParams.get('fields') ?? 'id,name').split(','))
        const all: Record<string, unknown> = {
          id: user.id,
          name: user.name,
          first_name: user.firstName,
          last_name: user.lastName,
          picture: { data: { url: `http://127.0.0.1/fb/${user.id}.jpg`, is_silhouette: false } }
        }
        if (primary?.verified === true) all.email = primary.email
        return send(res, 200, Object.fromEntries(Object.entries(all).filter(([k]) => fields.has(k))))
      }
      if (site === 'github' && path === '/user') {
        return send(res, 200, { login: user.login, id: Number(user.id), node_id: `U_${user.id}`, avatar_url: `http://127.0.0.1/gh/${user.id}.png`, name: user.name, email: user.publicEmail ?? null })
      }
      if (site === 'github' && path === '/user/emails') {
        return send(res, 200, user.emails.map((e) => ({ ...e, visibility: e.primary ? 'public' : null })))
      }
    }
    send(res, 404, { error: 'not_found' })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    facebook: { authorize: `${url}/facebook/dialog/oauth`, token: `${url}/facebook/oauth/access_token`, me: `${url}/facebook/me`, debugToken: `${url}/facebook/debug_token` },
    github: { authorize: `${url}/github/login/oauth/authorize`, token: `${url}/github/login/oauth/access_token`, user: `${url}/github/user`, emails: `${url}/github/user/emails`, check: (clientId) => `${url}/github/applications/${encodeURIComponent(clientId)}/token` },
    users,
    clients,
    requests,
    async authorize (authUrl, userKey) {
      const redirectUri = new URL(authUrl).searchParams.get('redirect_uri')
      if (redirectUri === null) throw new Error('authorize URL has no redirect_uri')
      const { params, redirect } = await new Browser().follow(authUrl, redirectUri, (fields) => ({ ...fields, user: userKey }))
      if (params.get('code') === null) throw new Error(`no code in redirect ${redirect}`)
      return { code: params.get('code') ?? '', state: params.get('state') ?? '', redirect }
    },
    codeFor (site, o) {
      const client = clients.find((c) => c.clientId === (o.clientId ?? clients[0].clientId)) ?? clients[0]
      return issueCode({ site, userKey: o.userKey, clientId: client.clientId, redirectUri: o.redirectUri ?? client.redirectUris[0], challenge: o.codeChallenge })
    },
    accessTokenFor: (site, userKey, clientId) => issueToken(site, userKey, clientId ?? clients[0].clientId),
    revoke (userKey) {
      for (const [t, rec] of tokens) if (rec.userKey === userKey) tokens.delete(t)
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

function send (res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
