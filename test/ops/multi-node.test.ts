// Several app and worker processes sharing one PostgreSQL and one Redis, nothing else: one user's
// magic-link flow crosses nodes, the mail is delivered once by whichever worker takes it, a token
// issued on one node works on the other, and a logout on one is seen by the other at once.
// Tenants stored through the admin API reach the other process by Redis alone (polling off), a concurrent edit
// through the two gets one 412, and a restored version is what the other process serves.
// The processes run the production build (`npm run build`, then plain `node dist/server.js`: no tsx).
import { randomBytes } from 'node:crypto'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { TEST_REDIS_URL, tenantDoc, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'
import { builtDist } from '../helpers/built.ts'
import { freshSchema } from '../helpers/processes.ts'

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
  const schema = await freshSchema(t)
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-nodes-'))
  writeFileSync(path.join(dir, 'multi.json'), JSON.stringify(tenantDoc('multi', {
    clients: [{ id: 'multi-client' }], dialects: { 'by-link': { linkUrl: 'https://multi.app/l/{token}' } }
  })))
  // Every process of one deployment shares the sealing key (outbox bodies sealed by a server, opened by a worker).
  const shared = {
    VESTIBULE_SECRET_KEY: randomBytes(32).toString('base64'),
    NODE_ENV: 'production', DATABASE_URL: schema.url, REDIS_URL: TEST_REDIS_URL,
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

t.test('two app processes: a tenant created through one is served by the other; 412 on a concurrent edit; a restore', async (t) => {
  dist = await builtDist()
  const schema = await freshSchema(t)
  const env = {
    VESTIBULE_SECRET_KEY: randomBytes(32).toString('base64'),
    NODE_ENV: 'production', DATABASE_URL: schema.url, REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: uniqueName('vstadm'), TENANTS_DIR: mkdtempSync(path.join(tmpdir(), 'vst-adm-')), TENANTS_WATCH: '0',
    // No poll: only the Redis announcement can bring a change from one process to the other.
    TENANTS_DB_POLL_SECONDS: '0', LOG_LEVEL: 'info', HOST: '127.0.0.1'
  }
  const [portA, portB] = [await freePort(), await freePort()]
  await Promise.all([start(t, 'serve', { ...env, PORT: String(portA) }), start(t, 'serve', { ...env, PORT: String(portB) })])
  const A = `http://127.0.0.1:${portA}`
  const B = `http://127.0.0.1:${portB}`
  // The operator's token, made by the CLI of the production build (`npm run admin -- token create`).
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(dist, 'tenants/admin/cli.js'), 'token', 'create', '--scope', 'tenants:read,tenants:write', '--name', 'multi-node'], { env: { ...process.env, NODE_OPTIONS: '', ...env } })
  const tok = stdout.trim()
  t.match(tok, /^vsta_\S+$/, 'the CLI printed the token alone')
  const call = (base: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/admin/v1${p}`, { method, headers: { authorization: `Bearer ${tok}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
  const description = async (base: string, id: string) => {
    const res = await fetch(`${base}/t/${id}/openapi.json`)
    return res.status === 200 ? ((await res.json()) as { info: { description: string } }).info.description : String(res.status)
  }
  const within = async (what: string, fn: () => Promise<boolean>) => {
    const t0 = Date.now()
    // A bound, not an assertion of speed: the announcement usually takes milliseconds.
    while (!(await fn())) { if (Date.now() - t0 > 10_000) return `${what}: not within 10 s`; await new Promise((r) => setTimeout(r, 20)) }
    return `${what}: after ${Date.now() - t0} ms`
  }

  t.equal((await fetch(`${B}/t/spread/openapi.json`)).status, 404, 'B has no such tenant yet')
  t.equal((await call(A, 'POST', '/tenants', tenantDoc('spread'))).status, 201, 'created through A')
  // B asked before the tenant existed, so it remembers the miss: only the announcement can clear it.
  const served = await within('B serves it', async () => (await description(B, 'spread')).startsWith('Identity API'))
  t.match(served, /after \d+ ms/, served)

  const [x, y] = await Promise.all([
    call(A, 'PATCH', '/tenants/spread', { dialects: { 'rest-social-auth': {} } }, { 'if-match': '"1"' }),
    // Both edits valid on version 1, so whichever takes the row's lock first wins (the syncano dialect needs an instance).
    call(B, 'PATCH', '/tenants/spread', { instances: [{ name: 'spread-inst', apiKeys: ['spread-key-0123456789abcdef'] }], dialects: { syncano: {} } }, { 'if-match': '"1"' })
  ])
  t.same([x.status, y.status].sort(), [200, 412], 'one edit wins, the other gets 412')
  const winner = x.status === 200 ? 'rest-social-auth' : 'syncano'
  for (const base of [A, B]) {
    const r = await within(`${base === A ? 'A' : 'B'} serves the winner`, async () => (await description(base, 'spread')).includes(`Dialects: ${winner}.`))
    t.match(r, /after \d+ ms/, r)
  }

  t.equal((await call(A, 'POST', '/tenants/spread/versions/1/restore')).status, 200, 'version 1 restored through A')
  const restored = await within('B serves the restored config', async () => (await description(B, 'spread')).includes('Dialects: none.'))
  t.match(restored, /after \d+ ms/, restored)
})
