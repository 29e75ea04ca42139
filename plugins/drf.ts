// Django REST framework wire conventions: serializer-style field errors, {"detail"} errors, TokenAuthentication.
// Shared by the dialects whose source APIs are Django REST framework apps (rest-social-auth, by-link).
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Session, User } from '../db/index.ts'
import { verifySession, type SessionKind } from './identity/index.ts'
import { SafeString } from './schemas.ts'

export interface FieldSpec {
  name: string
  required?: boolean
  maxLength?: number
  /** Checked as an email address (DRF EmailField). */
  email?: boolean
  /** An empty string is a value (clears the field) rather than "not given". */
  allowBlank?: boolean
  description: string
  example?: string
}

export const MSG = {
  required: 'This field is required.',
  null: 'This field may not be null.',
  blank: 'This field may not be blank.',
  string: 'Not a valid string.',
  nul: 'Null characters are not allowed.',
  email: 'Enter a valid email address.',
  url: 'Enter a valid URL.',
  max: (n: number) => `Ensure this field has no more than ${n} characters.`
}

export const DETAIL = {
  notAuthenticated: 'Authentication credentials were not provided.',
  invalidToken: 'Invalid token.',
  noCredentials: 'Invalid token header. No credentials provided.',
  spaces: 'Invalid token header. Token string should not contain spaces.',
  serverError: 'A server error occurred.',
  tooLarge: 'Request body is too large.',
  loggedOut: 'Successfully logged out.'
}

export type FieldErrors = Record<string, string[]>

/** The request-body TypeBox schema of a field list (what Ajv checks first and OpenAPI shows). */
export function bodySchema (fields: FieldSpec[], opts: { description?: string, examples?: unknown[] } = {}): TObject {
  const props: Record<string, TSchema> = {}
  for (const f of fields) {
    const s = SafeString({ maxLength: f.maxLength ?? 2048, description: f.description, ...(f.required ? { minLength: 1 } : {}), ...(f.example !== undefined ? { examples: [f.example] } : {}) })
    props[f.name] = f.required ? s : Type.Optional(s)
  }
  return Type.Object(props, { ...(opts.description ? { description: opts.description } : {}), ...(opts.examples ? { examples: opts.examples } : {}) })
}

// Django's EmailValidator, ASCII part: dot-atom local part, a domain of LDH labels with a dot.
const EMAIL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/
export function isEmail (s: string): boolean {
  return s.length <= 254 && EMAIL_RE.test(s)
}

function pythonType (v: unknown): string {
  if (v === null) return 'NoneType'
  if (Array.isArray(v)) return 'list'
  if (typeof v === 'string') return 'str'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float'
  return typeof v
}

export type Validated = { ok: true, values: Record<string, string | undefined> } | { ok: false, errors: Record<string, string[] | string> }

/**
 * Validates a body the way a DRF serializer of CharFields would: every field checked, all errors
 * returned together in field order; strings trimmed. Optional fields that are blank or null count as absent.
 */
export function validateFields (fields: FieldSpec[], body: unknown): Validated {
  if (body === undefined) body = {}
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(body)}.`] } }
  }
  const data = body as Record<string, unknown>
  const values: Record<string, string | undefined> = {}
  const errors: FieldErrors = {}
  for (const f of fields) {
    const raw = Object.prototype.hasOwnProperty.call(data, f.name) ? data[f.name] : undefined
    if (raw === undefined || raw === null) {
      if (f.required) errors[f.name] = [raw === null ? MSG.null : MSG.required]
      continue
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') { errors[f.name] = [MSG.string]; continue }
    const value = String(raw).trim()
    if (value === '' && !f.allowBlank) {
      if (f.required) errors[f.name] = [MSG.blank]
      continue
    }
    const problems: string[] = []
    const max = f.maxLength ?? 2048
    if (f.email && value !== '' && !isEmail(value)) problems.push(MSG.email)
    if (value.length > max) problems.push(MSG.max(max))
    if (value.includes('\u0000')) problems.push(MSG.nul)
    if (problems.length > 0) errors[f.name] = problems
    else values[f.name] = value
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, values }
}

/** Missing-field errors for `names`, in field-list order; null when all are present. */
export function requireFields (fields: FieldSpec[], values: Record<string, string | undefined>, names: string[]): FieldErrors | null {
  const errors: FieldErrors = {}
  for (const f of fields) if (names.includes(f.name) && values[f.name] === undefined) errors[f.name] = [MSG.required]
  return Object.keys(errors).length > 0 ? errors : null
}

// ---- response schemas ----

export const DetailSchema = Type.Object({ detail: Type.String() }, { additionalProperties: false, description: 'DRF-style error: `{"detail": "..."}`.' })

/** DRF serializer errors: field name → list of messages (or the seed's bare strings). */
export function fieldErrorsSchema (description: string, examples: unknown[]): TSchema {
  return Type.Object({}, {
    additionalProperties: Type.Union([Type.String(), Type.Array(Type.String())]),
    description,
    examples
  })
}

// ---- error handler ----

const rawBodies = new WeakMap<FastifyRequest, Record<string, unknown>>()

/** The body as parsed, before Ajv's coercion: what validateFields should judge. */
export function rawBody (req: FastifyRequest): unknown {
  return rawBodies.get(req) ?? req.body
}

interface HttpError { statusCode?: number, code?: string, validation?: unknown, validationContext?: string, message?: string }

/**
 * The dialect's error envelope for everything Fastify or a hook throws: validation (re-run as DRF
 * field errors so every bad field is listed), media type, JSON syntax, body size, rate limits, crashes.
 */
export function installErrorHandler (app: FastifyInstance, fieldsOf: (req: FastifyRequest) => FieldSpec[] | undefined): void {
  // DRF parses JSON and forms only; Fastify's built-in text/plain parser would let a string body through.
  if (app.hasContentTypeParser('text/plain')) app.removeContentTypeParser('text/plain')
  // Ajv coerces in place (null → "", 1 → "1"); keep what the client sent so field errors describe it.
  app.addHook('preValidation', async (req) => {
    const b = req.body
    if (b !== null && typeof b === 'object' && !Array.isArray(b)) rawBodies.set(req, { ...(b as Record<string, unknown>) })
  })
  app.setErrorHandler((err: HttpError, req, reply) => {
    const status = err.statusCode ?? 500
    // A path parameter that fails its pattern is a URL that does not exist, as with Django's URL patterns.
    if (err.validation && err.validationContext === 'params') return reply.code(404).send({ detail: 'Not found.' })
    if (err.validation || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      const fields = fieldsOf(req)
      const body = err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? {} : rawBody(req)
      const v = fields ? validateFields(fields, body) : undefined
      if (v && !v.ok) return reply.code(400).send(v.errors)
      if (v && v.ok) return reply.code(400).send({ non_field_errors: ['Invalid data.'] })
      return reply.code(400).send({ detail: 'Invalid request.' })
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const type = String(req.headers['content-type'] ?? '').split(';')[0].trim()
      return reply.code(415).send({ detail: `Unsupported media type "${type}" in request.` })
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (status === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send({ detail: 'JSON parse error - the body is not valid JSON.' })
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ detail: DETAIL.tooLarge })
    if (status === 429) return reply.code(429).send({ detail: err.message ?? 'Request was throttled.' })
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ detail: status === 404 ? 'Not found.' : 'Malformed request.' })
    }
    req.log.error({ err }, 'unexpected error')
    return reply.code(500).send({ detail: DETAIL.serverError })
  })
}

// ---- TokenAuthentication ----

const authenticated = new WeakMap<FastifyRequest, { session: Session, user: User, token: string }>()

export type TokenHeader = { kind: 'none' } | { kind: 'bad', detail: string } | { kind: 'token', token: string }

/** Reads `Authorization: Token <key>` exactly as DRF's TokenAuthentication does. */
export function parseTokenHeader (header: string | string[] | undefined): TokenHeader {
  if (typeof header !== 'string') return { kind: 'none' }
  const parts = header.split(/\s+/).filter((p) => p.length > 0)
  if (parts.length === 0 || parts[0].toLowerCase() !== 'token') return { kind: 'none' }
  if (parts.length === 1) return { kind: 'bad', detail: DETAIL.noCredentials }
  if (parts.length > 2) return { kind: 'bad', detail: DETAIL.spaces }
  return { kind: 'token', token: parts[1] }
}

/** An onRequest hook (DRF authenticates before it reads the body): 401 + `WWW-Authenticate: Token` on failure. */
export function tokenAuth (app: FastifyInstance, kinds: readonly SessionKind[]) {
  return async function authenticate (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const h = parseTokenHeader(req.headers.authorization)
    const deny = (detail: string) => reply.code(401).header('www-authenticate', 'Token').send({ detail })
    if (h.kind === 'none') return deny(DETAIL.notAuthenticated)
    if (h.kind === 'bad') return deny(h.detail)
    const found = await verifySession(app.tenant.db, app.tenant.id, kinds, h.token)
    if (!found) return deny(DETAIL.invalidToken)
    authenticated.set(req, { ...found, token: h.token })
  }
}

/** The session an authenticated route's onRequest hook verified. */
export function auth (req: FastifyRequest): { session: Session, user: User, token: string } {
  const a = authenticated.get(req)
  if (!a) throw new Error('route is missing the tokenAuth hook')
  return a
}
