// The independent floor: a minimal Fastify + pg server doing the magic-link login and the
// `Authorization: Token` lookup the way a competent engineer would write them by hand, importing nothing
// of Vestibule (no tenancy, validation schemas, rate limits, hooks or error envelopes, and its own SQL):
// each path one named prepared statement that selects only what the answer shows.
import { createHash, randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'

const [dbUrl, schema, tenant, clientKey] = process.argv.slice(2)
const pool = new pg.Pool({ connectionString: dbUrl, max: 10, options: `-c search_path=${schema}` })
const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const app = Fastify({ logger: false })
// The same static security headers Vestibule sends on every response (so both write responses of the same size).
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0'
}
app.addHook('onRequest', (_req, reply, done) => { reply.headers(SECURITY_HEADERS); done() })
const userBody = (u: any) => ({ id: Number(u.id), email: u.email, first_name: u.given_name ?? '', last_name: u.family_name ?? '' })

const LOOKUP = `select u.id, u.email, u.given_name, u.family_name from sessions s join users u on u.id = s.user_id
  where s.tenant_id = $1 and s.token_hash = $2 and s.kind = 'token' and s.revoked_at is null
    and (s.expires_at is null or s.expires_at > now()) and u.disabled_at is null`

// Consume the link, find or create the account of its address, record the event, issue the session.
const LOGIN = `with link as (
    update one_time_tokens set consumed_at = now()
    where tenant_id = $1 and purpose = 'magic-link' and token_hash = $2 and consumed_at is null and expires_at > now()
    returning email
  ), account as (
    insert into users (tenant_id, email, email_verified) select $1, email, true from link
    on conflict (tenant_id, lower(email)) where email is not null do update set updated_at = users.updated_at
    returning id, email, given_name, family_name
  ), event as (
    insert into audit_events (tenant_id, user_id, type, data) select $1, id, 'login', '{"via":"magic-link"}' from account
  ), session as (
    insert into sessions (tenant_id, user_id, kind, token_hash, client_id) select $1, id, 'token', $3, $4 from account
  )
  select * from account`

app.get('/me', async (req, reply) => {
  const h = req.headers.authorization
  if (!h || !h.startsWith('Token ')) return reply.code(401).send({ detail: 'Authentication credentials were not provided.' })
  const r = await pool.query({ name: 'lookup', text: LOOKUP, values: [tenant, sha(h.slice(6))] })
  if (!r.rows[0]) return reply.code(401).send({ detail: 'Invalid token.' })
  return userBody(r.rows[0])
})

app.post('/login', async (req, reply) => {
  const body = req.body as { token?: string, client_key?: string }
  if (body.client_key !== clientKey) return reply.code(400).send({ client_key: ['Invalid client key.'] })
  const token = randomBytes(32).toString('base64url')
  const r = await pool.query({ name: 'login', text: LOGIN, values: [tenant, sha(String(body.token)), sha(token), clientKey] })
  if (!r.rows[0]) return reply.code(400).send({ token: ['Invalid or expired token.'] })
  return { token, ...userBody(r.rows[0]) }
})

const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.send!({ type: 'ready', url })
process.on('message', async (m: { type: string }) => { if (m.type === 'close') { await app.close(); await pool.end(); process.exit(0) } })
