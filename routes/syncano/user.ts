// Syncano user endpoints (seed 003; the platform's apps/users/v1/views.py): the X-USER-KEY's own user at
// /user/ (UserAccountView: GET, PUT, PATCH) and /users/:id/ (UserViewSet, filtered to that user), and
// reset_key; the user object they answer.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { User } from '../../db/index.ts'
import { hashPassword, randomHex } from '../../plugins/crypto.ts'
import { MSG, validateFields, type FieldErrors } from '../../plugins/drf.ts'
import { DialectError } from '../../plugins/errors.ts'
import type { UserFields } from '../../plugins/identity/index.ts'
import { bodyOf, isFormBody } from './parsers.ts'
import { DETAILS, refuse, registerResource, resolvedOf, type RouteOptions, USER_KEY_KIND } from './shared.ts'
import {
  Detail, InstanceParams, SYNCANO_BODIES, UPDATE_FIELDS, UpdateBadRequest, UpdateBody, UserKeyHeaders, UserObject, type UserObjectType, UserParams
} from './schemas.ts'

export const TAGS = ['syncano']
const SECURITY = [{ SyncanoApiKey: [], SyncanoUserKey: [] }]
const UNIQUE = 'This field must be unique.'

export function errorResponses (rateLimited: boolean) {
  return {
    403: Detail('No API key, an API key that is not this instance\'s (`No such API Key.`), or (user endpoints) no valid user key.', DETAILS.permissionDenied[1]),
    404: Detail('Unknown instance (`Instance was not found.`), or an id that is not the user key\'s user.', DETAILS.instanceNotFound[1]),
    405: Detail('A method this URL does not serve; the Allow header lists those it does.', 'Method "DELETE" not allowed.'),
    ...(rateLimited ? { 429: Detail('Too many requests from this address (tenant `rateLimits.login`); see Retry-After.', 'Request was throttled. Expected available in 42 seconds.') } : {}),
    413: Detail('Body over 64 KiB.', DETAILS.tooLarge[1]),
    415: Detail('Unsupported body media type.', 'Unsupported media type "application/xml" in request.'),
    500: Detail('Unexpected failure (logged with the request id).', DETAILS.serverError[1])
  }
}

/**
 * The platform's UserSerializer, as PUT (every writable field required) or PATCH (partial) validates it:
 * all field errors at once; fields present in a PATCH are checked as strictly as in a PUT.
 */
function validateUpdate (req: FastifyRequest, partial: boolean): { ok: true, username?: string, password?: string } | { ok: false, errors: FieldErrors | Record<string, unknown> } {
  const body = bodyOf(req)
  const present = (name: string) => body !== null && typeof body === 'object' && Object.prototype.hasOwnProperty.call(body, name)
  const specs = UPDATE_FIELDS.filter((f) => !partial || present(f.name)).map((f) => ({ ...f, required: true }))
  const v = validateFields(specs, body)
  const errors: Record<string, unknown> = v.ok ? {} : { ...v.errors }
  if (!v.ok && errors.non_field_errors) return { ok: false, errors }
  // Form bodies name nested fields `profile.<field>`, which address profile fields this deployment does not keep.
  if (present('profile') && !isFormBody(req)) {
    const profile = (body as Record<string, unknown>).profile
    if (profile === null) errors.profile = [MSG.null]
    else {
      const p = validateFields([], profile)
      if (!p.ok) errors.profile = p.errors
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  const values = v.ok ? v.values : {}
  return { ok: true, username: values.username, password: values.password }
}

export default async function userRoutes (scope: FastifyInstance, opts: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = scope.tenant
  const errors = errorResponses(opts.rateLimited)
  const hooks = { onRequest: opts.head, preHandler: [opts.apiKey, opts.userKey] }

  const details = async (req: FastifyRequest) => {
    const r = resolvedOf(req)
    return userObject(r.session!.user, r.instance.name, r.userKey!)
  }

  /** PUT / PATCH (RetrieveUpdateAPIView): every write goes through the identity core's updateProfile. */
  const update = (partial: boolean) => async (req: FastifyRequest) => {
    const r = resolvedOf(req)
    const user = r.session!.user
    const v = validateUpdate(req, partial)
    if (!v.ok) throw new DialectError({ status: 400, body: v.errors })
    const fields: UserFields = {}
    const taken = () => new DialectError({ status: 400, body: { username: [UNIQUE] } })
    if (v.username !== undefined) {
      // LowercaseCharField, UniqueValidator.
      const username = v.username.toLowerCase()
      const holder = await tenant.identity.findUserByUsername(username)
      if (holder && holder.id !== user.id) throw taken()
      fields.username = username
    }
    if (v.password !== undefined) fields.password_hash = await hashPassword(v.password)
    // Syncano's user has no email field, so this never changes the account's email (see docs/syncano.md).
    const outcome = await tenant.identity.updateProfile(user.id, fields)
    // The only unique value written here is the username: a concurrent update took it first.
    if (outcome.kind !== 'updated') throw taken()
    return userObject(outcome.user, r.instance.name, r.userKey!)
  }

  const updateSchema = (operationId: string, summary: string) => ({
    operationId,
    tags: TAGS,
    summary,
    security: SECURITY,
    consumes: SYNCANO_BODIES,
    headers: UserKeyHeaders,
    body: UpdateBody,
    response: { 200: UserObject, 400: UpdateBadRequest, ...errors }
  })

  registerResource(app, {
    url: '/instances/:instance/user/',
    ...hooks,
    methods: {
      GET: {
        schema: { operationId: 'syncanoUserDetails', tags: TAGS, summary: 'User details of the user the X-USER-KEY belongs to', security: SECURITY, params: InstanceParams, headers: UserKeyHeaders, response: { 200: UserObject, ...errors } },
        handler: details
      },
      PUT: { schema: { ...updateSchema('syncanoUserReplace', 'Update your own user: username and password both required'), params: InstanceParams }, handler: update(false) },
      PATCH: { schema: { ...updateSchema('syncanoUserUpdate', 'Update your own user: any of username, password'), params: InstanceParams }, handler: update(true) }
    }
  })

  // The platform's UserViewSet detail, as a user key sees it: its queryset is the key's own user, and the
  // API key's permissions (read, update) refuse DELETE before the view is asked.
  const own = (then: (req: FastifyRequest) => Promise<unknown>) => async (req: FastifyRequest) => {
    if ((req.params as { id: string }).id !== String(resolvedOf(req).session!.user.id)) throw refuse('notFound')
    return then(req)
  }
  registerResource(app, {
    url: '/instances/:instance/users/:id/',
    ...hooks,
    denied: ['DELETE'],
    methods: {
      GET: {
        schema: { operationId: 'syncanoUserGet', tags: TAGS, summary: 'The X-USER-KEY\'s own user by id (another id: 404)', security: SECURITY, params: UserParams, headers: UserKeyHeaders, response: { 200: UserObject, ...errors } },
        handler: own(details)
      },
      PUT: { schema: { ...updateSchema('syncanoUserReplaceById', 'Update your own user by id (syncano-android updateUser); username and password required'), params: UserParams }, handler: own(update(false)) },
      PATCH: { schema: { ...updateSchema('syncanoUserUpdateById', 'Update your own user by id (syncano-android updateUser)'), params: UserParams }, handler: own(update(true)) }
    }
  })

  registerResource(app, {
    url: '/instances/:instance/users/:id/reset_key/',
    ...hooks,
    denied: ['DELETE'],
    methods: {
      POST: {
        schema: {
          operationId: 'syncanoUserResetKey',
          tags: TAGS,
          summary: 'Reset the user key: every user key of this user stops working and a new one is returned',
          security: SECURITY,
          consumes: SYNCANO_BODIES,
          params: UserParams,
          headers: UserKeyHeaders,
          response: { 200: UserObject, ...errors }
        },
        handler: own(async (req) => {
          const r = resolvedOf(req)
          const user = r.session!.user
          const key = newUserKey()
          const ok = await tenant.identity.transaction(async (tx) => {
            // Revoking the presented key first serializes concurrent resets: only one of them gets a new key.
            if (!await tx.revokeSession(r.userKey!)) return false
            await tx.revokeUserSessions(user.id, USER_KEY_KIND)
            await tx.issueSession({ userId: user.id, kind: USER_KEY_KIND, clientId: r.instance.name, token: key })
            return true
          })
          if (!ok) throw refuse('permissionDenied')
          return userObject(user, r.instance.name, key)
        })
      }
    }
  })
}

export function newUserKey (): string {
  return randomHex(20)
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
