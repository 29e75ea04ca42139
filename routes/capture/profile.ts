// POST /oauth/update_profile_native: the signed-in user edits their profile through a flow form, as jump.android
// (Capture.java updateUserProfile / getUpdateUserProfileConnection) and jump.ios (JRCapture.m
// updateProfileForUser:…) send it: the form's fields plus access_token, client_id, locale, form, flow, flow_version.
// An email change goes through the identity core's updateProfile with an EmailChangeSpec, the guard PATCH /user
// of rest-social-auth has: recent sign-in, every other session revoked, a notice to the old address.
import type { FastifyInstance } from 'fastify'
import type { UserFields } from '../../plugins/identity/users.ts'
import { normalizeEmail } from '../../plugins/email-address.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import { accessTokenOf, checkClientFlow, fieldFor, formFields, userFieldsFromForm, validateForm } from './args.ts'
import { CaptureError, formError } from './errors.ts'
import { message } from './messages.ts'
import type { CaptureOptions } from './options.ts'
import { signedInAt } from './refresh.ts'
import { UpdateProfileBody, UpdateProfileResponse } from './schemas.ts'

type Body = Record<string, string | undefined>

/** The notice to the old address (English and French, by the request's locale). */
function emailChangedNotice (from: string, tenantId: string, newEmail: string, lang: string) {
  return lang.startsWith('fr')
    ? {
        from,
        subject: `L'adresse e-mail de votre compte ${tenantId} a été changée`,
        text: `Bonjour,\n\nL'adresse e-mail de votre compte ${tenantId} a été changée en ${newEmail}. Toutes les autres sessions du compte ont été déconnectées.\n\nSi vous n'êtes pas à l'origine de ce changement, contactez le support de ${tenantId} sans attendre : son auteur peut se connecter à votre compte.\n`
      }
    : {
        from,
        subject: `Your ${tenantId} email address was changed`,
        text: `Hello,\n\nThe email address of your ${tenantId} account was changed to ${newEmail}. Every other signed-in session of the account was signed out.\n\nIf you did not make this change, contact ${tenantId}'s support now: whoever made it can sign in to your account.\n`
      }
}

export default async function profileRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant
  const maxAuthAgeMs = (opts.emailChangeMaxAuthAgeSeconds ?? 300) * 1000

  app.post('/oauth/update_profile_native', {
    schema: {
      operationId: 'captureUpdateProfileNative',
      tags: ['capture'],
      summary: 'Update the signed-in user with an edit-profile form',
      description: 'The fields of `form` (any other body member is a field of that form) update the user the access token belongs to; fields left out are unchanged. A new email address is unverified, and needs an access token from a sign-in within `emailChangeMaxAuthAgeSeconds` (390 on the email field otherwise); it revokes every other session of the account and mails a notice to the old address. Password fields are not changed here.',
      consumes: FORM_ONLY,
      security: [{ CaptureAccessToken: [] }],
      body: UpdateProfileBody,
      response: { 200: UpdateProfileResponse }
    }
  }, async (req) => {
    const body = req.body as Body
    const token = accessTokenOf(req.headers.authorization, body)
    const args = checkClientFlow(tenant, token ? { ...body, access_token: token } : body, ['access_token', 'client_id', 'flow', 'flow_version', 'form', 'locale'])
    const fields = formFields(args.version, body.form!)
    const v = await tenant.identity.verifySession(['access'], token!)
    // Only a token of this client edits through it.
    if (!v || v.session.client_id !== args.client.id) throw CaptureError.of(414, 'access_token_expired', 'accessToken')
    const { user, session } = v

    // Only the fields sent are validated and written: an edit form is sent whole by the SDKs, but a field left
    // out must not be blanked (nor reported as required).
    const sent = fields.filter((f) => body[f.name] !== undefined && f.attribute !== 'password')
    const { values, problems } = validateForm(sent, body)
    if (Object.keys(problems).length > 0) throw formError(390, problems)
    const update: UserFields = userFieldsFromForm(values)
    if (update.attributes) update.attributes = { ...(user.attributes ?? {}), ...update.attributes }

    const emailField = fieldFor(fields, 'email')
    let emailChange
    if (update.email !== undefined && normalizeEmail(update.email) !== normalizeEmail(user.email)) {
      // Recent sign-in: an access token that leaked long ago (or was kept alive by refreshes) must not move the
      // account to an address its thief controls.
      if (Date.now() - (await signedInAt(tenant.identity, token!, session.created_at)).getTime() > maxAuthAgeMs) {
        throw formError(390, { [emailField ?? 'email']: [(l) => message(l, 'fieldEmailNeedsRecentSignIn')] })
      }
      update.email_verified = false // a typed-in address proves nothing
      emailChange = { keepSessionId: session.id, notice: (_old: string, next: string) => emailChangedNotice(tenant.email.from, tenant.id, next, args.locale) }
    } else {
      delete update.email
    }
    const outcome = await tenant.identity.updateProfile(user.id, update, emailChange)
    if (outcome.kind === 'email-in-use') throw formError(390, { [emailField ?? 'email']: [(l) => message(l, 'fieldEmailInUse')] })
    return { stat: 'ok' }
  })
}
