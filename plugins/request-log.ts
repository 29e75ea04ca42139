// One log line and one metrics sample per request (tenant id comes from the logger's bindings), with
// the query string dropped because callbacks carry codes, states and tokens there.
import { LogController, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { httpDuration, httpRequests } from './metrics.ts'

// prom-client hashes a label object on every call; the labelled children are cached per label tuple
// (bounded: tenants × route patterns × statuses, as the series themselves are).
const counters = new Map<string, ReturnType<typeof httpRequests.labels>>()
const histograms = new Map<string, ReturnType<typeof httpDuration.labels>>()
function requestCounter (tenant: string, dialect: string, route: string, status: number) {
  const key = `${tenant} ${dialect} ${route} ${status}`
  let c = counters.get(key)
  if (!c) { c = httpRequests.labels({ tenant, dialect, route, status }); counters.set(key, c) }
  return c
}
function durationHistogram (dialect: string, route: string) {
  const key = `${dialect} ${route}`
  let h = histograms.get(key)
  if (!h) { h = httpDuration.labels({ dialect, route }); histograms.set(key, h) }
  return h
}

/** Turns off Fastify's two built-in request lines; the plugin below writes the one we want. */
export const quietRequests = new LogController({ disableRequestLogging: true })

export default fp(async function requestLog (app: FastifyInstance, opts: { tenant: string }) {
  app.addHook('onResponse', async (req, reply) => {
    // Unmatched URLs share one label so scanners cannot grow the series without bound.
    const route = req.routeOptions.url ?? 'unmatched'
    const dialect = (req.routeOptions.schema as { tags?: string[] } | undefined)?.tags?.[0] ?? 'none'
    requestCounter(opts.tenant, dialect, route, reply.statusCode).inc()
    durationHistogram(dialect, route).observe(reply.elapsedTime / 1000)
    // pino's check: skip building the line when info is off (FastifyBaseLogger does not declare it).
    if ((req.log as unknown as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === false) return
    const q = req.url.indexOf('?')
    req.log.info({
      method: req.method,
      path: q === -1 ? req.url : req.url.slice(0, q),
      route: req.routeOptions.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10
    }, 'request')
  })
}, { name: 'vestibule-request-log', fastify: '5.x' })
