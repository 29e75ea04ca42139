// POST /oauth/auth_native and /oauth/register_native: social sign-in, thin and two-step registration, merges.
import type { FastifyInstance } from 'fastify'
import type { User } from '../../db/index.ts'
import type { TenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import type { NormalizedProfile } from '../../plugins/providers/types.ts'
import { hashPassword } from '../../plugins/crypto.ts'
import { normalizeEmail } from '../../plugins/email-address.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import { authSuccess, checkCommon, fieldFor, formFields, parseBoolean, userFieldsFromForm, validateForm } from './args.ts'
import { CaptureError, formError, invalidArgument, invalidToken } from './errors.ts'
import { message } from './messages.ts'
import type { CaptureOptions, FormFieldConfig } from './options.ts'
import { AuthNativeBody, AuthResponse, RegisterNativeBody } from './schemas.ts'
import { captureTime, captureUser, profileValue } from './user.ts'

type Body = Record<string, string | undefined>
export const SOCIAL_LOGIN = 'social-login'

/** A live Social Login token's profile, or 200 invalid_argument "invalid token". */
export async function peekProfile (app: FastifyInstance, token: string, argumentName: 'token' | 'merge_token' = 'token'): Promise<NormalizedProfile> {
  const row = await app.tenant.identity.peekToken(SOCIAL_LOGIN, token)
  const profile = row?.data.profile as NormalizedProfile | undefined
  if (!row || !profile) throw invalidToken(argumentName)
  return profile
}

/** Consumes a Social Login token inside the caller's transaction; losing a race means "invalid token" (and a rollback). */
export async function consumeSocialToken (tx: TenantIdentity, token: string, argumentName: 'token' | 'merge_token' = 'token'): Promise<void> {
  const r = await tx.consumeToken(SOCIAL_LOGIN, token)
  if (!r.ok) throw invalidToken(argumentName)
}

/** Merges the merge_token's identity into an account the caller has just authenticated, consuming the token. */
export async function mergeInto (tx: TenantIdentity, userId: string, mergeToken: string, profile: NormalizedProfile): Promise<void> {
  const attached = await tx.attachIdentity(userId, profile)
  if (attached.kind === 'owned-by-other') throw invalidArgument('merge_token', 'mergeOwned')
  await consumeSocialToken(tx, mergeToken, 'merge_token')
}

export function recordNotFound (profile: NormalizedProfile, form: FormFieldConfig[] | undefined): CaptureError {
  const prereg = form === undefined
    ? undefined
    : Object.fromEntries(form.filter((f) => f.attribute !== 'password' && !f.confirms).map((f) => [f.name, profileValue(profile, f.attribute)]))
  return CaptureError.of(310, 'record_not_found', 'noSuchUser', undefined, () => (prereg ? { prereg_fields: prereg } : {}))
}

/**
 * 380 for a claimant whose address an account already owns. `existing_provider` is what the seed's merge flow
 * needs (which sign-in proves the account: `capture` is the password one); the account's name, photo and age
 * are told only to a claimant whose provider verified the address, never to anyone who merely typed it.
 */
export async function emailInUse (identity: TenantIdentity, existing: User, claimantVerified: boolean): Promise<CaptureError> {
  const identities = await identity.listIdentities(existing.id)
  // A password account is signed into with auth_native_traditional, which Capture calls "capture".
  const provider = existing.password_hash || identities.length === 0 ? 'capture' : identities[0].provider_name
  return CaptureError.of(380, 'email_address_in_use', 'emailInUse', undefined, () => ({
    existing_provider: provider,
    ...(claimantVerified
      ? {
          existing_display_name: existing.display_name,
          existing_photo: existing.photo ? { id: Number(identities[0]?.id ?? existing.id), value: existing.photo, type: 'other' } : null,
          existing_date_created: captureTime(existing.created_at)
        }
      : {})
  }))
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
    const regForm = body.registration_form ? formFields(args.version, body.registration_form, 'registration_form') : undefined
    const token = body.token!
    const profile = await peekProfile(app, token)
    const mergeToken = body.merge_token || undefined
    // A returning identity asking for an access token alone (no merge, no code, no refresh_secret to bind): the
    // token consumed, the login recorded, the access token issued and capture_user's rows read in one statement.
    // Anything else, or nothing written there (a raced token, a first login, a blocked account): the transaction below.
    if (mergeToken === undefined && args.responseType === 'token' && args.refreshSecret === undefined) {
      const done = await tenant.identity.signInConsuming(SOCIAL_LOGIN, token, profile, { kind: 'access', ttlSeconds: opts.accessTokenTtlSeconds, clientId: args.client.id, source: null })
      if (done) return { stat: 'ok', capture_user: captureUser(done.user, done.identities, done.lastLogin), is_new: false, access_token: done.token }
    }
    const mergeProfile = mergeToken ? await peekProfile(app, mergeToken, 'merge_token') : undefined

    // signInWithProfile owns the transaction and its race retry: concurrent first logins of one identity
    // make one account; the token of a loser is consumed by nobody else, so it signs into that account.
    const outcome = await tenant.identity.signInWithProfile(profile, {
      // A merge signs into the existing account: it never registers one.
      register: thin && !mergeProfile,
      requireEmail: thin,
      then: async (tx, s) => {
        if (mergeProfile) await mergeInto(tx, s.user.id, mergeToken!, mergeProfile)
        await consumeSocialToken(tx, token)
        return authSuccess(tx, opts, args, s.user, s.isNew)
      }
    })
    if (outcome.kind === 'signed-in') return outcome.result
    if (outcome.kind === 'email-in-use') throw await emailInUse(tenant.identity, outcome.existingUser, profile.email !== null && profile.emailVerified)
    throw recordNotFound(profile, regForm)
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
    const sameAsProvider = formEmail !== null && normalizeEmail(formEmail) === normalizeEmail(profile.email)
    const resolved: NormalizedProfile = formEmail === null ? profile : { ...profile, email: formEmail, emailVerified: sameAsProvider && profile.emailVerified }
    delete newUser.email

    const outcome = await tenant.identity.signInWithProfile(resolved, {
      register: true,
      newUser,
      then: async (tx, s) => {
        await consumeSocialToken(tx, token)
        return authSuccess(tx, opts, args, s.user, s.isNew)
      }
    })
    if (outcome.kind === 'signed-in') return outcome.result
    const emailField = fieldFor(fields, 'email')
    if (outcome.kind === 'email-in-use' && emailField && formEmail !== null) throw formError(390, { [emailField]: [(l) => message(l, 'fieldEmailInUse')] })
    if (outcome.kind === 'email-in-use') throw await emailInUse(tenant.identity, outcome.existingUser, resolved.email !== null && resolved.emailVerified)
    throw recordNotFound(profile, undefined)
  })
}
