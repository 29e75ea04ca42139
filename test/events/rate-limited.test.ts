// Rate-limited requests as audit events (issue 22): the first refusal of a counter in its window is one
// `rate-limited` event (limiter name, request context, never the key it counted, e.g. the email); later refusals
// in the same window record nothing more. In memory and with the Redis store (deduped across nodes).
import t from 'tap'
import { build, postJson, tenantDoc, TEST_REDIS_URL } from '../helpers/build.ts'
import { until } from '../helpers/processes.ts'

const doc = (id: string) => tenantDoc(id, {
  clients: [{ id: 'web' }],
  dialects: { 'by-link': { linkUrl: 'https://rl.test/l/{token}' } },
  rateLimits: { link: { max: 2, timeWindow: '4 seconds' } }
})

for (const store of ['memory', 'redis'] as const) {
  t.test(`${store}: one event per counter and window`, async (t) => {
    const id = `rle-${store}-${process.pid}-${Date.now().toString(36)}`
    const b = await build(t, { tenants: [doc(id)], ...(store === 'redis' ? { redisUrl: TEST_REDIS_URL, runWorkers: false } : {}), webhooks: { run: false } })
    const send = (email: string) => b.api(`/t/${id}/v1/auth/by-link/link/`, postJson({ email }, { 'user-agent': 'rl-test' }))
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await send('same@rl.test')).status)
    t.same(statuses, [200, 200, 429, 429, 429, 429])
    const events = () => b.app.db.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', id).where('type', '=', 'rate-limited').execute()
    await until('the event', async () => (await events()).length >= 1, 5000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const rows = await events()
    t.equal(rows.length, 1, 'four refusals, one event')
    t.match(rows[0], { user_id: null, data: { limiter: 'link' }, dialect: 'by-link', user_agent: 'rl-test', client_address: '127.0.0.0' })
    t.ok(rows[0].request_id)
    t.notOk(JSON.stringify(rows).includes('same@rl.test'), 'the counted email is not in the event')
    // The next window's first refusal is an event again.
    await new Promise((resolve) => setTimeout(resolve, 4500))
    statuses.length = 0
    for (let i = 0; i < 3; i++) statuses.push((await send('other@rl.test')).status)
    t.same(statuses, [200, 200, 429])
    await until('the second event', async () => (await events()).length >= 2, 5000)
    t.equal((await events()).length, 2)
  })
}

t.test('the tenant-wide limit (counted in memory per node) records its first refusal too', async (t) => {
  const id = `rle-tw-${process.pid}-${Date.now().toString(36)}`
  const b = await build(t, { tenants: [tenantDoc(id, { clients: [{ id: 'web' }], dialects: { 'by-link': { linkUrl: 'https://rl.test/l/{token}' } }, rateLimits: { default: { max: 3, timeWindow: '1 minute' } } })], webhooks: { run: false } })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await b.api(`/t/${id}/v1/auth/me/`, { headers: { authorization: 'Token nope', 'user-agent': 'rl-test' } })).status)
  t.same(statuses, [401, 401, 401, 429, 429, 429])
  const events = () => b.app.db.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', id).where('type', '=', 'rate-limited').execute()
  await until('the event', async () => (await events()).length >= 1, 5000)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const rows = await events()
  t.equal(rows.length, 1, 'three refusals, one event')
  t.match(rows[0], { user_id: null, data: { limiter: 'default' } })
})
