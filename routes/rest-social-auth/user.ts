// GET / PATCH /user and POST /logout, authenticated with `Authorization: Token …`.
import type { FastifyInstance } from 'fastify'
import type { User } from '../../db/index.ts'
import { auth, DETAIL, tokenAuth } from '../../plugins/drf.ts'
import { DialectError } from '../../plugins/errors.ts'
import type { UserFields } from '../../plugins/identity/index.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { LogoutResponse, Unauthorized, UnsupportedMedia, UserResponse, UserUpdateBody, UserUpdateErrors } from './schemas.ts'

const TAGS = ['rest-social-auth']
const SECURITY = [{ TokenAuth: [] }]

export default async function userRoutes (app: FastifyInstance): Promise<void> {
  const { identity } = app.tenant
  const authenticate = tokenAuth(app, ['token'])

  app.get('/user', {
    onRequest: authenticate,
    schema: { operationId: 'restSocialAuthGetUser', tags: TAGS, summary: 'The authenticated user', security: SECURITY, response: { 200: UserResponse, 401: Unauthorized } }
  }, async (req) => serializeUser(auth(req).user))

  app.patch('/user', {
    onRequest: authenticate,
    schema: {
      operationId: 'restSocialAuthUpdateUser',
      tags: TAGS,
      summary: 'Update the authenticated user (referral_code, email, first_name, last_name)',
      security: SECURITY,
      consumes: JSON_AND_FORM,
      body: UserUpdateBody,
      response: { 200: UserResponse, 400: UserUpdateErrors, 401: Unauthorized, 413: UnsupportedMedia, 415: UnsupportedMedia }
    }
  }, async (req) => {
    const values = req.body as Record<string, string | undefined>
    const { user } = auth(req)
    const fields: UserFields = {}
    const blankToNull = (s: string) => (s === '' ? null : s)
    if (values.first_name !== undefined) fields.given_name = blankToNull(values.first_name)
    if (values.last_name !== undefined) fields.family_name = blankToNull(values.last_name)
    if (values.referral_code !== undefined) fields.referral_code = blankToNull(values.referral_code)
    if (values.email !== undefined && values.email.toLowerCase() !== (user.email ?? '').toLowerCase()) {
      fields.email = values.email
      fields.email_verified = false // a typed-in address proves nothing
    }
    const updated = await identity.updateProfile(user.id, fields)
    if (updated.kind === 'email-in-use') throw new DialectError({ status: 400, body: { email: ['user with this email already exists.'] } })
    return serializeUser(updated.user)
  })

  app.post('/logout', {
    onRequest: authenticate,
    schema: { operationId: 'restSocialAuthLogout', tags: TAGS, summary: 'Revoke the token used for this request', security: SECURITY, response: { 200: LogoutResponse, 401: Unauthorized, 413: UnsupportedMedia, 415: UnsupportedMedia } }
  }, async (req) => {
    await identity.revokeSession(auth(req).token)
    return { detail: DETAIL.loggedOut }
  })
}

function serializeUser (u: User) {
  return { id: Number(u.id), email: u.email, email_verified: u.email_verified, first_name: u.given_name ?? '', last_name: u.family_name ?? '', referral_code: u.referral_code }
}
