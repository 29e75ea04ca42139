// Logs for a person at a terminal are readable lines (pino-pretty); piped or in production they stay
// JSON, one object per line. A pseudo-terminal comes from util-linux's `script`.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort } from '../helpers/redis.ts'

t.setTimeout(300_000) // several real processes start in turn; a loaded 2-core machine takes a while

const hasScript = await new Promise<boolean>((resolve) => execFile('script', ['--version'], (err) => resolve(!err)))

async function startOutput (tty: boolean, extra: Record<string, string> = {}): Promise<string> {
  const port = await freePort()
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'vst-pretty-')), DEMO_IDP: '0', TENANTS_WATCH: '0', REDIS_URL: '', DATABASE_URL: '', NODE_ENV: '', LOG_FORMAT: '', ...extra }
  const cmd = `${JSON.stringify(process.execPath)} --import tsx server.ts serve`
  const child = tty
    ? spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (c) => { out += c })
  child.stderr!.on('data', (c) => { out += c })
  for (let i = 0; i < 600 && !out.includes('Vestibule listening'); i++) await new Promise((r) => setTimeout(r, 100))
  await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => {})
  const exited = new Promise((resolve) => child.once('exit', resolve))
  // Through the terminal: what Ctrl-C sends; piped: SIGTERM.
  if (tty) child.stdin!.write('\x03'); else child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  await exited
  clearTimeout(timer)
  return out
}

t.test('a terminal gets readable lines', { skip: hasScript ? false : 'no `script` (util-linux) here' }, async (t) => {
  const out = (await startOutput(true)).replace(/\u001b\[[0-9;]*m/g, '')
  t.match(out, /\bINFO\b: Vestibule listening on http:\/\/127\.0\.0\.1:\d+/)
  t.notMatch(out, /\{"level":/, 'no JSON lines')
})

t.test('a terminal in production, or LOG_FORMAT=json, still gets JSON', { skip: hasScript ? false : 'no `script` (util-linux) here' }, async (t) => {
  for (const extra of <Array<Record<string, string>>>[{ NODE_ENV: 'production', VESTIBULE_SECRET_KEY: 'TwlFWy9C1GXabeoxzXEiU1vAmZQtVqXFJmnTt1OYr7s=', TENANTS_DIR: mkdtempSync(path.join(tmpdir(), 'vst-pretty-t-')) }, { LOG_FORMAT: 'json' }]) {
    const out = await startOutput(true, extra)
    t.match(out, /\{"level":30,[^\n]*"msg":"Vestibule listening/, JSON.stringify(extra))
  }
})

t.test('piped output is JSON', async (t) => {
  const out = await startOutput(false)
  const listening = out.split('\n').find((l) => l.includes('Vestibule listening'))!
  t.match(JSON.parse(listening), { level: 30, msg: /^Vestibule listening/ })
})
