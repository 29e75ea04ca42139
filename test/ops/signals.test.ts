// Signals on real processes: SIGHUP reloads the tenant files and the server keeps serving on its port;
// `kill -TERM` on the `npm start` process stops the server too (it does not stay behind, orphaned).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { TEST_DATABASE_URL, tenantDoc, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'

t.setTimeout(300_000) // several real processes start in turn; a loaded 2-core machine takes a while

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function schemaUrl (t: any): Promise<string> {
  const schema = uniqueName('vst')
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); await admin.end() })
  return `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`
}

function collect (child: ChildProcess): { text: () => string } {
  let out = ''
  child.stdout!.on('data', (c) => { out += c })
  child.stderr!.on('data', (c) => { out += c })
  return { text: () => out }
}

async function waitFor (what: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await what()) return true
    await sleep(100)
  }
  return false
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }
const status = (url: string) => fetch(url).then((r) => r.status, () => 0)

t.test('SIGHUP reloads the tenants; the server keeps its port', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-hup-'))
  writeFileSync(path.join(dir, 'one.json'), JSON.stringify(tenantDoc('one')))
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: await schemaUrl(t), TENANTS_DIR: dir, REDIS_URL: '', TENANTS_WATCH: '0', LOG_LEVEL: 'info', NODE_ENV: 'production', VESTIBULE_SECRET_KEY: 'TwlFWy9C1GXabeoxzXEiU1vAmZQtVqXFJmnTt1OYr7s=' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const out = collect(child)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  t.ok(await waitFor(() => out.text().includes('Vestibule listening'), 60_000), 'listening')
  const base = `http://127.0.0.1:${port}`
  t.equal(await status(`${base}/t/two/openapi.json`), 404, 'no tenant two yet')

  writeFileSync(path.join(dir, 'two.json'), JSON.stringify(tenantDoc('two')))
  child.kill('SIGHUP')
  t.ok(await waitFor(async () => (await status(`${base}/t/two/openapi.json`)) === 200, 15_000), 'tenant two served after SIGHUP')
  t.match(out.text(), /reloading tenants \(SIGHUP\)/)
  t.equal(await status(`${base}/healthz`), 200, 'the port is still open')
  t.equal(child.exitCode, null, 'still running')
  t.notMatch(out.text(), /shutting down/)

  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM still shuts it down cleanly')
})

t.test('kill -TERM on the npm start process stops the server', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-term-'))
  writeFileSync(path.join(dir, 'one.json'), JSON.stringify(tenantDoc('one')))
  const port = await freePort()
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: await schemaUrl(t), TENANTS_DIR: dir, REDIS_URL: '', TENANTS_WATCH: '0', LOG_LEVEL: 'info', NODE_ENV: 'production', VESTIBULE_SECRET_KEY: 'TwlFWy9C1GXabeoxzXEiU1vAmZQtVqXFJmnTt1OYr7s=' }
  // Its own process group, so the teardown can reach whatever npm started even if the test fails.
  const npm = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const out = collect(npm)
  t.teardown(() => { try { process.kill(-npm.pid!, 'SIGKILL') } catch {} })
  t.ok(await waitFor(() => out.text().includes('Vestibule listening'), 60_000), 'listening')
  const serverPid = Number(/"pid":(\d+)[^\n]*Vestibule listening/.exec(out.text())?.[1])
  t.ok(serverPid > 0 && serverPid !== npm.pid, `the server is its own process (${serverPid}) under npm (${npm.pid})`)
  t.equal(await status(`http://127.0.0.1:${port}/healthz`), 200)

  process.kill(npm.pid!, 'SIGTERM') // npm only, as `kill -TERM <pid of npm start>` does
  t.ok(await waitFor(() => !alive(serverPid), 20_000), 'the server process exits')
  t.equal(await status(`http://127.0.0.1:${port}/healthz`), 0, 'and its port is closed')
  t.match(out.text(), /shutting down/, 'through the graceful shutdown path')
})

t.test('SIGHUP does not stop a worker', async (t) => {
  const { TEST_REDIS_URL } = await import('../helpers/build.ts')
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'worker'], {
    env: { ...process.env, DATABASE_URL: await schemaUrl(t), REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: uniqueName('vsthup'), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const out = collect(child)
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  t.ok(await waitFor(() => out.text().includes('worker started'), 60_000), 'worker started')
  child.kill('SIGHUP')
  t.ok(await waitFor(() => out.text().includes('SIGHUP: a worker has no tenant config'), 10_000), 'SIGHUP is logged')
  await sleep(500)
  t.equal(child.exitCode, null, 'still running')
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})
