// The bodies Syncano's platform accepts (settings REST_FRAMEWORK DEFAULT_PARSER_CLASSES): JSON, the
// PreflightParser's text/plain JSON with a `_method` override (apps/batch/parsers.py), forms and
// multipart forms (DRF's FormParser and MultiPartParser).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DETAIL, drfParsers } from '../../plugins/drf.ts'
import { DialectError } from '../../plugins/errors.ts'
import { multipartBodies } from '../../plugins/multipart.ts'

export const BODY_LIMIT = 64 * 1024

/** The method a text/plain POST body asks for (PreflightParser.valid_methods, compared as the platform does). */
const PREFLIGHT_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
const overrides = new WeakMap<FastifyRequest, string>()

/** The method the request is served as: a text/plain POST's `_method`, else its own. */
export function methodOf (req: FastifyRequest): string {
  return overrides.get(req) ?? req.method
}

/** Form and multipart bodies hold strings; JSON ones hold typed values. */
export function isFormBody (req: FastifyRequest): boolean {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data'
}

/** The parsed body, repeated form fields reduced to their last value (Django's QueryDict.get). */
export function bodyOf (req: FastifyRequest): unknown {
  const body = req.body ?? {}
  if (!isFormBody(req) || typeof body !== 'object' || body === null) return body
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]))
}

export async function syncanoParsers (app: FastifyInstance): Promise<void> {
  drfParsers(app)

  // PreflightParser: a browser avoids the CORS preflight by posting JSON as text/plain, keys in the body.
  const json = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') { done(null, {}); return }
    json(req, body as string, (err: Error | null, data?: unknown) => {
      if (err) { done(err, undefined); return }
      if (req.method === 'POST' && data !== null && typeof data === 'object' && !Array.isArray(data)) {
        const m = (data as Record<string, unknown>)._method
        if (typeof m === 'string' && PREFLIGHT_METHODS.has(m)) overrides.set(req, m)
      }
      done(null, data)
    })
  })

  await multipartBodies(app, { limit: BODY_LIMIT, invalid: () => new DialectError({ status: 400, body: { detail: DETAIL.multipartParse } }) })
}
