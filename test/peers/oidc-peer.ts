// A real OpenID Provider (oidc-provider v9) on 127.0.0.1:0 standing in for Google, LinkedIn or any OIDC IdP.
//
//   const peer = await startOidcPeer({ clients: [{ clientId, clientSecret, redirectUris }] })
//   peer.issuer / peer.endpoints.{issuer,discovery,authorize,token,userinfo,jwks}
//   const { code, state } = await peer.authorize(provider.authorizeUrl({...}), 'alice')  // acts as the browser
//   const { accessToken, idToken } = await peer.tokensFor('alice')                        // a raw token, as a client app holds
//   await peer.close()
//
// Accounts (OIDC_PEER_ACCOUNTS, override with `accounts`): alice (verified email), bob (unverified email),
// carol (no email). With `idTokenClaims: false` the id_token carries only sub and the profile claims are
// served by userinfo alone (exercises the userinfo fallback). `routes` renames endpoints
// (e.g. { userinfo: '/v2/userinfo' } for a LinkedIn-shaped peer).
//
// Raw access tokens can be checked the ways real IdPs offer: RFC 7662 introspection
// (endpoints.introspection, also in discovery; any registered client may introspect any token, as on
// Keycloak and most IdPs, so the answer's client_id is what tells whose it is) and a Google-shaped
// tokeninfo (endpoints.tokeninfo: GET or POST access_token → { aud, azp, sub, scope, exp, expires_in },
// 400 invalid_token for an unknown or expired token).
import { createServer, type Server } from 'node:http'
import { randomBytes, createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import { Browser } from './browser.ts'

export interface PeerClient {
  clientId: string
  clientSecret: string
  redirectUris: string[]
  /** Default client_secret_basic (the OIDC default). */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post'
}

export const OIDC_PEER_ACCOUNTS: Record<string, Record<string, unknown>> = {
  alice: { email: 'alice@example.test', email_verified: true, name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice', picture: 'http://127.0.0.1/alice.png' },
  bob: { email: 'bob@example.test', email_verified: false, name: 'Bob Builder', given_name: 'Bob', family_name: 'Builder', preferred_username: 'bob' },
  carol: { name: 'Carol Danvers', given_name: 'Carol', family_name: 'Danvers', preferred_username: 'carol' }
}

export const DEFAULT_PEER_CLIENT: PeerClient = { clientId: 'vestibule-client', clientSecret: 'vestibule-client-secret', redirectUris: ['http://127.0.0.1:1/callback'] }

export interface OidcPeerOptions {
  clients?: PeerClient[]
  accounts?: Record<string, Record<string, unknown>>
  /** Put scope claims (email, name, ...) in the id_token like Google does. Default true. */
  idTokenClaims?: boolean
  routes?: { authorization?: string, token?: string, userinfo?: string, jwks?: string, introspection?: string }
}

export interface OidcPeer {
  issuer: string
  endpoints: { issuer: string, discovery: string, authorize: string, token: string, userinfo: string, jwks: string, introspection: string, tokeninfo: string }
  clients: PeerClient[]
  accounts: Record<string, Record<string, unknown>>
  /** Drives the real login and consent pages as accountId and returns the code from the redirect to the client. */
  authorize (url: string, accountId: string): Promise<{ code: string, state: string, redirect: string }>
  /** Runs a full code flow (PKCE) for accountId as a client app would and returns its tokens. */
  tokensFor (accountId: string, opts?: { clientId?: string, scope?: string, nonce?: string, redirectUri?: string }): Promise<{ accessToken: string, idToken?: string, raw: Record<string, unknown> }>
  close (): Promise<void>
}

const GOOGLE_SCOPE_ALIASES: Record<string, string> = {
  'https://www.googleapis.com/auth/userinfo.email': 'email',
  'https://www.googleapis.com/auth/userinfo.profile': 'profile'
}

export async function startOidcPeer (opts: OidcPeerOptions = {}): Promise<OidcPeer> {
  const clients = opts.clients ?? [DEFAULT_PEER_CLIENT]
  const accounts = opts.accounts ?? OIDC_PEER_ACCOUNTS
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), kid: randomBytes(6).toString('hex'), alg: 'RS256', use: 'sig' }

  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic'
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture']
    },
    conformIdTokenClaims: opts.idTokenClaims === false,
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: { devInteractions: { enabled: true }, introspection: { enabled: true, allowedPolicy: async () => true } },
    routes: opts.routes ?? {},
    async findAccount (_ctx: unknown, id: string) {
      const claims = accounts[id]
      if (claims === undefined) return undefined
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) }
    }
  })
  // Silence oidc-provider's dev warnings and server_error logging in test output.
  provider.on('server_error', () => {})
  const oidc = provider.callback()
  server.on('request', (req, res) => {
    const asked = new URL(req.url ?? '/', issuer)
    if (asked.pathname === '/auth' && asked.searchParams.has('scope')) {
      // Google takes its older scope names (what freesewing.org's src/config/oauth.js asks for, with no `openid`,
      // no PKCE, no nonce) as aliases of `email` and `profile`, and answers userinfo for them: so does this peer.
      const scopes = asked.searchParams.get('scope')!.split(' ').map((sc) => GOOGLE_SCOPE_ALIASES[sc] ?? sc)
      if (scopes.some((sc) => sc !== '' && Object.values(GOOGLE_SCOPE_ALIASES).includes(sc)) && !scopes.includes('openid')) scopes.unshift('openid')
      asked.searchParams.set('scope', [...new Set(scopes)].join(' '))
      req.url = asked.pathname + asked.search
    }
    if (asked.pathname === '/tokeninfo') {
      tokeninfo(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
        res.end(JSON.stringify(body))
      }, () => { res.writeHead(500); res.end() })
      return
    }
    oidc(req, res)
  })

  // Google's tokeninfo for access tokens: who it was issued to (aud = azp = the client) and for whom.
  async function tokeninfo (req: import('node:http').IncomingMessage): Promise<{ status: number, body: Record<string, unknown> }> {
    let raw = ''
    for await (const c of req) raw += String(c)
    const value = new URLSearchParams(raw).get('access_token') ?? new URL(req.url ?? '/', issuer).searchParams.get('access_token') ?? ''
    const token = value === '' ? undefined : await provider.AccessToken.find(value)
    const now = Math.floor(Date.now() / 1000)
    if (token === undefined || !token.isValid) return { status: 400, body: { error: 'invalid_token', error_description: 'Invalid Value' } }
    const exp = Number(token.exp)
    return {
      status: 200,
      body: { azp: token.clientId, aud: token.clientId, sub: token.accountId, scope: token.scope, exp: String(exp), expires_in: String(exp - now), access_type: 'online' }
    }
  }

  const discovery = `${issuer}/.well-known/openid-configuration`
  const doc = await (await fetch(discovery)).json() as Record<string, string>
  const endpoints = { issuer, discovery, authorize: doc.authorization_endpoint, token: doc.token_endpoint, userinfo: doc.userinfo_endpoint, jwks: doc.jwks_uri, introspection: doc.introspection_endpoint, tokeninfo: `${issuer}/tokeninfo` }

  async function authorize (url: string, accountId: string) {
    const redirectUri = new URL(url).searchParams.get('redirect_uri')
    if (redirectUri === null) throw new Error('authorize URL has no redirect_uri')
    const { redirect, params } = await new Browser().follow(url, redirectUri, (fields) =>
      'login' in fields ? { ...fields, login: accountId, password: 'any' } : fields)
    const error = params.get('error')
    if (error !== null) throw new Error(`authorization failed: ${error} ${params.get('error_description') ?? ''}`)
    return { code: params.get('code') ?? '', state: params.get('state') ?? '', redirect }
  }

  async function tokensFor (accountId: string, o: { clientId?: string, scope?: string, nonce?: string, redirectUri?: string } = {}) {
    const client = clients.find((c) => c.clientId === (o.clientId ?? clients[0].clientId))
    if (client === undefined) throw new Error(`unknown client ${o.clientId}`)
    const redirectUri = o.redirectUri ?? client.redirectUris[0]
    const verifier = randomBytes(32).toString('base64url')
    const url = new URL(endpoints.authorize)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: redirectUri,
      scope: o.scope ?? 'openid email profile',
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(o.nonce !== undefined ? { nonce: o.nonce } : {})
    }).toString()
    const { code } = await authorize(url.toString(), accountId)
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
    if ((client.tokenEndpointAuthMethod ?? 'client_secret_basic') === 'client_secret_basic') {
      headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')
    } else {
      form.set('client_id', client.clientId)
      form.set('client_secret', client.clientSecret)
    }
    const res = await fetch(endpoints.token, { method: 'POST', headers, body: form.toString() })
    const raw = await res.json() as Record<string, unknown>
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(raw)}`)
    return { accessToken: String(raw.access_token), idToken: typeof raw.id_token === 'string' ? raw.id_token : undefined, raw }
  }

  return {
    issuer,
    endpoints,
    clients,
    accounts,
    authorize,
    tokensFor,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
