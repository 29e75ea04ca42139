// One log line and one metrics sample per request (tenant id comes from the logger's bindings), with
// the query string dropped because callbacks carry codes, states and tokens there.
import { LogController, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { httpDuration, httpRequests } from './metrics.ts'

/** Turns off Fastify's two built-in request lines; the plugin below writes the one we want. */
export const quietRequests = new LogController({ disableRequestLogging: true })

export default fp(async function requestLog (app: FastifyInstance, opts: { tenant: string }) {
  app.addHook('onResponse', async (req, reply) => {
    // Unmatched URLs share one label so scanners cannot grow the series without bound.
    const route = req.routeOptions.url ?? 'unmatched'
    const dialect = (req.routeOptions.schema as { tags?: string[] } | undefined)?.tags?.[0] ?? 'none'
    httpRequests.inc({ tenant: opts.tenant, dialect, route, status: reply.statusCode })
    httpDuration.observe({ dialect, route }, reply.elapsedTime / 1000)
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
