// Many tenants in the database: a node reads none of them at boot, resolves one on its first request in one
// statement (by id or by host), serves it from its cache after that, remembers a miss (a flood of requests for
// an unknown host reaches the database once), keeps at most maxKept (least recently used goes first), and
// follows the Redis announcement for a tenant it keeps (a changed config replaces it, a deleted one goes).
// Statements are counted on the node's own PostgreSQL connections (pg's Client.query, observed, not replaced).
import pg from 'pg'
import t from 'tap'
import { sql } from 'kysely'
import { reloadChannel } from '../../tenants/db-source.ts'
import { build, rawRequest, TEST_REDIS_URL, type Built } from '../helpers/build.ts'
import { Redis } from 'ioredis'
import { keyring } from './helpers.ts'

const MANY = 3000
const TENANT_TABLES = /\btenant_(configs|hosts)\b/

interface Seen { sql: string, rows: number }
const seen: Seen[] = []
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string } | undefined
  const text = typeof first === 'string' ? first : first?.text
  const r = query.apply(this, args)
  if (text && TENANT_TABLES.test(text) && r && typeof (r as Promise<unknown>).then === 'function') {
    (r as Promise<{ rowCount: number | null, rows?: unknown[] }>).then((res) => { seen.push({ sql: text, rows: res.rowCount ?? res.rows?.length ?? 0 }) }, () => {})
  }
  return r
} as typeof pg.Client.prototype.query
t.teardown(() => { pg.Client.prototype.query = query as typeof pg.Client.prototype.query })

/** Statements on the tenant tables made while `fn` runs (and the rows they returned). */
async function counting (fn: () => Promise<unknown>): Promise<Seen[]> {
  const from = seen.length
  await fn()
  await new Promise((r) => setImmediate(r))
  return seen.slice(from)
}
const rows = (s: Seen[]) => s.reduce((n, x) => n + x.rows, 0)

/** MANY stored tenants written straight into the tables (one statement each), as a large deployment has them. */
async function seed (b: Built): Promise<void> {
  const db = b.app.db.db
  await sql`insert into tenant_configs (id, version, doc)
    select 'm-' || i, 1, jsonb_build_object('id', 'm-' || i, 'hosts', jsonb_build_array('m-' || i || '.many.test'),
      'email', jsonb_build_object('from', 'm <no-reply@m' || i || '.test>'), 'frontendUrl', 'https://m' || i || '.test/v1')
    from generate_series(1, ${MANY}::int) i`.execute(db)
  await sql`insert into tenant_config_versions (tenant_id, version, action, doc) select id, version, 'create', doc from tenant_configs where id like 'm-%'`.execute(db)
  await sql`insert into tenant_hosts (host, tenant_id) select 'm-' || i || '.many.test', 'm-' || i from generate_series(1, ${MANY}::int) i`.execute(db)
}

t.test('a node with thousands of stored tenants reads none at boot and one per first request', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  await seed(a)
  let late!: Built
  const boot = await counting(async () => { late = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } }) })
  t.same(boot, [], `no statement on the tenant tables at boot (${MANY} stored)`)
  t.same(late.app.router.ids(), [], 'nothing kept')

  const byId = await counting(async () => t.equal((await late.api('/t/m-1234/openapi.json')).status, 200, 'served by id'))
  t.equal(byId.length, 1, 'one statement for a first request by id')
  t.equal(rows(byId), 1, 'reading one row')
  t.match(byId[0].sql, /where "id" = \$1/)

  const byHost = await counting(async () => {
    const res = await rawRequest(`${late.url}/openapi.json`, { headers: { host: 'M-2999.many.test:8443' } })
    t.equal(res.status, 200, 'served by host (any case, any port)')
    t.equal(res.json().info.title, 'Vestibule — m-2999')
  })
  t.equal(byHost.length, 1, 'one statement for a first request by host (hosts joined to configs)')
  t.equal(rows(byHost), 1)
  t.match(byHost[0].sql, /inner join "tenant_configs"/)

  const warm = await counting(async () => {
    for (let i = 0; i < 5; i++) t.equal((await late.api('/t/m-1234/openapi.json')).status, 200)
    t.equal((await rawRequest(`${late.url}/openapi.json`, { headers: { host: 'm-2999.many.test' } })).status, 200)
  })
  t.same(warm, [], 'later requests are served from the cache')
  t.same(late.app.router.ids().sort(), ['m-1234', 'm-2999'], 'only what was asked for is kept')

  const concurrent = await counting(async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => rawRequest(`${late.url}/openapi.json`, { headers: { host: 'm-7.many.test' } }).then((r) => r.status)))
    t.same([...new Set(all)], [200], 'twenty concurrent first requests by host: all served')
  })
  t.equal(concurrent.length, 1, 'and they share one statement')
})

t.test('an unknown host or id reaches the database once, however many requests name it', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  await seed(a)
  const node = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const flood = await counting(async () => {
    for (let round = 0; round < 3; round++) {
      const statuses = await Promise.all(Array.from({ length: 30 }, () => rawRequest(`${node.url}/openapi.json`, { headers: { host: 'nobody.many.test' } }).then((r) => r.status)))
      t.same([...new Set(statuses)], [404], 'the deployment\'s 404')
      t.equal((await node.api('/t/m-999999/openapi.json')).status, 404)
    }
  })
  t.equal(flood.length, 2, '93 requests, two statements: one for the host, one for the id')
  t.same(node.app.router.ids(), [], 'a miss keeps no tenant')
  t.equal((await node.api('/t/Not_An_Id/openapi.json')).status, 404)
  t.equal((await counting(() => node.api('/t/Not_An_Id!/openapi.json'))).length, 0, 'a malformed id is not looked up at all')
})

t.test('past maxKept the least recently used stored tenant goes, and loads again on its next request', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  await seed(a)
  const small = await build(t, { nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0, maxKept: 3 } })
  for (const id of ['m-1', 'm-2', 'm-3']) t.equal((await small.api(`/t/${id}/openapi.json`)).status, 200)
  t.equal((await small.api('/t/m-1/openapi.json')).status, 200, 'm-1 used again: m-2 is now the least recently used')
  t.equal((await small.api('/t/m-4/openapi.json')).status, 200)
  t.same(small.app.router.ids().sort(), ['m-1', 'm-3', 'm-4'], 'm-2 dropped, not the first kept (m-1)')
  const again = await counting(async () => t.equal((await small.api('/t/m-2/openapi.json')).status, 200))
  t.equal(again.length, 1, 'a dropped tenant is read again on its next request')
  t.same(small.app.router.ids().sort(), ['m-1', 'm-2', 'm-4'])
  for (let i = 10; i < 40; i++) await small.api(`/t/m-${i}/openapi.json`)
  t.equal(small.app.router.ids().length, 3, 'the cache stays bounded')
})

t.test('the Redis announcement replaces a kept tenant\'s config or drops it, with polling off', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  await seed(a)
  const node = await build(t, { nodeOf: a, redisUrl: TEST_REDIS_URL, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const redis = new Redis(TEST_REDIS_URL)
  t.teardown(() => redis.quit())
  const db = a.app.db.db
  const frontend = async (id: string) => node.app.router.get(id)?.frontendUrl
  t.equal((await node.api('/t/m-5/openapi.json')).status, 200)
  t.equal(await frontend('m-5'), 'https://m5.test/v1')

  // The row changes behind the node's back: without an announcement (and no poll) it keeps what it has.
  await sql`update tenant_configs set version = 2, doc = jsonb_set(doc, '{frontendUrl}', '"https://m5.test/v2"') where id = 'm-5'`.execute(db)
  await new Promise((r) => setTimeout(r, 300))
  t.equal(await frontend('m-5'), 'https://m5.test/v1', 'no announcement: the cached config stays')
  await redis.publish(reloadChannel(node.redisPrefix), 'db m-5')
  t.ok(await until(async () => (await frontend('m-5')) === 'https://m5.test/v2'), 'the announcement: the node reads it again')

  await sql`delete from tenant_configs where id = 'm-5'`.execute(db)
  await redis.publish(reloadChannel(node.redisPrefix), 'db m-5')
  t.ok(await until(async () => node.app.router.get('m-5') === undefined), 'a deleted tenant is dropped on the announcement')
  t.equal((await node.api('/t/m-5/openapi.json')).status, 404)

  // An announcement also forgets remembered misses: a tenant created after a miss is found at once.
  t.equal((await node.api('/t/m-new/openapi.json')).status, 404)
  await sql`insert into tenant_configs (id, version, doc) values ('m-new', 1, ${JSON.stringify({ id: 'm-new', email: { from: 'n <n@n.test>' } })}::jsonb)`.execute(db)
  t.equal((await node.api('/t/m-new/openapi.json')).status, 404, 'still the remembered miss')
  await redis.publish(reloadChannel(node.redisPrefix), 'db m-new')
  t.ok(await until(async () => (await node.api('/t/m-new/openapi.json')).status === 200), 'found after the announcement')
})

async function until (fn: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (await fn()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return false
}
