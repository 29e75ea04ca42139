// The syncano dialect (seed 003, DESIGN 5.4): social login with an instance API key, X-USER-KEY user endpoints.
import { randomBytes, randomInt } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../../db/index.ts'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { RateLimitedError } from '../../plugins/rate-limit.ts'
import { matchesAny } from '../../plugins/crypto.ts'
import {
  inTransaction, issueSession, resolveSocialLogin, revokeSession, revokeUserSessions, updateUser,
  verifySession, type VerifiedSession, transactionWithRaceRetry } from '../../plugins/identity/index.ts'
import type { Provider } from '../../plugins/providers/types.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import type { InstanceConfig } from '../../plugins/tenant/schema-parts.ts'
import type { TenantContext } from '../../plugins/tenant/context.ts'
import type { SyncanoOptions } from './options.ts'
import {
  ApiKeyHeaders, AuthBody, AuthParams, BadRequest, Detail, InstanceParams, TOKEN_MAX, UserKeyHeaders, UserObject,
  type UserObjectType, UserParams
} from './schemas.ts'

const TAGS = ['syncano']
const USER_KEY_KIND = 'user_key'
const USER_KEY_SHAPE = /^[0-9a-f]{40}$/

/** Every `{"detail": …}` body this dialect sends, with its status. */
export const DETAILS = {
  noApiKey: [403, 'No API key provided.'],
  badApiKey: [403, 'Invalid API key.'],
  noUserKey: [403, 'No user key provided.'],
  badUserKey: [403, 'Invalid user key.'],
  notFound: [404, 'Not found.'],
  badCredentials: [401, 'Invalid username or password.'],
  emailInUse: [400, 'A user with this email address already exists.'],
  unavailable: [503, 'Service temporarily unavailable, try again later.'],
  tooLarge: [413, 'Request body is too large.'],
  serverError: [500, 'A server error occurred.']
} as const satisfies Record<string, readonly [number, string]>

class SyncanoError extends Error {
  constructor (readonly status: number, readonly body: Record<string, unknown>, readonly headers: Record<string, string> = {}) {
    super(typeof body.detail === 'string' ? body.detail : 'invalid')
  }
}
const refuse = (which: keyof typeof DETAILS) => new SyncanoError(DETAILS[which][0], { detail: DETAILS[which][1] })

interface Resolved { instance: InstanceConfig, provider?: Provider, session?: VerifiedSession, userKey?: string }
// Per-request results of the auth hooks; private to this dialect.
const resolved = new WeakMap<FastifyRequest, Resolved>()

export default async function syncano (fastify: FastifyInstance, opts: SyncanoOptions): Promise<void> {
  const tenant: TenantContext = fastify.tenant
  const backends = opts?.backends ?? null
  if (backends) {
    const missing = backends.filter((b) => tenant.providers.get(b) === undefined)
    if (missing.length) throw Object.assign(new Error(`syncano: option backends names unconfigured providers: ${missing.join(', ')}`), { code: 'VST_ERR_SYNCANO_OPTIONS' })
  }

  // Everything under /v1.1 answers in the dialect's envelope, unknown paths included.
  await fastify.register(async (scope) => {
    const app = scope.withTypeProvider<TypeBoxTypeProvider>()

    // DRF reads an empty JSON body as no data (→ "This field is required."), not as a parse error,
    // and parses JSON and forms only (text/plain → 415).
    const defaultJson = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser(['application/json', 'text/plain'])
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      if (typeof body === 'string' && body.trim() === '') { done(null, {}); return }
      defaultJson(req, body as string, done)
    })

    app.setNotFoundHandler((_req, reply) => { send(reply, refuse('notFound')) })
    app.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof SyncanoError) return send(reply, err)
      if (err.validation) {
        if (err.validationContext === 'body') {
          const fields = (req.routeOptions.schema?.body as { properties?: Record<string, unknown>, required?: string[] } | undefined)
          const required = [...fields?.required ?? []]
          // OAuth 1.0a backends also need the secret: report every missing field at once, as DRF does.
          if (resolved.get(req)?.provider?.protocol === 'oauth1') required.push('access_token_secret')
          const problems = bodyErrors(req.body, required, Object.keys(fields?.properties ?? {}))
          return send(reply, new SyncanoError(400, Object.keys(problems).length ? problems : { non_field_errors: ['Invalid data.'] }))
        }
        // Malformed path segments cannot name anything that exists.
        return send(reply, refuse('notFound'))
      }
      const status = err.statusCode ?? 500
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
        return send(reply, new SyncanoError(415, { detail: `Unsupported media type "${mediaType(req.headers['content-type'])}" in request.` }))
      }
      if (status === 413) return send(reply, refuse('tooLarge'))
      // The tenant-wide limit (Retry-After already set), in DRF's throttling words.
      if (err instanceof RateLimitedError) return send(reply, new SyncanoError(429, { detail: err.message }))
      if (status >= 400 && status < 500) {
        req.log.info({ code: err.code }, 'syncano: malformed request')
        // The parser's message describes the syntax error only, never the body.
        return send(reply, new SyncanoError(400, { detail: err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? `JSON parse error - ${err.message}` : 'Malformed request.' }))
      }
      req.log.error({ err }, 'syncano: unexpected error')
      return send(reply, refuse('serverError'))
    })

    // Opt-in (tenant `rateLimits.login`): one counter per tenant and client address, before any key check,
    // so guessing API or user keys is throttled too.
    const limit = tenant.rateLimits.login
    const hooks: Array<(req: FastifyRequest) => Promise<void>> = []
    if (limit) {
      const limiter = app.limiter('syncano:ip', limit, (req) => clientIpKey(req.ip))
      hooks.push(async (req) => {
        const retryAfter = await limiter(req)
        if (retryAfter !== null) {
          throw new SyncanoError(429, { detail: new RateLimitedError(retryAfter).message }, { 'retry-after': String(retryAfter) })
        }
      })
    }

    /** 404 unknown instance, then 403 missing/invalid API key (checked against that instance's keys only). */
    async function apiKey (req: FastifyRequest): Promise<void> {
      const name = (req.params as { instance?: unknown }).instance
      const instance = tenant.instances.find((i) => i.name === name)
      if (!instance) throw refuse('notFound')
      const key = header(req, 'x-api-key')
      if (key === null) throw refuse('noApiKey')
      if (!matchesAny(key, instance.apiKeys)) throw refuse('badApiKey')
      resolved.set(req, { instance })
    }

    async function backend (req: FastifyRequest): Promise<void> {
      const name = String((req.params as { backend?: unknown }).backend)
      const provider = backends === null || backends.includes(name) ? tenant.providers.get(name) : undefined
      if (!provider) throw refuse('notFound')
      resolved.get(req)!.provider = provider
    }

    /** 403 missing/invalid user key; a key is valid only in the tenant and instance it was issued for. */
    async function userKey (req: FastifyRequest): Promise<void> {
      const r = resolved.get(req)!
      const key = header(req, 'x-user-key')
      if (key === null) throw refuse('noUserKey')
      if (!USER_KEY_SHAPE.test(key)) throw refuse('badUserKey')
      const session = await verifySession(tenant.db, tenant.id, [USER_KEY_KIND], key)
      if (!session || session.session.client_id !== r.instance.name) throw refuse('badUserKey')
      r.session = session
      r.userKey = key
    }

    const errors = {
      403: Detail('Missing or invalid API key (or user key).', DETAILS.badApiKey[1]),
      404: Detail('Unknown instance, backend or user.', DETAILS.notFound[1]),
      ...(limit ? { 429: Detail('Too many requests from this address (tenant `rateLimits.login`); see Retry-After.', 'Request was throttled. Expected available in 42 seconds.') } : {}),
      415: Detail('Unsupported body media type.', 'Unsupported media type "text/plain" in request.'),
      500: Detail('Unexpected failure (logged with the request id).', DETAILS.serverError[1])
    }

    app.post('/instances/:instance/user/auth/:backend/', {
      onRequest: [...hooks, apiKey, backend],
      // Ajv would coerce null to "" (then "blank"); DRF says null, so nulls are reported before validation.
      preValidation: async (req) => {
        const body = req.body as Record<string, unknown> | null | undefined
        if (!body || typeof body !== 'object' || Array.isArray(body)) return
        const nulls = Object.fromEntries(['access_token', 'access_token_secret'].filter((f) => body[f] === null).map((f) => [f, ['This field may not be null.']]))
        if (Object.keys(nulls).length) throw new SyncanoError(400, nulls)
      },
      schema: {
        operationId: 'syncanoUserSocialLogin',
        tags: TAGS,
        summary: 'User - social log in: log in (or sign up) with a social backend access token',
        description: 'The provider validates the token; a new user is created on first login. Each login issues a new `user_key` bound to this instance; earlier keys stay valid until reset_key.',
        security: [{ SyncanoApiKey: [] }],
        consumes: JSON_AND_FORM,
        params: AuthParams,
        headers: ApiKeyHeaders,
        body: AuthBody,
        response: {
          200: UserObject,
          400: BadRequest,
          401: Detail('The provider rejected the token.', DETAILS.badCredentials[1]),
          ...errors,
          503: Detail('The provider could not be reached (timeout, 5xx): try again.', DETAILS.unavailable[1])
        }
      }
    }, async (req, reply) => {
      const { instance, provider } = resolved.get(req)!
      const { access_token: accessToken, access_token_secret: secret } = req.body
      if (provider!.protocol === 'oauth1') {
        const problems = bodyErrors(req.body, ['access_token', 'access_token_secret'], ['access_token', 'access_token_secret'])
        if (Object.keys(problems).length) throw new SyncanoError(400, problems)
      }
      const profile = provider!.protocol === 'oauth1'
        ? await provider!.profileFromAccessToken(accessToken, secret!)
        : await provider!.profileFromAccessToken(accessToken)
      if (!profile.ok) {
        req.log.warn({ backend: provider!.name, error: profile.error, detail: profile.detail }, 'syncano: provider refused the token')
        throw refuse(profile.error === 'unavailable' ? 'unavailable' : 'badCredentials')
      }
      // Account, username and user key commit together: a refused outcome writes nothing.
      const result = await transactionWithRaceRetry(tenant.db, async (trx) => {
        const outcome = await resolveSocialLogin(trx, { tenantId: tenant.id, linking: tenant.linking, profile: profile.value })
        if (outcome.kind !== 'login' && outcome.kind !== 'linked' && outcome.kind !== 'created') return outcome.kind
        let user = outcome.user
        if (user.username === null) user = (await updateUser(trx, tenant.id, user.id, { username: generatedUsername() })) ?? user
        const key = newUserKey()
        await issueSession(trx, { tenantId: tenant.id, userId: user.id, kind: USER_KEY_KIND, clientId: instance.name, token: key })
        return { user, key }
      })
      if (typeof result === 'string') {
        req.log.info({ backend: provider!.name, outcome: result }, 'syncano: sign-in refused')
        throw refuse(result === 'email-in-use' ? 'emailInUse' : 'badCredentials')
      }
      return reply.code(200).send(userObject(result.user, instance.name, result.key))
    })

    app.get('/instances/:instance/user/', {
      onRequest: [...hooks, apiKey, userKey],
      schema: {
        operationId: 'syncanoUserDetails',
        tags: TAGS,
        summary: 'User details of the user the X-USER-KEY belongs to',
        security: [{ SyncanoApiKey: [], SyncanoUserKey: [] }],
        params: InstanceParams,
        headers: UserKeyHeaders,
        response: { 200: UserObject, ...errors }
      }
    }, async (req) => {
      const r = resolved.get(req)!
      return userObject(r.session!.user, r.instance.name, r.userKey!)
    })

    app.post('/instances/:instance/users/:id/reset_key/', {
      onRequest: [...hooks, apiKey, userKey],
      schema: {
        operationId: 'syncanoUserResetKey',
        tags: TAGS,
        summary: 'Reset the user key: every user key of this user stops working and a new one is returned',
        security: [{ SyncanoApiKey: [], SyncanoUserKey: [] }],
        consumes: JSON_AND_FORM,
        params: UserParams,
        headers: UserKeyHeaders,
        response: { 200: UserObject, ...errors }
      }
    }, async (req) => {
      const r = resolved.get(req)!
      const user = r.session!.user
      // Another user's id looks exactly like one that does not exist.
      if (req.params.id !== String(user.id)) throw refuse('notFound')
      const key = newUserKey()
      const ok = await inTransaction(tenant.db, async (trx) => {
        // Revoking the presented key first serializes concurrent resets: only one of them gets a new key.
        if (!await revokeSession(trx, tenant.id, r.userKey!)) return false
        await revokeUserSessions(trx, tenant.id, user.id, USER_KEY_KIND)
        await issueSession(trx, { tenantId: tenant.id, userId: user.id, kind: USER_KEY_KIND, clientId: r.instance.name, token: key })
        return true
      })
      if (!ok) throw refuse('badUserKey')
      return userObject(user, r.instance.name, key)
    })
  }, { prefix: '/v1.1' })
}

function send (reply: FastifyReply, err: SyncanoError): FastifyReply {
  return reply.code(err.status).headers(err.headers).type('application/json; charset=utf-8').send(JSON.stringify(err.body))
}

function header (req: FastifyRequest, name: string): string | null {
  const v = req.headers[name]
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s.length > 0 ? s : null
}

function mediaType (ct: string | undefined): string {
  return (ct ?? '').split(';')[0].trim().slice(0, 100)
}

/** DRF's field messages for the string fields of a body; `required` lists those that must be present. */
export function bodyErrors (body: unknown, required: string[], fields: string[]): Record<string, string[]> {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    const kind = Array.isArray(body) ? 'list' : typeof body === 'string' ? 'str' : typeof body === 'boolean' ? 'bool' : Number.isInteger(body) ? 'int' : 'float'
    return { non_field_errors: [`Invalid data. Expected a dictionary, but got ${kind}.`] }
  }
  const data = (body ?? {}) as Record<string, unknown>
  const out: Record<string, string[]> = {}
  for (const f of fields) {
    const v = data[f]
    if (v === undefined) { if (required.includes(f)) out[f] = ['This field is required.']; continue }
    if (v === null) { out[f] = ['This field may not be null.']; continue }
    if (typeof v !== 'string' && typeof v !== 'number') { out[f] = ['Not a valid string.']; continue }
    const s = String(v)
    if (s.trim() === '') out[f] = ['This field may not be blank.']
    else if (s.length > TOKEN_MAX) out[f] = [`Ensure this field has no more than ${TOKEN_MAX} characters.`]
    else if (s.includes('\u0000')) out[f] = ['Null characters are not allowed.']
  }
  return out
}

function newUserKey (): string {
  return randomBytes(20).toString('hex')
}

/** The seed's shape, user_<17 digits>_0; 10^17 random values make a clash within a tenant negligible. */
function generatedUsername (): string {
  let digits = String(randomInt(1, 10))
  for (let i = 0; i < 16; i++) digits += String(randomInt(0, 10))
  return `user_${digits}_0`
}

/** Syncano timestamps carry microseconds: 2015-06-09T14:23:39.090423Z. */
function syncanoTime (d: Date | string): string {
  return new Date(d).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export function userObject (user: User, instance: string, userKey: string): UserObjectType {
  const id = Number(user.id)
  const self = `/v1.1/instances/${instance}/users/${id}/`
  return {
    username: user.username ?? `user_${id}_0`,
    user_key: userKey,
    profile: {
      channel_room: null,
      group: null,
      links: { owner: self },
      group_permissions: 'none',
      created_at: syncanoTime(user.created_at),
      owner_permissions: 'full',
      updated_at: syncanoTime(user.updated_at),
      id,
      avatar: null,
      owner: id,
      other_permissions: 'none',
      channel: null,
      revision: 1
    },
    id,
    links: { self, 'reset-key': `${self}reset_key/`, groups: `${self}groups/` }
  }
}
