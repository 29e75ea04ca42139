// One error-envelope installer. Each dialect declares its envelope once (how it answers validation,
// unsupported media types, oversized bodies, throttling, unknown routes, disallowed methods, provider
// failures and its own faults); installEnvelope maps Fastify's errors and the house's typed errors onto
// it, so no dialect re-maps framework codes itself. Public text and logged detail stay apart: a 5xx
// answer never carries the error, the log line carries it with the request id.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AccountDisabledError } from './identity/tenant-identity.ts'
import type { ProviderFailure } from './providers/types.ts'
import { RateLimitedError } from './rate-limit.ts'

/** What a dialect answers: a status, a body (object → JSON, string → as is, absent → empty), headers, or a redirect. */
export interface Answer {
  status: number
  body?: unknown
  headers?: Record<string, string>
  /** 302 (or `status`, when 3xx) to this URL instead of a body. */
  redirect?: string
  /** Content type of a string body (default text/plain). */
  type?: string
}

/** An answer a handler or hook throws when it has decided the response (the dialect's own refusals). */
export class DialectError extends Error {
  constructor (readonly answer: Answer) {
    super(`dialect answer ${answer.status}`)
  }
}

/** A provider refused or could not be reached; the dialect's envelope decides the words. */
export class ProviderFailureError extends Error {
  constructor (readonly failure: ProviderFailure, readonly provider?: string) {
    super(failure.detail)
  }
}

/** Throws the failure of a provider result as a ProviderFailureError; hands back its value otherwise. */
export function unwrapProvider<T> (result: { ok: true, value: T } | ProviderFailure, provider?: string): T {
  if (!result.ok) throw new ProviderFailureError(result, provider)
  return result.value
}

export interface ValidationFailure {
  /** body, querystring, params or headers */
  context: string
  /** Ajv's errors, or what a custom validator attached. */
  error: FastifyError & { validation?: unknown, validationContext?: string, [k: string]: unknown }
}

export interface Envelope {
  validation (failure: ValidationFailure, req: FastifyRequest): Answer
  unsupportedMediaType (mediaType: string, req: FastifyRequest): Answer
  bodyTooLarge (req: FastifyRequest): Answer
  /** A body that does not parse, or another client error Fastify raised. */
  malformed (err: FastifyError, req: FastifyRequest): Answer
  /** Over a limit; Retry-After is set by the installer. */
  rateLimited (retryAfter: number, message: string, req: FastifyRequest): Answer
  providerFailure (failure: ProviderFailure, req: FastifyRequest): Answer
  internal (req: FastifyRequest): Answer
  /** Unknown routes: only for dialects mounted under a prefix of their own (the tenant answers the rest). */
  notFound? (req: FastifyRequest): Answer
  /** A known path with another method (see refuseOtherMethods; the Allow header is set by the installer). */
  methodNotAllowed? (method: string, allow: string[], req: FastifyRequest): Answer
  /** A blocked account signed in (AccountDisabledError from the identity core). Default: 403 {error: "account_disabled"}. */
  accountDisabled? (req: FastifyRequest): Answer
  /** The dialect's own error classes, rendered; undefined when `err` is not one of them. */
  render? (err: unknown, req: FastifyRequest): Answer | undefined
}

export function send (reply: FastifyReply, a: Answer): FastifyReply {
  if (a.headers) reply.headers(a.headers)
  if (a.redirect !== undefined) return reply.redirect(a.redirect, a.status >= 300 && a.status < 400 ? a.status : 302)
  reply.code(a.status)
  if (a.body === undefined) return reply.send()
  if (typeof a.body === 'string') return reply.type(a.type ?? 'text/plain; charset=utf-8').send(a.body)
  // Serialized here, not by the route's response schema: error bodies leave exactly as the envelope says.
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(a.body))
}

export function mediaTypeOf (req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().slice(0, 100)
}

/** The answer for any error thrown in this scope, per the envelope. */
export function answerFor (envelope: Envelope, err: unknown, req: FastifyRequest): Answer {
  if (err instanceof DialectError) return err.answer
  const own = envelope.render?.(err, req)
  if (own) return own
  if (err instanceof ProviderFailureError) {
    const f = err.failure
    if (f.error === 'unavailable') req.log.warn({ provider: err.provider, detail: f.detail }, 'provider unavailable')
    else req.log.info({ provider: err.provider, detail: f.detail }, 'provider refused the credentials')
    return envelope.providerFailure(f, req)
  }
  if (err instanceof AccountDisabledError) {
    req.log.info('sign-in refused: the account is disabled')
    return envelope.accountDisabled?.(req) ?? { status: 403, body: { error: 'account_disabled', message: 'This account is disabled.' } }
  }
  if (err instanceof MethodNotAllowedError) {
    const a = envelope.methodNotAllowed?.(err.method, err.allow, req) ?? envelope.malformed(err as unknown as FastifyError, req)
    return { ...a, headers: { allow: err.allow.join(', '), ...a.headers } }
  }
  if (err instanceof RateLimitedError) {
    const a = envelope.rateLimited(err.retryAfter, err.message, req)
    return { ...a, headers: { 'retry-after': String(err.retryAfter), ...a.headers } }
  }
  const e = err as FastifyError & { validationContext?: string }
  const status = e.statusCode ?? 500
  if (e.code === 'FST_ERR_VALIDATION' || (e as { validation?: unknown }).validation) {
    return envelope.validation({ context: e.validationContext ?? 'body', error: e as ValidationFailure['error'] }, req)
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) return envelope.unsupportedMediaType(mediaTypeOf(req), req)
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) return envelope.bodyTooLarge(req)
  if (status >= 400 && status < 500) {
    req.log.info({ code: e.code }, 'malformed request')
    return envelope.malformed(e, req)
  }
  req.log.error({ err }, 'unexpected error')
  return envelope.internal(req)
}

/**
 * Installs the envelope on this (encapsulated) scope: its error handler, and its not-found handler
 * when the envelope has one (the scope must have a prefix of its own).
 */
export function installEnvelope (app: FastifyInstance, envelope: Envelope): void {
  app.setErrorHandler((err, req, reply) => send(reply, answerFor(envelope, err, req)))
  if (envelope.notFound) {
    const notFound = envelope.notFound.bind(envelope)
    app.setNotFoundHandler((req, reply) => send(reply, notFound(req)))
  }
}

/** Registers `url` for every method but `allowed`, answering the envelope's 405 with an Allow header. */
export function refuseOtherMethods (app: FastifyInstance, url: string, allowed: string[]): void {
  const others = ['DELETE', 'PATCH', 'POST', 'PUT', 'GET'].filter((m) => !allowed.includes(m))
  app.route({
    method: others as ['GET'],
    url,
    schema: { hide: true } as Record<string, unknown>,
    handler: async (req) => { throw new MethodNotAllowedError(req.method, allowed) }
  })
}

export class MethodNotAllowedError extends Error {
  readonly statusCode = 405
  constructor (readonly method: string, readonly allow: string[]) {
    super(`Method "${method}" not allowed.`)
  }
}
