// npm run bench: the tenancy numbers of DESIGN section 7, measured in child processes on this machine.
// Writes bench/results.json and prints a table. Numbers, not assertions: the machine is shared and noisy.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { writeTenants } from './tenants.ts'

const DB = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const COUNT = Number(process.env.BENCH_TENANTS ?? 10_000)
const DURATION = Number(process.env.BENCH_SECONDS ?? 5)
const here = path.dirname(new URL(import.meta.url).pathname)

interface Ready { url: string, bootMs: number, rss: number, heapUsed: number, tenants: number, errors: number }

function start (tenantsDir: string, schema: string): Promise<{ child: ChildProcess, ready: Ready }> {
  const child = fork(path.join(here, 'server-child.ts'), [tenantsDir, DB, schema], {
    execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
    child.on('message', (m: any) => { if (m.type === 'ready') resolve({ child, ready: m }) })
  })
}

function ask<T> (child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: any) => { if (m.type === type) { child.off('message', on); resolve(m) } }
    child.on('message', on)
    child.send({ type })
  })
}

async function stop (child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit')
  await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.send({ type: 'close' }) })
}

async function timed (url: string): Promise<{ ms: number, status: number }> {
  const t0 = performance.now()
  const res = await fetch(url)
  await res.arrayBuffer()
  return { ms: performance.now() - t0, status: res.status }
}

function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

async function load (url: string): Promise<{ rps: number, p50: number, p99: number, non2xx: number }> {
  const r = await autocannon({ url, connections: 16, duration: DURATION, pipelining: 1 })
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx }
}

// A cheap route every generated tenant has: by-link's /me/ without a token answers 401 without touching the database.
const ROUTE = existsSync(path.join(here, '../routes/by-link/index.ts')) ? '/v1/auth/me/' : '/openapi.json'
const EXPECT = ROUTE === '/openapi.json' ? 200 : 401

async function tenancy (count: number, schema: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `vst-bench-${count}-`))
  writeTenants(dir, count)
  const { child, ready } = await start(dir, schema)
  try {
    if (ready.tenants !== count) throw new Error(`${ready.tenants} of ${count} tenants loaded (${ready.errors} refused)`)
    // Cold vs warm: the first request to a tenant builds its instance; the second is warm.
    const deltas: number[] = []
    const colds: number[] = []
    const sample = Math.min(50, count)
    for (let k = 0; k < sample; k++) {
      const i = count === 1 ? 1 : 1 + Math.floor((k * (count - 1)) / Math.max(1, sample - 1))
      const u = `${ready.url}/t/tenant-${i}${ROUTE}`
      const cold = await timed(u)
      if (cold.status !== EXPECT) throw new Error(`${u} answered ${cold.status}`)
      const warm = await timed(u)
      colds.push(cold.ms)
      deltas.push(cold.ms - warm.ms)
      if (count === 1) break
    }
    const last = `${ready.url}/t/tenant-${count}${ROUTE}`
    await load(last) // warm-up
    const warm = await load(last)
    const stats = await ask<{ rss: number, built: number }>(child, 'stats')
    return { bootMs: ready.bootMs, rssMB: ready.rss / 2 ** 20, rssAfterLoadMB: stats.rss / 2 ** 20, built: stats.built, coldExtraMsMedian: pct(deltas, 50), coldExtraMsP90: pct(deltas, 90), coldMsMedian: pct(colds, 50), warm }
  } finally {
    await stop(child)
    rmSync(dir, { recursive: true, force: true })
  }
}

const schema = `bench_${process.pid}`
const admin = new pg.Client({ connectionString: DB })
await admin.connect()
try {
  console.log(`tenancy bench: ${COUNT} tenants, route ${ROUTE}, ${DURATION}s load per run (2-core shared machine: absolute times are noisy)`)
  const one = await tenancy(1, schema)
  const many = await tenancy(COUNT, schema)
  const results = {
    measuredAt: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    route: ROUTE,
    tenancy: {
      tenants: COUNT,
      bootMs: Math.round(many.bootMs),
      rssMB: Math.round(many.rssMB),
      rssAfterLoadMB: Math.round(many.rssAfterLoadMB),
      coldExtraMsMedian: +many.coldExtraMsMedian.toFixed(2),
      coldExtraMsP90: +many.coldExtraMsP90.toFixed(2),
      warmRps: Math.round(many.warm.rps),
      warmRpsOneTenant: Math.round(one.warm.rps),
      warmRatio: +(many.warm.rps / one.warm.rps).toFixed(3),
      warmP99Ms: many.warm.p99,
      warmP99MsOneTenant: one.warm.p99
    },
    targets: { bootMs: '< 2000', rssMB: '< 600', coldExtraMsMedian: '< 20', warmRatio: '>= 0.90' }
  }
  const pass = {
    bootMs: results.tenancy.bootMs < 2000,
    rssMB: results.tenancy.rssMB < 600,
    coldExtraMsMedian: results.tenancy.coldExtraMsMedian < 20,
    warmRatio: results.tenancy.warmRatio >= 0.9
  }
  writeFileSync(path.join(here, 'results.json'), JSON.stringify({ ...results, pass }, null, 2) + '\n')
  console.log('\n| measure | value | target | met |\n|---|---|---|---|')
  console.log(`| boot with ${COUNT} tenants | ${results.tenancy.bootMs} ms | < 2000 ms | ${pass.bootMs ? 'yes' : 'NO'} |`)
  console.log(`| RSS after boot | ${results.tenancy.rssMB} MB | < 600 MB | ${pass.rssMB ? 'yes' : 'NO'} |`)
  console.log(`| first request to a cold tenant, extra over warm (median / p90) | ${results.tenancy.coldExtraMsMedian} / ${results.tenancy.coldExtraMsP90} ms | < 20 ms | ${pass.coldExtraMsMedian ? 'yes' : 'NO'} |`)
  console.log(`| warm req/s at tenant #${COUNT} vs 1 tenant configured | ${results.tenancy.warmRps} vs ${results.tenancy.warmRpsOneTenant} (${results.tenancy.warmRatio}x) | >= 0.90x | ${pass.warmRatio ? 'yes' : 'NO'} |`)
  console.log(`| warm p99 latency, ${COUNT} vs 1 | ${results.tenancy.warmP99Ms} vs ${results.tenancy.warmP99MsOneTenant} ms | | |`)
  console.log(`| RSS after the load runs (${many.built} instances built) | ${results.tenancy.rssAfterLoadMB} MB | | |`)
  console.log('\nwrote bench/results.json')
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
}
