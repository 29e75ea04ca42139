// The front router: /t/<id> and Host reach the same tenant; unknown tenants get JSON 404; ops routes.
import t from 'tap'
import { build, rawRequest, tenantDoc } from '../helpers/build.ts'

t.test('routing by prefix and by host', async (t) => {
  const { api, url } = await build(t, { tenants: [tenantDoc('acme', { hosts: ['acme.id.example.com'] }), tenantDoc('beta', { hosts: ['beta.example.org'] })] })

  const viaPrefix = await api('/t/acme/openapi.json')
  t.equal(viaPrefix.status, 200)
  const a = await viaPrefix.json() as any
  t.match(a.info.title, /acme/)

  const viaHost = await rawRequest(url + '/openapi.json', { headers: { host: 'ACME.id.example.com:8443' } })
  t.equal(viaHost.status, 200, 'host matched case-insensitively, port ignored')
  t.same(viaHost.json(), a, 'same tenant document either way')

  const beta = (await rawRequest(url + '/openapi.json', { headers: { host: 'beta.example.org' } })).json()
  t.match(beta.info.title, /beta/)

  const unknownPrefix = await rawRequest(url + '/t/nope/openapi.json', { headers: { host: 'acme.id.example.com' } })
  t.equal(unknownPrefix.status, 404, 'an unknown /t/ prefix is not rescued by the host')
  t.same(unknownPrefix.json(), { error: 'unknown_tenant', message: 'No tenant serves acme.id.example.com/t/nope/openapi.json' })

  const unknownHost = await rawRequest(url + '/openapi.json', { headers: { host: 'evil.example.net' } })
  t.equal(unknownHost.status, 404)
  t.same(unknownHost.json(), { error: 'unknown_tenant', message: 'No tenant serves evil.example.net/openapi.json' })

  const inTenant404 = await api('/t/acme/nothing-here')
  t.equal(inTenant404.status, 404)
  t.same(await inTenant404.json(), { error: 'not_found', message: 'Route GET /nothing-here not found' })

  t.equal((await api('/t/acme')).status, 404, 'bare prefix reaches the tenant root')
  t.equal((await (await api('/t/acme')).json() as any).error, 'not_found')
})

t.test('healthz and readyz', async (t) => {
  const { api, url } = await build(t, { tenants: [tenantDoc('ops', { hosts: ['ops.example.com'] })], redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
  const h = await rawRequest(url + '/healthz', { headers: { host: 'ops.example.com' } })
  t.equal(h.status, 200, 'healthz answers on a tenant host too')
  t.same(h.json(), { status: 'ok' })
  const r = await api('/readyz')
  t.equal(r.status, 200)
  t.same(await r.json(), { status: 'ok', checks: { database: 'ok', redis: 'ok' }, tenants: { served: 1, refused: [] } })
})

t.test('readyz reports a dependency that is down', async (t) => {
  const { api } = await build(t, { tenants: [], redisUrl: 'redis://127.0.0.1:1' })
  const r = await api('/readyz')
  t.equal(r.status, 503)
  const body = await r.json() as any
  t.equal(body.status, 'unavailable')
  t.equal(body.checks.database, 'ok')
  t.match(body.checks.redis, /^unavailable/)
})
