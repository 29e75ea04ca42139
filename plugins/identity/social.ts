// Social login resolution (DESIGN 4.3): find the identity, else apply the tenant's linking rule, else register.
import { sql, type Kysely } from 'kysely'
import type { Database, Identity, User } from '../../db/index.ts'
import { logins } from '../metrics.ts'
import type { NormalizedProfile } from '../providers/types.ts'
import { inTransaction, transactionWithRaceRetry, type Executor } from './executor.ts'
import { validEmail } from '../email-address.ts'
import { createUser, findIdentity, findUserByEmail, insertIdentity, profileWithNormalizedEmail, recordEvent, userFieldsFromProfile, type UserFields } from './users.ts'
import { rows, SOCIAL_SQL } from './statements.ts'
import { eventParams } from '../events/row.ts'

/** The identity a sign-in hands back: every column but `profile`, the provider's raw answer (no caller reads it). */
export type LoginIdentity = Omit<Identity, 'profile'>

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
  | { kind: 'login', isNew: false, user: User, identity: LoginIdentity }
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
  // A returning identity (the common case) in one statement, in the caller's transaction or alone; the rest
  // in a transaction. Inside a caller's transaction the caller retries (see transactionWithRaceRetry); alone, we do.
  const returning = await returningSocialLogin(db, input.tenantId, input.profile, input.clientId ?? null)
  const outcome: SocialLoginOutcome = returning
    ? { kind: 'login', isNew: false, ...returning }
    : db.isTransaction
      ? await resolveLocked(db, input)
      : await transactionWithRaceRetry(db as Kysely<Database>, (trx) => resolveLocked(trx, input))
  if (input.countMetric !== false) logins.inc({ tenant: input.tenantId, outcome: outcome.kind })
  return outcome
}

/** The session the one-statement sign-in issues (insertSession's parameters, the token already drawn and hashed). */
export interface ReturningSession {
  kind: string
  tokenHash: string
  clientId: string | null
  source: string | null
  ttlSeconds: number | null
}

type ReturningRow = User & { [K in keyof LoginIdentity as `i_${K & string}`]: LoginIdentity[K] }

/** A row of SOCIAL_SQL.socialLogin*: the user's columns, then the identity's as i_*. */
function splitReturning (row: ReturningRow): { user: User, identity: LoginIdentity } {
  const { i_id: id, i_tenant_id: tenantId, i_user_id: userId, i_provider_type: providerType, i_provider_name: providerName, i_subject: subject,
    i_issuer: issuer, i_email: email, i_email_verified: emailVerified, i_created_at: createdAt, ...user } = row
  return {
    user,
    identity: { id, tenant_id: tenantId, user_id: userId, provider_type: providerType, provider_name: providerName, subject, issuer, email, email_verified: emailVerified, created_at: createdAt }
  }
}

/**
 * A returning identity's sign-in in one statement (SOCIAL_SQL.socialLogin, with `session` socialLoginSession):
 * its account, the `login` event resolveLocked records (same type, data and context), the session when given.
 * null, having written nothing, for everything resolveLocked must decide: no identity yet (first logins under
 * its advisory lock), a blocked account (refused there, in each dialect's words), an account being erased.
 */
export async function returningSocialLogin (db: Executor, tenantId: string, profile: NormalizedProfile, clientId: string | null, session?: ReturningSession): Promise<{ user: User, identity: LoginIdentity } | null> {
  const params = [tenantId, profile.providerType, profile.subject, ...eventParams(tenantId, 'login', null, {}, { provider: profile.providerName, client: clientId }).slice(4)]
  const [row] = session
    ? await rows<ReturningRow>(db, SOCIAL_SQL.socialLoginSession, [...params, session.kind, session.tokenHash, session.clientId, session.source, session.ttlSeconds])
    : await rows<ReturningRow>(db, SOCIAL_SQL.socialLogin, params)
  return row ? splitReturning(row) : null
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
