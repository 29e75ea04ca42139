// The independent floor: a minimal Fastify + pg server doing the magic-link login and the
// `Authorization: Token` lookup the way a competent engineer would write them by hand, importing nothing
// of Vestibule (no tenancy, validation schemas, rate limits, hooks or error envelopes, and its own SQL):
// each path one named prepared statement that selects only what the answer shows.
import { createHash, randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'
import { Agent, request } from 'undici'

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

// The same login as a transaction of one statement per step, as issue 18's first floor was written
// ("consume the magic-link token, upsert the user, insert a session"), with the audit event too, each step a
// named statement: BEGIN, consume, upsert, event, session, COMMIT on one pooled connection.
const TX_CONSUME = `update one_time_tokens set consumed_at = now()
  where tenant_id = $1 and purpose = 'magic-link' and token_hash = $2 and consumed_at is null and expires_at > now() returning email`
const TX_UPSERT = `insert into users (tenant_id, email, email_verified) values ($1, $2, true)
  on conflict (tenant_id, lower(email)) where email is not null do update set updated_at = users.updated_at
  returning id, email, given_name, family_name`
const TX_EVENT = `insert into audit_events (tenant_id, user_id, type, data) values ($1, $2, 'login', '{"via":"magic-link"}')`
const TX_SESSION = `insert into sessions (tenant_id, user_id, kind, token_hash, client_id) values ($1, $2, 'token', $3, $4)`
app.post('/login-tx', async (req, reply) => {
  const body = req.body as { token?: string, client_key?: string }
  if (body.client_key !== clientKey) return reply.code(400).send({ client_key: ['Invalid client key.'] })
  const token = randomBytes(32).toString('base64url')
  const c = await pool.connect()
  try {
    await c.query('begin')
    const link = await c.query({ name: 'tx_consume', text: TX_CONSUME, values: [tenant, sha(String(body.token))] })
    if (!link.rows[0]) { await c.query('rollback'); return reply.code(400).send({ token: ['Invalid or expired token.'] }) }
    const u = (await c.query({ name: 'tx_upsert', text: TX_UPSERT, values: [tenant, link.rows[0].email] })).rows[0]
    await c.query({ name: 'tx_event', text: TX_EVENT, values: [tenant, u.id] })
    await c.query({ name: 'tx_session', text: TX_SESSION, values: [tenant, u.id, sha(token), clientKey] })
    await c.query('commit')
    return { token, ...userBody(u) }
  } catch (err) {
    await c.query('rollback').catch(() => {})
    throw err
  } finally {
    c.release()
  }
})

// The social sign-ins (BENCH_FLOOR_SOCIAL: { peer, clientId, clientSecret, apiKey, instance, captureClient }):
// the same provider calls as Vestibule's GitHub provider makes, over keep-alive undici, then one named CTE
// statement that finds the identity (refreshing its profile) or creates the user and the identity, records the
// event and issues the session. Capture's Social Login token carries the profile fetched at its callback, so
// auth_native makes no provider call on either server: its statement consumes the token first.
const socialCfg = process.env.BENCH_FLOOR_SOCIAL ? JSON.parse(process.env.BENCH_FLOOR_SOCIAL) as { peer: string, clientId: string, clientSecret: string, apiKey: string, instance: string, captureClient: string } : null
const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 })
async function callJson (method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string): Promise<{ status: number, json: any }> {
  const r = await request(url, { method, headers, body, dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const text = await r.body.text()
  try { return { status: r.statusCode, json: JSON.parse(text) } } catch { return { status: r.statusCode, json: null } }
}
interface Profile { subject: string, email: string | null, verified: boolean, given: string | null, family: string | null, display: string | null, username: string | null, raw: unknown }
async function githubProfile (accessToken: string): Promise<Profile | null> {
  const h = { authorization: `Bearer ${accessToken}`, accept: 'application/vnd.github+json' }
  const [user, emails] = await Promise.all([callJson('GET', `${socialCfg!.peer}/user`, h), callJson('GET', `${socialCfg!.peer}/user/emails`, h)])
  if (user.status !== 200 || emails.status !== 200 || !Array.isArray(emails.json)) return null
  const primary = emails.json.find((e: any) => e.primary === true)
  const [given, ...rest] = String(user.json.name ?? '').split(' ')
  return { subject: String(user.json.id), email: primary?.email ?? null, verified: primary?.verified === true, given: given || null, family: rest.join(' ') || null, display: user.json.name ?? null, username: user.json.login ?? null, raw: user.json }
}
const socialSource = (fromToken: boolean) => fromToken
  ? `src as (
    update one_time_tokens set consumed_at = now()
    where tenant_id = $1 and purpose = 'social-login' and token_hash = $2 and consumed_at is null and expires_at > now()
    returning data->'profile'->>'subject' as subject, data->'profile'->>'email' as email, (data->'profile'->>'emailVerified')::boolean as verified,
      data->'profile'->>'givenName' as given, data->'profile'->>'familyName' as family, data->'profile'->>'displayName' as display,
      data->'profile'->>'username' as username, data->'profile'->'raw' as raw
  )`
  : `src as (select $2::text as subject, $3::text as email, $4::boolean as verified, $5::text as given, $6::text as family, $7::text as display, $8::text as username, $9::jsonb as raw)`
const socialSignIn = (fromToken: boolean) => {
  const n = fromToken ? 3 : 10
  return `with ${socialSource(fromToken)},
  found as (
    update identities i set profile = src.raw, email = src.email, email_verified = src.verified from src
    where i.tenant_id = $1 and i.provider_type = 'github' and i.subject = src.subject
    returning i.user_id
  ), new_user as (
    insert into users (tenant_id, email, email_verified, username, given_name, family_name, display_name)
    select $1, email, verified, username, given, family, display from src where not exists (select 1 from found)
    on conflict (tenant_id, lower(email)) where email is not null do nothing
    returning id
  ), new_identity as (
    insert into identities (tenant_id, user_id, provider_type, provider_name, subject, email, email_verified, profile)
    select $1, new_user.id, 'github', 'github', src.subject, src.email, src.verified, src.raw from new_user, src
    returning user_id
  ), account as (
    select user_id, false as is_new from found union all select user_id, true from new_identity
  ), event as (
    insert into audit_events (tenant_id, user_id, type, data) select $1, user_id, 'login', '{"via":"social"}' from account
  ), session as (
    insert into sessions (tenant_id, user_id, kind, token_hash, client_id) select $1, user_id, $${n}, $${n + 1}, $${n + 2} from account
  )
  select u.id, u.email, u.username, u.given_name, u.family_name, account.is_new from account join users u on u.id = account.user_id`
}
const SOCIAL = socialSignIn(false)
const SOCIAL_FROM_TOKEN = socialSignIn(true)
async function signIn (p: Profile, kind: string, client: string) {
  const key = randomBytes(20).toString('hex')
  const r = await pool.query({ name: 'social', text: SOCIAL, values: [tenant, p.subject, p.email, p.verified, p.given, p.family, p.display, p.username, JSON.stringify(p.raw), kind, sha(key), client] })
  return r.rows[0] ? { key, row: r.rows[0] } : null
}

if (socialCfg) {
  const cfg = socialCfg
  const checkUrl = `${cfg.peer}/applications/${encodeURIComponent(cfg.clientId)}/token`
  const basic = 'Basic ' + Buffer.from(`${cfg.clientId}:${cfg.clientSecret}`).toString('base64')
  // Syncano: API key, then the raw access token checked as GitHub's (check a token, /user, /user/emails).
  app.post('/syncano/:backend', async (req, reply) => {
    if (req.headers['x-api-key'] !== cfg.apiKey) return reply.code(403).send({ detail: 'No such API Key.' })
    const token = String((req.body as any)?.access_token ?? '')
    const [check, p] = await Promise.all([
      callJson('POST', checkUrl, { authorization: basic, accept: 'application/vnd.github+json', 'content-type': 'application/json' }, JSON.stringify({ access_token: token })),
      githubProfile(token)
    ])
    if (check.status !== 200 || check.json?.app?.client_id !== cfg.clientId || p === null || String(check.json?.user?.id) !== p.subject) return reply.code(401).send({ detail: 'Invalid authorization token.' })
    const s = await signIn(p, 'user-key', cfg.instance)
    if (!s) return reply.code(401).send({ detail: 'Invalid username or password.' })
    return { id: Number(s.row.id), username: s.row.username, user_key: s.key }
  })
  // rest-social-auth: exchange the code, read the profile, sign in.
  app.post('/social-auth', async (req, reply) => {
    const b = req.body as { provider?: string, code?: string, redirect_uri?: string }
    if (b.provider !== 'github' || !b.code || !b.redirect_uri) return reply.code(400).send({ code: ['This field is required.'] })
    const form = new URLSearchParams({ grant_type: 'authorization_code', code: b.code, redirect_uri: b.redirect_uri, client_id: cfg.clientId, client_secret: cfg.clientSecret }).toString()
    const t = await callJson('POST', `${cfg.peer}/login/oauth/access_token`, { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }, form)
    if (t.status !== 200 || typeof t.json?.access_token !== 'string') return reply.code(400).send({ non_field_errors: ['Authentication failed.'] })
    const p = await githubProfile(t.json.access_token)
    if (p === null) return reply.code(400).send({ non_field_errors: ['Authentication failed.'] })
    const s = await signIn(p, 'token', 'rest-social-auth')
    if (!s) return reply.code(400).send({ non_field_errors: ['Authentication failed.'] })
    return { token: s.key, is_new: s.row.is_new }
  })
  // Capture auth_native: consume the Social Login token and sign its profile in, one statement.
  app.post('/auth_native', async (req) => {
    const b = req.body as Record<string, string | undefined>
    if (b.client_id !== cfg.captureClient) return { stat: 'error', code: 403, error: 'permission_error' }
    const access = randomBytes(20).toString('hex')
    const r = await pool.query({ name: 'social-token', text: SOCIAL_FROM_TOKEN, values: [tenant, sha(String(b.token)), 'access', sha(access), `floor:${cfg.captureClient}`] })
    if (!r.rows[0]) return { stat: 'error', code: 200, error: 'invalid_argument', argument_name: 'token' }
    const u = r.rows[0]
    return { stat: 'ok', capture_user: { id: Number(u.id), email: u.email, givenName: u.given_name, familyName: u.family_name }, is_new: false, access_token: access }
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, text, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(text))))
  })
}

const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.send!({ type: 'ready', url })
process.on('message', async (m: { type: string }) => {
  if (m.type === 'cpu') { const c = process.cpuUsage(); process.send!({ type: 'cpu', cpuMs: (c.user + c.system) / 1000 }) }
  if (m.type === 'close') { await app.close(); await pool.end(); await agent.close(); process.exit(0) }
})
