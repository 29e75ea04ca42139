// Social login resolution (DESIGN 4.3): find the identity, else apply the tenant's linking rule, else register.
import { sql, type Kysely } from 'kysely'
import type { Database, Identity, User } from '../../db/index.ts'
import { logins } from '../metrics.ts'
import type { NormalizedProfile } from '../providers/types.ts'
import { inTransaction, transactionWithRaceRetry, type Executor } from './executor.ts'
import { validEmail } from '../email-address.ts'
import { createUser, findIdentity, findUserByEmail, insertIdentity, profileWithNormalizedEmail, recordEvent, userFieldsFromProfile, type UserFields } from './users.ts'

export type LinkingRule = 'reject' | 'verified-email'

export interface ResolveSocialLoginInput {
  tenantId: string
  linking: LinkingRule
  profile: NormalizedProfile
  /** An address the client supplied because the provider gave none; never counts as verified. */
  suppliedEmail?: string | null
  /** When true and no email is known, the outcome is `no-email` instead of a new account. */
  requireEmail?: boolean
  /** When false, an unknown identity yields `not-registered` instead of a new account (two-step registration). */
  register?: boolean
  /** Extra fields for a new account (referral code, locale, dialect attributes). */
  newUser?: UserFields
  /** Count the outcome in the logins metric (TenantIdentity counts its own outcomes). Default true. */
  countMetric?: boolean
  /** The API client signing in, for the audit event. */
  clientId?: string | null
}

export type SocialLoginOutcome =
  | { kind: 'login', isNew: false, user: User, identity: Identity }
  | { kind: 'linked', isNew: false, user: User, identity: Identity }
  | { kind: 'created', isNew: true, user: User, identity: Identity }
  | { kind: 'email-in-use', isNew: false, existingUser: User, email: string }
  | { kind: 'no-email' }
  | { kind: 'not-registered', email: string | null }

/**
 * Resolves a provider profile to an account. Concurrent first logins of one identity create one
 * user: the transaction holds an advisory lock on (tenant, provider type, subject); a race on the
 * same email from two different identities ends as `email-in-use` for the loser.
 */
export async function resolveSocialLogin (db: Executor, input: ResolveSocialLoginInput): Promise<SocialLoginOutcome> {
  // Inside a caller's transaction the caller retries (see transactionWithRaceRetry); alone, we do.
  const outcome = db.isTransaction
    ? await resolveLocked(db, input)
    : await transactionWithRaceRetry(db as Kysely<Database>, (trx) => resolveLocked(trx, input))
  if (input.countMetric !== false) logins.inc({ tenant: input.tenantId, outcome: outcome.kind })
  return outcome
}

async function resolveLocked (trx: Executor, input: ResolveSocialLoginInput): Promise<SocialLoginOutcome> {
  const tenantId = input.tenantId
  const profile = profileWithNormalizedEmail(input.profile)
  await lockIdentity(trx, tenantId, profile.providerType, profile.subject)

  const identity = await findIdentity(trx, tenantId, profile.providerType, profile.subject)
  if (identity) {
    const user = await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', identity.user_id).executeTakeFirstOrThrow()
    await recordEvent(trx, tenantId, 'login', user.id, { method: 'social' }, { provider: profile.providerName, client: input.clientId })
    return { kind: 'login', isNew: false, user, identity }
  }

  const providerEmail = profile.email
  const email = providerEmail ?? validEmail(input.suppliedEmail)
  const emailVerified = providerEmail !== null && profile.emailVerified

  if (email) {
    const existing = await findUserByEmail(trx, tenantId, email)
    if (existing) {
      // Never link on an unverified address: both sides must be verified and the tenant must opt in.
      if (input.linking === 'verified-email' && emailVerified && existing.email_verified) {
        const linked = await insertIdentity(trx, tenantId, existing.id, profile)
        await recordEvent(trx, tenantId, 'link', existing.id, { method: 'verified-email' }, { provider: profile.providerName, client: input.clientId })
        return { kind: 'linked', isNew: false, user: existing, identity: linked }
      }
      return { kind: 'email-in-use', isNew: false, existingUser: existing, email }
    }
  } else if (input.requireEmail) {
    return { kind: 'no-email' }
  }

  if (input.register === false) return { kind: 'not-registered', email }

  const user = await createUser(trx, tenantId, {
    ...userFieldsFromProfile(profile),
    ...input.newUser,
    email,
    email_verified: email !== null && emailVerified
  })
  const created = await insertIdentity(trx, tenantId, user.id, profile)
  await recordEvent(trx, tenantId, 'register', user.id, { method: 'social' }, { provider: profile.providerName, client: input.clientId })
  return { kind: 'created', isNew: true, user, identity: created }
}

export type AttachOutcome =
  | { kind: 'attached', identity: Identity }
  | { kind: 'already-attached', identity: Identity }
  | { kind: 'owned-by-other', identity: Identity }

/** Adds a social identity to an account the caller has already authenticated (an explicit merge). */
export async function attachIdentity (db: Executor, tenantId: string, userId: string, profile: NormalizedProfile): Promise<AttachOutcome> {
  return inTransaction(db, async (trx) => {
    await lockIdentity(trx, tenantId, profile.providerType, profile.subject)
    const existing = await findIdentity(trx, tenantId, profile.providerType, profile.subject)
    if (existing) return { kind: existing.user_id === userId ? 'already-attached' : 'owned-by-other', identity: existing }
    const identity = await insertIdentity(trx, tenantId, userId, profile)
    await recordEvent(trx, tenantId, 'merge', userId, {}, { provider: profile.providerName })
    return { kind: 'attached', identity }
  })
}

async function lockIdentity (trx: Executor, tenantId: string, providerType: string, subject: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${JSON.stringify([tenantId, providerType, subject])}, 0))`.execute(trx)
}
