// Stored tenants through /admin/v1/tenants: the loader's validation and errors, file-defined tenants
// read-only (409 naming the file), hosts unique, numbered versions with If-Match (412) and restore,
// secrets sealed at rest and never returned.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { createKeyring } from '../../db/sealing.ts'
import { parseTenant } from '../../tenants/loader.ts'
import { build, TEST_DATABASE_URL, tenantDoc, type Built } from '../helpers/build.ts'
import { ALL, call, keyring, token } from './helpers.ts'

async function raw (b: Built, sql: string): Promise<any[]> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await c.connect()
  try { return (await c.query(sql.replaceAll('$schema', `"${b.schema}"`))).rows } finally { await c.end() }
}

const dialectsServed = async (b: Built, id: string) => {
  const res = await b.api(`/t/${id}/openapi.json`)
  return res.status === 200 ? /Dialects: (.*)\.$/.exec(((await res.json()) as any).info.description)![1] : res.status
}

t.test('documents are validated as tenants:check validates files, with the same path: reason errors', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  const bad = { id: 'acme', email: { from: 'a@b.c' }, locales: ['en-US'], defaultLocale: 'fr-FR', providers: { google: { type: 'google', clientId: 7, clientSecret: 'x' } } }
  const r = await call(b, tok, 'POST', '/tenants', bad)
  t.equal(r.status, 400)
  t.equal(r.body.error, 'invalid_tenant')
  const fileErrors = parseTenant('acme.json', JSON.stringify(bad)).errors.map((e) => `${e.path}: ${e.message}`)
  t.same(r.body.errors, fileErrors, 'exactly what the loader says of the same file')
  t.same(r.body.errors, ['/providers/google/clientId: Expected string'])
  const cross = await call(b, tok, 'POST', '/tenants', { ...bad, providers: {}, clients: [{ id: 'c' }, { id: 'c' }] })
  t.same(cross.body.errors, ['/defaultLocale: "fr-FR" is not one of locales (en-US)', '/clients/1/id: duplicate client id "c"'], 'cross-checks too')
  t.match((await call(b, tok, 'POST', '/tenants', tenantDoc('acme', { colour: 'red' }))).body.errors, [/^\/colour: unknown key "colour"/])
  t.match((await call(b, tok, 'POST', '/tenants', tenantDoc('acme', { dialects: { saml: {} } }))).body.errors, [/^\/dialects\/saml: unknown dialect "saml"; the dialects are/])

  const env = await call(b, tok, 'POST', '/tenants', tenantDoc('acme', { providers: { github: { type: 'github', clientId: 'x', clientSecret: '${HOME}' } } }))
  t.equal(env.status, 400, 'the server\'s environment is not readable through a stored tenant')
  t.match(env.body.errors, [/^\/providers\/github\/clientSecret: "\$\{…\}" is not interpolated/])
  t.same((await call(b, tok, 'POST', '/tenants', tenantDoc('acme', { frontendUrl: 'https://a\u0000b' }))).body.errors, ['/frontendUrl: contains a NUL character'])
  t.equal((await call(b, tok, 'POST', '/tenants', [1, 2])).status, 400)
  const nojson = await b.api('/admin/v1/tenants', { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: '{"id": ' })
  t.equal(nojson.status, 400, 'a body that does not parse is a 400, not a 500')

  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('acme'))).status, 201)
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('acme'))).status, 409, 'an id is created once')
  const moved = await call(b, tok, 'PUT', '/tenants/acme', tenantDoc('other'))
  t.same([moved.status, moved.body.errors], [400, ['/id: must be "acme", the tenant this request names']])
  t.equal((await call(b, tok, 'PUT', '/tenants/nope', tenantDoc('nope'))).status, 404, 'PUT does not create')
  t.equal((await call(b, tok, 'GET', '/tenants/acme/versions')).body.items.length, 1, 'refused writes leave no version')
})

t.test('a tenant defined by a file is read-only here: 409 naming the file; GET shows it redacted', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-admin-files-'))
  const file = path.join(dir, 'filed.json')
  writeFileSync(file, JSON.stringify(tenantDoc('filed', { hosts: ['filed.test'], providers: { github: { type: 'github', clientId: 'gh', clientSecret: 'file-secret-value' } } })))
  const b = await build(t, { tenantsDir: dir, adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  for (const [method, p, body] of [['PUT', '/tenants/filed', tenantDoc('filed')], ['PATCH', '/tenants/filed', { locales: ['fr-FR'] }], ['DELETE', '/tenants/filed', undefined], ['POST', '/tenants', tenantDoc('filed')], ['POST', '/tenants/filed/clients', {}]] as const) {
    const r = await call(b, tok, method, p, body)
    t.equal(r.status, 409, `${method} ${p}`)
    t.same(r.body, { error: 'defined_outside', message: `tenant "filed" is defined by ${file}: change it there` })
  }
  const g = await call(b, tok, 'GET', '/tenants/filed')
  t.match(g.body, { id: 'filed', source: 'file', file, serving: true, config: { providers: { github: { clientSecret: /^vst-secret:[0-9a-f]{12}$/ } } } })
  t.notOk(JSON.stringify(g.body).includes('file-secret-value'))
  t.notOk(g.headers.get('etag'), 'no version, no ETag')
  const list = await call(b, tok, 'GET', '/tenants')
  t.same(list.body.items, [{ id: 'filed', source: 'file', file, hosts: ['filed.test'], serving: true }])

  const clash = await call(b, tok, 'POST', '/tenants', tenantDoc('stored', { hosts: ['FILED.test'] }))
  t.same(clash.body.errors, [`/hosts/0: host "FILED.test" is already served by ${file}`], 'hosts are unique across files and stored tenants')
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('stored', { hosts: ['stored.test'] }))).status, 201)
  t.same((await call(b, tok, 'POST', '/tenants', tenantDoc('third', { hosts: ['stored.test'] }))).body.errors, ['/hosts/0: host "stored.test" is already served by tenant "stored"'])
  const admin = await call(b, tok, 'POST', '/tenants', tenantDoc('third', { hosts: ['127.0.0.1'] }))
  t.same(admin.body.errors, ['/hosts/0: host "127.0.0.1" is where this deployment serves its admin API and /t/<id> paths'], 'no tenant may take the admin API\'s host')
})

t.test('versions: each change numbered, If-Match refuses a stale write (412), restore serves the old config', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  const created = await call(b, tok, 'POST', '/tenants', tenantDoc('ver'))
  t.equal(created.headers.get('etag'), '"1"')
  t.equal(created.headers.get('location'), '/admin/v1/tenants/ver')
  t.equal(await dialectsServed(b, 'ver'), 'none')

  const v2 = await call(b, tok, 'PATCH', '/tenants/ver', { dialects: { 'rest-social-auth': {} } }, { 'if-match': '"1"' })
  t.equal(v2.status, 200)
  t.equal(v2.headers.get('etag'), '"2"')
  t.equal(await dialectsServed(b, 'ver'), 'rest-social-auth', 'the change serves at once on this node')

  const stale = await call(b, tok, 'PUT', '/tenants/ver', tenantDoc('ver', { locales: ['fr-FR'], defaultLocale: 'fr-FR' }), { 'if-match': '"1"' })
  t.equal(stale.status, 412)
  t.same(stale.body, { error: 'precondition_failed', message: 'the tenant is at version 2, not 1' })
  t.equal((await call(b, tok, 'PUT', '/tenants/ver', tenantDoc('ver'), { 'if-match': '"abc"' })).status, 412, 'an ETag that is no version matches nothing')
  t.equal((await call(b, tok, 'PATCH', '/tenants/ver', { frontendUrl: 'https://ver.app' }, { 'if-match': 'W/"2"' })).headers.get('etag'), '"3"')

  // Two operators edit version 3 at once: one wins, the other is told.
  const [x, y] = await Promise.all([
    call(b, tok, 'PATCH', '/tenants/ver', { locales: ['en-US', 'de-DE'] }, { 'if-match': '"3"' }),
    call(b, tok, 'PATCH', '/tenants/ver', { locales: ['en-US', 'it-IT'] }, { 'if-match': '"3"' })
  ])
  t.same([x.status, y.status].sort(), [200, 412], 'concurrent edits of one version: exactly one wins')

  const merge = await b.api('/admin/v1/tenants/ver', { method: 'PATCH', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ frontendUrl: null }) })
  t.equal(merge.status, 200, 'application/merge-patch+json')
  t.notOk(((await merge.json()) as any).config.frontendUrl, 'null removes a key')

  const versions = await call(b, tok, 'GET', '/tenants/ver/versions')
  t.same(versions.body.items.map((v: any) => [v.version, v.action]), [[5, 'update'], [4, 'update'], [3, 'update'], [2, 'update'], [1, 'create']])
  t.match(versions.body.items[0], { actor: /^token:\d+$/, createdAt: /^\d{4}-/ })
  const page = await call(b, tok, 'GET', '/tenants/ver/versions?limit=2')
  t.same(page.body.items.map((v: any) => v.version), [5, 4])
  t.same((await call(b, tok, 'GET', `/tenants/ver/versions?limit=2&cursor=${page.body.nextCursor}`)).body.items.map((v: any) => v.version), [3, 2])
  t.same((await call(b, tok, 'GET', '/tenants/ver/versions/1')).body.config, tenantDoc('ver'))
  t.equal((await call(b, tok, 'GET', '/tenants/ver/versions/99')).status, 404)

  t.equal((await call(b, tok, 'POST', '/tenants/ver/versions/1/restore', undefined, { 'if-match': '"4"' })).status, 412)
  const restored = await call(b, tok, 'POST', '/tenants/ver/versions/1/restore', undefined, { 'if-match': '"5"' })
  t.equal(restored.status, 200)
  t.equal(restored.body.version, 6)
  t.same(restored.body.config, tenantDoc('ver'))
  t.equal(await dialectsServed(b, 'ver'), 'none', 'the restored version serves')
  t.equal((await call(b, tok, 'GET', '/tenants/ver/versions/6')).body.action, 'restore')

  const del = await call(b, tok, 'DELETE', '/tenants/ver', undefined, { 'if-match': '"6"' })
  t.same(del.body, { id: 'ver', version: 7, deleted: true })
  t.equal(await dialectsServed(b, 'ver'), 404, 'a deleted tenant stops serving')
  t.equal((await call(b, tok, 'GET', '/tenants/ver')).status, 404)
  t.same((await call(b, tok, 'GET', '/tenants/ver/versions/7')).body.config, null)
  const back = await call(b, tok, 'POST', '/tenants/ver/versions/2/restore')
  t.same([back.status, back.body.version], [200, 8], 'a deleted tenant comes back by restore, numbering continues')
  t.equal(await dialectsServed(b, 'ver'), 'rest-social-auth')
  t.equal((await call(b, tok, 'POST', '/tenants/ver/versions/7/restore')).status, 404, 'a deletion is no version to restore')
})

t.test('a deleted tenant whose accounts remain cannot be created anew under its id (they would be taken over)', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('gone'))).status, 201)
  t.equal((await call(b, tok, 'DELETE', '/tenants/gone')).status, 200)
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('gone'))).status, 201, 'no accounts: created again')
  await raw(b, `insert into $schema.users (tenant_id, email, email_verified) values ('gone', 'kept@gone.test', true)`)
  t.equal((await call(b, tok, 'DELETE', '/tenants/gone')).status, 200)
  const again = await call(b, tok, 'POST', '/tenants', tenantDoc('gone', { hosts: ['new-customer.test'] }))
  t.equal(again.status, 409)
  t.match(again.body.message, /was deleted but its accounts remain: restore it/)
  t.same(await raw(b, `select count(*)::int as n from $schema.tenant_configs where id = 'gone'`), [{ n: 0 }], 'nothing written')
  const versions = (await call(b, tok, 'GET', '/tenants/gone/versions')).body.items as Array<{ version: number, action: string }>
  const restorable = versions.find((v) => v.action !== 'delete')!.version
  t.equal((await call(b, tok, 'POST', `/tenants/gone/versions/${restorable}/restore`)).status, 200, 'a restore brings it back with its accounts')
  const [user] = await raw(b, `select id from $schema.users where tenant_id = 'gone'`)
  t.equal((await call(b, tok, 'DELETE', `/tenants/gone/users/${user.id}`)).status, 200)
  t.equal((await call(b, tok, 'DELETE', '/tenants/gone')).status, 200)
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('gone'))).status, 201, 'its accounts erased: the id can be used again')
})

t.test('secrets: sealed at rest, never returned, kept by sending their placeholder back', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  const doc = tenantDoc('sec', {
    providers: { github: { type: 'github', clientId: 'gh-id', clientSecret: 'github-secret-4711' }, twitter: { type: 'twitter', consumerKey: 'ck', consumerSecret: 'twitter-secret-4711' } },
    clients: [{ id: 'web', secret: 'client-secret-4711', apiKey: 'capture-api-key-4711' }],
    instances: [{ name: 'prod', apiKeys: ['syncano-key-4711', 'syncano-key-4712'] }]
  })
  const created = await call(b, tok, 'POST', '/tenants', doc)
  t.equal(created.status, 201)
  const shown = JSON.stringify(created.body)
  t.notMatch(shown, /4711|4712/, 'no secret in the answer')
  t.match(created.body.config, {
    providers: { github: { clientId: 'gh-id', clientSecret: /^vst-secret:[0-9a-f]{12}$/ }, twitter: { consumerKey: 'ck', consumerSecret: /^vst-secret:/ } },
    clients: [{ id: 'web', secret: /^vst-secret:/, apiKey: /^vst-secret:/ }],
    instances: [{ name: 'prod', apiKeys: [/^vst-secret:/, /^vst-secret:/] }]
  })
  t.not(created.body.config.instances[0].apiKeys[0], created.body.config.instances[0].apiKeys[1], 'each secret has its own fingerprint')

  const stored = JSON.stringify(await raw(b, 'select doc from $schema.tenant_configs union all select doc from $schema.tenant_config_versions'))
  t.notMatch(stored, /4711|4712/, 'no secret in the database in plain text')
  t.equal(stored.match(/vst-sealed:v1:/g)?.length, 12, 'six sealed values in the document and six in its version')
  t.equal(b.app.router.get('sec')?.providers.github && (b.app.router.get('sec')!.providers.github as any).clientSecret, 'github-secret-4711', 'the node serves with the real secret')

  // GET, change one thing, PUT the whole document back: the placeholders keep every secret.
  const got = await call(b, tok, 'GET', '/tenants/sec')
  t.same(got.body.config, created.body.config, 'fingerprints are stable')
  const edited = { ...got.body.config, frontendUrl: 'https://sec.app' }
  const put = await call(b, tok, 'PUT', '/tenants/sec', edited, { 'if-match': got.headers.get('etag')! })
  t.equal(put.status, 200)
  t.same(put.body.config, edited)
  const cfg = b.app.router.get('sec') as any
  t.same([cfg.providers.twitter.consumerSecret, cfg.clients[0].secret, cfg.instances[0].apiKeys], ['twitter-secret-4711', 'client-secret-4711', ['syncano-key-4711', 'syncano-key-4712']])

  const unknown = await call(b, tok, 'PATCH', '/tenants/sec', { providers: { github: { clientSecret: 'vst-secret:000000000000' } } })
  t.same(unknown.body.errors, ['/providers/github/clientSecret: no secret with fingerprint 000000000000 in the current version'])
  const sealed = await call(b, tok, 'PATCH', '/tenants/sec', { providers: { github: { clientSecret: JSON.parse(stored.match(/"(vst-sealed:[^"]+)"/)![0]) } } })
  t.same(sealed.body.errors, ['/providers/github/clientSecret: a sealed value cannot be written'], 'a sealed value from the database cannot be replayed')
  const changed = await call(b, tok, 'PATCH', '/tenants/sec', { providers: { github: { clientSecret: 'new-github-secret' } } })
  t.not(changed.body.config.providers.github.clientSecret, got.body.config.providers.github.clientSecret)
  t.equal((b.app.router.get('sec') as any).providers.github.clientSecret, 'new-github-secret')
})

t.test('without VESTIBULE_SECRET_KEY a document with secrets is refused (503), one without is stored', async (t) => {
  const b = await build(t, { adminApi: { keyring: createKeyring({}) } })
  const tok = await token(b, ALL)
  const r = await call(b, tok, 'POST', '/tenants', tenantDoc('nokey', { clients: [{ id: 'web', secret: 'plain-secret' }] }))
  t.equal(r.status, 503)
  t.equal(r.body.error, 'secret_key_unavailable')
  t.match(r.body.message, /VESTIBULE_SECRET_KEY is not set/)
  t.same(await raw(b, 'select * from $schema.tenant_configs'), [], 'nothing half-written')
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('nokey', { clients: [{ id: 'web' }] }))).status, 201)
})

t.test('a stored tenant whose secrets this node cannot open is not served, and GET says why', async (t) => {
  const a = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(a, ALL)
  t.equal((await call(a, tok, 'POST', '/tenants', tenantDoc('sealed', { clients: [{ id: 'web', secret: 'only-a-knows' }] }))).status, 201)
  // Another node started with a different key (a misconfigured rotation): it refuses the tenant and says so.
  const other = await build(t, { nodeOf: a, adminApi: { keyring: createKeyring({ current: Buffer.alloc(32, 9).toString('base64') }) } })
  t.equal(other.app.router.get('sealed'), undefined)
  t.equal((await other.api('/t/sealed/openapi.json')).status, 404)
  const g = await call(other, tok, 'GET', '/tenants')
  t.match(g.body.items, [{ id: 'sealed', source: 'database', serving: false }])
  const detail = await call(other, tok, 'GET', '/tenants/sealed')
  t.equal(detail.status, 503, 'nor can it show the document')
  // With the old key among VESTIBULE_OLD_SECRET_KEYS it opens.
  const rotated = await build(t, { nodeOf: a, adminApi: { keyring: createKeyring({ current: Buffer.alloc(32, 9).toString('base64'), old: [Buffer.alloc(32, 7).toString('base64')] }) } })
  t.equal((await rotated.api('/t/sealed/openapi.json')).status, 200)
  t.equal((rotated.app.router.get('sealed') as any)?.clients[0].secret, 'only-a-knows')
})
