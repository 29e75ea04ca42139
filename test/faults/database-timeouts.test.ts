// A database that holds a request is bounded: a statement waiting on a lock is cancelled by
// statement_timeout, a server that stops answering (paused behind a proxy) by the client-side query
// bound, and a pool that cannot get a connection by the connect timeout. Each answers the dialect's
// 5xx envelope instead of holding the client, and service resumes by itself afterwards.
import pg from 'pg'
import t from 'tap'
import { build, postJson, tenantDoc, TEST_DATABASE_URL } from '../helpers/build.ts'
import { pausableProxy } from '../helpers/pausable-proxy.ts'

const tenant = tenantDoc('held', {
  clients: [{ id: 'held-client' }],
  dialects: { 'by-link': { linkUrl: 'https://held.app/l/{token}' } },
  rateLimits: { link: { max: 1000, timeWindow: '1 minute' } }
})
const SERVER_ERROR = { detail: 'A server error occurred.' }

async function timed (p: Promise<Response>): Promise<{ status: number, body: unknown, ms: number }> {
  const started = Date.now()
  const r = await p
  const text = await r.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: r.status, body, ms: Date.now() - started }
}

t.test('a statement waiting on a lock is cancelled by statement_timeout and answered 500', async (t) => {
  const { api, schema } = await build(t, { tenants: [tenant], databaseTimeouts: { statementMs: 500 } })
  const link = (email: string) => timed(api('/t/held/v1/auth/by-link/link/', postJson({ email })))
  t.equal((await link('warm@held.test')).status, 200)

  const locker = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query(`LOCK TABLE "${schema}".one_time_tokens IN EXCLUSIVE MODE`)
  const r = await link('held@held.test')
  t.equal(r.status, 500)
  t.same(r.body, SERVER_ERROR, 'the dialect\'s envelope')
  t.ok(r.ms >= 450 && r.ms < 3000, `answered after the statement timeout, while the lock is still held (${r.ms} ms)`)
  await locker.query('ROLLBACK')
  t.equal((await link('after@held.test')).status, 200, 'served once the lock is gone')
})

t.test('a database that stops answering: the query bound answers 500, new connections time out, then it recovers', async (t) => {
  const proxy = await pausableProxy(t)
  const { api } = await build(t, {
    tenants: [tenant],
    databaseUrl: proxy.url(),
    databaseTimeouts: { statementMs: 500, queryMs: 1000, connectMs: 1000 }
  })
  const link = (email: string) => timed(api('/t/held/v1/auth/by-link/link/', postJson({ email })))
  t.equal((await link('warm@held.test')).status, 200)

  proxy.pause()
  const held = await Promise.all([link('p1@held.test'), link('p2@held.test'), link('p3@held.test')])
  for (const r of held) {
    t.equal(r.status, 500)
    t.same(r.body, SERVER_ERROR)
    t.ok(r.ms < 4000, `bounded (${r.ms} ms)`)
  }
  proxy.resume()
  t.equal((await link('after@held.test')).status, 200, 'served again on fresh connections')
})
