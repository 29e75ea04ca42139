// Spectral (spectral:oas + the repo's .spectral.yaml) finds nothing in either example tenant's published
// document: 0 errors, 0 warnings. The documents are written under test/artifacts/ because the ruleset's
// overrides match files relative to the ruleset.
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { VERSION } from '../../app.ts'
import { loadTenantFile } from '../../tenants/loader.ts'
import { tenantOpenApi } from '../../tenants/openapi.ts'
import { uniqueName } from '../helpers/build.ts'

const run = promisify(execFile)
const EXAMPLE_ENV = {
  ...process.env,
  ACME_GOOGLE_SECRET: 'g', ACME_FACEBOOK_SECRET: 'f', ACME_GITHUB_SECRET: 'h', ACME_LINKEDIN_SECRET: 'l', ACME_TWITTER_SECRET: 't',
  ACME_WEB_SECRET: 'w', ACME_SOCIAL_LOGIN_API_KEY: 'apikey-0123456789abcdef', ACME_SYNCANO_KEY: 'syncano-0123456789'
}

/** True when `node`, or a component it references (at any depth), carries an `example` or `examples`. */
function hasExample (doc: any, node: unknown, seen = new Set<string>()): boolean {
  if (Array.isArray(node)) return node.some((n) => hasExample(doc, n, seen))
  if (!node || typeof node !== 'object') return false
  const o = node as Record<string, unknown>
  if ('example' in o || 'examples' in o) return true
  if (typeof o.$ref === 'string' && !seen.has(o.$ref)) {
    seen.add(o.$ref)
    const [, , section, name] = o.$ref.split('/')
    if (hasExample(doc, doc.components[section][name], seen)) return true
  }
  return Object.values(o).some((v) => hasExample(doc, v, seen))
}

for (const file of ['tenants/demo.json', 'tenants/examples/acme.yaml']) {
  t.test(`${file}: Spectral reports nothing`, async (t) => {
    const { config, errors } = await loadTenantFile(file, EXAMPLE_ENV)
    if (!config) throw new Error(errors.map((e) => e.message).join('; '))
    const doc: any = await tenantOpenApi(config, 'https://id.example.com', VERSION)
    t.notMatch(JSON.stringify(doc), /"x-vst-/, 'no internal keys are published')
    t.ok(Object.keys(doc.components.schemas).length > 10, 'named component schemas')
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      for (const [m, op] of Object.entries<any>(item)) {
        t.ok(op.description, `${m.toUpperCase()} ${p} has a description`)
        t.ok(hasExample(doc, op), `${m.toUpperCase()} ${p} has an example (request, parameter or response)`)
      }
    }
    const dir = path.join('test', 'artifacts', uniqueName('spectral'))
    mkdirSync(dir, { recursive: true })
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const out = path.join(dir, 'openapi.json')
    writeFileSync(out, JSON.stringify(doc, null, 2))
    const res = await run(process.execPath, ['node_modules/@stoplight/spectral-cli/dist/index.js', 'lint', '-r', '.spectral.yaml', '-f', 'json', '--quiet', '-F', 'hint', out])
      .then((r) => ({ code: 0, out: r.stdout }), (e) => ({ code: e.code, out: String(e.stdout) + String(e.stderr) }))
    const results = JSON.parse(res.out.trim() || '[]') as Array<{ code: string, message: string, path: string[] }>
    t.same(results.map((r) => `${r.code} ${r.path.join('.')}: ${r.message}`), [], 'no Spectral result of any severity')
    t.equal(res.code, 0)
  })
}
