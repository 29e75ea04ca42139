// Users and identities: reads, updates, creation. Every query is scoped by tenant_id.
import { sql } from 'kysely'
import type { Identity, NewUser, User } from '../../db/index.ts'
import type { NormalizedProfile } from '../providers/types.ts'
import type { Executor } from './executor.ts'
import { normalizeEmail, validEmail } from '../email-address.ts'
import { rows, SQL } from './statements.ts'
import { eventParams, type EventMeta } from '../events/row.ts'

export async function getUser (db: Executor, tenantId: string, userId: string): Promise<User | undefined> {
  if (!/^\d{1,18}$/.test(String(userId))) return undefined
  return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst()
}

export async function getUserByUuid (db: Executor, tenantId: string, uuid: string): Promise<User | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(uuid)) return undefined
  return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('uuid', '=', uuid).executeTakeFirst()
}

/**
 * The account whose address equals `email` once both are normalised (plugins/email-address.ts). The
 * index lookup uses lower(), which folds more than ASCII (a stored Kelvin sign lowers to k), so the
 * candidates are re-checked for an exact match of the normalised form.
 */
export async function findUserByEmail (db: Executor, tenantId: string, email: string): Promise<User | undefined> {
  const normalized = normalizeEmail(email)
  if (normalized === null) return undefined
  return (await rows<User>(db, SQL.userByEmail, [tenantId, normalized])).find((u) => normalizeEmail(u.email) === normalized)
}

/** Stored users carry a valid address (case kept); an invalid one is a caller's bug (dialects validate first). */
function withNormalizedEmail<T extends { email?: string | null }> (fields: T): T {
  if (fields.email === undefined || fields.email === null) return fields
  const email = validEmail(fields.email)
  if (email === null) throw new InvalidEmailError()
  return { ...fields, email }
}

export class InvalidEmailError extends Error {
  readonly code = 'VST_ERR_INVALID_EMAIL'
  constructor () { super('not exactly one valid email address (validate with normalizeEmail first)') }
}

export type UserFields = Partial<Pick<User,
  'email' | 'email_verified' | 'username' | 'given_name' | 'family_name' | 'display_name' | 'photo' | 'locale' | 'referred_by_id' | 'password_hash'
>> & { attributes?: Record<string, unknown> }

/**
 * Creates a user. A username another user of the tenant already holds (any case) is not taken from
 * them: the new account gets none. ON CONFLICT on that index alone, so an email clash still raises.
 */
export async function createUser (db: Executor, tenantId: string, fields: UserFields): Promise<User> {
  fields = withNormalizedEmail(fields)
  if (fields.referred_by_id != null) {
    // The referrer was checked before the provider was called; it may have been erased since. FOR KEY SHARE
    // waits for a concurrent erase to commit and then finds nothing: the account is made without a referrer,
    // as ON DELETE SET NULL would have left it a moment later (never a foreign-key error, a 500).
    const referrer = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', fields.referred_by_id)
      .forKeyShare().executeTakeFirst()
    if (!referrer) fields = { ...fields, referred_by_id: null }
  }
  const values: NewUser = { ...fields, tenant_id: tenantId, attributes: JSON.stringify(fields.attributes ?? {}) }
  if (!values.username) return db.insertInto('users').values(values).returningAll().executeTakeFirstOrThrow()
  const created = await db.insertInto('users').values(values)
    .onConflict((oc) => oc.expression(sql`tenant_id, lower(username)`).where('username', 'is not', null).doNothing())
    .returningAll().executeTakeFirst()
  return created ?? db.insertInto('users').values({ ...values, username: null }).returningAll().executeTakeFirstOrThrow()
}

export async function findUserByUsername (db: Executor, tenantId: string, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll()
    .where('tenant_id', '=', tenantId)
    .where(sql`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst()
}

/** The user of this tenant who owns `code` (codes are upper-case hex, so the code is compared upper-cased). */
export async function findUserByReferralCode (db: Executor, tenantId: string, code: string): Promise<User | undefined> {
  const normalized = code.trim().toUpperCase()
  if (!/^[0-9A-F]{1,64}$/.test(normalized)) return undefined
  return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('referral_code', '=', normalized).executeTakeFirst()
}

/** Updates a user of this tenant; `attributes` are merged into the stored ones. */
export async function updateUser (db: Executor, tenantId: string, userId: string, fields: UserFields): Promise<User | undefined> {
  const { attributes, ...rest } = withNormalizedEmail(fields)
  const set: Record<string, unknown> = { ...rest, updated_at: sql`now()` }
  if (attributes) set.attributes = sql`attributes || ${JSON.stringify(attributes)}::jsonb`
  return db.updateTable('users').set(set).where('tenant_id', '=', tenantId).where('id', '=', userId)
    .returningAll().executeTakeFirst()
}

export async function listIdentities (db: Executor, tenantId: string, userId: string): Promise<Identity[]> {
  return db.selectFrom('identities').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId)
    .orderBy('id').execute()
}

export async function findIdentity (db: Executor, tenantId: string, providerType: string, subject: string): Promise<Identity | undefined> {
  return db.selectFrom('identities').selectAll()
    .where('tenant_id', '=', tenantId).where('provider_type', '=', providerType).where('subject', '=', subject)
    .executeTakeFirst()
}

export async function insertIdentity (db: Executor, tenantId: string, userId: string, profile: NormalizedProfile): Promise<Identity> {
  profile = profileWithNormalizedEmail(profile)
  return db.insertInto('identities').values({
    tenant_id: tenantId,
    user_id: userId,
    provider_type: profile.providerType,
    provider_name: profile.providerName,
    subject: profile.subject,
    issuer: profile.issuer,
    email: profile.email,
    email_verified: profile.emailVerified,
    profile: JSON.stringify(profile.raw ?? {})
  }).returningAll().executeTakeFirstOrThrow()
}

/**
 * A provider profile with its address normalised; an address that is not exactly one valid address
 * (a list, full-width, a Kelvin sign…) counts as none, and so can never be verified or link.
 */
export function profileWithNormalizedEmail (p: NormalizedProfile): NormalizedProfile {
  const email = validEmail(p.email)
  return email === p.email ? p : { ...p, email, emailVerified: email !== null && p.emailVerified }
}

/** User fields a new account takes from a provider profile. */
export function userFieldsFromProfile (p: NormalizedProfile): UserFields {
  return {
    email: p.email,
    email_verified: p.email !== null && p.emailVerified,
    username: p.username,
    given_name: p.givenName,
    family_name: p.familyName,
    display_name: p.displayName,
    photo: p.photo
  }
}

/** Records an audit event in the caller's transaction (docs/events.md lists the types). */
export async function recordEvent (db: Executor, tenantId: string, type: string, userId: string | null, data: Record<string, unknown> = {}, meta?: EventMeta): Promise<void> {
  await rows(db, SQL.insertEvent, eventParams(tenantId, type, userId, data, meta))
}
