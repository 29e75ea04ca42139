// The admin API's one error shape, {error, message} (+ `errors` as `path: reason` lines for a refused
// tenant document), and the mapping of the store's refusals onto HTTP statuses.
import type { FastifyError, FastifyInstance } from 'fastify'
import { TenantStoreError, type StoreErrorKind } from '../db-store.ts'

export class AdminError extends Error {
  constructor (readonly status: number, readonly error: string, message: string, readonly extra: Record<string, unknown> = {}, readonly headers: Record<string, string> = {}) {
    super(message)
  }
}

export const notFound = (message: string) => new AdminError(404, 'not_found', message)

const STORE: Record<StoreErrorKind, [number, string]> = {
  invalid: [400, 'invalid_tenant'],
  'not-found': [404, 'not_found'],
  'defined-outside': [409, 'defined_outside'],
  exists: [409, 'tenant_exists'],
  'precondition-failed': [412, 'precondition_failed'],
  'secret-key': [503, 'secret_key_unavailable'],
  forbidden: [403, 'forbidden']
}

export function fromStore (err: TenantStoreError): AdminError {
  const [status, code] = STORE[err.kind]
  const extra = err.errors.length
    ? { errors: err.errors.map((e) => `${e.path || '/'}: ${e.message}`), details: err.errors }
    : {}
  return new AdminError(status, code, err.message, extra)
}

export function installAdminErrors (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: AdminError
    if (err instanceof AdminError) e = err
    else if (err instanceof TenantStoreError) e = fromStore(err)
    else if (err.validation) e = new AdminError(400, 'bad_request', `${err.validationContext ?? 'request'}: ${err.message}`)
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) e = new AdminError(err.statusCode, err.statusCode === 415 ? 'unsupported_media_type' : err.statusCode === 413 ? 'body_too_large' : 'bad_request', err.message)
    else {
      req.log.error({ err }, 'admin API error')
      e = new AdminError(500, 'internal_error', 'An internal error occurred.', { request_id: req.id })
    }
    if (e.status >= 500 && e.status !== 500) req.log.warn({ err: e.message }, 'admin API unavailable')
    void reply.code(e.status).headers(e.headers).type('application/json; charset=utf-8')
      .send(JSON.stringify({ error: e.error, message: e.message, ...e.extra }))
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('application/json; charset=utf-8').send(JSON.stringify({ error: 'not_found', message: `Route ${req.method} ${req.url.split('?')[0]} not found` }))
  })
}
