// The identity core as dialects see it: actions bound to one tenant's database, id, linking rule and
// mail outbox. A dialect never holds a database handle or passes a tenant id; it calls these actions
// (sign in with a provider profile, with a magic link, with a password; redeem a one-time code) and
// maps their typed outcomes to its wire format. Storage functions stay behind this door.
import type { Kysely, Transaction } from 'kysely'
import type { Database, Identity, OneTimeToken, User } from '../../db/index.ts'
import { hashToken, randomToken, verifyPassword } from '../crypto.ts'
import { validEmail } from '../email-address.ts'
import type { MailOutbox, OutgoingMail } from '../mail/types.ts'
import { eventParams, type EventMeta } from '../events/row.ts'
import { logins } from '../metrics.ts'
import type { NormalizedProfile } from '../providers/types.ts'
import { inTransaction, isUniqueViolation, transactionWithRaceRetry, type Executor } from './executor.ts'
import {
  issueSession, revokeSession, revokeSessionById, revokeSessionsBySource, revokeUserSessions, verifySession, verifySessionBrief,
  type BriefSession, type IssueSessionInput, type SessionKind, type VerifiedSession
} from './sessions.ts'
import { batchedRows, MAGIC_LINK_LOGIN, rows, SOCIAL_SQL, SQL } from './statements.ts'
import { issueSignedSession, publicJwks, verifySignedSession, type JwtAlgorithm, type SignedSessionOptions } from './signing-keys.ts'
import { attachIdentity, resolveSocialLogin, returningSocialLogin, type AttachOutcome, type LinkingRule, type LoginIdentity, type ReturningSession } from './social.ts'
import { consumeOneTimeToken, createOneTimeToken, peekOneTimeToken, type ConsumeResult, type CreateTokenInput, type TokenPurpose } from './tokens.ts'
import {
  createUser, findUserByEmail, findUserByReferralCode, findUserByUsername, getUser, getUserByUuid, listIdentities, recordEvent, updateUser, type UserFields
} from './users.ts'

export interface TenantIdentityOptions {
  tenantId: string
  linking: LinkingRule
  mail: MailOutbox
}

/** What a magic-link login hands back of the account (what by-link's login answer shows). */
export type MagicLinkUser = Pick<User, 'id' | 'username' | 'email' | 'given_name' | 'family_name'>

/** A session to issue when an action signs someone in. */
export type SessionSpec = Omit<IssueSessionInput, 'tenantId' | 'userId'>

export interface SignedIn {
  user: User
  isNew: boolean
  /** How the profile found its account: an existing identity, a link by verified email, or a new account. */
  how: 'login' | 'linked' | 'created'
  identity: LoginIdentity
}

/** What a one-statement sign-in that consumed a one-time token hands back (signInConsuming): what Capture's capture_user shows. */
export interface ConsumingSignIn {
  user: User
  identities: Array<Pick<Identity, 'id' | 'provider_type' | 'provider_name' | 'subject' | 'issuer' | 'email' | 'email_verified' | 'created_at'>>
  /** The time of the `login` event it recorded (what lastSignIn would read now). */
  lastLogin: Date
  token: string
}

export interface SignInWithProfileOptions<T> {
  /** An address the client supplied because the provider gave none; never counts as verified. */
  suppliedEmail?: string | null
  /** When true and no email is known, the outcome is `no-email` instead of a new account. */
  requireEmail?: boolean
  /** When false, an unknown identity is `not-registered` instead of a new account (two-step registration). */
  register?: boolean
  /** Fields of a new account (referral code, locale, form attributes). */
  newUser?: UserFields
  /** Issue this session on success, in the same transaction. */
  session?: SessionSpec
  /** The dialect's own writes, in the same transaction (a confirmation, a username, a merge). Throwing
   *  rolls the sign-in back. May run twice when a concurrent first login wins the race: keep it free of
   *  side effects outside the database. */
  then?: (tx: TenantIdentity, signedIn: SignedIn) => Promise<T>
}

export type SignInOutcome<T = undefined> =
  | (SignedIn & { kind: 'signed-in', token: string | null, result: T })
  | { kind: 'email-in-use', existingUser: User, email: string }
  | { kind: 'no-email' }
  | { kind: 'not-registered', email: string | null }

export type RedeemOutcome<T> =
  | { ok: true, value: T }
  | { ok: false, reason: 'unknown' | 'expired' | 'refused' }
  | { ok: false, reason: 'replayed', revoked: number }

/** The account is blocked (an operator set `disabled_at`): the sign-in is refused. Thrown only once the caller
 *  has proven who they are, so it reveals nothing to a stranger; each dialect's envelope answers it in its words. */
export class AccountDisabledError extends Error {
  readonly code = 'VST_ERR_ACCOUNT_DISABLED'
  /** The blocked account, for the audit event. */
  constructor (readonly userId: string | null = null) { super('the account is disabled') }
}

function refuseDisabled (user: User | undefined): void {
  if (user?.disabled_at) throw new AccountDisabledError(user.id)
}

/** How long after joining a user may still say who referred them (baseapp_auth UserSerializer: one day). */
export const REFERRAL_WINDOW_MS = 24 * 3600 * 1000

/** Why updateProfile refused a referrer (baseapp_auth UserSerializer.validate_referred_by_code's four cases). */
export type ReferralRefusal = 'invalid' | 'self' | 'too-late' | 'already-referred'

/** Thrown inside updateProfile's transaction to roll it back; answered as its `referral-refused` outcome. */
class ReferralRefusedError extends Error {
  readonly code = 'VST_ERR_REFERRAL_REFUSED'
  constructor (readonly reason: ReferralRefusal) { super(`referral refused: ${reason}`) }
}

/** What an email change through a dialect's own profile route also does (see updateProfile). */
export interface EmailChangeSpec {
  /** The session that made the change: it stays; every other session of the account is revoked. */
  keepSessionId: string
  /** The notice mailed to the old address. */
  notice: (oldEmail: string, newEmail: string) => Omit<OutgoingMail, 'tenantId' | 'to'>
}

export class TenantIdentity {
  readonly #db: Executor
  readonly #opts: TenantIdentityOptions

  constructor (db: Executor, opts: TenantIdentityOptions) {
    this.#db = db
    this.#opts = opts
  }

  get tenantId (): string { return this.#opts.tenantId }

  /** Runs fn with this identity bound to one transaction (or the caller's, when already inside one). */
  transaction<T> (fn: (tx: TenantIdentity) => Promise<T>): Promise<T> {
    return inTransaction(this.#db, (trx) => fn(this.#bound(trx)))
  }

  #bound (trx: Transaction<Database>): TenantIdentity {
    return trx === this.#db ? this : new TenantIdentity(trx, this.#opts)
  }

  /** Its own transaction, decided once more when it loses a unique-key race to a concurrent writer. */
  #raceSafe<T> (fn: (tx: TenantIdentity) => Promise<T>): Promise<T> {
    if (this.#db.isTransaction) throw new Error('this action opens its own transaction; call it outside identity.transaction()')
    return transactionWithRaceRetry(this.#db as Kysely<Database>, (trx) => fn(this.#bound(trx)))
  }

  // ---- actions ----

  /**
   * Signs a provider profile in (DESIGN 4.3): the identity's account, else a link by verified email when
   * the tenant allows it, else a new account. Owns the transaction, the race retry (concurrent first
   * logins of one identity make one user, exactly one `isNew`), the session and the dialect's own writes.
   */
  async signInWithProfile<T = undefined> (profile: NormalizedProfile, opts: SignInWithProfileOptions<T> = {}): Promise<SignInOutcome<T>> {
    // A returning identity without dialect writes: the account, the event and the session in one statement.
    const returning = opts.then === undefined && !this.#db.isTransaction ? await this.#returningInOneStatement(profile, opts.session) : null
    if (returning) {
      logins.inc({ tenant: this.tenantId, outcome: 'login' })
      return returning as SignInOutcome<T>
    }
    const outcome = await this.#refusedIfBlocked({ method: 'social' }, { provider: profile.providerName, client: opts.session?.clientId }, () => this.#raceSafe(async (tx) => {
      const resolved = await resolveSocialLogin(tx.#db, {
        tenantId: this.tenantId,
        linking: this.#opts.linking,
        profile,
        suppliedEmail: opts.suppliedEmail,
        requireEmail: opts.requireEmail,
        register: opts.register,
        newUser: opts.newUser,
        countMetric: false,
        clientId: opts.session?.clientId
      })
      if (resolved.kind === 'email-in-use') return { kind: 'email-in-use', existingUser: resolved.existingUser, email: resolved.email } as const
      if (resolved.kind === 'no-email' || resolved.kind === 'not-registered') return resolved
      refuseDisabled(resolved.user)
      const signedIn: SignedIn = { user: resolved.user, isNew: resolved.isNew, how: resolved.kind, identity: resolved.identity }
      const result = opts.then ? await opts.then(tx, signedIn) : undefined as T
      // The dialect's writes may have changed the user (a username, a locale): hand back the stored row.
      const user = opts.then ? (await tx.getUser(signedIn.user.id)) ?? signedIn.user : signedIn.user
      const token = opts.session ? (await issueSession(tx.#db, { ...opts.session, userId: user.id, tenantId: this.tenantId })).token : null
      return { kind: 'signed-in', ...signedIn, user, token, result } as const
    }))
    logins.inc({ tenant: this.tenantId, outcome: outcome.kind === 'signed-in' ? outcome.how : outcome.kind })
    return outcome as SignInOutcome<T>
  }

  /** signInWithProfile's returning identity in one statement (SOCIAL_SQL.socialLogin*), or null: the transaction decides. */
  async #returningInOneStatement (profile: NormalizedProfile, session: SessionSpec | undefined): Promise<SignInOutcome | null> {
    const token = session ? session.token ?? randomToken() : null
    const spec: ReturningSession | undefined = session && {
      kind: session.kind, tokenHash: hashToken(token!), clientId: session.clientId ?? null, source: session.source ?? null, ttlSeconds: session.ttlSeconds || null
    }
    const found = await returningSocialLogin(this.#db, this.tenantId, profile, session?.clientId ?? null, spec)
    return found ? { kind: 'signed-in', user: found.user, isNew: false, how: 'login', identity: found.identity, token, result: undefined } : null
  }

  /**
   * A returning identity's sign-in that also spends a one-time token (Capture's auth_native and its Social
   * Login token), in one statement (SOCIAL_SQL.socialLoginConsuming): the token consumed, the `login` event
   * (as signInWithProfile records it when `then` issues the session: no client), the session, and the account
   * with every identity and the login's time. null, having written nothing (the token stays live), when the
   * token is not live or signInWithProfile's transaction must decide (no identity yet, a blocked or erased account).
   */
  async signInConsuming (purpose: TokenPurpose, oneTimeToken: string, profile: NormalizedProfile, session: SessionSpec): Promise<ConsumingSignIn | null> {
    if (typeof oneTimeToken !== 'string' || oneTimeToken.length === 0 || oneTimeToken.length > 512 || this.#db.isTransaction) return null
    const token = session.token ?? randomToken()
    type Row = User & { last_login: Date } & { [K in keyof ConsumingSignIn['identities'][number] as `li_${K & string}`]: ConsumingSignIn['identities'][number][K] }
    const found = await rows<Row>(this.#db, SOCIAL_SQL.socialLoginConsuming, [
      this.tenantId, profile.providerType, profile.subject, ...eventParams(this.tenantId, 'login', null, {}, { provider: profile.providerName }).slice(4),
      session.kind, hashToken(token), session.clientId ?? null, session.source ?? null, session.ttlSeconds || null, purpose, hashToken(oneTimeToken)
    ])
    if (found.length === 0) return null
    const identities = found.map((r) => ({
      id: r.li_id, provider_type: r.li_provider_type, provider_name: r.li_provider_name, subject: r.li_subject, issuer: r.li_issuer,
      email: r.li_email, email_verified: r.li_email_verified, created_at: r.li_created_at
    }))
    const { last_login: lastLogin, li_id: _1, li_provider_type: _2, li_provider_name: _3, li_subject: _4, li_issuer: _5, li_email: _6, li_email_verified: _7, li_created_at: _8, ...user } = found[0]
    logins.inc({ tenant: this.tenantId, outcome: 'login' })
    return { user, identities, lastLogin, token }
  }

  /**
   * Mails a magic link: the one-time token and its outbox row commit together (no mail without a usable
   * token, no token without its mail), then the row is handed to delivery.
   */
  async sendMagicLink (input: { email: string, ttlSeconds: number, compose: (token: string) => Omit<OutgoingMail, 'tenantId' | 'to'> }): Promise<{ token: string }> {
    const { token, outboxId } = await this.transaction(async (tx) => {
      const { token } = await tx.createToken('magic-link', { ttlSeconds: input.ttlSeconds, data: { email: input.email }, email: validEmail(input.email) })
      await tx.recordEvent('magic-link-requested', null, {})
      const outboxId = await this.#opts.mail.write(tx.#db, { ...input.compose(token), tenantId: this.tenantId, to: input.email })
      return { token, outboxId }
    })
    await this.#opts.mail.dispatch([outboxId])
    return { token }
  }

  /**
   * Redeems a magic link: the account of the address it was mailed to, created on first use. An account
   * that holds the address unverified gives it up first (pre-hijack defence: whoever typed an address they
   * never proved may control that account; proving the address takes the address, not the account).
   */
  async signInWithMagicLink (token: string, session: SessionSpec): Promise<{ kind: 'signed-in', user: MagicLinkUser, isNew: boolean, token: string } | { kind: 'invalid-token' }> {
    const meta = { client: session.clientId }
    const result = await this.#refusedIfBlocked({ method: 'magic-link' }, meta, async () => (await this.#magicLinkInOneStatement(token, session, meta)) ?? await this.#raceSafe(async (tx) => {
      const consumed = await tx.consumeToken('magic-link', token)
      if (!consumed.ok) {
        await tx.recordEvent('login-failed', consumed.reason === 'replayed' ? consumed.row.user_id : null, { method: 'magic-link', reason: consumed.reason }, meta)
        return null
      }
      const email = String(consumed.row.data.email)
      let user = await tx.findUserByEmail(email)
      refuseDisabled(user)
      if (user && !user.email_verified) {
        await tx.updateUser(user.id, { email: null })
        await tx.recordEvent('email-released', user.id, { reason: 'proven-by-magic-link' })
        user = undefined
      }
      const isNew = user === undefined
      if (!user) user = await createUser(tx.#db, this.tenantId, { email, email_verified: true })
      await tx.recordEvent(isNew ? 'register' : 'login', user.id, { method: 'magic-link' }, meta)
      const issued = await issueSession(tx.#db, { ...session, userId: user.id, tenantId: this.tenantId })
      return { kind: 'signed-in' as const, user, isNew, token: issued.token }
    }))
    logins.inc({ tenant: this.tenantId, outcome: result ? (result.isNew ? 'created' : 'login') : 'invalid-token' })
    return result ?? { kind: 'invalid-token' }
  }

  /**
   * The common magic-link login (a live link, a verified account or none yet) as one statement
   * (MAGIC_LINK_LOGIN, shared with the other logins of the same event-loop turn); null when it wrote nothing and the transactional path above must decide (a link
   * not live, an unverified or disabled holder, a concurrent first login of the address, a link from
   * before the email column).
   */
  async #magicLinkInOneStatement (token: string, session: SessionSpec, meta: EventMeta): Promise<{ kind: 'signed-in', user: MagicLinkUser, isNew: boolean, token: string } | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 512 || this.#db.isTransaction) return null
    const issued = session.token ?? randomToken()
    try {
      const [row] = await batchedRows<MagicLinkUser & { is_new: boolean }>(this.#db, MAGIC_LINK_LOGIN, [
        this.tenantId, hashToken(token), session.kind, hashToken(issued), session.clientId ?? null, session.source ?? null, session.ttlSeconds || null,
        ...eventParams(this.tenantId, 'login', null, {}, meta).slice(4)
      ])
      if (!row) return null
      const { i: _i, is_new: isNew, ...user } = row
      return { kind: 'signed-in', user, isNew, token: issued }
    } catch (err) {
      if ((err as { code?: string }).code === '23502') return null // the race described at MAGIC_LINK_LOGIN: rolled back
      throw err
    }
  }

  /**
   * Redeems a one-time code (a confirmation, an authorization code) and runs `then` in the same
   * transaction with the row and the code's `source` (stamp it on what you issue). `then` returning null
   * refuses the code, which stays spent. A replayed code is a leak signal: everything issued with its
   * source is revoked.
   */
  async redeem<T> (purpose: TokenPurpose, code: string, then: (row: OneTimeToken, tx: TenantIdentity, source: string) => Promise<T | null>): Promise<RedeemOutcome<T>> {
    const source = this.sourceOf(purpose, code)
    const result = await this.transaction(async (tx): Promise<RedeemOutcome<T>> => {
      const consumed = await tx.consumeToken(purpose, code)
      if (!consumed.ok) {
        await tx.recordEvent('code-refused', consumed.reason === 'replayed' ? consumed.row.user_id : null, { purpose, reason: consumed.reason })
        return consumed.reason === 'replayed' ? { ok: false, reason: 'replayed', revoked: 0 } : { ok: false, reason: consumed.reason }
      }
      const value = await then(consumed.row, tx, source)
      if (value === null) await tx.recordEvent('code-refused', consumed.row.user_id, { purpose, reason: 'refused' })
      return value === null ? { ok: false, reason: 'refused' } : { ok: true, value }
    })
    if (!result.ok && result.reason === 'replayed') return { ok: false, reason: 'replayed', revoked: await this.revokeSessionsBySource(source, 'code-replayed') }
    return result
  }

  /** What sessions issued on the strength of a one-time code carry, so a replay of the code finds them. */
  sourceOf (purpose: TokenPurpose, code: string): string {
    return hashToken(`${purpose}:${code}`)
  }

  /** The account of an email and password, or null; spends one scrypt even without an account, so timing reveals nothing. */
  async verifyPassword (email: string, password: string): Promise<User | null> {
    const user = await this.findUserByEmail(email)
    const ok = await verifyPassword(password, user?.password_hash ?? null)
    if (user && ok && user.disabled_at) {
      await this.recordEvent('login-failed', user.id, { method: 'password', reason: 'blocked' })
      refuseDisabled(user)
    }
    // An unknown address is recorded without it: the event names accounts, never what a stranger typed.
    if (!(user && ok)) await this.recordEvent('login-failed', user?.id ?? null, { method: 'password', reason: user ? 'invalid-credentials' : 'unknown-account' })
    return user && ok ? user : null
  }

  /** Registers an email + password account (password already hashed) and runs `then` in the same transaction. */
  async registerWithPassword<T> (fields: UserFields & { email: string, password_hash: string }, then: (tx: TenantIdentity, user: User) => Promise<T>): Promise<{ kind: 'created', user: User, result: T } | { kind: 'email-in-use' }> {
    try {
      return await this.transaction(async (tx) => {
        if (await tx.findUserByEmail(fields.email)) return { kind: 'email-in-use' } as const
        const user = await createUser(tx.#db, this.tenantId, { ...fields, email_verified: false })
        await tx.recordEvent('register', user.id, { method: 'password' })
        return { kind: 'created', user, result: await then(tx, user) } as const
      })
    } catch (err) {
      // Two registrations racing for one address: the loser sees the unique index.
      if (isUniqueViolation(err)) return { kind: 'email-in-use' }
      throw err
    }
  }

  /**
   * Updates an account's own profile; a new email address is unverified and must not belong to another
   * account. When the address changes and `emailChange` is given, in the same transaction every other
   * session of the account is revoked (a stolen token must not outlive the change) and a notice is
   * written to the old address (so its owner learns of a change they did not make), then dispatched.
   */
  updateProfile (userId: string, fields: UserFields, emailChange?: EmailChangeSpec): Promise<{ kind: 'updated', user: User } | { kind: 'email-in-use' }>
  /** With `referredByCode`: also records who referred the user (see #referrerFor), or refuses the whole update. */
  updateProfile (userId: string, fields: UserFields, emailChange: EmailChangeSpec | undefined, referredByCode: string | undefined): Promise<{ kind: 'updated', user: User } | { kind: 'email-in-use' } | { kind: 'referral-refused', reason: ReferralRefusal }>
  async updateProfile (userId: string, fields: UserFields, emailChange?: EmailChangeSpec, referredByCode?: string): Promise<{ kind: 'updated', user: User } | { kind: 'email-in-use' } | { kind: 'referral-refused', reason: ReferralRefusal }> {
    const outboxIds: string[] = []
    try {
      const outcome = await this.transaction(async (tx) => {
        if (referredByCode !== undefined) fields = { ...fields, referred_by_id: await tx.#referrerFor(userId, referredByCode) }
        if (fields.email) {
          const other = await tx.findUserByEmail(fields.email)
          if (other && other.id !== userId) return { kind: 'email-in-use' } as const
        }
        const before = emailChange && fields.email ? await tx.getUser(userId) : undefined
        const user = await tx.updateUser(userId, fields)
        if (!user) throw new Error('authenticated user vanished')
        if (emailChange && before && before.email !== user.email) {
          await tx.#db.updateTable('sessions').set({ revoked_at: new Date() })
            .where('tenant_id', '=', this.tenantId).where('user_id', '=', userId)
            .where('revoked_at', 'is', null).where('id', '<>', emailChange.keepSessionId).execute()
          if (before.email) {
            outboxIds.push(await this.#opts.mail.write(tx.#db, { ...emailChange.notice(before.email, user.email ?? ''), tenantId: this.tenantId, to: before.email }))
          }
          await tx.recordEvent('email-changed', userId, {})
        }
        return { kind: 'updated', user } as const
      })
      if (outboxIds.length > 0) await this.#opts.mail.dispatch(outboxIds)
      return outcome
    } catch (err) {
      if (isUniqueViolation(err)) return { kind: 'email-in-use' }
      if (err instanceof ReferralRefusedError) return { kind: 'referral-refused', reason: err.reason }
      throw err
    }
  }

  /** Who referred `userId`, by the referrer's code, under baseapp's rules (baseapp_auth UserSerializer
   *  validate_referred_by_code): a code of this tenant, not the user's own, within a day of joining, once.
   *  The user's row is locked so two updates cannot both set it. Throws ReferralRefusedError. */
  async #referrerFor (userId: string, code: string): Promise<string> {
    const me = await this.#db.selectFrom('users').select(['id', 'created_at', 'referred_by_id'])
      .where('tenant_id', '=', this.tenantId).where('id', '=', userId).forUpdate().executeTakeFirst()
    if (!me) throw new Error('authenticated user vanished')
    const referrer = await this.findUserByReferralCode(code)
    if (!referrer) throw new ReferralRefusedError('invalid')
    if (referrer.id === me.id) throw new ReferralRefusedError('self')
    if (Date.now() - new Date(me.created_at).getTime() > REFERRAL_WINDOW_MS) throw new ReferralRefusedError('too-late')
    if (me.referred_by_id !== null) throw new ReferralRefusedError('already-referred')
    return referrer.id
  }

  /** Adds a social identity to an account the caller has authenticated (an explicit merge). */
  attachIdentity (userId: string, profile: NormalizedProfile): Promise<AttachOutcome> {
    return attachIdentity(this.#db, this.tenantId, userId, profile)
  }

  // ---- one-time tokens ----

  createToken (purpose: TokenPurpose, input: Omit<CreateTokenInput, 'tenantId' | 'purpose'>): Promise<{ token: string, row: OneTimeToken }> {
    return createOneTimeToken(this.#db, { ...input, tenantId: this.tenantId, purpose })
  }

  consumeToken (purpose: TokenPurpose, token: string): Promise<ConsumeResult> {
    return consumeOneTimeToken(this.#db, this.tenantId, purpose, token)
  }

  peekToken (purpose: TokenPurpose, token: string): Promise<OneTimeToken | undefined> {
    return peekOneTimeToken(this.#db, this.tenantId, purpose, token)
  }

  // ---- sessions ----

  /** Issues a session to an account that is not blocked (the actions above check the row they already hold). */
  async issueSession (input: SessionSpec & { userId: string }): Promise<{ token: string }> {
    const row = await this.#db.selectFrom('users').select('disabled_at').where('tenant_id', '=', this.tenantId).where('id', '=', input.userId).executeTakeFirst()
    if (row?.disabled_at) throw new AccountDisabledError(input.userId)
    return issueSession(this.#db, { ...input, tenantId: this.tenantId })
  }

  /** The live session with its user; a blocked account's tokens are dead even if one escaped the revocation. */
  async verifySession (kinds: readonly SessionKind[], token: string): Promise<VerifiedSession | undefined> {
    const v = await verifySession(this.#db, this.tenantId, kinds, token)
    return v?.user.disabled_at ? undefined : v
  }

  /**
   * Issues a session as a JWT signed with the tenant's current key (created on first use; plugins/identity/signing-keys.ts):
   * `jti` names the session, so the token dies with it. Refused for a blocked account, like issueSession.
   */
  async issueSignedSession (input: SessionSpec & { userId: string }, jwt: SignedSessionOptions): Promise<{ token: string }> {
    const row = await this.#db.selectFrom('users').select(['disabled_at', 'uuid']).where('tenant_id', '=', this.tenantId).where('id', '=', input.userId).executeTakeFirst()
    if (!row) throw new Error('issueSignedSession: no such user')
    if (row.disabled_at) throw new AccountDisabledError(input.userId)
    return { token: (await issueSignedSession(this.#db, { ...input, tenantId: this.tenantId }, row, jwt)).token }
  }

  /** A signed session token's live session with its user and claims; undefined for anything else (see verifySignedSession). */
  verifySignedSession (kinds: readonly SessionKind[], token: string, opts: { issuer: string, audience?: string | string[] }): ReturnType<typeof verifySignedSession> {
    return verifySignedSession(this.#db, this.tenantId, kinds, token, opts)
  }

  /** The tenant's public signing keys (a key is created on first use, with `alg`). */
  jwks (alg?: JwtAlgorithm): ReturnType<typeof publicJwks> {
    return publicJwks(this.#db, this.tenantId, alg)
  }

  /** Revokes one session by id (a sign-out with a signed token); recorded like revokeSession. */
  revokeSessionById (sessionId: string): Promise<boolean> {
    return inTransaction(this.#db, async (trx) => {
      const revoked = await revokeSessionById(trx, this.tenantId, sessionId)
      if (revoked) await recordEvent(trx, this.tenantId, 'session-revoked', revoked.user_id, { session: revoked.id, kind: revoked.kind }, { client: revoked.client_id })
      return revoked !== undefined
    })
  }

  /** verifySession with only the user columns a profile read serializes (BRIEF_USER_COLUMNS); blocked accounts excluded in SQL. */
  verifySessionBrief (kinds: readonly SessionKind[], token: string): Promise<BriefSession | undefined> {
    return verifySessionBrief(this.#db, this.tenantId, kinds, token)
  }

  /** Revokes one token (a sign-out, a rotated refresh token); the event names the session, never the token. */
  revokeSession (token: string): Promise<boolean> {
    return inTransaction(this.#db, async (trx) => {
      const revoked = await revokeSession(trx, this.tenantId, token)
      if (revoked) await recordEvent(trx, this.tenantId, 'session-revoked', revoked.user_id, { session: revoked.id, kind: revoked.kind }, { client: revoked.client_id })
      return revoked !== undefined
    })
  }

  revokeSessionsBySource (source: string, reason = 'source-revoked'): Promise<number> {
    return inTransaction(this.#db, async (trx) => {
      const revoked = await revokeSessionsBySource(trx, this.tenantId, source)
      for (const [userId, n] of countBy(revoked)) await recordEvent(trx, this.tenantId, 'sessions-revoked', userId, { reason, count: n })
      return revoked.length
    })
  }

  revokeUserSessions (userId: string, kind?: SessionKind): Promise<number> {
    return inTransaction(this.#db, async (trx) => {
      const n = await revokeUserSessions(trx, this.tenantId, userId, kind)
      if (n > 0) await recordEvent(trx, this.tenantId, 'sessions-revoked', userId, { reason: 'user-request', count: n, ...(kind ? { kind } : {}) })
      return n
    })
  }

  /** Runs a sign-in; a blocked account's refusal is recorded (outside the rolled-back transaction) and rethrown. */
  async #refusedIfBlocked<T> (data: Record<string, unknown>, meta: EventMeta, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof AccountDisabledError) await this.recordEvent('login-failed', err.userId, { ...data, reason: 'blocked' }, meta)
      throw err
    }
  }

  // ---- accounts ----

  getUser (id: string): Promise<User | undefined> { return getUser(this.#db, this.tenantId, id) }
  getUserByUuid (uuid: string): Promise<User | undefined> { return getUserByUuid(this.#db, this.tenantId, uuid) }
  findUserByEmail (email: string): Promise<User | undefined> { return findUserByEmail(this.#db, this.tenantId, email) }
  findUserByUsername (username: string): Promise<User | undefined> { return findUserByUsername(this.#db, this.tenantId, username) }
  /** The user of this tenant who owns this referral code (another tenant's code finds no one). */
  findUserByReferralCode (code: string): Promise<User | undefined> { return findUserByReferralCode(this.#db, this.tenantId, code) }
  updateUser (id: string, fields: UserFields): Promise<User | undefined> { return updateUser(this.#db, this.tenantId, id, fields) }
  listIdentities (userId: string): Promise<Identity[]> { return listIdentities(this.#db, this.tenantId, userId) }
  /** When the account last signed in or registered, from the audit log (null when none is kept). */
  async lastSignIn (userId: string): Promise<Date | null> {
    // The newest matching event by id: a backward walk of audit_events_tenant_user_idx that stops at the first hit.
    const row = await this.#db.selectFrom('audit_events').select('created_at')
      .where('tenant_id', '=', this.tenantId).where('user_id', '=', userId).where('type', 'in', ['login', 'register'])
      .orderBy('id', 'desc').limit(1)
      .executeTakeFirst()
    return row?.created_at ?? null
  }
  recordEvent (type: string, userId: string | null, data: Record<string, unknown> = {}, meta?: EventMeta): Promise<void> { return recordEvent(this.#db, this.tenantId, type, userId, data, meta) }
}

function countBy (rows: Array<{ user_id: string }>): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of rows) out.set(r.user_id, (out.get(r.user_id) ?? 0) + 1)
  return out
}

export function createTenantIdentity (db: Kysely<Database>, opts: TenantIdentityOptions): TenantIdentity {
  return new TenantIdentity(db, opts)
}
