// Admin authentication: tokens made by the CLI (shown once, stored hashed, listed, revoked), scopes, the
// one-tenant restriction, the failed-attempt limit, and /admin/v1 served only on the deployment's own host.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { hashToken } from '../../plugins/crypto.ts'
import { build, rawRequest, TEST_DATABASE_URL, TEST_REDIS_URL, tenantDoc } from '../helpers/build.ts'
import { ALL, call, keyring, token } from './helpers.ts'

const run = promisify(execFile)

t.test('the CLI creates a token shown once and stored as a hash; list shows it; revoke ends it', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const env = { ...process.env, DATABASE_URL: `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${b.schema}`)}` }
  const cli = (...args: string[]) => run('npx', ['tsx', 'tenants/admin/cli.ts', ...args], { env })

  const created = await cli('token', 'create', '--scope', 'tenants:read,users:read', '--scope', 'events:read', '--tenant', 'acme', '--name', 'support')
  const tok = created.stdout.trim()
  t.match(tok, /^vsta_[A-Za-z0-9_-]{43}$/, 'stdout is the token alone, for scripts')
  t.match(created.stderr, /shown this once/)

  const db = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await db.connect()
  t.teardown(() => db.end())
  const rows = (await db.query(`select * from "${b.schema}".admin_tokens`)).rows
  t.equal(rows.length, 1)
  t.equal(rows[0].token_hash, hashToken(tok), 'stored as its SHA-256')
  t.notOk(JSON.stringify(rows).includes(tok.slice(5)), 'the token itself is stored nowhere')
  t.same(rows[0].scopes, ['tenants:read', 'users:read', 'events:read'])
  t.equal(rows[0].tenant_id, 'acme')

  const listed = await cli('token', 'list')
  t.match(listed.stdout, /^1\tsupport\ttenants:read,users:read,events:read\tacme\t/m)
  t.notMatch(listed.stdout, new RegExp(tok.slice(5)), 'list never shows a token')

  await t.rejects(cli('token', 'create', '--scope', 'tenants:delete'), { stderr: /unknown scope "tenants:delete"/ } as any)
  await t.rejects(cli('token', 'create'), { stderr: /at least one --scope/ } as any)

  const all = (await cli('token', 'create', '--scope', 'tenants:read')).stdout.trim()
  t.equal((await call(b, all, 'GET', '/tenants')).status, 200)
  await cli('token', 'revoke', '2')
  const after = await call(b, all, 'GET', '/tenants')
  t.equal(after.status, 401, 'a revoked token is refused')
  t.same(after.body, { error: 'unauthorized', message: 'The admin token is unknown, revoked or expired.' })
  await t.rejects(cli('token', 'revoke', '2'), { stderr: /no live admin token "2"/ } as any)
  t.match((await cli('token', 'list', '--all')).stdout, /^2\t-\ttenants:read\t\*\t.*\t\d{4}-\d\d-\d\dT[^\t]+$/m, '--all shows revoked ones with when')
})

t.test('no token, a malformed one, an unknown one: 401 with a Bearer challenge', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const none = await call(b, null, 'GET', '/tenants')
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="vestibule-admin"')
  t.same(none.body, { error: 'unauthorized', message: 'An admin token is required: Authorization: Bearer <token>.' })
  t.equal((await call(b, 'not-a-token', 'GET', '/tenants')).status, 401)
  t.equal((await call(b, 'vsta_' + 'a'.repeat(43), 'GET', '/tenants')).status, 401)
  t.equal((await call(b, null, 'GET', '/nowhere')).status, 401, 'unknown admin paths ask for a token too (no probing)')
  const tok = await token(b, ['tenants:read'])
  t.same((await call(b, tok, 'GET', '/nowhere')).body, { error: 'not_found', message: 'Route GET /admin/v1/nowhere not found' })
  t.equal((await call(b, null, 'GET', '/openapi.json')).status, 200, 'the OpenAPI document is public')
})

t.test('scopes: each route needs its own', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const reader = await token(b, ['tenants:read'])
  const writer = await token(b, ['tenants:write'])
  const w = await call(b, reader, 'POST', '/tenants', tenantDoc('acme'))
  t.equal(w.status, 403)
  t.same(w.body, { error: 'forbidden', message: 'This token lacks the scope tenants:write.' })
  t.equal((await call(b, writer, 'POST', '/tenants', tenantDoc('acme'))).status, 201)
  t.equal((await call(b, writer, 'GET', '/tenants/acme')).status, 403, 'write does not imply read')
  t.equal((await call(b, reader, 'GET', '/tenants/acme')).status, 200)
  t.equal((await call(b, writer, 'GET', '/tenants/acme/versions')).status, 403)
})

t.test('a token restricted to tenant A: B is not found, and it writes nothing it lacks the scope for', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const root = await token(b, ALL)
  for (const id of ['tenant-a', 'tenant-b']) t.equal((await call(b, root, 'POST', '/tenants', tenantDoc(id))).status, 201)
  const readA = await token(b, ['tenants:read', 'users:read'], 'tenant-a')
  const writeA = await token(b, ALL, 'tenant-a')

  t.equal((await call(b, readA, 'GET', '/tenants/tenant-a')).status, 200)
  const other = await call(b, readA, 'GET', '/tenants/tenant-b')
  t.equal(other.status, 404, 'tenant B does not exist for it')
  t.same(other.body, { error: 'not_found', message: 'no tenant "tenant-b"' })
  t.same((await call(b, root, 'GET', '/tenants/nonexistent')).body, { error: 'not_found', message: 'no tenant "nonexistent"' }, 'the same answer as for a tenant that does not exist')
  t.equal((await call(b, readA, 'GET', '/tenants/tenant-b/versions')).status, 404)
  t.same((await call(b, readA, 'GET', '/tenants')).body.items.map((i: any) => i.id), ['tenant-a'], 'the list holds its tenant alone')

  t.equal((await call(b, readA, 'PATCH', '/tenants/tenant-a', { locales: ['en-US', 'fr-FR'] })).status, 403, 'read-only: no write, even to its own tenant')
  t.equal((await call(b, readA, 'POST', '/tenants', tenantDoc('tenant-c'))).status, 403)
  t.equal((await call(b, writeA, 'PATCH', '/tenants/tenant-b', { locales: ['en-US', 'fr-FR'] })).status, 404, 'writing B: B is not found')
  t.equal((await call(b, writeA, 'DELETE', '/tenants/tenant-b')).status, 404)
  const create = await call(b, writeA, 'POST', '/tenants', tenantDoc('tenant-c'))
  t.equal(create.status, 403, 'creating tenants needs a token for every tenant')
  t.match(create.body.message, /restricted to tenant "tenant-a"/)
  t.equal((await call(b, writeA, 'DELETE', '/tenants/tenant-a')).status, 403, 'so does deleting one')
  t.equal((await call(b, writeA, 'PATCH', '/tenants/tenant-a', { locales: ['en-US', 'fr-FR'] })).status, 200, 'its own tenant it may change')
  t.equal((await call(b, root, 'GET', '/tenants/tenant-b')).body.version, 1, 'B untouched')

  // Which hosts route to a tenant is the deployment's to decide: a restricted token cannot claim one.
  const claim = await call(b, writeA, 'PATCH', '/tenants/tenant-a', { hosts: ['login.someone-else.test'] })
  t.equal(claim.status, 403, 'a restricted token cannot claim a host not yet claimed')
  t.match(claim.body, { error: 'forbidden', message: /cannot change its hosts/ })
  const put = await call(b, writeA, 'PUT', '/tenants/tenant-a', { ...tenantDoc('tenant-a'), hosts: ['login.someone-else.test'] })
  t.equal(put.status, 403, 'nor by replacing the document')
  t.equal((await call(b, root, 'PATCH', '/tenants/tenant-a', { hosts: ['a.test'] })).status, 200, 'a token for every tenant may')
  t.equal((await call(b, writeA, 'PATCH', '/tenants/tenant-a', { hosts: ['A.test'], locales: ['en-US'] })).status, 200, 'the same hosts: other settings change')
  t.equal((await call(b, writeA, 'POST', '/tenants/tenant-a/versions/1/restore')).status, 403, 'restoring a version with other hosts is changing them')
  t.equal((await call(b, root, 'GET', '/tenants/tenant-a')).body.config.hosts[0], 'A.test')
  t.equal((await call(b, root, 'DELETE', '/tenants/tenant-a')).status, 200)
  const back = await call(b, writeA, 'POST', '/tenants/tenant-a/versions/2/restore')
  t.equal(back.status, 403, 'bringing a deleted tenant back creates one: a token for every tenant only')
  t.match(back.body.message, /needs a token for every tenant/)
  t.equal((await call(b, root, 'GET', '/tenants/tenant-a')).status, 404, 'still deleted')
})

t.test('failed attempts are limited per address, on every node (Redis)', async (t) => {
  const a = await build(t, { redisUrl: TEST_REDIS_URL, adminApi: { keyring: keyring(), authFailures: { max: 3, windowSeconds: 60 } } })
  const b = await build(t, { redisUrl: TEST_REDIS_URL, nodeOf: a, adminApi: { keyring: keyring(), authFailures: { max: 3, windowSeconds: 60 } } })
  const good = await token(a, ['tenants:read'])
  t.equal((await call(a, good, 'GET', '/tenants')).status, 200)
  for (let i = 0; i < 2; i++) t.equal((await call(a, 'vsta_' + 'x'.repeat(43), 'GET', '/tenants')).status, 401)
  t.equal((await call(b, null, 'GET', '/tenants')).status, 401, 'the third failure, on the other node')
  const blocked = await call(a, good, 'GET', '/tenants')
  t.equal(blocked.status, 429, 'then even a good token is refused from that address')
  t.equal(blocked.body.error, 'too_many_failed_attempts')
  t.ok(Number(blocked.headers.get('retry-after')) > 0 && Number(blocked.headers.get('retry-after')) <= 60)
  t.equal((await call(b, good, 'GET', '/tenants')).status, 429, 'on every node')
  t.equal((await call(a, null, 'GET', '/openapi.json')).status, 200, 'the public document stays readable')
})

t.test('failed attempts without Redis, and behind a trusted proxy each client counts alone', async (t) => {
  const b = await build(t, { trustProxy: '127.0.0.1', adminApi: { keyring: keyring(), authFailures: { max: 2, windowSeconds: 60 } } })
  const good = await token(b, ['tenants:read'])
  const from = (ip: string, tok: string | null) => call(b, tok, 'GET', '/tenants', undefined, { 'x-forwarded-for': ip })
  t.equal((await from('203.0.113.7', null)).status, 401)
  t.equal((await from('203.0.113.7', null)).status, 401)
  t.equal((await from('203.0.113.7', good)).status, 429)
  t.equal((await from('198.51.100.9', good)).status, 200, 'another client behind the same proxy is not locked out')
})

t.test('/admin/v1 is the deployment\'s: never under a tenant host or /t/<id>', async (t) => {
  const b = await build(t, { tenants: [tenantDoc('hosted', { hosts: ['hosted.test'] })], adminApi: { keyring: keyring() } })
  const tok = await token(b, ['tenants:read'])
  const auth = { authorization: `Bearer ${tok}` }
  const main = await rawRequest(`${b.url}/admin/v1/tenants`, { headers: auth })
  t.equal(main.status, 200)
  const onHost = await rawRequest(`${b.url}/admin/v1/tenants`, { headers: { ...auth, host: 'hosted.test' } })
  t.equal(onHost.status, 404, 'a tenant host answers with that tenant\'s own 404')
  t.same(onHost.json(), { error: 'not_found', message: 'Route GET /admin/v1/tenants not found' })
  t.notOk(onHost.headers['www-authenticate'], 'not the admin API answering')
  const prefixed = await rawRequest(`${b.url}/t/hosted/admin/v1/tenants`, { headers: auth })
  t.equal(prefixed.status, 404)
  t.notOk(prefixed.headers['www-authenticate'])
})
