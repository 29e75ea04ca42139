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


t.test('dialects import only types from the identity core and never touch a database handle', async (t) => {
  const dialectOf = (f: string) => f.split(path.sep)[1]
  for (const file of files('routes').filter((f) => !['ops', 'openapi'].includes(dialectOf(f)))) {
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
    const code = text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
      // Operator-facing descriptions in the tenant schema may say which dialect paths a setting covers.
      .map((l) => l.replace(/description: '(?:[^'\\]|\\.)*'/g, "description: ''")).join('\n')
    t.notMatch(code, /syncano|capture|by-link|oauth-confirm|rest-social-auth|x-api-key|instances|flows/i, `${file}`)
  }
})

t.test('no import circles between our modules (value imports; `import type` is erased)', async (t) => {
  const roots = ['app.ts', 'server.ts', ...['plugins', 'routes', 'tenants', 'workers', 'db'].flatMap((d) => files(d))]
  const graph = new Map<string, string[]>()
  for (const file of roots) {
    const text = readFileSync(file, 'utf8')
    const deps = [...text.matchAll(/^(?:import|export)(?! type )[^'"]*?from '(\.{1,2}\/[^']+\.ts)'/gm)].map((m) => path.normalize(path.join(path.dirname(file), m[1])))
    graph.set(path.normalize(file), deps)
  }
  const state = new Map<string, 'open' | 'done'>()
  const circles: string[] = []
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === 'done') return
    if (state.get(f) === 'open') { circles.push([...trail.slice(trail.indexOf(f)), f].join(' → ')); return }
    state.set(f, 'open')
    for (const d of graph.get(f) ?? []) visit(d, [...trail, f])
    state.set(f, 'done')
  }
  for (const f of graph.keys()) visit(f, [])
  t.same(circles, [], 'every module graph is a tree of layers')
})

t.test('imports run one way: tenants/ → routes/ → plugins/ → workers/ → db/, never back up (types included)', async (t) => {
  const order = ['tenants', 'routes', 'plugins', 'workers', 'db']
  const layerOf = (f: string) => order.indexOf(path.normalize(f).split(path.sep)[0])
  for (const file of order.flatMap((d) => files(d))) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^(?:import|export)[^'"]*?from '(\.{1,2}\/[^']+)'/gm)) {
      const target = path.normalize(path.join(path.dirname(file), m[1]))
      const to = layerOf(target)
      if (to !== -1 && to < layerOf(file)) t.fail(`${file} imports ${target}, a layer above its own`)
    }
  }
  t.pass('checked')
})
