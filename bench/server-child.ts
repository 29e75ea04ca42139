// Bench child: boots the app over a tenants folder and reports boot time and memory to the parent over IPC.
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { buildApp } from '../app.ts'

// Garbage collection so far (time, scavenges, full collections), reported with the CPU time.
const gc = { ms: 0, scavenges: 0, majors: 0 }
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majors++
  }
}).observe({ entryTypes: ['gc'] })

const [tenantsDir, dbUrl, schema] = process.argv.slice(2)
const t0 = performance.now()
const app = await buildApp({ tenantsDir, databaseUrl: dbUrl, dbSchema: schema, logger: { level: 'error' }, redisUrl: process.env.BENCH_REDIS_URL || undefined })
const url = await app.listen({ port: 0 })
const bootMs = performance.now() - t0
globalThis.gc?.()
const mem = process.memoryUsage()
process.send!({ type: 'ready', url, bootMs, rss: mem.rss, heapUsed: mem.heapUsed, tenants: app.router.ids().length, errors: app.tenantErrors.length })
process.on('message', async (m: { type: string }) => {
  if (m.type === 'stats') {
    const mem = process.memoryUsage()
    const cpu = process.cpuUsage()
    // And after a full collection: what the instances hold, without the garbage of those already dropped.
    globalThis.gc?.()
    process.send!({ type: 'stats', rss: mem.rss, rssAfterGc: process.memoryUsage().rss, built: app.router.stats().built, cpuMs: (cpu.user + cpu.system) / 1000 })
  }
  // The process's CPU time so far (no GC forced): the bench reads it before and after a load run.
  if (m.type === 'cpu') { const c = process.cpuUsage(); process.send!({ type: 'cpu', cpuMs: (c.user + c.system) / 1000, gcMs: gc.ms, scavenges: gc.scavenges, majors: gc.majors, heapMB: process.memoryUsage().heapUsed / 2 ** 20 }) }
  if (m.type === 'close') { await app.close(); process.exit(0) }
})
