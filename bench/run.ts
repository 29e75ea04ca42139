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

function start (tenantsDir: string, schema: string, script = 'server-child.ts', args: string[] = [tenantsDir, DB, schema]): Promise<{ child: ChildProcess, ready: Ready }> {
  const child = fork(path.join(here, script), args, {
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

async function load (url: string, extra: Partial<autocannon.Options> = {}): Promise<{ rps: number, p50: number, p99: number, non2xx: number, errors: number }> {
  const r = await autocannon({ url, connections: 16, duration: DURATION, pipelining: 1, ...extra })
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors }
}

// Hot paths against the floor (bench/floor-child.ts): the same statements, none of our code.
const HOT_TENANT = 'hot'
const HOT_CLIENT = 'bench-client-key'
const HOT_USERS = 1000

async function hotPaths (schema: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-bench-hot-'))
  writeFileSync(path.join(dir, 'hot.json'), JSON.stringify({
    id: HOT_TENANT, email: { from: 'bench <b@bench.test>' }, clients: [{ id: HOT_CLIENT }],
    // The tenant-wide limit stays in the path (it is part of ours) but must not refuse the load.
    rateLimits: { default: { max: 100_000_000, timeWindow: '1 minute' } },
    dialects: { 'by-link': { linkUrl: 'https://bench.test/l/{token}' } }
  }))
  const vst = await start(dir, schema)
  const floor = await start(dir, schema, 'floor-child.ts', [DB, schema, HOT_TENANT, HOT_CLIENT])
  try {
    const db = new pg.Client({ connectionString: DB, options: `-c search_path=${schema}` })
    await db.connect()
    await db.query(`insert into users (tenant_id, email, email_verified) select $1, 'u' || i || '@bench.test', true from generate_series(1, ${HOT_USERS}) i`, [HOT_TENANT])
    await db.query(`insert into sessions (tenant_id, user_id, kind, token_hash) select $1, u.id, 'token', encode(sha256(('sess-' || u.email)::bytea), 'hex') from users u where u.tenant_id = $1`, [HOT_TENANT])
    const perRun = DURATION * 6000
    await db.query(`insert into one_time_tokens (tenant_id, purpose, token_hash, data, expires_at)
      select $1, 'magic-link', encode(sha256(('ml-' || i)::bytea), 'hex'), jsonb_build_object('email', 'u' || (i % ${HOT_USERS} + 1) || '@bench.test'), now() + interval '2 hours'
      from generate_series(1, ${perRun * 4}) i`, [HOT_TENANT])
    await db.query('analyze')
    await db.end()

    let next = 1
    const loginRequests = (): Partial<autocannon.Options> => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ token: `ml-${next++}`, client_key: HOT_CLIENT }) }) }]
    })
    let k = 0
    const meRequests = (): Partial<autocannon.Options> => ({
      requests: [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, authorization: `Token sess-u${(k++ % HOT_USERS) + 1}@bench.test` } }) }]
    })
    const vstBase = `${vst.ready.url}/t/${HOT_TENANT}`
    const pair = async (ours: string, theirs: string, opts: () => Partial<autocannon.Options>) => {
      await load(ours, opts()); await load(theirs, opts()) // warm both
      const a = await load(ours, opts())
      const b = await load(theirs, opts())
      if (a.non2xx || b.non2xx || a.errors || b.errors) throw new Error(`failed requests during the hot-path bench: ours ${a.non2xx}/${a.errors}, floor ${b.non2xx}/${b.errors}`)
      return { rps: Math.round(a.rps), floorRps: Math.round(b.rps), ratio: +(a.rps / b.rps).toFixed(3), p99Ms: a.p99, floorP99Ms: b.p99 }
    }
    const tokenLookup = await pair(`${vstBase}/v1/auth/me/`, `${floor.ready.url}/me`, meRequests)
    const magicLinkLogin = await pair(`${vstBase}/v1/auth/by-link/login/`, `${floor.ready.url}/login`, loginRequests)
    return { tokenLookup, magicLinkLogin }
  } finally {
    await stop(vst.child)
    await stop(floor.child)
    rmSync(dir, { recursive: true, force: true })
  }
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
  // BENCH_ONLY=hot or BENCH_ONLY=tenancy runs one part (the results file then holds that part only).
  const only = process.env.BENCH_ONLY
  const one = only === 'hot' ? null : await tenancy(1, schema)
  const many = only === 'hot' ? null : await tenancy(COUNT, schema)
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  const hot = only === 'tenancy' ? null : await hotPaths(schema)
  const tenancyResults = one && many
    ? {
        tenants: COUNT,
        route: ROUTE,
        bootMs: Math.round(many.bootMs),
        rssMB: Math.round(many.rssMB),
        rssAfterLoadMB: Math.round(many.rssAfterLoadMB),
        instancesBuilt: many.built,
        coldExtraMsMedian: +many.coldExtraMsMedian.toFixed(2),
        coldExtraMsP90: +many.coldExtraMsP90.toFixed(2),
        warmRps: Math.round(many.warm.rps),
        warmRpsOneTenant: Math.round(one.warm.rps),
        warmRatio: +(many.warm.rps / one.warm.rps).toFixed(3),
        warmP99Ms: many.warm.p99,
        warmP99MsOneTenant: one.warm.p99
      }
    : null
  const rows: Array<[string, string, string, boolean | null]> = []
  const pass: Record<string, boolean> = {}
  if (tenancyResults) {
    const r = tenancyResults
    pass.bootMs = r.bootMs < 2000
    pass.rssMB = r.rssMB < 600
    pass.coldExtraMsMedian = r.coldExtraMsMedian < 20
    pass.warmRatio = r.warmRatio >= 0.9
    rows.push(
      [`boot with ${COUNT} tenants`, `${r.bootMs} ms`, '< 2000 ms', pass.bootMs],
      ['RSS after boot', `${r.rssMB} MB`, '< 600 MB', pass.rssMB],
      ['first request to a cold tenant, extra over warm (median / p90)', `${r.coldExtraMsMedian} / ${r.coldExtraMsP90} ms`, '< 20 ms', pass.coldExtraMsMedian],
      [`warm req/s at tenant #${COUNT} vs 1 tenant configured`, `${r.warmRps} vs ${r.warmRpsOneTenant} (${r.warmRatio}x)`, '>= 0.90x', pass.warmRatio],
      [`warm p99 latency, ${COUNT} vs 1`, `${r.warmP99Ms} vs ${r.warmP99MsOneTenant} ms`, '', null],
      [`RSS after the load runs (${r.instancesBuilt} instances built)`, `${r.rssAfterLoadMB} MB`, '', null]
    )
  }
  if (hot) {
    for (const [name, label] of [['tokenLookup', '`Authorization: Token` lookup (GET /v1/auth/me/)'], ['magicLinkLogin', 'magic-link login (POST /v1/auth/by-link/login/)']] as const) {
      const h = hot[name]
      pass[name] = h.ratio >= 0.8
      rows.push([`${label}: req/s vs the Fastify + pg floor`, `${h.rps} vs ${h.floorRps} (${h.ratio}x; p99 ${h.p99Ms} vs ${h.floorP99Ms} ms)`, '>= 0.80x', pass[name]])
    }
  }
  const results = {
    measuredAt: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    tenancy: tenancyResults,
    hotPaths: hot,
    targets: { bootMs: '< 2000', rssMB: '< 600', coldExtraMsMedian: '< 20', warmRatio: '>= 0.90', hotPathRatio: '>= 0.80' },
    pass
  }
  writeFileSync(path.join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n')
  console.log('\n| measure | value | target | met |\n|---|---|---|---|')
  for (const [m, v, target, ok] of rows) console.log(`| ${m} | ${v} | ${target} | ${ok === null ? '' : ok ? 'yes' : 'NO'} |`)
  console.log('\nwrote bench/results.json')
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
}
