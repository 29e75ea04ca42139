// Django REST framework wire conventions, one family envelope for the dialects whose source APIs are DRF
// apps (rest-social-auth, by-link, syncano): serializer-style field errors (bodies validated once, by
// validateFields, as a DRF serializer of CharFields would), {"detail"} errors, DRF's parsers, TokenAuthentication.
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Session, User } from '../db/index.ts'
import { registerBodyValidator } from './compilers.ts'
import { DialectError, type Answer, type Envelope } from './errors.ts'
import type { BriefSession, SessionKind } from './identity/index.ts'
import { multipartBodies } from './multipart.ts'
import type { ProviderFailure } from './providers/types.ts'
import { SafeString } from './schemas.ts'

export interface FieldSpec {
  name: string
  required?: boolean
  maxLength?: number
  /** Checked as an email address (DRF EmailField). */
  email?: boolean
  /** An empty string is a value (clears the field) rather than "not given". */
  allowBlank?: boolean
  /** null is an error even for an optional field (DRF's allow_null=False), instead of counting as absent. */
  rejectNull?: boolean
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
  loggedOut: 'Successfully logged out.',
  notFound: 'Not found.',
  jsonParse: 'JSON parse error - the body is not valid JSON.',
  multipartParse: 'Multipart form parse error - the body is not valid multipart/form-data.',
  inactive: 'User inactive or deleted.'
}

export type FieldErrors = Record<string, string[]>

const DRF_VALIDATOR = 'drf-fields'

/**
 * The request-body schema of a field list: OpenAPI shows it, and the body is validated once by
 * validateFields (not Ajv), so a bad body gets every DRF field error at once. The handler's req.body is
 * the validated, trimmed values.
 */
export function bodySchema (fields: FieldSpec[], opts: { description?: string, examples?: unknown[] } = {}): TObject {
  const props: Record<string, TSchema> = {}
  for (const f of fields) {
    const s = SafeString({ maxLength: f.maxLength ?? 2048, description: f.description, ...(f.required ? { minLength: 1 } : {}), ...(f.example !== undefined ? { examples: [f.example] } : {}) })
    props[f.name] = f.required ? s : Type.Optional(s)
  }
  return Type.Object(props, {
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.examples ? { examples: opts.examples } : {}),
    'x-vst-validator': DRF_VALIDATOR,
    'x-vst-fields': fields.map(({ description: _d, example: _e, ...rule }) => rule)
  })
}

/** A validation error carrying DRF field errors. */
export class FieldErrorsError extends Error {
  constructor (readonly fieldErrors: Record<string, string[] | string>) { super('invalid fields') }
}

registerBodyValidator(DRF_VALIDATOR, (schema) => {
  const fields = (schema as { 'x-vst-fields'?: FieldSpec[] })['x-vst-fields'] ?? []
  return (data: unknown) => {
    // No body at all is DRF's empty QueryDict: every required field is missing.
    const v = validateFields(fields, data ?? {})
    return v.ok ? { value: v.values } : { error: new FieldErrorsError(v.errors) }
  }
})

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
      if (raw === null && (f.required || f.rejectNull)) errors[f.name] = [MSG.null]
      else if (f.required) errors[f.name] = [MSG.required]
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

/** The body names no provider (django-rest-social-auth's `if not provider_name`: absent, null or ""). Both social
 *  dialects answer it before their serializer runs, each with its upstream's bare 400. */
export function providerMissing (body: unknown): boolean {
  if (body === undefined || body === null) return true
  if (typeof body !== 'object' || Array.isArray(body)) return false
  const p = (body as Record<string, unknown>).provider
  return p === undefined || p === null || p === ''
}

/** Missing-field errors for `names`, in field-list order; null when all are present. */
export function requireFields (fields: FieldSpec[], values: Record<string, string | undefined>, names: string[]): FieldErrors | null {
  const errors: FieldErrors = {}
  for (const f of fields) if (names.includes(f.name) && values[f.name] === undefined) errors[f.name] = [MSG.required]
  return Object.keys(errors).length > 0 ? errors : null
}

// ---- response schemas ----

export const DetailSchema = Type.Object({ detail: Type.String() }, { additionalProperties: false, title: 'DrfDetail', description: 'DRF-style error: `{"detail": "..."}`.' })

/** DRF serializer errors: field name → list of messages (or the seed's bare strings). */
export function fieldErrorsSchema (description: string, examples: unknown[]): TSchema {
  return Type.Object({}, {
    additionalProperties: Type.Union([Type.String(), Type.Array(Type.String())]),
    title: 'DrfFieldErrors',
    description,
    examples
  })
}

// ---- the family envelope ----

export interface DrfEnvelopeOptions {
  /** A provider refused the credentials (each dialect has its own words). */
  invalidCredentials: Answer
  /** The provider could not be reached. */
  unavailable: Answer
  /** Answer unknown paths as `{"detail": "Not found."}` (dialects mounted under their own prefix). */
  notFound?: boolean
  /** Field errors the route adds to a failed body validation (e.g. a field required by the backend the path names). */
  moreFieldErrors?: (req: FastifyRequest, errors: Record<string, string[] | string>) => Record<string, string[] | string>
}

const detail = (status: number, text: string): Answer => ({ status, body: { detail: text } })

export function drfEnvelope (opts: DrfEnvelopeOptions): Envelope {
  return {
    validation ({ context, error }, req) {
      // A path parameter that fails its pattern is a URL that does not exist, as with Django's URL patterns.
      if (context === 'params') return detail(404, DETAIL.notFound)
      if (error instanceof FieldErrorsError) {
        return { status: 400, body: opts.moreFieldErrors ? opts.moreFieldErrors(req, error.fieldErrors) : error.fieldErrors }
      }
      return detail(400, 'Invalid request.')
    },
    unsupportedMediaType: (type) => detail(415, `Unsupported media type "${type}" in request.`),
    bodyTooLarge: () => detail(413, DETAIL.tooLarge),
    malformed (err) {
      if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) return detail(400, DETAIL.jsonParse)
      return detail(err.statusCode === 404 ? 404 : 400, err.statusCode === 404 ? DETAIL.notFound : 'Malformed request.')
    },
    rateLimited: (_seconds, message) => detail(429, message),
    providerFailure: (f: ProviderFailure) => (f.error === 'unavailable' ? opts.unavailable : opts.invalidCredentials),
    internal: () => detail(500, DETAIL.serverError),
    methodNotAllowed: (method) => detail(405, `Method "${method}" not allowed.`),
    // DRF's own words for an inactive user (TokenAuthentication); Django's is_active=False.
    accountDisabled: () => detail(403, DETAIL.inactive),
    ...(opts.notFound ? { notFound: () => detail(404, DETAIL.notFound) } : {})
  }
}

/**
 * DRF's MultiPartParser on this scope (plugins/multipart.ts): fields as the body, files dropped; over 64 KiB is
 * the envelope's 413, a body that is not multipart/form-data `{"detail": "Multipart form parse error - …"}` (400).
 */
export async function drfMultipart (app: FastifyInstance): Promise<void> {
  await multipartBodies(app, { invalid: () => new DialectError({ status: 400, body: { detail: DETAIL.multipartParse } }) })
}

/**
 * DRF's parsers on this scope: JSON and forms only (Fastify's text/plain parser would let a string body
 * through), and an empty JSON body is no data (→ "This field is required."), not a parse error.
 */
export function drfParsers (app: FastifyInstance): void {
  const defaultJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') { done(null, {}); return }
    defaultJson(req, body as string, done)
  })
}

// ---- TokenAuthentication ----

const authenticated = new WeakMap<FastifyRequest, { session: Session, user: User, token: string }>()
const briefly = new WeakMap<FastifyRequest, BriefSession & { token: string }>()

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

/** An onRequest hook (DRF authenticates before it reads the body): 401 + `WWW-Authenticate: Token` on failure.
 *  `optional`: a view with AllowAny, where no header is fine but a bad or stale `Token` is still refused.
 *  `brief`: the route only reads a few user columns (briefAuth(req), not auth(req)): a narrower lookup statement. */
export function tokenAuth (app: FastifyInstance, kinds: readonly SessionKind[], opts: { optional?: boolean, brief?: boolean } = {}) {
  return async function authenticate (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const h = parseTokenHeader(req.headers.authorization)
    const deny = (detail: string) => reply.code(401).header('www-authenticate', 'Token').send({ detail })
    if (h.kind === 'none') return opts.optional ? undefined : deny(DETAIL.notAuthenticated)
    if (h.kind === 'bad') return deny(h.detail)
    if (opts.brief) {
      const found = await app.tenant.identity.verifySessionBrief(kinds, h.token)
      if (!found) return deny(DETAIL.invalidToken)
      briefly.set(req, { ...found, token: h.token })
      return
    }
    const found = await app.tenant.identity.verifySession(kinds, h.token)
    if (!found) return deny(DETAIL.invalidToken)
    authenticated.set(req, { ...found, token: h.token })
  }
}

/** The session a `brief` tokenAuth hook verified, with the user columns of BRIEF_USER_COLUMNS (or a full hook's). */
export function briefAuth (req: FastifyRequest): BriefSession & { token: string } {
  const a = briefly.get(req) ?? authenticated.get(req)
  if (!a) throw new Error('route is missing the tokenAuth hook')
  return a
}

/** The session an authenticated route's onRequest hook verified. */
export function auth (req: FastifyRequest): { session: Session, user: User, token: string } {
  const a = authenticated.get(req)
  if (!a) throw new Error(briefly.has(req) ? 'route verified a brief session: read it with briefAuth(req)' : 'route is missing the tokenAuth hook')
  return a
}
