// /metrics lists every tenant (request counters by tenant): a production server serves it only to a scraper with
// METRICS_TOKEN, on every host, tenant hosts included; without a token it refuses and says so in the log.
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { rawRequest, TEST_DATABASE_URL, tenantDoc, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'

const schema = uniqueName('vst')
const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
await admin.connect()
await admin.query(`CREATE SCHEMA "${schema}"`)
t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); await admin.end() })
const dir = mkdtempSync(path.join(tmpdir(), 'vst-metrics-'))
writeFileSync(path.join(dir, 'secret-tenant.json'), JSON.stringify(tenantDoc('secret-tenant', { hosts: ['id.secret-tenant.test'], clients: [{ id: 'c' }], dialects: { 'by-link': { linkUrl: 'https://s.app/l/{token}' } } })))

async function serve (t: any, env: Record<string, string>): Promise<{ url: string, log: () => string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], {
    env: { ...process.env, NODE_ENV: 'production', VESTIBULE_SECRET_KEY: randomBytes(32).toString('base64'), DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`, REDIS_URL: '', METRICS_TOKEN: '', TENANTS_DIR: dir, TENANTS_WATCH: '0', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout!.on('data', (c) => { out += c })
  child.stderr!.on('data', (c) => { out += c })
  t.teardown(() => new Promise<void>((resolve) => { if (child.exitCode !== null) return resolve(); child.once('exit', () => resolve()); child.kill('SIGTERM') }))
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => { if (out.includes('Vestibule listening')) { clearInterval(timer); resolve() } }, 50)
    child.once('exit', (code) => { clearInterval(timer); reject(new Error(`serve exited with ${code}: ${out.slice(-2000)}`)) })
  })
  return { url: `http://127.0.0.1:${port}`, log: () => out }
}

t.test('production without METRICS_TOKEN: /metrics is refused on every host, and the log says why', async (t) => {
  const { url, log } = await serve(t, {})
  await rawRequest(`${url}/t/secret-tenant/v1/auth/me/`) // a request, so the counters name the tenant
  for (const host of ['127.0.0.1', 'id.secret-tenant.test']) {
    const r = await rawRequest(`${url}/metrics`, { headers: { host } })
    t.equal(r.status, 403, `on ${host}`)
    t.notMatch(r.text, /secret-tenant/, 'no tenant named')
    t.same(r.json(), { error: 'metrics_disabled', message: 'Set METRICS_TOKEN to scrape /metrics.' })
  }
  t.match(log(), /METRICS_TOKEN is not set: \/metrics answers 403/)
})

t.test('production with METRICS_TOKEN: only the bearer of it scrapes', async (t) => {
  const { url } = await serve(t, { METRICS_TOKEN: 'scrape-token-0123456789' })
  await rawRequest(`${url}/t/secret-tenant/v1/auth/me/`)
  const anon = await rawRequest(`${url}/metrics`, { headers: { host: 'id.secret-tenant.test' } })
  t.equal(anon.status, 401)
  t.equal(anon.headers['www-authenticate'], 'Bearer')
  const ok = await rawRequest(`${url}/metrics`, { headers: { host: 'id.secret-tenant.test', authorization: 'Bearer scrape-token-0123456789' } })
  t.equal(ok.status, 200)
  t.match(ok.text, /vestibule_http_requests_total\{tenant="secret-tenant"/)
})
