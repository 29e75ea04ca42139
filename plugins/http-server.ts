// The process's HTTP server with bounds on slow clients: how long a client may take to send its
// headers and its whole request, how long an idle keep-alive connection stays open, and how many
// connections are open at once. Node enforces them (a late request gets 408 and its connection closes).
import http from 'node:http'

export interface HttpLimits {
  /** The whole request (headers and body) must arrive within this (ms; 0: unbounded). */
  requestTimeoutMs: number
  /** The request headers must arrive within this (ms; at most requestTimeoutMs). */
  headersTimeoutMs: number
  /** An idle keep-alive connection is closed after this (ms); keep it above your load balancer's idle timeout. */
  keepAliveTimeoutMs: number
  /** Connections open at once; more are closed as they arrive (0: no cap). */
  maxConnections: number
}

export const HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, maxConnections: 10_000 }

/** The limits with defaults filled in; throws naming the option that is out of range. */
export function resolveHttpLimits (given: Partial<HttpLimits> = {}): HttpLimits {
  const limits: HttpLimits = {
    requestTimeoutMs: given.requestTimeoutMs ?? HTTP_LIMITS.requestTimeoutMs,
    headersTimeoutMs: given.headersTimeoutMs ?? HTTP_LIMITS.headersTimeoutMs,
    keepAliveTimeoutMs: given.keepAliveTimeoutMs ?? HTTP_LIMITS.keepAliveTimeoutMs,
    maxConnections: given.maxConnections ?? HTTP_LIMITS.maxConnections
  }
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 0) throw Object.assign(new Error(`http.${k} must be a non-negative integer, got ${JSON.stringify(v)}`), { code: 'VST_ERR_HTTP_LIMITS' })
  }
  if (limits.headersTimeoutMs === 0) throw Object.assign(new Error('http.headersTimeoutMs must be positive (a client may otherwise hold a connection with half its headers)'), { code: 'VST_ERR_HTTP_LIMITS' })
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw Object.assign(new Error(`http.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed http.requestTimeoutMs (${limits.requestTimeoutMs})`), { code: 'VST_ERR_HTTP_LIMITS' })
  }
  return limits
}

export function createHttpServer (limits: HttpLimits, handler: http.RequestListener): http.Server {
  const bound = limits.requestTimeoutMs > 0 ? Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs) : limits.headersTimeoutMs
  const server = http.createServer({
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts on this interval (default 30 s, which would let a stalled client
    // overstay a 10 s bound by 30 s): a quarter of the smaller bound, at most once a second.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(bound / 4)))
  }, handler)
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections
  return server
}
