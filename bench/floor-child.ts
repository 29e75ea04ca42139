// The hand-written floor: a minimal Fastify + pg server issuing the same SQL statements as Vestibule's
// magic-link login and `Authorization: Token` lookup (the statement texts are shared), with none of our
// code (no tenancy, validation schemas, rate limits, hooks or error envelopes).
import { createHash, randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'
// The statement texts only (constants): the floor runs exactly the SQL Vestibule runs, through plain pg.
import { SQL } from '../plugins/identity/statements.ts'

const [dbUrl, schema, tenant, clientKey] = process.argv.slice(2)
const pool = new pg.Pool({ connectionString: dbUrl, max: 10, options: `-c search_path=${schema}` })
const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const app = Fastify({ logger: false })
const userBody = (u: any) => ({ id: Number(u.id), email: u.email, first_name: u.given_name ?? '', last_name: u.family_name ?? '' })

app.get('/me', async (req, reply) => {
  const h = req.headers.authorization
  if (!h || !h.startsWith('Token ')) return reply.code(401).send({ detail: 'Authentication credentials were not provided.' })
  const r = await pool.query(SQL.verifySession, [tenant, sha(h.slice(6)), ['token']])
  if (!r.rows[0]) return reply.code(401).send({ detail: 'Invalid token.' })
  return userBody(r.rows[0])
})

app.post('/login', async (req, reply) => {
  const body = req.body as { token?: string, client_key?: string }
  if (body.client_key !== clientKey) return reply.code(400).send({ client_key: ['Invalid client key.'] })
  const c = await pool.connect()
  try {
    await c.query('begin')
    const t = await c.query(SQL.consumeToken, [tenant, 'magic-link', sha(String(body.token))])
    if (!t.rows[0]) { await c.query('rollback'); return reply.code(400).send({ token: ['Invalid or expired token.'] }) }
    const email = String(t.rows[0].data.email)
    const u = (await c.query(SQL.userByEmail, [tenant, email.toLowerCase()])).rows[0]
    await c.query(SQL.insertEvent, [tenant, u.id, 'login', JSON.stringify({ via: 'magic-link' })])
    const token = randomBytes(32).toString('base64url')
    await c.query(SQL.insertSession, [tenant, u.id, 'token', sha(token), clientKey, null, null])
    await c.query('commit')
    return { token, ...userBody(u) }
  } catch (err) {
    await c.query('rollback').catch(() => {})
    throw err
  } finally { c.release() }
})

const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.send!({ type: 'ready', url })
process.on('message', async (m: { type: string }) => { if (m.type === 'close') { await app.close(); await pool.end(); process.exit(0) } })
