// The capture dialect (seed 004, Janrain Capture + Social Login): form-only bodies, its own error envelopes.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RateLimitedError } from '../../plugins/rate-limit.ts'
import { CaptureError, EngageError, OAuthError, rateLimited, requestId } from './errors.ts'
import { errorLang, message } from './messages.ts'
import nativeRoutes from './native.ts'
import type { CaptureOptions } from './options.ts'
import socialLoginRoutes from './social-login.ts'
import tokenRoutes from './token.ts'
import traditionalRoutes from './traditional.ts'

type Envelope = 'capture' | 'oauth' | 'engage' | 'engage-page'

export default async function captureDialect (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  // Janrain reads form bodies only: any other content type (JSON included) is read as an empty body, so its
  // arguments are "missing" exactly as query-string arguments are.
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => { done(null, {}) })
  app.addHook('preValidation', async (req) => {
    if (req.method === 'POST' && (req.body === undefined || req.body === null)) req.body = {}
  })

  app.setErrorHandler((err: FastifyError, req, reply) => respond(app, err, req, reply))

  await app.register(nativeRoutes, opts)
  await app.register(traditionalRoutes, opts)
  await app.register(tokenRoutes, opts)
  await app.register(socialLoginRoutes, opts)
}

function respond (app: FastifyInstance, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const envelope = ((req.routeOptions.config as { envelope?: Envelope } | undefined)?.envelope) ?? 'capture'
  if (err instanceof CaptureError) {
    const body = err.render(errorLang(app.tenant, (req.body as { locale?: unknown } | undefined)?.locale))
    req.log.info({ request_id: body.request_id, code: err.code }, 'capture: error answer')
    return reply.code(200).send(body)
  }
  if (err instanceof OAuthError) {
    if (err.status === 401 && req.headers.authorization?.toLowerCase().startsWith('basic ')) reply.header('www-authenticate', 'Basic realm="capture"')
    return reply.code(err.status).send({ error: err.error, error_description: err.description })
  }
  if (err instanceof EngageError) return reply.code(err.status).send({ stat: 'fail', err: { code: err.code, msg: err.msg } })

  if (err instanceof RateLimitedError) {
    // The tenant-wide limit (Retry-After already set), in the envelope of the route it hit.
    if (envelope === 'oauth') return reply.code(429).send({ error: 'rate_limited', error_description: err.message })
    if (envelope === 'engage' || envelope === 'engage-page') return reply.code(429).send({ stat: 'fail', err: { code: -1, msg: err.message } })
    return respond(app, rateLimited(err.retryAfter) as unknown as FastifyError, req, reply)
  }
  // Framework errors: validation, body too large, anything unexpected. Details stay in the log.
  const status = err.statusCode ?? 500
  const unexpected = status >= 500
  const field = err.validation?.[0] ? fieldOf(err.validation[0]) : undefined
  if (unexpected) req.log.error({ err }, 'capture: unexpected error')
  else req.log.info({ code: err.code, field }, 'capture: bad request')
  switch (envelope) {
    case 'oauth':
      return reply.code(unexpected ? 500 : 400).send(unexpected
        ? { error: 'server_error', error_description: 'unexpected error' }
        : { error: 'invalid_request', error_description: field ? `invalid ${field}` : 'invalid request' })
    case 'engage':
    case 'engage-page':
      return reply.code(envelope === 'engage' ? 200 : unexpected ? 500 : 400).send({ stat: 'fail', err: unexpected ? { code: -1, msg: 'Service Temporarily Unavailable' } : { code: 1, msg: field ? `Invalid parameter: ${field}` : 'Invalid parameter' } })
    default: {
      const lang = errorLang(app.tenant, (req.body as { locale?: unknown } | undefined)?.locale)
      const id = requestId()
      req.log.info({ request_id: id }, 'capture: error answer')
      return reply.code(200).send(unexpected
        ? { stat: 'error', code: 500, error: 'unexpected_error', error_description: message(lang, 'unexpected'), request_id: id }
        : { stat: 'error', code: 200, error: 'invalid_argument', error_description: field ? message(lang, 'invalidArgument', { name: field }) : message(lang, 'invalidRequest'), request_id: id })
    }
  }
}

function fieldOf (v: { instancePath?: string, params?: Record<string, unknown> }): string | undefined {
  const path = (v.instancePath ?? '').replace(/^\//, '').split('/')[0]
  return path || (typeof v.params?.missingProperty === 'string' ? v.params.missingProperty : undefined)
}
