// Real server and worker processes for fault tests (a crash must be a real crash), and a PostgreSQL
// admin connection that only ever touches the backends of the processes a test started.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { TEST_DATABASE_URL, uniqueName } from './build.ts'

export interface Proc {
  child: ChildProcess
  /** Everything it wrote to stdout and stderr so far. */
  output (): string
  /** Resolves with the exit code (or the signal name) once it exits. */
  exited: Promise<number | string | null>
  alive (): boolean
  kill (signal?: NodeJS.Signals): Promise<number | string | null>
}

/** Starts `server.ts <command>` and resolves once it says it is ready. */
export async function startProcess (t: { teardown (fn: () => unknown): void }, command: 'serve' | 'worker', env: Record<string, string>, timeoutMs = 60_000): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', command], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (c) => { out += c })
  child.stderr!.on('data', (c) => { out += c })
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  const proc: Proc = {
    child,
    output: () => out,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill (signal = 'SIGKILL') { if (proc.alive()) child.kill(signal); return exited }
  }
  t.teardown(() => proc.kill('SIGKILL'))
  const ready = command === 'worker' ? 'worker started' : 'Vestibule listening'
  const giveUp = Date.now() + timeoutMs
  while (!out.includes(ready)) {
    if (!proc.alive()) throw new Error(`${command} exited: ${out.slice(-3000)}`)
    if (Date.now() > giveUp) throw new Error(`${command} not ready within ${timeoutMs} ms: ${out.slice(-3000)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return proc
}

export interface Schema {
  name: string
  /** DATABASE_URL for a process working in this schema. */
  url: string
  /** An admin connection (not in the schema's processes' application_name); never in a transaction,
   *  so pg_stat_activity reads are fresh (they are a snapshot inside one). */
  admin: pg.Client
  /** Another connection working in the schema, for a test's own locks and transactions. */
  connect (): Promise<pg.Client>
}

/** A fresh PostgreSQL schema, dropped on teardown. */
export async function freshSchema (t: { teardown (fn: () => unknown): void }): Promise<Schema> {
  const name = uniqueName('vst')
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, application_name: `${name}_admin` })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${name}"`)
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => {}); await admin.end() })
  const url = `${TEST_DATABASE_URL}?options=-c%20search_path%3D${name}`
  return {
    name,
    url,
    admin,
    async connect () {
      const c = new pg.Client({ connectionString: url, application_name: `${name}_locker` })
      c.on('error', () => {})
      await c.connect()
      t.teardown(() => c.end().catch(() => {}))
      return c
    }
  }
}

/** Terminates the backends whose application_name is `appName` (only a test's own processes set it). */
export async function terminateBackends (admin: pg.Client, appName: string): Promise<number> {
  const r = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [appName])
  return r.rows.filter((x) => x.ok).length
}

/** Backends of `appName` waiting on a lock. */
export async function backendsWaitingOnLocks (admin: pg.Client, appName: string): Promise<number> {
  const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [appName])
  return r.rows[0].n
}

export async function until (what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const giveUp = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** A tenants folder holding these documents. */
export function tenantsFolder (docs: Array<Record<string, unknown>>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-faults-'))
  for (const d of docs) writeFileSync(path.join(dir, `${String(d.id)}.json`), JSON.stringify(d))
  return dir
}
