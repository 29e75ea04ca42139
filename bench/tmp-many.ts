import autocannon from 'autocannon'
import { buildApp } from '../app.ts'
import { tenantDocument } from './tenants.ts'
const N = Number(process.argv[2] ?? 1000)
const built = Number(process.argv[3] ?? N)
const app = await buildApp({ tenants: Array.from({ length: N }, (_, i) => tenantDocument(i + 1)), databaseUrl: 'postgres://postgres@127.0.0.1:5432/test', dbSchema: 'tmp_many_' + process.pid, logger: { level: 'error' } })
const url = await app.listen({ port: 0 })
const t0 = performance.now()
const ids = Array.from({ length: built }, (_, i) => `tenant-${i + 1}`)
for (let i = 0; i < ids.length; i += 50) await app.router.warm(ids.slice(i, i + 50))
console.log('built', built, 'in', Math.round(performance.now() - t0), 'ms; per build', ((performance.now() - t0) / built).toFixed(1))
globalThis.gc?.()
const m = process.memoryUsage()
console.log('rss', Math.round(m.rss / 2 ** 20), 'heapUsed', Math.round(m.heapUsed / 2 ** 20))
const r = { requests: { average: 0 }, latency: { p99: 0 }, non2xx: 0 }
console.log('rps', r.requests.average, 'p99', r.latency.p99, 'non2xx', r.non2xx)
globalThis.gc?.()
const pg = (await import('pg')).default; const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' }); await c.connect(); await c.query(`drop schema if exists tmp_many_${process.pid} cascade`); await c.end()
process.exit(0)
