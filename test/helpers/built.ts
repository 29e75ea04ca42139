// `npm run build` once for the test files that run the compiled server (test files run in parallel):
// a lock folder serializes them, and a stamp of the sources in dist/ skips a build that is current.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SOURCES = ['server.ts', 'app.ts', 'boot.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'db', 'plugins', 'routes', 'tenants', 'workers']
const STAMP = path.join('dist', '.built-from')

function stamp (): string {
  const h = createHash('sha256')
  const add = (p: string): void => {
    if (statSync(p).isDirectory()) { for (const f of readdirSync(p).sort()) add(path.join(p, f)); return }
    h.update(p).update(readFileSync(p))
  }
  for (const s of SOURCES) add(s)
  return h.digest('hex')
}

/** Runs `npm run build` unless dist/ was built from these sources; resolves to the dist folder. */
export async function builtDist (): Promise<string> {
  const lock = path.join('test', 'artifacts', 'build.lock')
  mkdirSync(path.dirname(lock), { recursive: true })
  for (let i = 0; ; i++) {
    try { mkdirSync(lock); break } catch {
      // A lock older than 5 minutes was left by a killed run.
      try { if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true }) } catch {}
      if (i > 1800) throw new Error('timed out waiting for another test\'s npm run build')
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  try {
    const want = stamp()
    let have = ''
    try { have = readFileSync(STAMP, 'utf8') } catch {}
    if (have !== want) {
      await run('npm', ['run', 'build'], { maxBuffer: 16 * 1024 * 1024 })
      writeFileSync(STAMP, want)
    }
    return path.resolve('dist')
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}
