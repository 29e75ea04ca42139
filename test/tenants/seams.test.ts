// The seams hold: dialects reach accounts and tokens only through the tenant-bound identity actions
// (no storage function, no database handle), and no shared layer names a dialect.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'

function files (dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

// Dialects still on the transitional path (TenantContext's deprecated `db`, `instances`, `flows`): issue 12
// is open until this set is empty. Each is skipped here, by name, so every run shows the gap.
const NOT_YET_PORTED = new Set<string>(['capture'])

t.test('dialects import only types from the identity core and never touch a database handle', async (t) => {
  const dialectOf = (f: string) => f.split(path.sep)[1]
  for (const d of NOT_YET_PORTED) t.skip(`${d}: not yet ported to tenant.identity (issue 12)`, async () => {})
  for (const file of files('routes').filter((f) => !['ops', 'openapi'].includes(dialectOf(f)) && !NOT_YET_PORTED.has(dialectOf(f)))) {
    const text = readFileSync(file, 'utf8')
    for (const line of text.split('\n').filter((l) => /from '(\.\.\/)+plugins\/identity\//.test(l))) {
      t.match(line, /^import type /, `${file}: ${line.trim()}`)
    }
    t.notMatch(text, /\btenant\.db\b|\bKysely\b|\bTransaction<Database>/, `${file} sees no database handle`)
    t.notMatch(text, /from '(\.\.\/)+db\/(?!index\.ts')/, `${file} imports no storage module but the types' door`)
  }
})

t.test('shared layers name no dialect', async (t) => {
  const shared = [...files('plugins/tenant'), 'plugins/rate-limit.ts', 'plugins/errors.ts', 'tenants/mount.ts', 'tenants/loader.ts', 'tenants/schema.ts']
  for (const file of shared) {
    const text = readFileSync(file, 'utf8')
    if (NOT_YET_PORTED.size === 0) t.notMatch(text, /\/\/ transitional/, `${file}: the transitional path goes with the last unported dialect`)
    const code = text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l) && !l.endsWith('// transitional'))
      // Operator-facing descriptions in the tenant schema may say which dialect paths a setting covers.
      .map((l) => l.replace(/description: '(?:[^'\\]|\\.)*'/g, "description: ''")).join('\n')
    t.notMatch(code, /syncano|capture|by-link|oauth-confirm|rest-social-auth|x-api-key|instances|flows/i, `${file}`)
  }
})
