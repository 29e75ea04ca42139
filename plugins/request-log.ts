// One log line and one metrics sample per request (tenant id comes from the logger's bindings), with
// the query string dropped because callbacks carry codes, states and tokens there.
import { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'
import fp from 'fastify-plugin'
import { httpDuration, httpRequests } from './metrics.ts'

// prom-client hashes a label object on every call; the labelled children are kept per route (keyed by the
// config object Fastify makes once per route) and status, so a request builds no key and hashes nothing.
interface RouteSeries { route: string, dialect: string, duration: ReturnType<typeof httpDuration.labels>, byStatus: Map<number, ReturnType<typeof httpRequests.labels>> }

/** Unmatched URLs share one label so scanners cannot grow the series without bound. */
function routeSeries (ro: { url?: string, schema?: unknown }): RouteSeries {
  const route = ro.url ?? 'unmatched'
  const dialect = (ro.schema as { tags?: string[] } | undefined)?.tags?.[0] ?? 'none'
  return { route, dialect, duration: httpDuration.labels({ dialect, route }), byStatus: new Map() }
}

/** Turns off Fastify's two built-in request lines; the plugin below writes the one we want. */
export const quietRequests = new LogController({ disableRequestLogging: true })

export default fp(async function requestLog (app: FastifyInstance, opts: { tenant: string }) {
  // Per instance: a route's config object belongs to this tenant's instance, so the tenant label is fixed here.
  const series = new WeakMap<object, RouteSeries>()
  // Callback style: no promise per request.
  app.addHook('onResponse', (req, reply, done) => {
    const ro = req.routeOptions // a getter that builds an object: read once
    const key = ro.config as object | undefined
    let s = key ? series.get(key) : undefined
    if (!s) { s = routeSeries(ro); if (key) series.set(key, s) }
    const status = reply.statusCode
    let counter = s.byStatus.get(status)
    if (!counter) { counter = httpRequests.labels({ tenant: opts.tenant, dialect: s.dialect, route: s.route, status }); s.byStatus.set(status, counter) }
    counter.inc()
    s.duration.observe(reply.elapsedTime / 1000)
    // pino's check: skip building the line when info is off (FastifyBaseLogger does not declare it).
    if ((req.log as unknown as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === false) { done(); return }
    const q = req.url.indexOf('?')
    req.log.info({
      method: req.method,
      path: q === -1 ? req.url : req.url.slice(0, q),
      route: ro.url,
      status,
      ms: Math.round(reply.elapsedTime * 10) / 10
    }, 'request')
    done()
  })
}, { name: 'vestibule-request-log', fastify: '5.x' })

type PinoLike = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }

/**
 * A request's logger, made only when the request logs something: Fastify makes a pino child (binding reqId)
 * for every request, and pino serialises the bindings when it makes one, while most requests log nothing
 * (the request line is skipped when info is off). A route with its own log level or serializers gets a
 * real child at once.
 */
class LazyChildLogger {
  readonly #parent: PinoLike
  readonly #bindings: Bindings
  #child: PinoLike | undefined
  constructor (parent: PinoLike, bindings: Bindings) { this.#parent = parent; this.#bindings = bindings }
  #real (): PinoLike { return (this.#child ??= this.#parent.child(this.#bindings) as PinoLike) }
  #on (level: string): boolean { return (this.#child ?? this.#parent).isLevelEnabled?.(level) ?? true }
  get level (): string { return (this.#child ?? this.#parent).level }
  set level (level: string) { this.#real().level = level }
  isLevelEnabled (level: string): boolean { return this.#on(level) }
  bindings (): Bindings { return { ...(this.#parent as unknown as { bindings (): Bindings }).bindings(), ...this.#bindings } }
  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger { return this.#real().child(bindings, options) }
  silent (): void {}
  trace (...args: unknown[]): void { if (this.#on('trace')) (this.#real().trace as (...a: unknown[]) => void)(...args) }
  debug (...args: unknown[]): void { if (this.#on('debug')) (this.#real().debug as (...a: unknown[]) => void)(...args) }
  info (...args: unknown[]): void { if (this.#on('info')) (this.#real().info as (...a: unknown[]) => void)(...args) }
  warn (...args: unknown[]): void { if (this.#on('warn')) (this.#real().warn as (...a: unknown[]) => void)(...args) }
  error (...args: unknown[]): void { if (this.#on('error')) (this.#real().error as (...a: unknown[]) => void)(...args) }
  fatal (...args: unknown[]): void { if (this.#on('fatal')) (this.#real().fatal as (...a: unknown[]) => void)(...args) }
}

/** Fastify's childLoggerFactory for our instances (see LazyChildLogger). */
export function lazyChildLoggerFactory (this: unknown, logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  if (opts.level !== undefined || opts.serializers !== undefined) return logger.child(bindings, opts)
  return new LazyChildLogger(logger as PinoLike, bindings) as unknown as FastifyBaseLogger
}
