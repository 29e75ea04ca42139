// After `tsc -p tsconfig.build.json`: what dist/ needs beside the compiled JavaScript so that
// `node dist/server.js` runs on its own (no tsx, no TypeScript): package.json's name, version and module
// type (app.js reads its version from it), and the shipped tenant files and their editor schema.
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..')
const dist = path.join(root, 'dist')
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
writeFileSync(path.join(dist, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: pkg.type }, null, 2) + '\n')
mkdirSync(path.join(dist, 'tenants'), { recursive: true })
for (const f of readdirSync(path.join(root, 'tenants'))) {
  if (/\.(json|ya?ml)$/.test(f)) cpSync(path.join(root, 'tenants', f), path.join(dist, 'tenants', f))
}
cpSync(path.join(root, 'tenants', 'examples'), path.join(dist, 'tenants', 'examples'), { recursive: true })
// tsc 5.9's rewriteRelativeImportExtensions misses `import('./x.ts')` inside a `satisfies` expression
// (each dialect manifest's `load`); rewrite what it left, and fail the build if anything else remains.
const js = (dir) => readdirSync(dir).flatMap((f) => {
  const p = path.join(dir, f)
  return statSync(p).isDirectory() ? js(p) : p.endsWith('.js') ? [p] : []
})
let rewritten = 0
for (const file of js(dist)) {
  const text = readFileSync(file, 'utf8')
  const out = text.replace(/\bimport\((['"])(\.{1,2}\/[^'"]+)\.ts\1\)/g, (_m, q, spec) => { rewritten++; return `import(${q}${spec}.js${q})` })
  if (/\bfrom (['"])\.{1,2}\/[^'"]+\.ts\1/.test(out)) throw new Error(`${file} still imports a .ts file`)
  if (out !== text) writeFileSync(file, out)
}
console.log(`dist/: ${rewritten} dynamic import(s) rewritten to .js; package.json, tenants/*.json|yaml, tenants/examples/`)
