// GET / PATCH /user and POST /logout, authenticated with `Authorization: Token …`.
import type { FastifyInstance } from 'fastify'
import type { User } from '../../db/index.ts'
import { auth, briefAuth, DETAIL, tokenAuth } from '../../plugins/drf.ts'
import { DialectError } from '../../plugins/errors.ts'
import type { BriefUser, UserFields } from '../../plugins/identity/index.ts'
import { DRF_BODIES } from '../../plugins/schemas.ts'
import type { RestSocialAuthOptions } from './options.ts'
import { Forbidden, LogoutResponse, Unauthorized, UnsupportedMedia, UserResponse, UserUpdateBody, UserUpdateErrors } from './schemas.ts'

const TAGS = ['rest-social-auth']
/** baseapp_auth UserSerializer.validate_referred_by_code's messages. */
const REFERRAL_MESSAGES = {
  invalid: 'Invalid referral code.',
  self: 'You cannot refer yourself.',
  'too-late': 'You are no longer allowed to change who you were referred by.',
  'already-referred': 'You have already been referred by somebody.'
}
const SECURITY = [{ TokenAuth: [] }]

/** The notice to the old address when PATCH /user changes the email (English: the dialect has no locale). */
function emailChangedNotice (from: string, tenantId: string, newEmail: string) {
  return {
    from,
    subject: `Your ${tenantId} email address was changed`,
    text: `Hello,\n\nThe email address of your ${tenantId} account was changed to ${newEmail}. Every other signed-in session of the account was signed out.\n\nIf you did not make this change, contact ${tenantId}'s support now: whoever made it can sign in to your account.\n`
  }
}

export default async function userRoutes (app: FastifyInstance, opts: RestSocialAuthOptions): Promise<void> {
  const { identity } = app.tenant
  const maxAuthAgeMs = (opts.emailChangeMaxAuthAgeSeconds ?? 300) * 1000
  const authenticate = tokenAuth(app, ['token'])
  // GET /user and /logout read the session and the serialized columns only: the brief lookup.
  const authenticateBrief = tokenAuth(app, ['token'], { brief: true })

  app.get('/user', {
    onRequest: authenticateBrief,
    schema: { operationId: 'restSocialAuthGetUser', tags: TAGS, summary: 'The authenticated user', security: SECURITY, response: { 200: UserResponse, 401: Unauthorized } }
  }, async (req) => serializeUser(briefAuth(req).user))

  app.patch('/user', {
    onRequest: authenticate,
    schema: {
      operationId: 'restSocialAuthUpdateUser',
      tags: TAGS,
      summary: 'Update the authenticated user (referred_by_code, email, first_name, last_name)',
      security: SECURITY,
      consumes: DRF_BODIES,
      body: UserUpdateBody,
      response: { 200: UserResponse, 400: UserUpdateErrors, 401: Unauthorized, 403: Forbidden, 413: UnsupportedMedia, 415: UnsupportedMedia }
    }
  }, async (req) => {
    const values = req.body as Record<string, string | undefined>
    const { user, session } = auth(req)
    const fields: UserFields = {}
    const blankToNull = (s: string) => (s === '' ? null : s)
    if (values.first_name !== undefined) fields.given_name = blankToNull(values.first_name)
    if (values.last_name !== undefined) fields.family_name = blankToNull(values.last_name)
    if (values.email !== undefined && values.email.toLowerCase() !== (user.email ?? '').toLowerCase()) {
      fields.email = values.email
      fields.email_verified = false // a typed-in address proves nothing
    }
    let emailChange
    if (fields.email !== undefined) {
      // Recent authentication: a token that leaked long ago must not be able to move the account to an
      // address its thief controls (the magic link of by-link, a password reset elsewhere, would follow).
      if (Date.now() - new Date(session.created_at).getTime() > maxAuthAgeMs) {
        throw new DialectError({ status: 403, body: { detail: 'Sign in again to change the email address: this token is too old.' } })
      }
      emailChange = { keepSessionId: session.id, notice: (_old: string, next: string) => emailChangedNotice(app.tenant.email.from, app.tenant.id, next) }
    }
    // `referred_by_code` names who referred the user (baseapp_auth UserSerializer); `referral_code` is the
    // user's own code, read-only (DRF ignores a read-only field sent in the body).
    const updated = await identity.updateProfile(user.id, fields, emailChange, values.referred_by_code)
    if (updated.kind === 'referral-refused') throw new DialectError({ status: 400, body: { referred_by_code: [REFERRAL_MESSAGES[updated.reason]] } })
    if (updated.kind === 'email-in-use') throw new DialectError({ status: 400, body: { email: ['user with this email already exists.'] } })
    return serializeUser(updated.user)
  })

  app.post('/logout', {
    onRequest: authenticateBrief,
    schema: { operationId: 'restSocialAuthLogout', tags: TAGS, summary: 'Revoke the token used for this request', security: SECURITY, response: { 200: LogoutResponse, 401: Unauthorized, 413: UnsupportedMedia, 415: UnsupportedMedia } }
  }, async (req) => {
    await identity.revokeSession(briefAuth(req).token)
    return { detail: DETAIL.loggedOut }
  })
}

function serializeUser (u: BriefUser) {
  return { id: Number(u.id), email: u.email, email_verified: u.email_verified, first_name: u.given_name ?? '', last_name: u.family_name ?? '', referral_code: u.referral_code }
}
