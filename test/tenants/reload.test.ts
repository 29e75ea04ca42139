// Reloading tenants: a changed file swaps that tenant, in-flight requests finish on the old instance,
// a file that turns bad keeps the last good config, a removed file stops the tenant, others keep serving.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import { TenantRouter } from '../../tenants/router.ts'
import { parseTenant } from '../../tenants/loader.ts'
import { build, tenantDoc } from '../helpers/build.ts'

const write = (d: string, id: string, extra: Record<string, unknown> = {}) =>
  writeFileSync(path.join(d, `${id}.json`), JSON.stringify(tenantDoc(id, extra)))

t.test('a changed tenant file swaps that tenant; bad or removed files are handled', async (t) => {
  const d = mkdtempSync(path.join(tmpdir(), 'vst-reload-'))
  write(d, 'one', { locales: ['en-US'] })
  write(d, 'two')
  const { app, api } = await build(t, { tenantsDir: d })
  const title = async (id: string) => ((await (await api(`/t/${id}/openapi.json`)).json()) as any).info.description as string

  t.equal(app.router.get('one')?.locales.length, 1)
  await title('one')
  write(d, 'one', { locales: ['en-US', 'fr-FR'] })
  t.same(await app.reloadTenants(), [])
  t.same(app.router.get('one')?.locales, ['en-US', 'fr-FR'], 'new config in place')
  t.equal((await api('/t/one/openapi.json')).status, 200, 'and serving')

  writeFileSync(path.join(d, 'one.json'), '{"id": "one", "email": {"from": "x@y.z"}, "linking": 42}')
  const errors = await app.reloadTenants()
  t.equal(errors.length, 1)
  t.match(errors[0], { file: path.join(d, 'one.json'), path: '/linking' })
  t.same(app.router.get('one')?.locales, ['en-US', 'fr-FR'], 'a bad file keeps the last good config')
  t.equal((await api('/t/one/openapi.json')).status, 200)
  t.equal((await api('/t/two/openapi.json')).status, 200, 'the others keep serving')

  rmSync(path.join(d, 'two.json'))
  await app.reloadTenants()
  t.equal((await api('/t/two/openapi.json')).status, 404, 'a removed file stops its tenant')

  write(d, 'three')
  await app.reloadTenants()
  t.equal((await api('/t/three/openapi.json')).status, 200, 'a new file starts a tenant')
})

t.test('in-flight requests finish on the old instance; new ones reach the new one', async (t) => {
  // The router's mechanics with a deliberately slow route: the instance builder is injected.
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const closed: string[] = []
  const buildSlow = async (config: any) => {
    const app = Fastify()
    app.get('/who', async () => { if (config.frontendUrl === 'https://old.test') await gate; return { frontendUrl: config.frontendUrl } })
    app.addHook('onClose', async () => { closed.push(config.frontendUrl) })
    await app.ready()
    return app
  }
  const shared: any = { log: { error () {}, info () {}, warn () {}, child () { return this } } }
  const router = new TenantRouter(shared, (_req, res) => { res.statusCode = 404; res.end() }, [], buildSlow as any)
  const cfg = (frontendUrl: string) => parseTenant('x', JSON.stringify(tenantDoc('swap', { frontendUrl }))).config!
  await router.upsert(cfg('https://old.test'))
  const server = http.createServer(router.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close(); return router.close() })
  const base = `http://127.0.0.1:${(server.address() as any).port}`

  const slow = fetch(`${base}/t/swap/who`).then((r) => r.json())
  await new Promise((r) => setTimeout(r, 100)) // the slow request is now inside the old instance
  t.equal(await router.upsert(cfg('https://new.test')), 'replaced')
  t.same(await (await fetch(`${base}/t/swap/who`)).json(), { frontendUrl: 'https://new.test' }, 'new requests reach the new instance')
  t.same(closed, [], 'the old instance stays open while a request runs on it')
  release()
  t.same(await slow, { frontendUrl: 'https://old.test' }, 'the in-flight request finished on the old instance')
  await new Promise((r) => setTimeout(r, 50))
  t.same(closed, ['https://old.test'], 'then the old instance closed')
})

t.test('a replacement that cannot build never takes over', async (t) => {
  let fail = false
  const builder = async (config: any) => {
    if (fail) throw new Error('provider misconfigured')
    const app = Fastify(); app.get('/v', async () => ({ v: config.frontendUrl })); await app.ready(); return app
  }
  const shared: any = { log: { error () {}, info () {}, warn () {}, child () { return this } } }
  const router = new TenantRouter(shared, () => {}, [], builder as any)
  t.teardown(() => router.close())
  const cfg = (u: string) => parseTenant('x', JSON.stringify(tenantDoc('keep', { frontendUrl: u }))).config!
  await router.upsert(cfg('https://v1.test'))
  await router.warm(['keep'])
  fail = true
  await t.rejects(router.upsert(cfg('https://v2.test')), /provider misconfigured/)
  t.equal(router.get('keep')?.frontendUrl, 'https://v1.test')
})

t.test('a config change announced by one node reaches the other nodes', async (t) => {
  const { TEST_REDIS_URL } = await import('../helpers/build.ts')
  const d = mkdtempSync(path.join(tmpdir(), 'vst-nodes-'))
  write(d, 'shared', { locales: ['en-US'] })
  const a = await build(t, { tenantsDir: d, redisUrl: TEST_REDIS_URL })
  const b = await build(t, { tenantsDir: d, redisUrl: TEST_REDIS_URL, nodeOf: a })
  write(d, 'shared', { locales: ['en-US', 'fr-FR'] })
  await a.app.reloadTenants({ broadcast: true })
  for (let i = 0; i < 50 && b.app.router.get('shared')?.locales.length !== 2; i++) await new Promise((r) => setTimeout(r, 50))
  t.same(b.app.router.get('shared')?.locales, ['en-US', 'fr-FR'], 'node b re-read its folder')
})
