// Process-level routes outside any tenant: liveness, readiness, Prometheus metrics, and the JSON 404
// for unknown tenants.
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { safeEqual } from '../../plugins/crypto.ts'
import { credentialsFor } from '../../plugins/http-auth.ts'
import { registry } from '../../plugins/metrics.ts'

export interface OpsOptions {
  /** Named readiness checks; each resolves when its dependency answers. */
  checks: Record<string, () => Promise<unknown>>
  /** When set, /metrics wants `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string
  /** Without a token: serve /metrics to anyone (true) or to no one (false, production's default: it names every tenant). */
  metricsOpen?: boolean
  /** Tenants served and tenant files refused at the last (re)load, reported by /readyz. */
  tenants?: () => TenantReport
}

/** Refused files by name and JSON path only: reasons can quote values (the log has them). */
export interface TenantReport { served: number, refused: Array<{ file: string, path: string }> }

const Health = Type.Object({ status: Type.String() })
const Ready = Type.Object({
  status: Type.String(),
  checks: Type.Record(Type.String(), Type.String()),
  tenants: Type.Optional(Type.Object({
    served: Type.Integer(),
    refused: Type.Array(Type.Object({ file: Type.String(), path: Type.String() }))
  }))
})

export default async function ops (app: FastifyInstance, opts: OpsOptions): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: Health } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { response: { 200: Ready, 503: Ready } } }, async (req, reply) => {
    const entries = await Promise.all(Object.entries(opts.checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), 2000)
        return [name, 'ok'] as const
      } catch (err) {
        // A driver's message may name hosts, users or a whole connection string: the log gets it, the answer
        // (served to anyone, on every host) says only which dependency is down.
        req.log.warn({ check: name, err: (err as Error).message }, 'readiness check failed')
        return [name, err instanceof CheckTimeout ? 'unavailable (timed out)' : 'unavailable'] as const
      }
    }))
    const checks = Object.fromEntries(entries)
    const ok = entries.every(([, v]) => v === 'ok')
    // A refused tenant file does not make the node unready (every node reads the same files: failing them
    // all would take the good tenants down too); it is reported here, in the log and in the metrics.
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks, ...(opts.tenants ? { tenants: opts.tenants() } : {}) })
  })

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (!opts.metricsToken && opts.metricsOpen === false) {
      return reply.code(403).send({ error: 'metrics_disabled', message: 'Set METRICS_TOKEN to scrape /metrics.' })
    }
    if (opts.metricsToken) {
      const given = credentialsFor(req.headers.authorization, 'Bearer')
      if (!given || !safeEqual(given, opts.metricsToken)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' })
      }
    }
    return reply.type(registry.contentType).send(await registry.metrics())
  })

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'unknown_tenant', message: `No tenant serves ${req.headers.host ?? 'this host'}${(req.url ?? '').split('?')[0]}` })
  })
}

class CheckTimeout extends Error {}

function withTimeout<T> (p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout
  return Promise.race([p, new Promise<T>((_r, reject) => { t = setTimeout(() => reject(new CheckTimeout('timed out')), ms) })]).finally(() => clearTimeout(t))
}
