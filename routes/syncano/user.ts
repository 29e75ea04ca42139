// Syncano user endpoints (seed 003): details of the X-USER-KEY's user, and reset_key; the user object they answer.
import { randomBytes } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { User } from '../../db/index.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { DETAILS, refuse, resolvedOf, type RouteOptions, USER_KEY_KIND } from './shared.ts'
import { Detail, InstanceParams, UserKeyHeaders, UserObject, type UserObjectType, UserParams } from './schemas.ts'

export const TAGS = ['syncano']

export function errorResponses (rateLimited: boolean) {
  return {
    403: Detail('Missing or invalid API key (or user key).', DETAILS.badApiKey[1]),
    404: Detail('Unknown instance, backend or user.', DETAILS.notFound[1]),
    ...(rateLimited ? { 429: Detail('Too many requests from this address (tenant `rateLimits.login`); see Retry-After.', 'Request was throttled. Expected available in 42 seconds.') } : {}),
    415: Detail('Unsupported body media type.', 'Unsupported media type "text/plain" in request.'),
    500: Detail('Unexpected failure (logged with the request id).', DETAILS.serverError[1])
  }
}

export default async function userRoutes (scope: FastifyInstance, opts: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = scope.tenant
  const errors = errorResponses(opts.rateLimited)

  app.get('/instances/:instance/user/', {
    onRequest: [...opts.limited, opts.apiKey, opts.userKey],
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
    const r = resolvedOf(req)
    return userObject(r.session!.user, r.instance.name, r.userKey!)
  })

  app.post('/instances/:instance/users/:id/reset_key/', {
    onRequest: [...opts.limited, opts.apiKey, opts.userKey],
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
    const r = resolvedOf(req)
    const user = r.session!.user
    // Another user's id looks exactly like one that does not exist.
    if (req.params.id !== String(user.id)) throw refuse('notFound')
    const key = newUserKey()
    const ok = await tenant.identity.transaction(async (tx) => {
      // Revoking the presented key first serializes concurrent resets: only one of them gets a new key.
      if (!await tx.revokeSession(r.userKey!)) return false
      await tx.revokeUserSessions(user.id, USER_KEY_KIND)
      await tx.issueSession({ userId: user.id, kind: USER_KEY_KIND, clientId: r.instance.name, token: key })
      return true
    })
    if (!ok) throw refuse('badUserKey')
    return userObject(user, r.instance.name, key)
  })
}

export function newUserKey (): string {
  return randomBytes(20).toString('hex')
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
