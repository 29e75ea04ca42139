// /readyz answers anyone on any host: it says which dependency is down, never the driver's message (hosts, ports,
// users, connection strings); the detail goes to the log.
import Fastify from 'fastify'
import t from 'tap'
import { build } from '../helpers/build.ts'
import ops from '../../routes/ops/index.ts'

t.test('a Redis that cannot be reached: "unavailable", no address or credentials', async (t) => {
  const { api } = await build(t, { tenants: [], redisUrl: 'redis://vstadmin:hunter2-secret@127.0.0.1:1/0' })
  const r = await api('/readyz')
  t.equal(r.status, 503)
  const text = await r.text()
  t.same(JSON.parse(text), { status: 'unavailable', checks: { database: 'ok', redis: 'unavailable' }, tenants: { served: 0, refused: [] } })
  for (const leak of ['127.0.0.1', ':1', 'hunter2', 'vstadmin', 'ECONNREFUSED']) t.notMatch(text, leak, `no ${leak}`)
})

t.test('a check whose error quotes a connection string, and one that times out', async (t) => {
  const app = Fastify()
  await app.register(ops, {
    checks: {
      database: async () => { throw new Error('connect failed for postgres://vestibule:s3cret@db.internal:5432/vestibule') },
      redis: () => new Promise(() => {})
    }
  })
  t.teardown(() => app.close())
  const r = await app.inject('/readyz')
  t.equal(r.statusCode, 503)
  t.same(r.json(), { status: 'unavailable', checks: { database: 'unavailable', redis: 'unavailable (timed out)' } })
  t.notMatch(r.body, /s3cret|db\.internal|postgres:/)
})
