// The server process survives losing its PostgreSQL connections: backends terminated with
// pg_terminate_backend while requests hold them answer those requests with the dialect's own 5xx
// envelope, the process keeps serving, and the pool reconnects by itself.
import t from 'tap'
import { tenantDoc, uniqueName } from '../helpers/build.ts'
import { backendsWaitingOnLocks, freshSchema, startProcess, tenantsFolder, terminateBackends, until } from '../helpers/processes.ts'
import { freePort } from '../helpers/redis.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

t.test('pg_terminate_backend under in-flight requests: 500 envelopes, then service as usual', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const s = await freshSchema(t)
  const appName = uniqueName('vstlost')
  const dir = tenantsFolder([tenantDoc('lost', {
    clients: [{ id: 'lost-client' }],
    dialects: { 'by-link': { linkUrl: 'https://lost.app/l/{token}' } },
    rateLimits: { link: { max: 1000, timeWindow: '1 minute' } }
  })])
  const port = await freePort()
  const server = await startProcess(t, 'serve', {
    PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: s.url, PGAPPNAME: appName, REDIS_URL: '', SMTP_URL: smtp.url,
    TENANTS_DIR: dir, TENANTS_WATCH: '0', DEMO_IDP: '0'
  })
  const link = (email: string) => fetch(`http://127.0.0.1:${port}/t/lost/v1/auth/by-link/link/`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email })
  }).then(async (r) => ({ status: r.status, body: await r.text() }), (err: Error) => ({ status: 0, body: String(err.cause ?? err) }))

  t.equal((await link('warm@lost.test')).status, 200, 'serving')

  // Our lock holds the requests inside their transactions, each on a checked-out pool client.
  const locker = await s.connect()
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE one_time_tokens IN EXCLUSIVE MODE')
  const held = Array.from({ length: 6 }, (_, i) => link(`held${i}@lost.test`))
  await until('six requests waiting on our lock', async () => (await backendsWaitingOnLocks(s.admin, appName)) >= 6)
  t.ok(await terminateBackends(s.admin, appName) >= 6, 'their backends terminated')
  await locker.query('ROLLBACK')

  for (const a of await Promise.all(held)) {
    t.equal(a.status, 500, 'the request in flight fails')
    t.same(parse(a.body), { detail: 'A server error occurred.' }, 'in the dialect\'s own envelope')
  }
  t.ok(server.alive(), 'the server is still running')

  for (let i = 0; i < 5; i++) t.equal((await link(`after${i}@lost.test`)).status, 200, 'and serves again on fresh connections')
  for (let i = 0; i < 5; i++) await smtp.waitForMail(`after${i}@lost.test`, { timeoutMs: 20_000 })
  t.ok(server.alive())
  t.notMatch(server.output(), /shutting down after an error/)
})

function parse (text: string): unknown {
  try { return JSON.parse(text) } catch { return text }
}
