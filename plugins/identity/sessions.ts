// Sessions: every auth token Vestibule issues (Token, Bearer access/refresh, Syncano user keys), stored hashed.
import { sql } from 'kysely'
import type { Session, User } from '../../db/index.ts'
import { hashToken, randomToken } from '../crypto.ts'
import type { Executor } from './executor.ts'
import { batchedRows, rows, SQL, VERIFY_SESSION, VERIFY_SESSION_BRIEF } from './statements.ts'

export type SessionKind = 'token' | 'access' | 'refresh' | 'user_key' | (string & {})

export interface IssueSessionInput {
  tenantId: string
  userId: string
  kind: SessionKind
  /** Omit for tokens that live until revoked (DRF-style `Token`, Syncano user keys). */
  ttlSeconds?: number | null
  clientId?: string | null
  /** What issued it (e.g. hashToken(authorization code)), so a replay of that can revoke it. */
  source?: string | null
  /** Supply the plaintext when the wire format fixes its shape (Syncano's 40-hex user_key). */
  token?: string
}

export async function issueSession (db: Executor, input: IssueSessionInput): Promise<{ token: string, session: Session }> {
  const token = input.token ?? randomToken()
  const [session] = await rows<Session>(db, SQL.insertSession, [
    input.tenantId, input.userId, input.kind, hashToken(token), input.clientId ?? null, input.source ?? null, input.ttlSeconds || null
  ])
  return { token, session }
}

export interface VerifiedSession { session: Session, user: User }

type SessionUserRow = User & { s_id: string, s_kind: string, s_client_id: string | null, s_source: string | null, s_created_at: Date, s_expires_at: Date | null, s_revoked_at: Date | null }

/** One round trip: the live session of one of `kinds` with its user, or undefined. */
export async function verifySession (db: Executor, tenantId: string, kinds: readonly SessionKind[], token: string): Promise<VerifiedSession | undefined> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 512 || kinds.length === 0) return undefined
  const hash = hashToken(token)
  const [row] = await batchedRows<SessionUserRow>(db, VERIFY_SESSION, [tenantId, hash, kinds])
  if (!row) return undefined
  const { i: _i, s_id: id, s_kind: kind, s_client_id: clientId, s_source: source, s_created_at: createdAt, s_expires_at: expiresAt, s_revoked_at: revokedAt, ...user } = row
  return {
    session: { id, tenant_id: tenantId, user_id: user.id, kind, token_hash: hash, client_id: clientId, source, created_at: createdAt, expires_at: expiresAt, revoked_at: revokedAt },
    user
  }
}

/** The user columns of verifySessionBrief. */
export type BriefUser = Pick<User, 'id' | 'email' | 'email_verified' | 'username' | 'given_name' | 'family_name' | 'referral_code'>
export interface BriefSession { session: Pick<Session, 'id' | 'kind' | 'client_id'>, user: BriefUser }

type BriefRow = BriefUser & { s_id: string, s_kind: string, s_client_id: string | null }

/** verifySession for profile reads: the live session of a not-blocked account with a few user columns; one round trip. */
export async function verifySessionBrief (db: Executor, tenantId: string, kinds: readonly SessionKind[], token: string): Promise<BriefSession | undefined> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 512 || kinds.length === 0) return undefined
  const [row] = await batchedRows<BriefRow>(db, VERIFY_SESSION_BRIEF, [tenantId, hashToken(token), kinds])
  if (!row) return undefined
  const { i: _i, s_id: id, s_kind: kind, s_client_id: clientId, ...user } = row
  return { session: { id, kind, client_id: clientId }, user }
}

/** Revokes one token of this tenant; the session it revoked, or undefined when none was live. */
export async function revokeSession (db: Executor, tenantId: string, token: string): Promise<Pick<Session, 'id' | 'user_id' | 'kind' | 'client_id'> | undefined> {
  return db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('token_hash', '=', hashToken(token)).where('revoked_at', 'is', null)
    .returning(['id', 'user_id', 'kind', 'client_id']).executeTakeFirst()
}

/** Revokes one session by its id (a signed token names its session, not a secret to hash). */
export async function revokeSessionById (db: Executor, tenantId: string, sessionId: string): Promise<Pick<Session, 'id' | 'user_id' | 'kind' | 'client_id'> | undefined> {
  return db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('id', '=', sessionId).where('revoked_at', 'is', null)
    .returning(['id', 'user_id', 'kind', 'client_id']).executeTakeFirst()
}

/** Revokes everything a source (e.g. a replayed authorization code) issued; the revoked sessions' users. */
export async function revokeSessionsBySource (db: Executor, tenantId: string, source: string): Promise<Array<{ user_id: string }>> {
  return db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('source', '=', source).where('revoked_at', 'is', null)
    .returning(['user_id']).execute()
}

export async function revokeUserSessions (db: Executor, tenantId: string, userId: string, kind?: SessionKind): Promise<number> {
  let q = db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('revoked_at', 'is', null)
  if (kind) q = q.where('kind', '=', kind)
  const res = await q.executeTakeFirst()
  return Number(res.numUpdatedRows)
}
