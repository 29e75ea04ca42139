// Interleaved A/B of the warm 401 route on stored tenants: node A serves 1 stored tenant, node B serves
// AB_SERVED of AB_COUNT (past TENANTS_DB_MAX_KEPT: the rest dropped), both alive at once; load runs alternate
// A, B, A, B… so the machine's load hits both alike. Reports the node's CPU per request and its GC time.
// AB_FLAGS_A / AB_FLAGS_B: extra node flags per node (e.g. "--max-semi-space-size=32").
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { createDatabase, migrateToLatest } from '../db/index.ts'
import { createKeyring } from '../db/sealing.ts'
import { sealDoc } from '../tenants/db-store.ts'
import { tenantDocument } from './tenants.ts'

const DB = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const here = path.dirname(new URL(import.meta.url).pathname)
const COUNT = Number(process.env.AB_COUNT ?? 2000)
const SERVED = Number(process.env.AB_SERVED ?? 1000)
const PAIRS = Number(process.env.AB_PAIRS ?? 4)
const SECS = Number(process.env.AB_SECONDS ?? 5)
const ROUTE = '/v1/auth/me/'
const schema = 'ab_dbwarm'
const key = randomBytes(32).toString('base64')
const ring = createKeyring({ current: key })
const handle = await createDatabase({ url: DB, schema, poolSize: 2 })
await sql.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).execute(handle.db)
await handle.close()
const h2 = await createDatabase({ url: DB, schema, poolSize: 2 })
await migrateToLatest(h2.db, schema)
for (let from = 1; from <= COUNT; from += 2000) {
  const docs = []
  for (let i = from; i < Math.min(COUNT + 1, from + 2000); i++) docs.push(sealDoc(ring, tenantDocument(i), `tenant-${i}`))
  const json = JSON.stringify(docs)
  await sql`insert into tenant_configs (id, version, doc) select d->>'id', 1, d from jsonb_array_elements(${json}::jsonb) d`.execute(h2.db)
  await sql`insert into tenant_hosts (host, tenant_id) select lower(h), d->>'id' from jsonb_array_elements(${json}::jsonb) d, jsonb_array_elements_text(d->'hosts') h`.execute(h2.db)
}
await h2.close()

function ask<T> (child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: any) => { if (m.type === type) { child.off('message', on); resolve(m) } }
    child.on('message', on); child.send({ type })
  })
}
async function startNode (flags: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-ab-'))
  const child = fork(path.join(here, 'server-child.ts'), [dir, DB, schema], { execArgv: ['--import', 'tsx', '--expose-gc', ...flags.split(' ').filter(Boolean)], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, VESTIBULE_SECRET_KEY: key } })
  const ready = await new Promise<any>((resolve) => child.on('message', (m: any) => { if (m.type === 'ready') resolve(m) }))
  return { child, url: ready.url as string, dir }
}
const A = await startNode(process.env.AB_FLAGS_A ?? '')
const B = await startNode(process.env.AB_FLAGS_B ?? '')
const get = async (u: string) => { const r = await fetch(u); await r.arrayBuffer(); if (r.status !== 401) throw new Error(`${u}: ${r.status}`) }
await get(`${A.url}/t/tenant-${COUNT}${ROUTE}`)
for (let k = 0; k < SERVED; k++) {
  const i = SERVED === 1 ? COUNT : 1 + Math.floor((k * (COUNT - 1)) / (SERVED - 1))
  await get(`${B.url}/t/tenant-${i}${ROUTE}`); await get(`${B.url}/t/tenant-${i}${ROUTE}`)
}
if (process.env.AB_GC) await ask(B.child, 'stats') // a full collection on B first (server-child's 'stats')
const run = async (n: { child: ChildProcess, url: string }) => {
  const a: any = await ask(n.child, 'cpu')
  const r = await autocannon({ url: `${n.url}/t/tenant-${COUNT}${ROUTE}`, connections: 16, duration: SECS })
  const b: any = await ask(n.child, 'cpu')
  if (r.non2xx !== r['4xx'] || r.errors) throw new Error('failed requests')
  return { rps: Math.round(r.requests.average), cpuUs: +((b.cpuMs - a.cpuMs) * 1000 / r.requests.total).toFixed(1), gcMs: Math.round(b.gcMs - a.gcMs), scavenges: b.scavenges - a.scavenges, majors: b.majors - a.majors, heapMB: Math.round(b.heapMB) }
}
await run(A); await run(B) // warm-up
const rows: any[] = []
for (let p = 0; p < PAIRS; p++) {
  const a = await run(A); const b = await run(B)
  rows.push({ a, b, cpuRatio: +(b.cpuUs / a.cpuUs).toFixed(3), rpsRatio: +(b.rps / a.rps).toFixed(3) })
  console.log(JSON.stringify(rows.at(-1)))
}
const med = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] }
console.log(`median B/A: cpu ${med(rows.map((r) => r.cpuRatio))}x, rps ${med(rows.map((r) => r.rpsRatio))}x; A cpu ${med(rows.map((r) => r.a.cpuUs))} µs, B cpu ${med(rows.map((r) => r.b.cpuUs))} µs`)
for (const n of [A, B]) { n.child.send({ type: 'close' }); await new Promise((r) => n.child.once('exit', r)); rmSync(n.dir, { recursive: true, force: true }) }
const h3 = await createDatabase({ url: DB, schema, poolSize: 1 })
await sql.raw(`DROP SCHEMA "${schema}" CASCADE`).execute(h3.db)
await h3.close()
