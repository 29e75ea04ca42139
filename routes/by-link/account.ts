// GET /v1/auth/me/ and POST /v1/auth/logout/, authenticated with `Authorization: Token …`.
import type { FastifyInstance } from 'fastify'
import { briefAuth, DETAIL, tokenAuth } from '../../plugins/drf.ts'
import { COMMON_ERRORS, Detail, serializeUser, Unauthorized, UserResponse } from './schemas.ts'

const SECURITY = [{ TokenAuth: [] }]

export default async function accountRoutes (app: FastifyInstance): Promise<void> {
  // Both routes read the session and a few user columns only: the brief lookup.
  const authenticate = tokenAuth(app, ['token'], { brief: true })

  app.get('/v1/auth/me/', {
    onRequest: authenticate,
    schema: { operationId: 'byLinkMe', tags: ['by-link'], summary: 'The authenticated user', security: SECURITY, response: { 200: UserResponse, 401: Unauthorized } }
  }, async (req) => serializeUser(briefAuth(req).user))

  app.post('/v1/auth/logout/', {
    onRequest: authenticate,
    schema: { operationId: 'byLinkLogout', tags: ['by-link'], summary: 'Revoke the token used for this request', security: SECURITY, response: { 200: Detail, 401: Unauthorized, ...COMMON_ERRORS } }
  }, async (req) => {
    await app.tenant.identity.revokeSession(briefAuth(req).token)
    return { detail: DETAIL.loggedOut }
  })
}
