// Tenant files: validation errors name file, JSON path and reason; ${ENV} interpolation; tenants:check; the committed JSON schema.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { loadTenantDir, parseTenant } from '../../tenants/loader.ts'
import { tenantJsonSchema } from '../../tenants/write-schema.ts'

const run = promisify(execFile)
const dir = () => mkdtempSync(path.join(tmpdir(), 'vst-tenants-'))

t.test('defaults are applied and a minimal tenant is valid', async (t) => {
  const r = parseTenant('x.json', JSON.stringify({ id: 'mini', email: { from: 'a@b.c' } }))
  t.same(r.errors, [])
  t.equal(r.config?.linking, 'reject')
  t.same(r.config?.locales, ['en-US'])
  t.same(r.config?.dialects, {})
})

t.test('schema errors name the file, the JSON path and the reason', async (t) => {
  const r = parseTenant('tenants/acme.json', JSON.stringify({
    id: 'acme', email: { from: 'a@b.c' },
    providers: { google: { type: 'google', clientId: 7, clientSecret: 'x' } }
  }))
  t.equal(r.config, undefined)
  t.ok(r.errors.length > 0)
  t.same(r.errors, [{ file: 'tenants/acme.json', path: '/providers/google/clientId', message: 'Expected string' }], 'names the bad field inside the provider')
  const unknownType = parseTenant('a.json', JSON.stringify({ id: 'acme', email: { from: 'a@b.c' }, providers: { g: { type: 'myspace', clientId: 'x', clientSecret: 'y' } } }))
  t.same(unknownType.errors, [{ file: 'a.json', path: '/providers/g/type', message: 'unknown type "myspace"; the types are google, facebook, github, linkedin, oidc, demo, twitter' }])
})

t.test('unknown keys, bad ids, unknown dialects are refused', async (t) => {
  t.match(parseTenant('a.json', JSON.stringify({ id: 'Bad_ID', email: { from: 'a@b.c' } })).errors[0], { path: '/id' })
  t.match(parseTenant('a.json', JSON.stringify({ id: 'ok', email: { from: 'a@b.c' }, colour: 'red' })).errors[0], { path: '/colour' })
  t.match(parseTenant('a.json', JSON.stringify({ id: 'ok', email: { from: 'a@b.c' }, dialects: { saml: {} } })).errors[0], { path: '/dialects/saml' })
  t.match(parseTenant('a.json', '{ not json').errors[0], { path: '', message: /cannot parse/ })
})

t.test('cross-field rules', async (t) => {
  const r = parseTenant('a.json', JSON.stringify({
    id: 'x', email: { from: 'a@b.c' }, locales: ['en-US'], defaultLocale: 'fr-FR',
    clients: [{ id: 'c1', defaultFlow: 'nope' }], dialects: { syncano: {} }
  }))
  t.same(r.errors.map((e) => e.path).sort(), ['/clients/0/defaultFlow', '/defaultLocale', '/instances'])
})

t.test('${ENV} interpolation, and a missing variable is named', async (t) => {
  const doc = JSON.stringify({ id: 'env', email: { from: '${FROM_ADDR}' }, providers: { github: { type: 'github', clientId: 'id', clientSecret: '${GH_SECRET}' } } })
  const ok = parseTenant('env.json', doc, { FROM_ADDR: 'x@y.z', GH_SECRET: 's3cret' })
  t.equal(ok.config?.email.from, 'x@y.z')
  t.equal((ok.config?.providers.github as { clientSecret: string }).clientSecret, 's3cret')
  const bad = parseTenant('env.json', doc, { FROM_ADDR: 'x@y.z' })
  t.same(bad.errors, [{ file: 'env.json', path: '/providers/github/clientSecret', message: 'environment variable GH_SECRET is not set' }])
  const fallback = JSON.stringify({ id: 'env', email: { from: '${FROM_ADDR:-noreply@fallback.test}' } })
  t.equal(parseTenant('f.json', fallback, {}).config?.email.from, 'noreply@fallback.test', '${NAME:-fallback} when unset')
  t.equal(parseTenant('f.json', fallback, { FROM_ADDR: '' }).config?.email.from, 'noreply@fallback.test', 'and when empty')
  t.equal(parseTenant('f.json', fallback, { FROM_ADDR: 'set@x.test' }).config?.email.from, 'set@x.test', 'the variable wins when set')
})

t.test('YAML files, duplicates across files, and a bad file does not stop the others', async (t) => {
  const d = dir()
  writeFileSync(path.join(d, 'a.yaml'), 'id: alpha\nhosts: [alpha.test]\nemail:\n  from: a@alpha.test\n')
  writeFileSync(path.join(d, 'b.json'), JSON.stringify({ id: 'alpha', email: { from: 'b@b.c' } }))
  writeFileSync(path.join(d, 'c.json'), JSON.stringify({ id: 'gamma', hosts: ['ALPHA.test'], email: { from: 'c@c.c' } }))
  writeFileSync(path.join(d, 'd.json'), JSON.stringify({ id: 'delta', email: {} }))
  writeFileSync(path.join(d, 'tenant.schema.json'), '{}')
  const { tenants, errors } = await loadTenantDir(d)
  t.same(tenants.map((x) => x.config.id), ['alpha'])
  t.same(errors.map((e) => [path.basename(e.file), e.path]), [['b.json', '/id'], ['c.json', '/hosts/0'], ['d.json', '/email/from']])
})

t.test('npm run tenants:check: ok for the shipped tenants, file and path for a bad one', async (t) => {
  const ok = await run('npx', ['tsx', 'server.ts', 'tenants', 'check', 'tenants'], { cwd: process.cwd() })
  t.match(ok.stdout, /tenants\/demo\.json \(demo\)/)
  const d = dir()
  writeFileSync(path.join(d, 'broken.json'), JSON.stringify({ id: 'broken', email: { from: 'a@b.c' }, linking: 'sometimes' }))
  const bad = await run('npx', ['tsx', 'server.ts', 'tenants', 'check', d]).catch((e) => e)
  t.equal(bad.code, 1)
  t.match(bad.stderr, new RegExp(`${path.join(d, 'broken.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: /linking: `))
})

t.test('tenants/tenant.schema.json is the schema the code validates with', async (t) => {
  t.equal(readFileSync('tenants/tenant.schema.json', 'utf8'), tenantJsonSchema(), 'run `npm run tenants:schema` after changing a schema')
})

t.test('provider config mistakes are caught at load, naming the provider', async (t) => {
  const r = parseTenant('p.json', JSON.stringify({ id: 'p', email: { from: 'a@b.c' }, providers: { sso: { type: 'oidc', clientId: 'x', clientSecret: 'y' } } }))
  t.equal(r.errors.length, 1)
  t.match(r.errors[0], { file: 'p.json', path: '/providers/sso', message: /^provider "sso": / })
})
