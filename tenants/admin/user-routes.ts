// /admin/v1/tenants/:id/users (find, read, block, unblock, revoke sessions, erase, export) and /events.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { actorOf as actor, decodeCursor, encodeCursor, type AdminContext } from './context.ts'
import { AdminError, notFound } from './errors.ts'
import {
  Blocked, Erased, errorResponses, EventList, EventQuery, Revoked, SessionRef, TenantParams, UserDetail, UserExport, UserList, UserQuery, UserRef
} from './schemas.ts'
import { identityView, sessionView, TenantUsers, userView } from './users.ts'

const errors = errorResponses
const TAG = ['users']

export default async function userRoutes (app: FastifyInstance, ctx: AdminContext): Promise<void> {
  /** The tenant's accounts; a tenant this deployment does not know is not found. */
  async function usersOf (id: string): Promise<TenantUsers> {
    if (!ctx.router.get(id) && !(await ctx.db.selectFrom('tenant_configs').select('id').where('id', '=', id).executeTakeFirst())) throw notFound(`no tenant "${id}"`)
    return new TenantUsers(ctx.db, id, ctx.redis, ctx.redisPrefix)
  }
  async function userOf (req: FastifyRequest): Promise<{ users: TenantUsers, user: NonNullable<Awaited<ReturnType<TenantUsers['find']>>> }> {
    const { id, userId } = req.params as { id: string, userId: string }
    const users = await usersOf(id)
    const user = await users.find(userId)
    if (!user) throw notFound(`tenant "${id}" has no user "${userId}"`)
    return { users, user }
  }
  const date = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined
    const d = new Date(v)
    if (Number.isNaN(d.getTime())) throw new AdminError(400, 'bad_request', `querystring/${name}: not a date-time`)
    return d
  }

  app.get('/tenants/:id/users', {
    config: { adminScope: 'users:read' },
    schema: {
      operationId: 'listUsers', tags: TAG, summary: 'Find users of a tenant, by id, a page at a time',
      params: TenantParams, querystring: UserQuery, response: { 200: UserList, ...errors(400, 401, 403, 404, 429) }
    }
  }, async (req) => {
    const { id } = req.params as { id: string }
    const q = req.query as { cursor?: string, limit?: number, email?: string, provider?: string, subject?: string, createdAfter?: string, createdBefore?: string, blocked?: boolean }
    const afterId = decodeCursor(q.cursor)
    if (afterId !== undefined && !/^\d{1,18}$/.test(afterId)) throw new AdminError(400, 'bad_request', 'querystring/cursor: not a cursor this API gave')
    if (q.subject !== undefined && q.provider === undefined) throw new AdminError(400, 'bad_request', 'querystring/subject: needs provider')
    const limit = q.limit ?? 50
    const users = await (await usersOf(id)).list({
      afterId, limit, email: q.email, provider: q.provider, subject: q.subject,
      createdAfter: date(q.createdAfter, 'createdAfter'), createdBefore: date(q.createdBefore, 'createdBefore'), blocked: q.blocked
    })
    return { items: users.map(userView), nextCursor: users.length === limit ? encodeCursor(users[users.length - 1].id) : null }
  })

  app.get('/tenants/:id/users/:userId', {
    config: { adminScope: 'users:read' },
    schema: {
      operationId: 'getUser', tags: TAG, summary: 'A user with their identities and live sessions',
      params: UserRef, response: { 200: UserDetail, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { users, user } = await userOf(req)
    const [identities, sessions] = await Promise.all([users.identities(user.id), users.liveSessions(user.id)])
    return { user: userView(user), identities: identities.map(identityView), sessions: sessions.map(sessionView) }
  })

  app.get('/tenants/:id/users/:userId/export', {
    config: { adminScope: 'users:read' },
    schema: {
      operationId: 'exportUser', tags: TAG, summary: 'Everything stored about a user, as JSON',
      params: UserRef, response: { 200: UserExport, ...errors(401, 403, 404, 429) }
    }
  }, async (req, reply) => {
    const { users, user } = await userOf(req)
    const body = await users.export(user)
    return reply.header('content-disposition', `attachment; filename="user-${user.uuid}.json"`).header('cache-control', 'no-store')
      .type('application/json; charset=utf-8').send(JSON.stringify(body, null, 2))
  })

  app.post('/tenants/:id/users/:userId/block', {
    config: { adminScope: 'users:write' },
    schema: {
      operationId: 'blockUser', tags: TAG, summary: 'Block a user: every session revoked, every sign-in refused (in each dialect\'s own error)',
      params: UserRef, response: { 200: Blocked, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { users, user } = await userOf(req)
    const r = await users.block(user.id, actor(req))
    return { user: userView(r.user), revokedSessions: r.revoked }
  })

  app.post('/tenants/:id/users/:userId/unblock', {
    config: { adminScope: 'users:write' },
    schema: {
      operationId: 'unblockUser', tags: TAG, summary: 'Unblock a user: sign-ins work again (revoked sessions stay revoked)',
      params: UserRef, response: { 200: Blocked, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { users, user } = await userOf(req)
    return { user: userView(await users.unblock(user.id, actor(req))), revokedSessions: 0 }
  })

  app.delete('/tenants/:id/users/:userId/sessions', {
    config: { adminScope: 'users:write' },
    schema: {
      operationId: 'revokeUserSessions', tags: TAG, summary: 'Revoke every session of a user (sign out everywhere)',
      params: UserRef, response: { 200: Revoked, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { users, user } = await userOf(req)
    return { revokedSessions: await users.revokeSessions(user.id, actor(req)) }
  })

  app.delete('/tenants/:id/users/:userId/sessions/:sessionId', {
    config: { adminScope: 'users:write' },
    schema: {
      operationId: 'revokeUserSession', tags: TAG, summary: 'Revoke one session of a user',
      params: SessionRef, response: { 200: Revoked, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { users, user } = await userOf(req)
    const { sessionId } = req.params as { sessionId: string }
    if (!await users.revokeSession(user.id, sessionId, actor(req))) throw notFound(`user "${user.id}" has no live session "${sessionId}"`)
    return { revokedSessions: 1 }
  })

  app.delete('/tenants/:id/users/:userId', {
    config: { adminScope: 'users:write' },
    schema: {
      operationId: 'eraseUser', tags: TAG, summary: 'Erase a user and everything naming their addresses; audit events are kept, pseudonymised',
      params: UserRef, response: { 200: Erased, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { users, user } = await userOf(req)
    const r = await users.erase(user, actor(req))
    return { erased: true as const, ...r }
  })

  app.get('/tenants/:id/events', {
    config: { adminScope: 'events:read' },
    schema: {
      operationId: 'listEvents', tags: ['events'], summary: 'Audit events of a tenant, newest first',
      params: TenantParams, querystring: EventQuery, response: { 200: EventList, ...errors(400, 401, 403, 404, 429) }
    }
  }, async (req) => {
    const { id } = req.params as { id: string }
    await usersOf(id)
    const q = req.query as { cursor?: string, limit?: number, type?: string, userId?: string, after?: string, before?: string }
    const before = decodeCursor(q.cursor)
    if (before !== undefined && !/^\d{1,18}$/.test(before)) throw new AdminError(400, 'bad_request', 'querystring/cursor: not a cursor this API gave')
    const limit = q.limit ?? 50
    let s = ctx.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', id).orderBy('id', 'desc').limit(limit)
    if (before !== undefined) s = s.where('id', '<', before)
    if (q.type) s = s.where('type', '=', q.type)
    if (q.userId) s = s.where('user_id', '=', q.userId)
    const after = date(q.after, 'after')
    const until = date(q.before, 'before')
    if (after) s = s.where('created_at', '>=', after)
    if (until) s = s.where('created_at', '<', until)
    const rows = await s.execute()
    return {
      items: rows.map((e) => ({
        id: e.id, type: e.type, userId: e.user_id, data: e.data, createdAt: e.created_at.toISOString(),
        dialect: e.dialect, provider: e.provider, clientId: e.client_id, requestId: e.request_id, clientAddress: e.client_address, userAgent: e.user_agent
      })),
      nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1].id) : null
    }
  })
}
