// Graceful shutdown of the real server process: SIGTERM while a request is in flight lets it finish,
// new connections are refused, and the process exits cleanly.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { TEST_DATABASE_URL, tenantDoc, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'
import pg from 'pg'

t.test('SIGTERM during a request lets it finish', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-shutdown-'))
  writeFileSync(path.join(dir, 'grace.json'), JSON.stringify(tenantDoc('grace')))
  const port = await freePort()
  const schema = uniqueName('vst')
  const dbUrl = `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); await admin.end() })

  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: dbUrl, TENANTS_DIR: dir, REDIS_URL: '', LOG_LEVEL: 'info', TENANTS_WATCH: '0' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  child.stderr.on('data', (c) => { out += c })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  for (let i = 0; i < 200 && !out.includes('Vestibule listening'); i++) await new Promise((r) => setTimeout(r, 100))
  t.match(out, /Vestibule listening/)

  // A request whose body arrives in two parts; SIGTERM lands between them.
  const sock = net.connect(port, '127.0.0.1')
  await new Promise((r) => sock.once('connect', r))
  let response = ''
  sock.on('data', (c) => { response += c })
  const body = JSON.stringify({ hello: 'world' })
  sock.write(`POST /t/grace/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`)
  await new Promise((r) => setTimeout(r, 300))
  child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.ok(refused, 'no new connections once shutting down')
  sock.write(body.slice(5))
  await new Promise((r) => sock.once('close', r))
  t.match(response, /^HTTP\/1\.1 404 /, 'the in-flight request got its answer')
  t.match(response, /"error":"not_found"/)
  t.equal(await exited, 0, 'clean exit')
  t.match(out, /shutting down/)
})
