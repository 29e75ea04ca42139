// Checks every Capture login call shares (arguments, client, flow, redirect_uri, response_type), form
// validation against the tenant's flow forms, and what a successful sign-in hands back.
import type { User } from '../../db/index.ts'
import { validEmail } from '../../plugins/email-address.ts'
import { credentialsFor } from '../../plugins/http-auth.ts'
import type { TenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import type { UserFields } from '../../plugins/identity/users.ts'
import type { TenantContext } from '../../plugins/tenant/context.ts'
import { CaptureError, invalidArgument, missingArguments, permissionError, type FieldProblems } from './errors.ts'
import { message } from './messages.ts'
import type { CaptureClient, CaptureOptions, FlowConfig, FlowVersionConfig, FormFieldConfig } from './options.ts'
import { bindRefreshSecret, refreshSecretArg } from './refresh.ts'
import { loadCaptureUser } from './user.ts'

export type ResponseType = 'token' | 'code' | 'code_with_token'

export interface CommonArgs {
  client: CaptureClient
  flow: FlowConfig
  version: FlowVersionConfig
  locale: string
  redirectUri: string
  responseType: ResponseType
  /** The Janrain mobile SDKs' `refresh_secret` (refresh.ts), when sent. */
  refreshSecret?: string
}

type Body = Record<string, string | undefined>

const present = (v: unknown): v is string => typeof v === 'string' && v !== ''

/**
 * `required` lists the call's required arguments in the seed's (alphabetical) order; flow and
 * flow_version count as given when the client has defaults. Order of checks: missing (100), client
 * and its login_client feature (403), flow/version/locale (500), redirect_uri, response_type, and
 * redirect_uri against the client's `redirectUris` (200).
 */
/**
 * The access token of a request to a signed-in route: `Authorization: Bearer`, or `Authorization: OAuth` as the
 * janrain_capture PHP modules send it (janrain_capture_api.php `call`), else the `access_token` argument.
 */
export function accessTokenOf (authorization: string | string[] | undefined, body: Body): string | null {
  return credentialsFor(authorization, 'Bearer') ?? credentialsFor(authorization, 'OAuth') ?? (body.access_token || null)
}

export function checkCommon (tenant: TenantContext, body: Body, required: string[]): CommonArgs {
  const { client, flow, version, locale } = checkClientFlow(tenant, body, required)

  const redirectUri = body.redirect_uri!
  if (!/^https?:/i.test(redirectUri)) throw invalidArgument('redirect_uri', 'redirectUri')

  // jump.ios (JRCaptureData.m responseType:) and jump.android (Jump.java getResponseType) spell the pair code_and_token.
  const given = present(body.response_type) ? body.response_type : 'token'
  const rt = given === 'code_and_token' ? 'code_with_token' : given
  if (rt !== 'token' && rt !== 'code' && rt !== 'code_with_token') throw invalidArgument('response_type', 'responseType')
  // A client that lists redirect URIs may use only those, compared as strings (RFC 6749 3.1.2.3). One that lists
  // none keeps the seed's "legacy, not used" redirect_uri for tokens, but gets no authorization code: a code is
  // bound to its redirect_uri at /oauth/token, and an unlisted one binds it to nothing the tenant vouched for.
  if (client.redirectUris.length > 0 ? !client.redirectUris.includes(redirectUri) : rt !== 'token') {
    throw invalidArgument('redirect_uri', client.redirectUris.length > 0 ? 'redirectUriNotListed' : 'redirectUriNone')
  }

  return { client, flow, version, locale, redirectUri, responseType: rt, refreshSecret: refreshSecretArg(body) }
}

/** The checks every Capture call with a flow shares: missing (100), client and login_client (403), flow/version/locale (500). */
export function checkClientFlow (tenant: TenantContext, body: Body, required: string[]): Pick<CommonArgs, 'client' | 'flow' | 'version' | 'locale'> {
  const client = (present(body.client_id) ? tenant.client(body.client_id) : undefined) as CaptureClient | undefined
  const defaults: Record<string, string | undefined> = { flow: client?.defaultFlow, flow_version: client?.defaultFlowVersion }
  const missing = required.filter((name) => !present(body[name]) && !present(defaults[name]))
  if (missing.length > 0) throw missingArguments(missing)

  // An unknown client and one without login_client get the same answer: no client-id probing.
  if (!client || !client.features.includes('login_client')) throw permissionError()

  const flowName = present(body.flow) ? body.flow : defaults.flow!
  const versionName = present(body.flow_version) ? body.flow_version : defaults.flow_version!
  const locale = body.locale!
  const flow = tenant.section<FlowConfig[]>('flows').find((f) => f.name === flowName)
  // HEAD names no fixed version: refused like an unknown one.
  const version = versionName === 'HEAD' ? undefined : flow?.versions.find((v) => v.version === versionName)
  if (!flow || !version || !version.locales.includes(locale)) {
    throw CaptureError.of(500, 'unexpected_error', 'noFlow', { flow: flowName, version: versionName, locale })
  }

  return { client, flow, version, locale }
}

export function parseBoolean (v: string | undefined): boolean {
  if (v === undefined || v === '' || v === 'false') return false
  if (v === 'true') return true
  throw invalidArgument('thin_registration', 'thinRegistration')
}

export function formFields (version: FlowVersionConfig, name: string, argumentName = 'form'): FormFieldConfig[] {
  // A client-supplied name: `constructor` or `__proto__` must not find Object.prototype's members.
  const form = Object.hasOwn(version.forms, name) ? version.forms[name] : undefined
  if (!form) throw invalidArgument(argumentName, 'noForm', { form: name })
  return form.fields
}

export interface ValidatedForm {
  /** Attribute → value of every non-empty field that is stored (confirmation fields are not). */
  values: Record<string, string>
  problems: FieldProblems
}

/** Validates the named form's fields from the body; `alwaysRequired` adds attributes the call cannot do without. */
export function validateForm (fields: FormFieldConfig[], body: Body, alwaysRequired: string[] = []): ValidatedForm {
  const values: Record<string, string> = {}
  const problems: FieldProblems = {}
  const add = (name: string, f: (lang: 'en-US' | 'fr-FR') => string) => { (problems[name] ??= []).push(f) }
  for (const field of fields) {
    const raw = body[field.name]
    const isPassword = field.attribute === 'password'
    const value = typeof raw === 'string' ? (isPassword ? raw : raw.trim()) : ''
    if (value === '') {
      if (field.required || (alwaysRequired.includes(field.attribute) && !field.confirms)) add(field.name, (l) => message(l, 'fieldRequired'))
      else if (field.confirms && present(body[field.confirms])) add(field.name, (l) => message(l, 'fieldConfirm'))
      continue
    }
    const max = field.maxLength ?? 256
    if (value.length > max) add(field.name, (l) => message(l, 'fieldTooLong', { max }))
    if (field.minLength !== undefined && value.length < field.minLength) add(field.name, (l) => message(l, 'fieldTooShort', { min: field.minLength! }))
    // Exactly one address, NFKC-stable (plugins/email-address.ts); accounts compare its normalised form.
    const email = field.attribute === 'email' ? validEmail(value) : null
    if (field.attribute === 'email' && email === null) add(field.name, (l) => message(l, 'fieldEmail'))
    if (field.confirms) {
      if (body[field.confirms] !== raw) add(field.name, (l) => message(l, 'fieldConfirm'))
      continue
    }
    values[field.attribute] = email ?? value
  }
  return { values, problems }
}

/** The form field (name) that carries an attribute, for error placement. */
export function fieldFor (fields: FormFieldConfig[], attribute: string): string | undefined {
  return fields.find((f) => f.attribute === attribute && !f.confirms)?.name
}

const COLUMNS: Record<string, keyof UserFields> = { email: 'email', givenName: 'given_name', familyName: 'family_name', displayName: 'display_name', username: 'username', photo: 'photo' }

/** Form values as user fields: known attributes to columns, the rest to attributes; the password is left to the caller. */
export function userFieldsFromForm (values: Record<string, string>): UserFields {
  const fields: Record<string, unknown> = {}
  const attributes: Record<string, string> = {}
  for (const [attribute, value] of Object.entries(values)) {
    if (attribute === 'password') continue
    if (Object.hasOwn(COLUMNS, attribute)) fields[COLUMNS[attribute]] = value
    else attributes[attribute] = value
  }
  if (Object.keys(attributes).length > 0) fields.attributes = attributes
  return fields as UserFields
}

/** The body of a successful sign-in or registration: capture_user plus the grant response_type asks for. */
export async function authSuccess (tx: TenantIdentity, opts: CaptureOptions, args: CommonArgs, user: User, isNew: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { stat: 'ok', capture_user: await loadCaptureUser(tx, user), is_new: isNew }
  let source: string | null = null
  if (args.responseType !== 'token') {
    const { token } = await tx.createToken('authorization-code', {
      ttlSeconds: opts.codeTtlSeconds,
      userId: user.id,
      // A refresh_secret given with response_type=code waits in the (sealed) code for the access token /oauth/token issues.
      data: { client_id: args.client.id, redirect_uri: args.redirectUri, ...(args.refreshSecret && args.responseType === 'code' ? { refresh_secret: args.refreshSecret } : {}) }
    })
    out.authorization_code = token
    // code_with_token: a replay of the code also revokes the access token issued beside it.
    source = tx.sourceOf('authorization-code', token)
  }
  if (args.responseType !== 'code') {
    const { token } = await tx.issueSession({ userId: user.id, kind: 'access', ttlSeconds: opts.accessTokenTtlSeconds, clientId: args.client.id, source })
    out.access_token = token
    // jump.android Capture.java / jump.ios JRCapture.m send refresh_secret with every sign-in and registration.
    if (args.refreshSecret) await bindRefreshSecret(tx, opts, { accessToken: token, userId: user.id, clientId: args.client.id, source, secret: args.refreshSecret })
  }
  return out
}
