// The quickstart's own OpenID provider: oidc-provider with two demo accounts and a one-click login page.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'

export const DEMO_IDP_DEFAULT_PORT = 3001

export const DEMO_ACCOUNTS: Record<string, Record<string, unknown>> = {
  'demo-ada': { email: 'ada@demo.vestibule.test', email_verified: true, name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', preferred_username: 'ada' },
  'demo-grace': { email: 'grace@demo.vestibule.test', email_verified: true, name: 'Grace Hopper', given_name: 'Grace', family_name: 'Hopper', preferred_username: 'grace' }
}

export interface DemoIdpClient { clientId: string, clientSecret: string, redirectUris: string[] }

export interface DemoIdpOptions {
  /** Default 3001 (matching the `demo` provider type's default issuer); 0 picks a free port. */
  port?: number
  host?: string
  /** Public issuer URL when it differs from http://host:port (e.g. behind a proxy). */
  issuer?: string
  clients: DemoIdpClient[]
}

export interface DemoIdp {
  issuer: string
  accounts: Record<string, Record<string, unknown>>
  close (): Promise<void>
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export async function startDemoIdp (opts: DemoIdpOptions): Promise<DemoIdp> {
  if (!Array.isArray(opts.clients) || opts.clients.length === 0) throw new Error('startDemoIdp: clients must list at least one client')
  const host = opts.host ?? '127.0.0.1'
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? DEMO_IDP_DEFAULT_PORT, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const issuer = (opts.issuer ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/$/, '')

  // Keys live as long as the process: a restart only invalidates in-flight demo logins.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic'
    })),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'demo-' + randomBytes(4).toString('hex'), alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'preferred_username'] },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      // Syncano's raw access tokens are checked here (the demo type's default introspection endpoint). Any
      // demo client may introspect any token, as on most IdPs: Vestibule checks the answer's client_id.
      introspection: { enabled: true, allowedPolicy: async () => true }
    },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount (_ctx: unknown, id: string) {
      const claims = DEMO_ACCOUNTS[id]
      return claims === undefined ? undefined : { accountId: id, claims: async () => ({ sub: id, ...claims }) }
    }
  })
  provider.on('server_error', () => {})
  const oidc = provider.callback()

  async function interaction (req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined) {
    const details = await provider.interactionDetails(req, res)
    if (details.uid !== uid) return page(res, 400, '<p>This login link is stale. Start again from the app.</p>')
    if (action === 'abort') {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false })
    }
    if (details.prompt.name === 'consent') {
      // Demo clients are first-party: grant what was asked without a consent screen.
      const grant = details.grantId !== undefined ? await provider.Grant.find(details.grantId) : undefined
      const g = grant ?? new provider.Grant({ accountId: details.session?.accountId ?? '', clientId: String(details.params.client_id) })
      const d = details.prompt.details as { missingOIDCScope?: string[], missingOIDCClaims?: string[], missingResourceScopes?: Record<string, string[]> }
      if (d.missingOIDCScope) g.addOIDCScope(d.missingOIDCScope.join(' '))
      if (d.missingOIDCClaims) g.addOIDCClaims(d.missingOIDCClaims)
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) g.addResourceScope(indicator, scopes.join(' '))
      return provider.interactionFinished(req, res, { consent: { grantId: await g.save() } }, { mergeWithLastSubmission: true })
    }
    if (details.prompt.name !== 'login') return page(res, 501, '<p>Unsupported step.</p>')
    if (action === 'login' && req.method === 'POST') {
      const body = new URLSearchParams(await readBody(req))
      const accountId = body.get('account') ?? ''
      if (DEMO_ACCOUNTS[accountId] !== undefined) {
        return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false })
      }
    }
    const buttons = Object.entries(DEMO_ACCOUNTS).map(([id, c]) =>
      `<button type="submit" name="account" value="${esc(id)}">Continue as ${esc(String(c.name))}<br><small>${esc(String(c.email))}</small></button>`).join('')
    return page(res, 200, `<h1>Vestibule demo sign-in</h1><p>Pick a demo account. No password: this identity provider exists only for local trials.</p>
<form method="post" action="/interaction/${esc(uid)}/login">${buttons}</form>
<p><a href="/interaction/${esc(uid)}/abort">Cancel</a></p>`)
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/.exec(new URL(req.url ?? '/', 'http://x').pathname)
    if (m === null) return oidc(req, res)
    interaction(req, res, m[1], m[2]).catch(() => {
      if (!res.headersSent) page(res, 400, '<p>This login session expired or was already used. Start again from the app.</p>')
    })
  })

  return {
    issuer,
    accounts: DEMO_ACCOUNTS,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

function page (res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' })
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Vestibule demo IdP</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}button{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem;text-align:left;cursor:pointer}</style>
</head><body>${body}</body></html>`)
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
