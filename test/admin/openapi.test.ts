// /admin/v1/openapi.json: built from the same TypeBox schemas that validate the admin API, a valid OpenAPI 3.1
// document, and a TypeScript client generated from it (openapi-typescript + openapi-fetch) compiles under strict
// tsc and drives the live API: create a tenant, read it, change it with If-Match, see the 412, find users.
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { compileErrors, validate } from '@readme/openapi-parser'
import openapiTS, { astToString } from 'openapi-typescript'
import t from 'tap'
import { build, tenantDoc, uniqueName } from '../helpers/build.ts'
import { ALL, keyring, token } from './helpers.ts'

const run = promisify(execFile)
const METHODS = ['get', 'put', 'post', 'delete', 'patch']

const CLIENT_SOURCE = `import createClient from 'openapi-fetch'
import type { paths } from './schema.ts'

export function admin (baseUrl: string, token: string) {
  const api = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } })
  return {
    async create (id: string) {
      const { data, error, response } = await api.POST('/admin/v1/tenants', { body: { id, email: { from: \`\${id} <no-reply@\${id}.test>\` } } })
      return { status: response.status, version: data?.version, etag: response.headers.get('etag'), error: error?.error }
    },
    async get (id: string) {
      const { data, response } = await api.GET('/admin/v1/tenants/{id}', { params: { path: { id } } })
      return { status: response.status, source: data?.source, version: data?.version, config: data?.config }
    },
    async setLocales (id: string, locales: string[], version: number) {
      const { data, error, response } = await api.PATCH('/admin/v1/tenants/{id}', {
        params: { path: { id }, header: { 'if-match': \`"\${version}"\` } },
        body: { locales }
      })
      return { status: response.status, version: data?.version, error: error?.error }
    },
    async users (id: string) {
      const { data, response } = await api.GET('/admin/v1/tenants/{id}/users', { params: { path: { id }, query: { limit: 10 } } })
      return { status: response.status, count: data?.items.length, next: data?.nextCursor }
    }
  }
}
`

t.test('the admin API document is valid OpenAPI and every operation is described', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const doc = await (await b.api('/admin/v1/openapi.json')).json() as any
  const result = await validate(structuredClone(doc))
  t.ok(result.valid, result.valid ? 'valid OpenAPI' : compileErrors(result))
  t.equal(doc.openapi, '3.1.0')
  t.same(doc.security, [{ AdminToken: [] }])
  const ops = Object.entries(doc.paths).flatMap(([p, item]: [string, any]) => METHODS.filter((m) => item[m]).map((m) => ({ where: `${m.toUpperCase()} ${p}`, op: item[m] })))
  t.ok(ops.length >= 24, `${ops.length} operations`)
  t.notOk(doc.paths['/admin/v1/openapi.json'], 'the document does not list itself')
  const ids = ops.map((o) => o.op.operationId)
  t.equal(new Set(ids).size, ids.length, 'operation ids are unique')
  for (const { where, op } of ops) {
    t.ok(typeof op.operationId === 'string' && op.summary && op.tags?.length === 1, `${where}: id, summary, tag`)
    t.ok(op.responses['401'] && op.responses['403'], `${where}: documents 401 and 403`)
  }
  const create = doc.paths['/admin/v1/tenants'].post
  t.ok(create.requestBody.content['application/json'].schema.properties.providers, 'the request body is the tenant schema')
  t.equal(create.requestBody.content['application/json'].schema.properties.clients.items.properties.secret.writeOnly, true, 'secrets are writeOnly')
  t.ok(doc.paths['/admin/v1/tenants/{id}'].patch.requestBody.content['application/merge-patch+json'])
  t.ok(doc.paths['/admin/v1/tenants/{id}'].put.parameters.some((p: any) => p.in === 'header' && p.name === 'if-match'))
})

t.test('a client generated from the document compiles and drives the API', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const doc = await (await b.api('/admin/v1/openapi.json')).json()
  const dir = path.join('test', 'artifacts', uniqueName('admin-sdk'))
  mkdirSync(dir, { recursive: true })
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(path.join(dir, 'schema.ts'), astToString(await openapiTS(doc as any)))
  writeFileSync(path.join(dir, 'client.ts'), CLIENT_SOURCE)
  const tsc = await run(process.execPath, [
    'node_modules/typescript/bin/tsc', '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--allowImportingTsExtensions', '--skipLibCheck', '--types', 'node', path.join(dir, 'client.ts')
  ]).then(() => ({ code: 0, out: '' }), (e) => ({ code: e.code, out: String(e.stdout) + String(e.stderr) }))
  t.equal(tsc.code, 0, `the generated client compiles under strict tsc ${tsc.out}`)

  const sdk = (await import(path.resolve(dir, 'client.ts'))).admin(b.url, await token(b, ALL))
  t.same(await sdk.create('sdk-made'), { status: 201, version: 1, etag: '"1"', error: undefined })
  t.match(await sdk.get('sdk-made'), { status: 200, source: 'database', version: 1, config: tenantDoc('sdk-made') })
  t.same(await sdk.setLocales('sdk-made', ['en-US', 'fr-FR'], 1), { status: 200, version: 2, error: undefined })
  t.same(await sdk.setLocales('sdk-made', ['en-US'], 1), { status: 412, version: undefined, error: 'precondition_failed' }, 'the typed client sees the documented 412')
  t.same(await sdk.users('sdk-made'), { status: 200, count: 0, next: null })
  t.equal((await b.api('/t/sdk-made/openapi.json')).status, 200, 'and the tenant serves')
})
