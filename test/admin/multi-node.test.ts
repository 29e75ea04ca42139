// Stored tenants across nodes: a change made through one node is served by the others within a second (the
// Redis tenant-reload announcement), a node that missed the announcement converges on its next poll, and
// concurrent edits through two nodes get one 412.
import t from 'tap'
import { build, rawRequest, TEST_REDIS_URL, tenantDoc, type Built } from '../helpers/build.ts'
import { ALL, call, keyring, token } from './helpers.ts'

async function until (fn: () => Promise<boolean>, ms: number): Promise<number | null> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (await fn()) return Date.now() - start
    await new Promise((r) => setTimeout(r, 20))
  }
  return null
}
const description = async (b: Built, id: string) => {
  const res = await b.api(`/t/${id}/openapi.json`)
  return res.status === 200 ? ((await res.json()) as any).info.description as string : String(res.status)
}

t.test('created through node A, served by node B within a second; changes and deletion follow', async (t) => {
  const a = await build(t, { redisUrl: TEST_REDIS_URL, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const b = await build(t, { redisUrl: TEST_REDIS_URL, nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(a, ALL)
  t.equal((await b.api('/t/spread/openapi.json')).status, 404)

  // Bounds of 10 s, not assertions: on a loaded 2-core machine an announcement takes longer than its usual milliseconds
  // (polling is off here, so only the announcement can bring a change across).
  t.equal((await call(a, tok, 'POST', '/tenants', tenantDoc('spread', { hosts: ['spread.test'] }))).status, 201)
  const ms = await until(async () => (await b.api('/t/spread/openapi.json')).status === 200, 10_000)
  t.ok(ms !== null, `node B serves the new tenant (after ${ms} ms, polling off: the announcement did it)`)
  t.equal(b.app.router.tenantOfHost('spread.test'), 'spread', 'on its host too')

  t.equal((await call(a, tok, 'PATCH', '/tenants/spread', { dialects: { 'rest-social-auth': {} } })).status, 200)
  t.ok(await until(async () => (await description(b, 'spread')).includes('Dialects: rest-social-auth'), 10_000) !== null, 'a change reaches B')

  t.equal((await call(a, tok, 'POST', '/tenants/spread/versions/1/restore')).status, 200)
  t.ok(await until(async () => (await description(b, 'spread')).includes('Dialects: none'), 10_000) !== null, 'B serves the restored old config')

  t.equal((await call(b, tok, 'DELETE', '/tenants/spread')).status, 200, 'through B this time')
  t.ok(await until(async () => (await a.api('/t/spread/openapi.json')).status === 404, 10_000) !== null, 'a deletion reaches A')
})

t.test('concurrent edits through two nodes: one wins, the other gets 412', async (t) => {
  const a = await build(t, { redisUrl: TEST_REDIS_URL, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const b = await build(t, { redisUrl: TEST_REDIS_URL, nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(a, ALL)
  await call(a, tok, 'POST', '/tenants', tenantDoc('race'))
  const [x, y] = await Promise.all([
    call(a, tok, 'PUT', '/tenants/race', tenantDoc('race', { frontendUrl: 'https://a.test' }), { 'if-match': '"1"' }),
    call(b, tok, 'PUT', '/tenants/race', tenantDoc('race', { frontendUrl: 'https://b.test' }), { 'if-match': '"1"' })
  ])
  t.same([x.status, y.status].sort(), [200, 412])
  const winner = x.status === 200 ? 'https://a.test' : 'https://b.test'
  for (const n of [a, b]) await n.api('/t/race/openapi.json')
  t.ok(await until(async () => a.app.router.get('race')?.frontendUrl === winner && b.app.router.get('race')?.frontendUrl === winner, 10_000) !== null, 'both nodes serve the winner')
})

t.test('a node that missed the announcement converges on its next poll; without a poll it would not', async (t) => {
  const a = await build(t, { redisUrl: TEST_REDIS_URL, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  // Neither hears Redis (as when Redis was down or the node reconnecting): one polls every 300 ms, one never.
  const polling = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0.3 } })
  const deaf = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(a, ALL)
  await call(a, tok, 'POST', '/tenants', tenantDoc('missed', { frontendUrl: 'https://first.test' }))
  for (const n of [polling, deaf]) t.equal((await n.api('/t/missed/openapi.json')).status, 200, 'both load it on its first request')
  await call(a, tok, 'PATCH', '/tenants/missed', { frontendUrl: 'https://later.test' })
  t.ok(await until(async () => polling.app.router.get('missed')?.frontendUrl === 'https://later.test', 2000) !== null, 'the polling node converges')
  t.equal(deaf.app.router.get('missed')?.frontendUrl, 'https://first.test', 'a node that neither hears nor polls keeps the old config: the poll is what converged')
  await call(a, tok, 'DELETE', '/tenants/missed')
  t.ok(await until(async () => (await polling.api('/t/missed/openapi.json')).status === 404, 2000) !== null, 'deletions converge too')

  // A miss is remembered (unknown ids and hosts cost one lookup), and forgotten on the next poll.
  t.equal((await polling.api('/t/not-yet/openapi.json')).status, 404)
  await call(a, tok, 'POST', '/tenants', tenantDoc('not-yet'))
  t.ok(await until(async () => (await polling.api('/t/not-yet/openapi.json')).status === 200, 2000) !== null, 'a tenant created after a miss is found after the next poll')
})

t.test('stored tenants load on their first request, by id or by host, not at start', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(a, ALL)
  for (const id of ['one', 'two', 'three']) await call(a, tok, 'POST', '/tenants', tenantDoc(id, { hosts: [`${id}.example.test`] }))
  const late = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  t.same(late.app.router.ids(), [], 'nothing read at start')
  t.equal((await late.api('/t/two/openapi.json')).status, 200, 'by id')
  const byHost = await rawRequest(`${late.url}/openapi.json`, { headers: { host: 'three.example.test:8080' } })
  t.equal(byHost.status, 200, 'by host')
  t.equal(byHost.json().info.title, 'Vestibule — three')
  t.same(late.app.router.ids().sort(), ['three', 'two'], 'only what was asked for')
  t.equal((await rawRequest(`${late.url}/openapi.json`, { headers: { host: 'nobody.example.test' } })).status, 404, 'an unknown host is the deployment\'s 404')
  t.equal((await late.api('/t/Bad_Id!/openapi.json')).status, 404)
  const concurrent = await Promise.all(Array.from({ length: 20 }, () => late.api('/t/one/openapi.json').then((r) => r.status)))
  t.same([...new Set(concurrent)], [200], 'twenty concurrent first requests: all served')
})

t.test('past maxKept the longest-kept tenant is dropped and reloads on its next request', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(a, ALL)
  for (const id of ['k1', 'k2', 'k3']) await call(a, tok, 'POST', '/tenants', tenantDoc(id))
  const small = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0, maxKept: 2 } })
  for (const id of ['k1', 'k2', 'k3']) t.equal((await small.api(`/t/${id}/openapi.json`)).status, 200)
  t.same(small.app.router.ids().sort(), ['k2', 'k3'])
  t.equal((await small.api('/t/k1/openapi.json')).status, 200, 'k1 comes back')
  t.same(small.app.router.ids().sort(), ['k1', 'k3'])
})
