// The capture dialect (seed 004, Janrain Capture + Social Login): form-only bodies, its own error envelopes.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { installEnvelope, type Answer, type Envelope } from '../../plugins/errors.ts'
import { multipartBodies } from '../../plugins/multipart.ts'
import { CaptureError, EngageError, OAuthError, rateLimited, requestId } from './errors.ts'
import { errorLang, message } from './messages.ts'
import nativeRoutes from './native.ts'
import profileRoutes from './profile.ts'
import refreshRoutes from './refresh.ts'
import type { CaptureOptions } from './options.ts'
import socialLoginRoutes from './social-login.ts'
import tokenRoutes from './token.ts'
import traditionalRoutes from './traditional.ts'
import { routeGroups } from '../../plugins/plugin-name.ts'

type Body = 'capture' | 'oauth' | 'engage' | 'engage-page'

routeGroups(nativeRoutes, traditionalRoutes, tokenRoutes, refreshRoutes, profileRoutes, socialLoginRoutes)

export default async function captureDialect (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  // Form, multipart (@fastify/multipart through the shared hook) and JSON bodies. The WordPress janrain_capture
  // module (janrain_capture_api.php `call`) labels its form-encoded body `Content-Type: application/json`: a JSON
  // body that is not an object literal is read as a form. Any other content type is read as an empty body.
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, raw, done) => {
    const text = String(raw).trim()
    if (!text.startsWith('{')) { done(null, Object.fromEntries(new URLSearchParams(text))); return }
    try {
      const parsed = JSON.parse(text) as unknown
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
      // Capture arguments are strings: numbers and booleans are read as their text, anything else is refused.
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(parsed)) {
        if (typeof v === 'string') out[k] = v
        else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v)
        else throw Object.assign(new Error(`invalid argument: ${k}`), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_CONTENT' })
      }
      done(null, out)
    } catch (err) {
      done(Object.assign(err as Error, { statusCode: 400 }), undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => { done(null, {}) })
  await multipartBodies(app, { invalid: () => CaptureError.of(200, 'invalid_argument', 'invalidRequest') })
  // jump.ios (JRCaptureData.m captureTokenUrlWithMergeToken, posted by JRSessionData.m startMakeCallToTokenUrl) sends
  // every argument of /oauth/auth_native in the query string with an empty POST body: a POST reads the query string
  // too, and an argument in both places takes the body's value.
  app.addHook('preValidation', async (req) => {
    if (req.method !== 'POST') return
    const body = (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)) ? req.body as Record<string, unknown> : {}
    const query: Record<string, string> = {}
    for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
      const last = Array.isArray(v) ? v[v.length - 1] : v
      if (typeof last === 'string') query[k] = last
    }
    req.body = { ...query, ...body }
  })

  installEnvelope(app, captureEnvelope(app))

  await app.register(nativeRoutes, opts)
  await app.register(traditionalRoutes, opts)
  await app.register(tokenRoutes, opts)
  await app.register(refreshRoutes, opts)
  await app.register(profileRoutes, opts)
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
      case 'oauth': {
        const err = unexpected ? new OAuthError('server_error', 'unexpected error', 500) : field ? OAuthError.invalid(field) : new OAuthError('invalid_request', 'invalid request')
        return { status: err.status, body: err.render() }
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
            : { stat: 'error', code: 200, error: 'invalid_argument', error_description: field ? message(l, 'invalidArgument', { name: field }) : message(l, 'invalidRequest'), ...(field ? { argument_name: field } : {}), request_id: id }
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
      if (envelope === 'oauth') return { status: 429, body: { stat: 'error', code: 510, error: 'rate_limited', error_description: msg, request_id: requestId() } }
      if (envelope === 'engage' || envelope === 'engage-page') return { status: 429, body: { stat: 'fail', err: { code: -1, msg } } }
      return captureAnswer(rateLimited(retryAfter), req)
    },
    providerFailure: (_f, req) => fault(req, true),
    internal: (req) => fault(req, true),
    // A blocked account: Capture's permission error (the 400s are its authentication and permission codes);
    // at /oauth/token the OAuth error for a grant that no longer holds.
    accountDisabled (req) {
      const envelope = bodyOf(req)
      if (envelope === 'oauth') return { status: 400, body: new OAuthError('invalid_grant', 'the account is disabled', 403).render() }
      if (envelope === 'engage' || envelope === 'engage-page') return fault(req, false)
      return captureAnswer(new CaptureError(403, 'permission_error', (l) => (l === 'fr-FR' ? 'Ce compte est désactivé.' : 'This account is disabled.')), req)
    },
    render (err, req) {
      if (err instanceof CaptureError) return captureAnswer(err, req)
      if (err instanceof OAuthError) {
        const headers: Record<string, string> = err.status === 401 && req.headers.authorization?.toLowerCase().startsWith('basic ') ? { 'www-authenticate': 'Basic realm="capture"' } : {}
        const body = err.render()
        req.log.info({ request_id: body.request_id, code: err.captureCode }, 'capture: error answer')
        return { status: err.status, headers, body }
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
