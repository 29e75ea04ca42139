// Accounts of one tenant as an operator manages them: find (cursor pages; by email, provider + subject, when
// created), read with identities and live sessions, block and unblock, revoke sessions, erase and export.
// Every statement is scoped by tenant_id. Erasure removes the account and everything naming its addresses
// (identities, sessions, one-time tokens, pending and sent mail, rate-limit counters) and keeps audit events
// with the addresses scrubbed and the account replaced by a pseudonym.
import { randomHex } from '../../plugins/crypto.ts'
import type { Redis } from 'ioredis'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, Identity, OneTimeToken, Session, User } from '../../db/index.ts'
import type { OutboxRow } from '../../db/database.ts'
import { recordEvent, revokeUserSessions } from '../../plugins/identity/index.ts'
import { openTokenRow } from '../../plugins/identity/tokens.ts'
import { openOutboxRow } from '../../workers/mail-bodies.ts'

export interface UserQuery {
  afterId?: string
  limit: number
  email?: string
  provider?: string
  subject?: string
  createdAfter?: Date
  createdBefore?: Date
  blocked?: boolean
}

const ID = /^\d{1,18}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function userView (u: User): Record<string, unknown> {
  return {
    id: u.id,
    uuid: u.uuid,
    email: u.email,
    emailVerified: u.email_verified,
    username: u.username,
    givenName: u.given_name,
    familyName: u.family_name,
    displayName: u.display_name,
    photo: u.photo,
    locale: u.locale,
    referralCode: u.referral_code,
    hasPassword: u.password_hash !== null,
    attributes: u.attributes,
    blocked: u.disabled_at !== null,
    blockedAt: u.disabled_at?.toISOString() ?? null,
    createdAt: u.created_at.toISOString(),
    updatedAt: u.updated_at.toISOString()
  }
}

export function identityView (i: Identity): Record<string, unknown> {
  return { id: i.id, provider: i.provider_type, providerName: i.provider_name, subject: i.subject, issuer: i.issuer, email: i.email, emailVerified: i.email_verified, createdAt: i.created_at.toISOString() }
}

export function sessionView (s: Session): Record<string, unknown> {
  return { id: s.id, kind: s.kind, clientId: s.client_id, createdAt: s.created_at.toISOString(), expiresAt: s.expires_at?.toISOString() ?? null, revokedAt: s.revoked_at?.toISOString() ?? null }
}

export class TenantUsers {
  constructor (readonly db: Kysely<Database>, readonly tenantId: string, readonly redis: Redis | null = null, readonly redisPrefix = 'vst') {}

  /** By numeric id or uuid. */
  async find (ref: string, db: Kysely<Database> | Transaction<Database> = this.db): Promise<User | undefined> {
    const col = ID.test(ref) ? 'id' : UUID.test(ref) ? 'uuid' : null
    if (!col) return undefined
    return db.selectFrom('users').selectAll().where('tenant_id', '=', this.tenantId).where(col, '=', ref).executeTakeFirst()
  }

  async list (q: UserQuery): Promise<User[]> {
    let s = this.db.selectFrom('users as u').selectAll('u').where('u.tenant_id', '=', this.tenantId).orderBy('u.id').limit(q.limit)
    if (q.afterId !== undefined) s = s.where('u.id', '>', q.afterId)
    if (q.email !== undefined) s = s.where(sql`lower(u.email)`, '=', q.email.toLowerCase())
    if (q.createdAfter) s = s.where('u.created_at', '>=', q.createdAfter)
    if (q.createdBefore) s = s.where('u.created_at', '<', q.createdBefore)
    if (q.blocked !== undefined) s = s.where('u.disabled_at', q.blocked ? 'is not' : 'is', null)
    if (q.provider !== undefined || q.subject !== undefined) {
      s = s.where(({ exists, selectFrom }) => {
        let i = selectFrom('identities as i').select(sql`1`.as('one')).whereRef('i.user_id', '=', 'u.id').where('i.tenant_id', '=', this.tenantId)
        if (q.provider !== undefined) i = i.where((eb) => eb.or([eb('i.provider_type', '=', q.provider!), eb('i.provider_name', '=', q.provider!)]))
        if (q.subject !== undefined) i = i.where('i.subject', '=', q.subject)
        return exists(i)
      })
    }
    return s.execute()
  }

  identities (userId: string): Promise<Identity[]> {
    return this.db.selectFrom('identities').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', userId).orderBy('id').execute()
  }

  liveSessions (userId: string): Promise<Session[]> {
    return this.db.selectFrom('sessions').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', userId)
      .where('revoked_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .orderBy('id').execute()
  }

  /** Blocks an account: every session revoked now, every later sign-in refused (the identity core checks). */
  async block (userId: string, actor: string | null): Promise<{ user: User, revoked: number }> {
    return this.db.transaction().execute(async (tx) => {
      const user = await tx.updateTable('users').set({ disabled_at: sql`coalesce(disabled_at, now())`, updated_at: sql`now()` })
        .where('tenant_id', '=', this.tenantId).where('id', '=', userId).returningAll().executeTakeFirstOrThrow()
      const revoked = await revokeUserSessions(tx, this.tenantId, userId)
      await recordEvent(tx, this.tenantId, 'user-blocked', userId, { by: actor, revokedSessions: revoked })
      return { user, revoked }
    })
  }

  async unblock (userId: string, actor: string | null): Promise<User> {
    return this.db.transaction().execute(async (tx) => {
      const user = await tx.updateTable('users').set({ disabled_at: null, updated_at: sql`now()` })
        .where('tenant_id', '=', this.tenantId).where('id', '=', userId).returningAll().executeTakeFirstOrThrow()
      await recordEvent(tx, this.tenantId, 'user-unblocked', userId, { by: actor })
      return user
    })
  }

  async revokeSessions (userId: string, actor: string | null): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const n = await revokeUserSessions(tx, this.tenantId, userId)
      await recordEvent(tx, this.tenantId, 'sessions-revoked', userId, { by: actor, count: n })
      return n
    })
  }

  async revokeSession (userId: string, sessionId: string, actor: string | null): Promise<boolean> {
    if (!ID.test(sessionId)) return false
    return this.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('sessions').set({ revoked_at: sql`now()` })
        .where('tenant_id', '=', this.tenantId).where('user_id', '=', userId).where('id', '=', sessionId).where('revoked_at', 'is', null)
        .executeTakeFirst()
      const ok = Number(r.numUpdatedRows) > 0
      if (ok) await recordEvent(tx, this.tenantId, 'session-revoked', userId, { by: actor, session: sessionId })
      return ok
    })
  }

  /** Every address an account is known by: its own and its identities'. */
  async #addresses (db: Kysely<Database> | Transaction<Database>, user: User): Promise<string[]> {
    const ids = await db.selectFrom('identities').select('email').where('tenant_id', '=', this.tenantId).where('user_id', '=', user.id).execute()
    return [...new Set([user.email, ...ids.map((i) => i.email)].filter((e): e is string => !!e).map((e) => e.toLowerCase()))]
  }

  /**
   * The one-time tokens and mail of this tenant that belong to or name the account, opened (their data and
   * bodies are sealed at rest, so SQL cannot search them): a token whose user is the account or whose data
   * names one of its addresses or its uuid; a mail to one of its addresses or naming one in its subject or
   * body. Read in pages by id, so a tenant's whole outbox is never held at once.
   */
  async #naming (db: Kysely<Database> | Transaction<Database>, user: User, addresses: string[]): Promise<{ tokens: OneTimeToken[], mail: OutboxRow[], unreadable: number }> {
    const needles = [...addresses, user.uuid.toLowerCase()]
    const names = (...texts: Array<string | null>) => { const t = texts.join('\n').toLowerCase(); return needles.some((n) => t.includes(n)) }
    let unreadable = 0
    // A row none of this node's keys opens (sealed with a key since dropped) can be read by nobody; it is counted.
    const opened = <R>(open: () => R): R | null => { try { return open() } catch { unreadable++; return null } }
    const tokens: OneTimeToken[] = []
    for await (const row of pages((after) => db.selectFrom('one_time_tokens').selectAll().where('tenant_id', '=', this.tenantId).where('id', '>', after).orderBy('id').limit(PAGE).execute())) {
      const open = opened(() => openTokenRow(row))
      if (row.user_id === user.id || (open && names(JSON.stringify(open.data)))) tokens.push(open ?? row)
    }
    const mail: OutboxRow[] = []
    for await (const row of pages((after) => db.selectFrom('email_outbox').selectAll().where('tenant_id', '=', this.tenantId).where('id', '>', after).orderBy('id').limit(PAGE).execute())) {
      const open = opened(() => openOutboxRow(row))
      if (open && names(open.to_address, open.subject, open.text_body, open.html_body)) mail.push(open)
    }
    return { tokens, mail, unreadable }
  }

  /** Everything stored about an account, as JSON, sealed data opened (links in mail are removed: they may still sign in). */
  async export (user: User): Promise<Record<string, unknown>> {
    const addresses = await this.#addresses(this.db, user)
    const [identities, sessions, { tokens, mail }, events] = await Promise.all([
      this.db.selectFrom('identities').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', user.id).orderBy('id').execute(),
      this.db.selectFrom('sessions').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', user.id).orderBy('id').execute(),
      this.#naming(this.db, user, addresses),
      this.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', user.id).orderBy('id').execute()
    ])
    const noLinks = (s: string | null) => s?.replace(/https?:\/\/[^\s"'<>]+/g, '[link removed]') ?? null
    const { password_hash: _p, ...stored } = user
    return {
      exportedAt: new Date().toISOString(),
      tenant: this.tenantId,
      user: { ...userView(user), stored: { ...stored, password_hash: user.password_hash ? '[set, not exported]' : null } },
      identities: identities.map((i) => ({ ...identityView(i), profile: i.profile })),
      sessions: sessions.map(sessionView),
      oneTimeTokens: tokens.map((t) => ({ id: t.id, purpose: t.purpose, createdAt: t.created_at.toISOString(), expiresAt: t.expires_at.toISOString(), consumedAt: t.consumed_at?.toISOString() ?? null, data: withoutSecrets(t.data) })),
      mail: mail.map((m) => ({ id: m.id, to: m.to_address, from: m.from_address, subject: m.subject, text: noLinks(m.text_body), html: noLinks(m.html_body), createdAt: m.created_at.toISOString(), sentAt: m.sent_at?.toISOString() ?? null })),
      auditEvents: events.map((e) => ({ id: e.id, type: e.type, data: e.data, createdAt: e.created_at.toISOString() }))
    }
  }

  /**
   * Erases an account: the user row (identities and sessions, refresh tokens included, go with it), one-time
   * tokens naming it or its addresses, mail to or naming its addresses (pending or sent), its rate-limit
   * counters. Audit events stay, with the addresses replaced by `[erased]` and the account by a pseudonym.
   */
  async erase (user: User, actor: string | null): Promise<{ pseudonym: string, deleted: Record<string, number> }> {
    const pseudonym = `erased-${randomHex(6)}`
    const result = await this.db.transaction().execute(async (tx) => {
      const locked = await tx.selectFrom('users').select('id').where('tenant_id', '=', this.tenantId).where('id', '=', user.id).forUpdate().executeTakeFirst()
      if (!locked) return null
      const addresses = await this.#addresses(tx, user)
      const names = (col: string) => (eb: any) => eb.or(addresses.map((a) => eb(sql`position(${a} in lower(${sql.raw(col)}))`, '>', 0)))
      // Token data and mail bodies are sealed: the rows are found by opening them, then deleted by id.
      const found = await this.#naming(tx, user, addresses)
      const tokens = found.tokens.length
        ? await tx.deleteFrom('one_time_tokens').where('tenant_id', '=', this.tenantId).where('id', 'in', found.tokens.map((r) => r.id)).executeTakeFirst()
        : { numDeletedRows: 0n }
      const mail = found.mail.length
        ? await tx.deleteFrom('email_outbox').where('tenant_id', '=', this.tenantId).where('id', 'in', found.mail.map((r) => r.id)).executeTakeFirst()
        : { numDeletedRows: 0n }
      const sessions = await tx.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', this.tenantId).where('user_id', '=', user.id).executeTakeFirstOrThrow()
      const identities = await tx.selectFrom('identities').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', this.tenantId).where('user_id', '=', user.id).executeTakeFirstOrThrow()
      // Audit events: kept, the account replaced by the pseudonym, every address scrubbed.
      let scrub = sql<string>`data::text`
      for (const a of addresses) scrub = sql<string>`regexp_replace(${scrub}, ${escapeRegex(a)}, '[erased]', 'gi')`
      const events = await tx.updateTable('audit_events')
        .set({ user_id: null, data: sql`(${scrub})::jsonb || jsonb_build_object('erasedUser', ${pseudonym}::text)` })
        .where('tenant_id', '=', this.tenantId)
        .where((eb) => eb.or([eb('user_id', '=', user.id), ...(addresses.length ? [names('data::text')(eb)] : [])]))
        .executeTakeFirst()
      await tx.deleteFrom('users').where('tenant_id', '=', this.tenantId).where('id', '=', user.id).execute()
      await recordEvent(tx, this.tenantId, 'user-erased', null, { erasedUser: pseudonym, by: actor })
      return {
        addresses,
        deleted: <Record<string, number>>{
          users: 1,
          identities: Number(identities.n),
          sessions: Number(sessions.n),
          oneTimeTokens: Number(tokens.numDeletedRows),
          mail: Number(mail.numDeletedRows),
          auditEventsPseudonymised: Number(events.numUpdatedRows),
          ...(found.unreadable ? { sealedRowsUnreadable: found.unreadable } : {})
        }
      }
    })
    if (!result) throw new Error('user vanished')
    result.deleted.rateLimitCounters = await this.#dropCounters(result.addresses)
    return { pseudonym, deleted: result.deleted }
  }

  /** Rate-limit counters keyed by an address (e.g. magic-link requests per address) expire by themselves; erasure does not wait. */
  async #dropCounters (addresses: string[]): Promise<number> {
    if (!this.redis || addresses.length === 0) return 0
    let dropped = 0
    try {
      let cursor = '0'
      do {
        // @fastify/rate-limit puts its own route prefix between the namespace and our `<tenant>|<limit>|<key>`.
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.redisPrefix}:rl:*${this.tenantId}|*`, 'COUNT', 1000)
        cursor = next
        const named = keys.filter((k) => k.includes(`-${this.tenantId}|`) && addresses.some((a) => k.toLowerCase().includes(a)))
        if (named.length) dropped += await this.redis.del(...named)
      } while (cursor !== '0')
    } catch { /* Redis down: the counters expire with their window */ }
    return dropped
  }
}

const PAGE = 1000

/** Every row of a keyset-paged query, one page in memory at a time. */
async function * pages<R extends { id: string }> (page: (afterId: string) => Promise<R[]>): AsyncGenerator<R> {
  let after = '0'
  for (;;) {
    const rows = await page(after)
    yield * rows
    if (rows.length < PAGE) return
    after = rows[rows.length - 1].id
  }
}

function escapeRegex (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** One-time token data without what would let the reader use or forge it (hashes, secrets, verifiers). */
function withoutSecrets (data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([k]) => !/hash|secret|sealed|verifier|nonce|pkce/i.test(k)))
}
