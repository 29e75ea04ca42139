// A Twitter-shaped OAuth 1.0a server on 127.0.0.1:0 that verifies HMAC-SHA1 signatures (node:crypto, by hand).
//
//   const peer = await startOAuth1Peer({ consumers: [{ key, secret }], users })
//   peer.endpoints.{requestToken,authorize,accessToken,profile}      → provider endpoint config
//   const { oauthToken, oauthVerifier } = await peer.authorize(oauthToken, 'alice')  // the user's approval, over HTTP
//   const { accessToken, accessTokenSecret } = peer.accessTokenFor('alice')          // a raw token pair for a client app
//   peer.requests  // { method, path, status } of every request
//   await peer.close()
//
// Every endpoint checks the signature (consumer secret & token secret), signature method, a 5-minute
// timestamp window and nonce reuse; request tokens are single use and the verifier must match.
// Any failure answers 401 with a Twitter-style error body. Users (OAUTH1_PEER_USERS): alice (email),
// bob (email), carol (no email).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Browser } from './browser.ts'

export interface OAuth1User { id: string, screenName: string, name: string, email: string | null }
export const OAUTH1_PEER_USERS: Record<string, OAuth1User> = {
  alice: { id: '2244994945', screenName: 'alice', name: 'Alice Liddell', email: 'alice@example.test' },
  bob: { id: '783214', screenName: 'bob', name: 'Bob Builder', email: 'bob@example.test' },
  carol: { id: '12', screenName: 'carol', name: 'Carol Danvers', email: null }
}
export const DEFAULT_CONSUMER = { key: 'consumer-key', secret: 'consumer-secret' }

export interface OAuth1Peer {
  url: string
  endpoints: { requestToken: string, authorize: string, accessToken: string, profile: string }
  users: Record<string, OAuth1User>
  requests: Array<{ method: string, path: string, status: number }>
  /** Approves the request token as userKey through the authorize page and returns what the callback received. */
  authorize (oauthToken: string, userKey: string): Promise<{ oauthToken: string, oauthVerifier: string, redirect: string }>
  accessTokenFor (userKey: string, consumerKey?: string): { accessToken: string, accessTokenSecret: string }
  close (): Promise<void>
}

interface RequestToken { secret: string, consumerKey: string, callback: string, verifier?: string, userKey?: string }
interface AccessToken { secret: string, consumerKey: string, userKey: string }

/** RFC 3986 percent-encoding as OAuth 1.0a (RFC 5849 3.6) requires. */
export const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())

export async function startOAuth1Peer (opts: { consumers?: Array<{ key: string, secret: string }>, users?: Record<string, OAuth1User> } = {}): Promise<OAuth1Peer> {
  const consumers = opts.consumers ?? [DEFAULT_CONSUMER]
  const users = opts.users ?? OAUTH1_PEER_USERS
  const requestTokens = new Map<string, RequestToken>()
  const accessTokens = new Map<string, AccessToken>()
  const seenNonces = new Set<string>()
  const requests: OAuth1Peer['requests'] = []

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => reply(res, 500, 'text/plain', String(err)))
  })

  function reply (res: ServerResponse, status: number, type: string, body: string) {
    requests.at(-1)!.status = status
    res.writeHead(status, { 'content-type': type })
    res.end(body)
  }
  const deny = (res: ServerResponse, message: string) =>
    reply(res, 401, 'application/json', JSON.stringify({ errors: [{ code: 32, message }] }))

  /** Checks the request's signature; returns its oauth_* parameters or a reason. */
  function verify (req: IncomingMessage, url: URL, body: URLSearchParams, tokenSecret: (token: string | undefined) => string | undefined): { ok: true, oauth: Record<string, string> } | { ok: false, reason: string } {
    const header = req.headers.authorization ?? ''
    if (!header.startsWith('OAuth ')) return { ok: false, reason: 'no OAuth authorization header' }
    const oauth: Record<string, string> = {}
    for (const m of header.slice(6).matchAll(/([A-Za-z0-9_%.-]+)="([^"]*)"/g)) oauth[decodeURIComponent(m[1])] = decodeURIComponent(m[2])
    const consumer = consumers.find((c) => c.key === oauth.oauth_consumer_key)
    if (consumer === undefined) return { ok: false, reason: 'unknown consumer' }
    if (oauth.oauth_signature_method !== 'HMAC-SHA1') return { ok: false, reason: 'signature method must be HMAC-SHA1' }
    if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return { ok: false, reason: 'bad oauth_version' }
    const ts = Number(oauth.oauth_timestamp)
    if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return { ok: false, reason: 'timestamp out of window' }
    if (!oauth.oauth_nonce) return { ok: false, reason: 'no nonce' }
    const secret = tokenSecret(oauth.oauth_token)
    if (secret === undefined) return { ok: false, reason: 'unknown token' }

    const pairs: Array<[string, string]> = []
    for (const [k, v] of Object.entries(oauth)) if (k !== 'oauth_signature' && k !== 'realm') pairs.push([k, v])
    for (const [k, v] of url.searchParams) pairs.push([k, v])
    if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) for (const [k, v] of body) pairs.push([k, v])
    const normalized = pairs.map(([k, v]) => [rfc3986(k), rfc3986(v)]).sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&')
    const baseUrl = `http://${(req.headers.host ?? '').toLowerCase()}${url.pathname}`
    const base = [req.method ?? 'GET', rfc3986(baseUrl), rfc3986(normalized)].join('&')
    const expected = createHmac('sha1', `${rfc3986(consumer.secret)}&${rfc3986(secret)}`).update(base).digest()
    const given = Buffer.from(oauth.oauth_signature ?? '', 'base64')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'could not authenticate you (signature)' }
    // Checked after the signature so that an attacker cannot burn nonces of requests it cannot sign.
    const nonceKey = `${consumer.key}:${oauth.oauth_timestamp}:${oauth.oauth_nonce}`
    if (seenNonces.has(nonceKey)) return { ok: false, reason: 'nonce reused' }
    seenNonces.add(nonceKey)
    return { ok: true, oauth }
  }

  async function handle (req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://peer')
    requests.push({ method: req.method ?? 'GET', path: url.pathname, status: 0 })
    const body = new URLSearchParams(req.method === 'POST' ? await readBody(req) : '')

    if (url.pathname === '/oauth/request_token' && req.method === 'POST') {
      const v = verify(req, url, body, (t) => (t === undefined ? '' : undefined))
      if (!v.ok) return deny(res, v.reason)
      const callback = v.oauth.oauth_callback
      if (!callback) return deny(res, 'oauth_callback required')
      const token = randomBytes(16).toString('hex')
      const secret = randomBytes(16).toString('hex')
      requestTokens.set(token, { secret, consumerKey: v.oauth.oauth_consumer_key, callback })
      return reply(res, 200, 'application/x-www-form-urlencoded', new URLSearchParams({ oauth_token: token, oauth_token_secret: secret, oauth_callback_confirmed: 'true' }).toString())
    }

    if (url.pathname === '/oauth/authorize' || url.pathname === '/oauth/authenticate') {
      const token = body.get('oauth_token') ?? url.searchParams.get('oauth_token') ?? ''
      const rec = requestTokens.get(token)
      if (rec === undefined) return reply(res, 400, 'text/plain', 'unknown request token')
      if (req.method === 'GET') {
        const opts = Object.keys(users).map((k) => `<option value="${k}">${k}</option>`).join('')
        return reply(res, 200, 'text/html', `<!doctype html><form method="post" action="${url.pathname}"><input type="hidden" name="oauth_token" value="${token}"><select name="user">${opts}</select><button type="submit">Authorize app</button></form>`)
      }
      const userKey = body.get('user') ?? ''
      if (users[userKey] === undefined) return reply(res, 400, 'text/plain', 'unknown user')
      rec.userKey = userKey
      rec.verifier = randomBytes(12).toString('hex')
      const target = new URL(rec.callback)
      target.searchParams.set('oauth_token', token)
      target.searchParams.set('oauth_verifier', rec.verifier)
      res.writeHead(302, { location: target.toString() })
      requests.at(-1)!.status = 302
      return res.end()
    }

    if (url.pathname === '/oauth/access_token' && req.method === 'POST') {
      const v = verify(req, url, body, (t) => (t === undefined ? undefined : requestTokens.get(t)?.secret))
      if (!v.ok) return deny(res, v.reason)
      const rec = requestTokens.get(v.oauth.oauth_token)!
      const verifier = v.oauth.oauth_verifier ?? body.get('oauth_verifier') ?? ''
      if (rec.consumerKey !== v.oauth.oauth_consumer_key) return deny(res, 'request token belongs to another consumer')
      if (rec.verifier === undefined || rec.userKey === undefined || verifier !== rec.verifier) return deny(res, 'invalid oauth_verifier')
      requestTokens.delete(v.oauth.oauth_token)
      const pair = issueAccess(rec.userKey, rec.consumerKey)
      const user = users[rec.userKey]
      return reply(res, 200, 'application/x-www-form-urlencoded', new URLSearchParams({ oauth_token: pair.accessToken, oauth_token_secret: pair.accessTokenSecret, user_id: user.id, screen_name: user.screenName }).toString())
    }

    if (url.pathname === '/1.1/account/verify_credentials.json' && req.method === 'GET') {
      const v = verify(req, url, body, (t) => (t === undefined ? undefined : accessTokens.get(t)?.secret))
      if (!v.ok) return deny(res, v.reason)
      const rec = accessTokens.get(v.oauth.oauth_token)!
      if (rec.consumerKey !== v.oauth.oauth_consumer_key) return deny(res, 'token belongs to another consumer')
      const u = users[rec.userKey]
      const out: Record<string, unknown> = { id: Number(u.id), id_str: u.id, name: u.name, screen_name: u.screenName, profile_image_url_https: `http://127.0.0.1/tw/${u.id}.jpg` }
      if (url.searchParams.get('include_email') === 'true') out.email = u.email
      return reply(res, 200, 'application/json', JSON.stringify(out))
    }
    reply(res, 404, 'application/json', JSON.stringify({ errors: [{ code: 34, message: 'Sorry, that page does not exist.' }] }))
  }

  function issueAccess (userKey: string, consumerKey: string) {
    const accessToken = `${users[userKey].id}-${randomBytes(16).toString('hex')}`
    const accessTokenSecret = randomBytes(20).toString('hex')
    accessTokens.set(accessToken, { secret: accessTokenSecret, consumerKey, userKey })
    return { accessToken, accessTokenSecret }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    endpoints: { requestToken: `${url}/oauth/request_token`, authorize: `${url}/oauth/authenticate`, accessToken: `${url}/oauth/access_token`, profile: `${url}/1.1/account/verify_credentials.json` },
    users,
    requests,
    async authorize (oauthToken, userKey) {
      const rec = requestTokens.get(oauthToken)
      if (rec === undefined) throw new Error('unknown request token')
      const { params, redirect } = await new Browser().follow(`${url}/oauth/authenticate?oauth_token=${encodeURIComponent(oauthToken)}`, rec.callback, (f) => ({ ...f, user: userKey }))
      return { oauthToken: params.get('oauth_token') ?? '', oauthVerifier: params.get('oauth_verifier') ?? '', redirect }
    },
    accessTokenFor: (userKey, consumerKey) => issueAccess(userKey, consumerKey ?? consumers[0].key),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
