// Bench child: a GitHub-shaped OAuth2 provider on node:http (127.0.0.1:0) for the social sign-in rows, made to
// cost as little as possible per call so the bench measures the servers, not the peer. Stateless: a code
// `c-<n>-<anything>` exchanges (client_id and client_secret checked) for the token `gho_<n>_<anything>`, and a
// token names its user n (1..USERS). Endpoints: POST /login/oauth/access_token, GET /user, GET /user/emails and
// GitHub's "check a token" POST /applications/{client_id}/token (Basic client_id:client_secret). Not a test peer:
// no single-use codes, no revocation (test/peers/social-peer.ts has those).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const [clientId, clientSecret] = process.argv.slice(2)
const basic = 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64')
const checkPath = `/applications/${encodeURIComponent(clientId)}/token`

const benchUser = (n: number) => ({ login: `s${n}`, id: 70_000 + n, name: `Social User${n}`, email: `s${n}@social.test` })

function send (res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
const userOf = (token: string | undefined): number | null => {
  const m = /^gho_(\d+)_/.exec(token ?? '')
  return m ? Number(m[1]) : null
}
async function body (req: IncomingMessage): Promise<string> {
  let s = ''
  for await (const c of req) s += c
  return s
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => send(res, 500, { message: String(err) }))
})
async function handle (req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method === 'POST' && path === '/login/oauth/access_token') {
    const p = new URLSearchParams(await body(req))
    const viaBasic = req.headers.authorization === basic
    if (!viaBasic && (p.get('client_id') !== clientId || p.get('client_secret') !== clientSecret)) return send(res, 200, { error: 'incorrect_client_credentials' })
    const m = /^c-(\d+)-(.+)$/.exec(p.get('code') ?? '')
    if (!m) return send(res, 200, { error: 'bad_verification_code' })
    return send(res, 200, { access_token: `gho_${m[1]}_${m[2]}`, token_type: 'bearer', scope: 'read:user,user:email' })
  }
  if (req.method === 'POST' && path === checkPath) {
    if (req.headers.authorization !== basic) return send(res, 401, { message: 'Requires authentication' })
    let given: unknown
    try { given = JSON.parse(await body(req)).access_token } catch { given = undefined }
    const n = userOf(typeof given === 'string' ? given : undefined)
    if (n === null) return send(res, 404, { message: 'Not Found' })
    const u = benchUser(n)
    return send(res, 200, { id: 1, token: given, app: { client_id: clientId, name: 'bench', url: 'http://127.0.0.1/' }, user: { login: u.login, id: u.id } })
  }
  const n = userOf(/^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1])
  if (req.method === 'GET' && (path === '/user' || path === '/user/emails')) {
    if (n === null) return send(res, 401, { message: 'Bad credentials' })
    const u = benchUser(n)
    return path === '/user'
      ? send(res, 200, { login: u.login, id: u.id, avatar_url: `http://127.0.0.1/gh/${u.id}.png`, name: u.name, email: null })
      : send(res, 200, [{ email: u.email, primary: true, verified: true, visibility: 'public' }])
  }
  send(res, 404, { message: 'Not Found' })
}

server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
})
process.on('message', (m: { type: string }) => { if (m.type === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)) } })
