// Several app and worker processes sharing one PostgreSQL and one Redis, nothing else: one user's
// magic-link flow crosses nodes, the mail is delivered once by whichever worker takes it, a token
// issued on one node works on the other, and a logout on one is seen by the other at once.
// The processes run the production build (`npm run build`, then plain `node dist/server.js`: no tsx).
import { randomBytes } from 'node:crypto'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { TEST_DATABASE_URL, TEST_REDIS_URL, tenantDoc, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'
import { builtDist } from '../helpers/built.ts'

let dist = ''
t.setTimeout(600_000) // `npm run build` first, on a loaded 2-core machine

function start (t: any, command: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(dist, 'server.js'), command], { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (c) => { out += c })
  child.stderr!.on('data', (c) => { out += c })
  t.teardown(() => new Promise<void>((resolve) => { if (child.exitCode !== null) return resolve(); child.once('exit', () => resolve()); child.kill('SIGTERM') }))
  const ready = command === 'worker' ? 'worker started' : 'Vestibule listening'
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => { if (out.includes(ready)) { clearInterval(timer); resolve(child) } }, 50)
    child.once('exit', (code) => { clearInterval(timer); reject(new Error(`${command} exited with ${code}: ${out.slice(-2000)}`)) })
  })
}

t.test('two app processes and two workers serve one user\'s flow', async (t) => {
  dist = await builtDist()
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const schema = uniqueName('vst')
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); await admin.end() })
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-nodes-'))
  writeFileSync(path.join(dir, 'multi.json'), JSON.stringify(tenantDoc('multi', {
    clients: [{ id: 'multi-client' }], dialects: { 'by-link': { linkUrl: 'https://multi.app/l/{token}' } }
  })))
  // Every process of one deployment shares the sealing key (outbox bodies sealed by a server, opened by a worker).
  const shared = {
    VESTIBULE_SECRET_KEY: randomBytes(32).toString('base64'),
    NODE_ENV: 'production', DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`, REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: uniqueName('vstnodes'), SMTP_URL: smtp.url, TENANTS_DIR: dir, TENANTS_WATCH: '0', LOG_LEVEL: 'info', HOST: '127.0.0.1'
  }
  const [portA, portB] = [await freePort(), await freePort()]
  await Promise.all([
    start(t, 'serve', { ...shared, PORT: String(portA) }),
    start(t, 'serve', { ...shared, PORT: String(portB) }),
    start(t, 'worker', shared),
    start(t, 'worker', shared)
  ])
  const A = `http://127.0.0.1:${portA}/t/multi`
  const B = `http://127.0.0.1:${portB}/t/multi`
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

  t.equal((await post(`${A}/v1/auth/by-link/link/`, { email: 'roamer@example.test' })).status, 200, 'link requested on node A')
  const mail = await smtp.waitForMail('roamer@example.test', { timeoutMs: 15_000 })
  const token = mail.text.match(/https:\/\/multi\.app\/l\/([A-Za-z0-9_-]+)/)![1]
  const login = await post(`${B}/v1/auth/by-link/login/`, { token, client_key: 'multi-client' })
  t.equal(login.status, 200, 'the link works on node B')
  const auth = { authorization: `Token ${((await login.json()) as { token: string }).token}` }
  t.equal((await fetch(`${A}/v1/auth/me/`, { headers: auth })).status, 200, 'a token issued on B is valid on A')
  t.equal((await post(`${B}/v1/auth/by-link/login/`, { token, client_key: 'multi-client' })).status, 400, 'and the link is spent everywhere')
  t.equal((await post(`${A}/v1/auth/logout/`, {}, auth)).status, 200, 'logout on A')
  t.equal((await fetch(`${B}/v1/auth/me/`, { headers: auth })).status, 401, 'B refuses the token at once')
  await new Promise((r) => setTimeout(r, 1000))
  t.equal(smtp.messages.filter((m: any) => m.to.includes('roamer@example.test')).length, 1, 'two workers, one mail')
})
