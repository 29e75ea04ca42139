// POST /oauth/auth_native and /oauth/register_native: social sign-in, thin and two-step registration, merges.
import type { FastifyInstance } from 'fastify'
import type { Transaction } from 'kysely'
import type { Database, User } from '../../db/index.ts'
import { attachIdentity, consumeOneTimeToken, inTransaction, listIdentities, peekOneTimeToken, resolveSocialLogin, type SocialLoginOutcome } from '../../plugins/identity/index.ts'
import type { NormalizedProfile } from '../../plugins/providers/types.ts'
import { hashPassword } from '../../plugins/crypto.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import type { FormFieldConfig } from './options.ts'
import { authSuccess, checkCommon, fieldFor, formFields, parseBoolean, userFieldsFromForm, validateForm } from './args.ts'
import { CaptureError, formError, invalidArgument, invalidToken } from './errors.ts'
import { message } from './messages.ts'
import type { CaptureOptions } from './options.ts'
import { AuthNativeBody, AuthResponse, RegisterNativeBody } from './schemas.ts'
import { captureTime, profileValue } from './user.ts'

type Body = Record<string, string | undefined>
export const SOCIAL_LOGIN = 'social-login'

/** A live Social Login token's profile, or 200 invalid_argument "invalid token". */
export async function peekProfile (app: FastifyInstance, token: string): Promise<NormalizedProfile> {
  const row = await peekOneTimeToken(app.tenant.db, app.tenant.id, SOCIAL_LOGIN, token)
  const profile = row?.data.profile as NormalizedProfile | undefined
  if (!row || !profile) throw invalidToken()
  return profile
}

/** Consumes a Social Login token inside the caller's transaction; losing a race means "invalid token" (and a rollback). */
export async function consumeSocialToken (trx: Transaction<Database>, tenantId: string, token: string): Promise<void> {
  const r = await consumeOneTimeToken(trx, tenantId, SOCIAL_LOGIN, token)
  if (!r.ok) throw invalidToken()
}

/** Merges the merge_token's identity into an account the caller has just authenticated, consuming the token. */
export async function mergeInto (trx: Transaction<Database>, tenantId: string, userId: string, mergeToken: string, profile: NormalizedProfile): Promise<void> {
  const attached = await attachIdentity(trx, tenantId, userId, profile)
  if (attached.kind === 'owned-by-other') throw invalidArgument('mergeOwned')
  await consumeSocialToken(trx, tenantId, mergeToken)
}

export function recordNotFound (profile: NormalizedProfile, form: FormFieldConfig[] | undefined): CaptureError {
  const prereg = form === undefined
    ? undefined
    : Object.fromEntries(form.filter((f) => f.attribute !== 'password' && !f.confirms).map((f) => [f.name, profileValue(profile, f.attribute)]))
  return CaptureError.of(310, 'record_not_found', 'noSuchUser', undefined, () => (prereg ? { prereg_fields: prereg } : {}))
}

export async function emailInUse (trx: Transaction<Database>, tenantId: string, existing: User): Promise<CaptureError> {
  const identities = await listIdentities(trx, tenantId, existing.id)
  // A password account is signed into with auth_native_traditional, which Capture calls "capture".
  const provider = existing.password_hash || identities.length === 0 ? 'capture' : identities[0].provider_name
  return CaptureError.of(380, 'email_address_in_use', 'emailInUse', undefined, () => ({
    existing_provider: provider,
    existing_display_name: existing.display_name,
    existing_photo: existing.photo ? { id: Number(identities[0]?.id ?? existing.id), value: existing.photo, type: 'other' } : null,
    existing_date_created: captureTime(existing.created_at)
  }))
}

function signedIn (o: SocialLoginOutcome): o is Extract<SocialLoginOutcome, { user: User }> {
  return o.kind === 'login' || o.kind === 'linked' || o.kind === 'created'
}

export default async function nativeRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant

  app.post('/oauth/auth_native', {
    schema: {
      operationId: 'captureAuthNative',
      tags: ['capture'],
      summary: 'Complete social login with a Social Login token',
      description: 'Signs in (or, with thin_registration, registers) the user a Social Login token identifies. Errors are HTTP 200 with `stat: "error"`: 100, 200, 310 (with `prereg_fields` when `registration_form` is set), 380, 403, 500. With `merge_token`, the identity of that token is merged into the account `token` signs in.',
      consumes: FORM_ONLY,
      body: AuthNativeBody,
      response: { 200: AuthResponse }
    }
  }, async (req) => {
    const body = req.body as Body
    const args = checkCommon(tenant, body, ['client_id', 'flow', 'flow_version', 'locale', 'redirect_uri', 'token'])
    const thin = parseBoolean(body.thin_registration)
    const regForm = body.registration_form ? formFields(args.version, body.registration_form) : undefined
    const token = body.token!
    const profile = await peekProfile(app, token)
    const mergeToken = body.merge_token || undefined
    const mergeProfile = mergeToken ? await peekProfile(app, mergeToken) : undefined

    return inTransaction(tenant.db, async (trx) => {
      const outcome = await resolveSocialLogin(trx, {
        tenantId: tenant.id,
        linking: tenant.linking,
        profile,
        // A merge signs into the existing account: it never registers one.
        register: thin && !mergeProfile,
        requireEmail: thin
      })
      if (!signedIn(outcome)) {
        if (outcome.kind === 'email-in-use') throw await emailInUse(trx, tenant.id, outcome.existingUser)
        throw recordNotFound(profile, regForm)
      }
      if (mergeProfile) await mergeInto(trx, tenant.id, outcome.user.id, mergeToken!, mergeProfile)
      await consumeSocialToken(trx, tenant.id, token)
      return authSuccess(trx, tenant, opts, args, outcome.user, outcome.isNew)
    })
  })

  app.post('/oauth/register_native', {
    schema: {
      operationId: 'captureRegisterNative',
      tags: ['capture'],
      summary: 'Finish two-step social registration with the registration form',
      description: 'Registers the user of a Social Login token (after a 310) with the fields of `form`; any other body member is a field of that form. 390 invalid_form_fields lists the fields that failed.',
      consumes: FORM_ONLY,
      body: RegisterNativeBody,
      response: { 200: AuthResponse }
    }
  }, async (req) => {
    const body = req.body as Body
    const args = checkCommon(tenant, body, ['client_id', 'flow', 'flow_version', 'form', 'locale', 'redirect_uri', 'token'])
    const fields = formFields(args.version, body.form!)
    const token = body.token!
    const profile = await peekProfile(app, token)
    const { values, problems } = validateForm(fields, body)
    if (Object.keys(problems).length > 0) throw formError(390, problems)

    const { password, ...stored } = values
    const newUser = userFieldsFromForm(stored)
    if (password) newUser.password_hash = await hashPassword(password)
    // The address the user confirmed in the form is the account's; it counts as verified only when the provider asserted that same address.
    const formEmail = values.email ?? null
    const sameAsProvider = formEmail !== null && profile.email !== null && formEmail.toLowerCase() === profile.email.toLowerCase()
    const resolved: NormalizedProfile = formEmail === null ? profile : { ...profile, email: formEmail, emailVerified: sameAsProvider && profile.emailVerified }
    delete newUser.email

    return inTransaction(tenant.db, async (trx) => {
      const outcome = await resolveSocialLogin(trx, { tenantId: tenant.id, linking: tenant.linking, profile: resolved, register: true, newUser })
      if (!signedIn(outcome)) {
        const emailField = fieldFor(fields, 'email')
        if (outcome.kind === 'email-in-use' && emailField && formEmail !== null) throw formError(390, { [emailField]: [(l) => message(l, 'fieldEmailInUse')] })
        if (outcome.kind === 'email-in-use') throw await emailInUse(trx, tenant.id, outcome.existingUser)
        throw recordNotFound(profile, undefined)
      }
      await consumeSocialToken(trx, tenant.id, token)
      return authSuccess(trx, tenant, opts, args, outcome.user, outcome.isNew)
    })
  })
}
