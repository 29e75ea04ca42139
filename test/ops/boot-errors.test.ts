// Boot failures of the real commands: each is one line on stderr saying what is wrong and what to do,
// a non-zero exit, and no stack. The embedded database's folder is locked, so a second process (a
// second server, `npm run migrate`) refuses it instead of aborting inside PGlite.
import { spawn, type SpawnOptions } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { TEST_DATABASE_URL, tenantDoc } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'

t.setTimeout(300_000) // several real processes start in turn; a loaded 2-core machine takes a while

interface Run { code: number | null, stdout: string, stderr: string }

function run (cmd: string, args: string[], env: Record<string, string>, opts: SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, DEMO_IDP: '0', TENANTS_WATCH: '0', REDIS_URL: '', DATABASE_URL: '', NODE_ENV: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    let stdout = ''; let stderr = ''
    child.stdout!.on('data', (c) => { stdout += c })
    child.stderr!.on('data', (c) => { stderr += c })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}
const serve = (env: Record<string, string>) => run(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], env)

function oneLine (t: any, r: Run, pattern: RegExp): void {
  t.not(r.code, 0, 'non-zero exit')
  const lines = r.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr: ${r.stderr.slice(0, 500)}`)
  t.match(lines[0], pattern)
  t.notMatch(r.stderr + r.stdout, /^\s+at /m, 'no stack')
}

const tenantsDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'vst-boot-t-'))
  writeFileSync(path.join(d, 'one.json'), JSON.stringify(tenantDoc('one')))
  return d
}

t.test('the port is taken: one line, and the data folder is not touched', async (t) => {
  const blocker = net.createServer()
  const port = await freePort()
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vst-boot-'))
  const r = await serve({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TENANTS_DIR: tenantsDir() })
  oneLine(t, r, new RegExp(`^serve: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use by another process; stop it or set PORT to a free port$`))
  t.notOk(existsSync(path.join(dataDir, 'pglite')), 'the embedded database was not opened')
})

t.test('DATABASE_URL that is not a URL', async (t) => {
  const r = await serve({ PORT: String(await freePort()), DATABASE_URL: 'base', TENANTS_DIR: tenantsDir() })
  oneLine(t, r, /^serve: DATABASE_URL is not a URL \("base"\); expected postgres:\/\/user:password@host:5432\/database, or unset it for the embedded database$/)
})

t.test('DATABASE_URL with another scheme', async (t) => {
  const r = await serve({ PORT: String(await freePort()), DATABASE_URL: 'mysql://root@127.0.0.1/x', TENANTS_DIR: tenantsDir() })
  oneLine(t, r, /^serve: DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//)
})

t.test('DATABASE_URL where nothing listens', async (t) => {
  const port = await freePort()
  const r = await serve({ PORT: String(await freePort()), DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/test`, TENANTS_DIR: tenantsDir() })
  oneLine(t, r, new RegExp(`^serve: cannot reach the database \\(DATABASE_URL postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/test\\): connection refused at 127\\.0\\.0\\.1:${port}; is PostgreSQL running there\\?$`))
  t.notMatch(r.stderr, /hunter2/, 'the password is not printed')
})

t.test('DATABASE_URL naming a database that does not exist', async (t) => {
  const u = new URL(TEST_DATABASE_URL)
  u.pathname = '/vestibule_no_such_database'
  const r = await serve({ PORT: String(await freePort()), DATABASE_URL: u.toString(), TENANTS_DIR: tenantsDir() })
  oneLine(t, r, /^serve: the database does not exist .*vestibule_no_such_database.*; create it \(createdb\) or fix DATABASE_URL$/)
})

t.test('TENANTS_DIR that does not exist', async (t) => {
  const missing = path.join(tmpdir(), 'vst-no-such-tenants-folder')
  const r = await serve({ PORT: String(await freePort()), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'vst-boot-')), TENANTS_DIR: missing })
  oneLine(t, r, new RegExp(`^serve: TENANTS_DIR "${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not a folder; create it or point TENANTS_DIR at the folder of tenant files$`))
})

t.test('the embedded database is locked while a server holds it: a second server and npm run migrate refuse it', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vst-boot-'))
  const port = await freePort()
  const server = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TENANTS_DIR: tenantsDir(), DEMO_IDP: '0', TENANTS_WATCH: '0', REDIS_URL: '', DATABASE_URL: '', NODE_ENV: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  server.stdout.on('data', (c) => { out += c })
  server.stderr.on('data', (c) => { out += c })
  const exited = new Promise((resolve) => server.once('exit', resolve))
  t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
  for (let i = 0; i < 600 && !out.includes('Vestibule listening'); i++) await new Promise((r) => setTimeout(r, 100))
  t.match(out, /Vestibule listening/)
  const locked = new RegExp(`the embedded database ${path.join(dataDir, 'pglite').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another process \\("serve", pid ${server.pid}\\); stop it first, or set DATA_DIR to another folder \\(or DATABASE_URL for PostgreSQL\\)$`)

  const second = await serve({ PORT: String(await freePort()), DATA_DIR: dataDir, TENANTS_DIR: tenantsDir() })
  oneLine(t, second, new RegExp('^serve: ' + locked.source))

  const migrate = await run('npm', ['run', '--silent', 'migrate'], { DATA_DIR: dataDir })
  oneLine(t, migrate, new RegExp('^migrate: ' + locked.source))
  t.notMatch(migrate.stderr + migrate.stdout, /RuntimeError|Aborted/, 'PGlite was never opened twice')
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the first server is unharmed')

  server.kill('SIGTERM')
  t.equal(await exited, 0)
  t.notOk(existsSync(`${path.join(dataDir, 'pglite')}.lock`), 'the lock is released at shutdown')
  const after = await run('npm', ['run', '--silent', 'migrate'], { DATA_DIR: dataDir })
  t.equal(after.code, 0, `migrate works once the server is gone: ${after.stderr}`)
  t.match(after.stdout, /database is up to date/)
})

t.test('a lock left by a process that died is taken over', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vst-boot-'))
  const dead = spawn(process.execPath, ['-e', ''])
  await new Promise((resolve) => dead.once('exit', resolve))
  writeFileSync(`${path.join(dataDir, 'pglite')}.lock`, JSON.stringify({ pid: dead.pid, host: (await import('node:os')).hostname(), since: new Date().toISOString(), command: 'serve' }))
  const r = await run(process.execPath, ['--import', 'tsx', 'server.ts', 'migrate'], { DATA_DIR: dataDir })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /applied: /)
})
