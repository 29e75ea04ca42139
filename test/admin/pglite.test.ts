// Stored tenants on the embedded PGlite (the quickstart's database): created through the admin API, served
// on their first request by /t/<id> and by host, changed and deleted, with the same indexed lookups as on
// PostgreSQL (tenants/db-source.ts, tenants/db-store.ts).
import t from 'tap'
import { build, postJson, rawRequest, tenantDoc } from '../helpers/build.ts'
import { ALL, call, keyring, token } from './helpers.ts'

const byLink = (extra: Record<string, unknown> = {}) => tenantDoc('lite', {
  hosts: ['lite.test'],
  clients: [{ id: 'lite-web' }],
  dialects: { 'by-link': { linkUrl: 'https://lite.test/link/{token}' } },
  ...extra
})

t.test('PGlite: a stored tenant is served by id and by host, changed, and deleted', async (t) => {
  const b = await build(t, { engine: 'pglite', adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(b, ALL)
  const link = () => b.api('/t/lite/v1/auth/by-link/link/', postJson({ email: 'pat@example.test' }))
  t.equal((await link()).status, 404, 'unknown before it is created')
  const created = await call(b, tok, 'POST', '/tenants', byLink())
  t.equal(created.status, 201)
  t.equal(created.headers.get('etag'), '"1"')
  t.equal((await link()).status, 200, 'served on its first request by /t/<id>')
  const onHost = await rawRequest(`${b.url}/v1/auth/by-link/link/`, { method: 'POST', headers: { host: 'lite.test', 'content-type': 'application/json' }, body: JSON.stringify({ email: 'pat@example.test' }) })
  t.equal(onHost.status, 200, 'and by its host (the tenant_hosts index)')
  t.equal((await call(b, tok, 'PATCH', '/tenants/lite', { dialects: { 'by-link': null } }, { 'if-match': '"1"' })).status, 200)
  t.equal((await link()).status, 404, 'the change applies at once on this node: by-link is gone')
  t.equal((await call(b, tok, 'PATCH', '/tenants/lite', { locales: ['en-US'] }, { 'if-match': '"1"' })).status, 412, 'a stale If-Match')
  t.equal((await call(b, tok, 'POST', '/tenants/lite/versions/1/restore')).status, 200)
  t.equal((await link()).status, 200, 'the restored version serves the old config')
  t.equal((await call(b, tok, 'DELETE', '/tenants/lite')).status, 200)
  t.equal((await link()).status, 404, 'deleted: not served')
  t.same((await call(b, tok, 'GET', '/tenants/lite/versions')).body.items.map((v: any) => v.action), ['delete', 'restore', 'update', 'create'])
})
