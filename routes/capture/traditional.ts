// POST /oauth/auth_native_traditional and /oauth/register_native_traditional: email + password accounts (scrypt).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { hashPassword } from '../../plugins/crypto.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import { authSuccess, checkCommon, fieldFor, formFields, userFieldsFromForm, validateForm } from './args.ts'
import { formError, invalidArgument } from './errors.ts'
import { message } from './messages.ts'
import { mergeInto, peekProfile } from './native.ts'
import type { CaptureOptions, FormFieldConfig } from './options.ts'
import { AuthResponse, AuthTraditionalBody, RegisterTraditionalBody } from './schemas.ts'

type Body = Record<string, string | undefined>

// Capture's standard sign-in form, used when the flow does not declare its own.
const SIGN_IN_FORM: FormFieldConfig[] = [
  { name: 'signInEmailAddress', attribute: 'email', required: true },
  { name: 'currentPassword', attribute: 'password', required: true }
]

/** Password guessing is throttled per address unless the tenant sets its own `rateLimits.login`. */
const DEFAULT_SIGN_IN_LIMIT = { max: 10, timeWindow: '15 minutes' }

export default async function traditionalRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant
  // One counter per sign-in address (whoever tries it, from wherever): the credential path's identifier.
  const signInEmails = new WeakMap<FastifyRequest, string>()
  const signInLimit = app.limitHook('capture:sign-in', tenant.rateLimits.login ?? DEFAULT_SIGN_IN_LIMIT, (req) => signInEmails.get(req) ?? '')

  app.post('/oauth/auth_native_traditional', {
    schema: {
      operationId: 'captureAuthNativeTraditional',
      tags: ['capture'],
      summary: 'Sign in with email and password',
      description: 'Signs in with the sign-in form (`signInForm`: `signInEmailAddress`, `currentPassword`, unless the flow declares other field names). A wrong email or password is 210 invalid_credentials. With `merge_token` (after a 380 whose existing_provider is `capture`), that token\'s social identity is merged into this account.',
      consumes: FORM_ONLY,
      body: AuthTraditionalBody,
      response: { 200: AuthResponse }
    }
  }, async (req) => {
    const body = req.body as Body
    const args = checkCommon(tenant, body, ['client_id', 'flow', 'flow_version', 'locale', 'redirect_uri'])
    const formName = body.form || 'signInForm'
    const fields = (Object.hasOwn(args.version.forms, formName) ? args.version.forms[formName].fields : undefined) ?? (formName === 'signInForm' ? SIGN_IN_FORM : undefined)
    if (!fields) throw invalidArgument('form', 'noForm', { form: formName })
    const emailField = fieldFor(fields, 'email')
    const passwordField = fieldFor(fields, 'password')
    if (!emailField || !passwordField) throw invalidArgument('form', 'noForm', { form: formName })
    const email = (body[emailField] ?? '').trim()
    const password = body[passwordField] ?? ''
    const problems: Record<string, Array<(l: 'en-US' | 'fr-FR') => string>> = {}
    if (email === '') problems[emailField] = [(l) => message(l, 'fieldRequired')]
    if (password === '') problems[passwordField] = [(l) => message(l, 'fieldRequired')]
    if (Object.keys(problems).length > 0) throw formError(390, problems)

    const mergeToken = body.merge_token || undefined
    const mergeProfile = mergeToken ? await peekProfile(app, mergeToken, 'merge_token') : undefined

    signInEmails.set(req, email.toLowerCase())
    // Over the limit it throws RateLimitedError: 510 rate_limit_exceeded in the envelope, Retry-After set.
    await signInLimit(req)

    // verifyPassword spends one scrypt even without an account, so timing does not reveal accounts.
    const user = await tenant.identity.verifyPassword(email, password)
    if (!user) throw formError(210, { [formName]: [(l) => message(l, 'fieldBadCredentials')] })

    return tenant.identity.transaction(async (tx) => {
      if (mergeProfile) await mergeInto(tx, user.id, mergeToken!, mergeProfile)
      await tx.recordEvent('login', user.id, { method: 'password' })
      return authSuccess(tx, opts, args, user, false)
    })
  })

  app.post('/oauth/register_native_traditional', {
    schema: {
      operationId: 'captureRegisterNativeTraditional',
      tags: ['capture'],
      summary: 'Register an email + password account with the registration form',
      description: 'Registers a user with the fields of `form` (e.g. `registrationForm`: `emailAddress`, `newPassword`, `newPasswordConfirm`, `displayName`); any other body member is a field of that form. The field whose attribute is `password` is hashed with scrypt, never stored or echoed. 390 invalid_form_fields lists the fields that failed, including an address already in use.',
      consumes: FORM_ONLY,
      body: RegisterTraditionalBody,
      response: { 200: AuthResponse }
    }
  }, async (req) => {
    const body = req.body as Body
    const args = checkCommon(tenant, body, ['client_id', 'flow', 'flow_version', 'form', 'locale', 'redirect_uri'])
    const fields = formFields(args.version, body.form!)
    const emailField = fieldFor(fields, 'email')
    if (!emailField) throw invalidArgument('form', 'noForm', { form: body.form! })
    const { values, problems } = validateForm(fields, body, ['email', 'password'])
    if (Object.keys(problems).length > 0) throw formError(390, problems)
    const inUse = () => formError(390, { [emailField]: [(l) => message(l, 'fieldEmailInUse')] })

    const { password, ...stored } = values
    const fieldsToStore = userFieldsFromForm(stored)
    if (password) fieldsToStore.password_hash = await hashPassword(password)
    // A form without a password field registers an account without one, as before the seam.
    const registered = await tenant.identity.registerWithPassword(
      { ...fieldsToStore, email: values.email, locale: args.locale } as Parameters<typeof tenant.identity.registerWithPassword>[0],
      (tx, user) => authSuccess(tx, opts, args, user, true))
    if (registered.kind === 'email-in-use') throw inUse()
    return registered.result
  })
}
