// Security headers on every response: helmet's (Referrer-Policy no-referrer, X-Content-Type-Options nosniff,
// X-Frame-Options DENY, COOP/CORP, …) plus a Content-Security-Policy, computed once at start and set by one hook.
// helmet is used as a header generator, not per request: @fastify/helmet rebuilds helmet's middleware on every
// request (measured here at roughly a fifth of a bare route's throughput), and these headers never vary.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from 'helmet'

type Directives = Record<string, string[] | typeof helmet.contentSecurityPolicy.dangerouslyDisableDefaultSrc>

/** The API default: nothing may load, frame or be submitted from a response (JSON, redirects, 404s). */
export const API_CSP: Directives = { 'default-src': ["'none'"], 'base-uri': ["'none'"], 'form-action': ["'none'"], 'frame-ancestors': ["'none'"] }
/** For process pages that run their own scripts (the queue dashboard, the dev demo): only never framed. */
export const PAGE_CSP: Directives = { 'default-src': helmet.contentSecurityPolicy.dangerouslyDisableDefaultSrc, 'frame-ancestors': ["'none'"] }

/** The headers helmet sets for this policy, as a plain object (helmet run once against a recording response). */
export function headersFor (directives: Directives): Record<string, string> {
  const out: Record<string, string> = {}
  const res = {
    setHeader (name: string, value: string | number | string[]) { out[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { delete out[name.toLowerCase()] }
  }
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives },
    // HSTS belongs to whoever terminates TLS for the tenant's host (and its includeSubDomains reach); not set here.
    strictTransportSecurity: false,
    // A popup sign-in (client page → start → provider → callback → token_url) keeps its opener: a same-origin COOP
    // on our redirects would cut it. Nothing Vestibule serves needs cross-window isolation.
    crossOriginOpenerPolicy: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' }
  })({} as never, res as never, (err?: unknown) => { if (err) throw err })
  return out
}

const cache = new Map<string, Record<string, string>>()

/** Sets the security headers first thing on every request of this instance (404s, 429s and errors included). */
export default fp(async function securityHeaders (app: FastifyInstance, opts: { csp?: Directives }) {
  const directives = opts.csp ?? API_CSP
  const key = JSON.stringify(directives, (_k, v) => (typeof v === 'symbol' ? String(v) : v))
  let headers = cache.get(key)
  if (!headers) { headers = headersFor(directives); cache.set(key, headers) }
  const h = headers
  app.addHook('onRequest', (_req, reply, done) => { reply.headers(h); done() })
}, { name: 'vestibule-security-headers', fastify: '5.x' })
