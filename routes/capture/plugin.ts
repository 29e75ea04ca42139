// The capture dialect (seed 004, Janrain Capture + Social Login): form-only bodies, its own error envelopes.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { installEnvelope, type Answer, type Envelope } from '../../plugins/errors.ts'
import { CaptureError, EngageError, OAuthError, rateLimited, requestId } from './errors.ts'
import { errorLang, message } from './messages.ts'
import nativeRoutes from './native.ts'
import type { CaptureOptions } from './options.ts'
import socialLoginRoutes from './social-login.ts'
import tokenRoutes from './token.ts'
import traditionalRoutes from './traditional.ts'

type Body = 'capture' | 'oauth' | 'engage' | 'engage-page'

export default async function captureDialect (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  // Janrain reads form bodies only: any other content type (JSON included) is read as an empty body, so its
  // arguments are "missing" exactly as query-string arguments are.
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => { done(null, {}) })
  app.addHook('preValidation', async (req) => {
    if (req.method === 'POST' && (req.body === undefined || req.body === null)) req.body = {}
  })

  installEnvelope(app, captureEnvelope(app))

  await app.register(nativeRoutes, opts)
  await app.register(traditionalRoutes, opts)
  await app.register(tokenRoutes, opts)
  await app.register(socialLoginRoutes, opts)
}

const bodyOf = (req: FastifyRequest): Body => ((req.routeOptions.config as { envelope?: Body } | undefined)?.envelope) ?? 'capture'

/** The Capture envelope: each route names its body (capture API, OAuth token, Engage, Engage page) in its config. */
function captureEnvelope (app: FastifyInstance): Envelope {
  const lang = (req: FastifyRequest) => errorLang(app.tenant, (req.body as { locale?: unknown } | undefined)?.locale)
  const captureAnswer = (err: CaptureError, req: FastifyRequest): Answer => {
    const body = err.render(lang(req))
    req.log.info({ request_id: body.request_id, code: err.code }, 'capture: error answer')
    return { status: 200, body }
  }
  // Framework errors: validation, body too large, anything unexpected. Details stay in the log.
  const fault = (req: FastifyRequest, unexpected: boolean, field?: string): Answer => {
    const envelope = bodyOf(req)
    if (!unexpected) req.log.info({ field }, 'capture: bad request')
    switch (envelope) {
      case 'oauth':
        return {
          status: unexpected ? 500 : 400,
          body: unexpected
            ? { error: 'server_error', error_description: 'unexpected error' }
            : { error: 'invalid_request', error_description: field ? `invalid ${field}` : 'invalid request' }
        }
      case 'engage':
      case 'engage-page':
        return { status: envelope === 'engage' ? 200 : unexpected ? 500 : 400, body: { stat: 'fail', err: unexpected ? { code: -1, msg: 'Service Temporarily Unavailable' } : { code: 1, msg: field ? `Invalid parameter: ${field}` : 'Invalid parameter' } } }
      default: {
        const l = lang(req)
        const id = requestId()
        req.log.info({ request_id: id }, 'capture: error answer')
        return {
          status: 200,
          body: unexpected
            ? { stat: 'error', code: 500, error: 'unexpected_error', error_description: message(l, 'unexpected'), request_id: id }
            : { stat: 'error', code: 200, error: 'invalid_argument', error_description: field ? message(l, 'invalidArgument', { name: field }) : message(l, 'invalidRequest'), request_id: id }
        }
      }
    }
  }
  return {
    validation: ({ error }, req) => fault(req, false, error.validation && Array.isArray(error.validation) && error.validation[0] ? fieldOf(error.validation[0]) : undefined),
    unsupportedMediaType: (_t, req) => fault(req, false),
    bodyTooLarge: (req) => fault(req, false),
    malformed: (_err: FastifyError, req) => fault(req, false),
    rateLimited (retryAfter, msg, req) {
      // In the envelope of the route it hit (the installer sets Retry-After).
      const envelope = bodyOf(req)
      if (envelope === 'oauth') return { status: 429, body: { error: 'rate_limited', error_description: msg } }
      if (envelope === 'engage' || envelope === 'engage-page') return { status: 429, body: { stat: 'fail', err: { code: -1, msg } } }
      return captureAnswer(rateLimited(retryAfter), req)
    },
    providerFailure: (_f, req) => fault(req, true),
    internal: (req) => fault(req, true),
    // A blocked account: Capture's permission error (the 400s are its authentication and permission codes);
    // at /oauth/token the OAuth error for a grant that no longer holds.
    accountDisabled (req) {
      const envelope = bodyOf(req)
      if (envelope === 'oauth') return { status: 400, body: { error: 'invalid_grant', error_description: 'the account is disabled' } }
      if (envelope === 'engage' || envelope === 'engage-page') return fault(req, false)
      return captureAnswer(new CaptureError(403, 'permission_error', (l) => (l === 'fr-FR' ? 'Ce compte est désactivé.' : 'This account is disabled.')), req)
    },
    render (err, req) {
      if (err instanceof CaptureError) return captureAnswer(err, req)
      if (err instanceof OAuthError) {
        const headers: Record<string, string> = err.status === 401 && req.headers.authorization?.toLowerCase().startsWith('basic ') ? { 'www-authenticate': 'Basic realm="capture"' } : {}
        return { status: err.status, headers, body: { error: err.error, error_description: err.description } }
      }
      if (err instanceof EngageError) return { status: err.status, body: { stat: 'fail', err: { code: err.code, msg: err.msg } } }
      return undefined
    }
  }
}

function fieldOf (v: { instancePath?: string, params?: Record<string, unknown> }): string | undefined {
  const path = (v.instancePath ?? '').replace(/^\//, '').split('/')[0]
  return path || (typeof v.params?.missingProperty === 'string' ? v.params.missingProperty : undefined)
}
