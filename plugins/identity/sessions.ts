// Sessions: every auth token Vestibule issues (Token, Bearer access/refresh, Syncano user keys), stored hashed.
import { sql } from 'kysely'
import type { Session, User } from '../../db/index.ts'
import { hashToken, randomToken } from '../crypto.ts'
import type { Executor } from './executor.ts'

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
  const session = await db.insertInto('sessions').values({
    tenant_id: input.tenantId,
    user_id: input.userId,
    kind: input.kind,
    token_hash: hashToken(token),
    client_id: input.clientId ?? null,
    source: input.source ?? null,
    expires_at: input.ttlSeconds ? sql<Date>`now() + make_interval(secs => ${input.ttlSeconds})` : null
  }).returningAll().executeTakeFirstOrThrow()
  return { token, session }
}

export interface VerifiedSession { session: Session, user: User }

/** One round trip: the live session of one of `kinds` with its user, or undefined. */
export async function verifySession (db: Executor, tenantId: string, kinds: readonly SessionKind[], token: string): Promise<VerifiedSession | undefined> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 512 || kinds.length === 0) return undefined
  const row = await db.selectFrom('sessions as s')
    .innerJoin('users as u', (j) => j.onRef('u.id', '=', 's.user_id').onRef('u.tenant_id', '=', 's.tenant_id'))
    .select((eb) => [
      sql<Session>`to_jsonb(s)`.as('session'),
      sql<User>`to_jsonb(u)`.as('user')
    ])
    .where('s.tenant_id', '=', tenantId)
    .where('s.token_hash', '=', hashToken(token))
    .where('s.kind', 'in', kinds as SessionKind[])
    .where('s.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst()
  if (!row) return undefined
  return { session: reviveDates(row.session), user: reviveUser(row.user) }
}

/** Revokes one token of this tenant; true when a live session was revoked. */
export async function revokeSession (db: Executor, tenantId: string, token: string): Promise<boolean> {
  const res = await db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('token_hash', '=', hashToken(token)).where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(res.numUpdatedRows) > 0
}

/** Revokes everything a source (e.g. a replayed authorization code) issued. */
export async function revokeSessionsBySource (db: Executor, tenantId: string, source: string): Promise<number> {
  const res = await db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('source', '=', source).where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(res.numUpdatedRows)
}

export async function revokeUserSessions (db: Executor, tenantId: string, userId: string, kind?: SessionKind): Promise<number> {
  let q = db.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('revoked_at', 'is', null)
  if (kind) q = q.where('kind', '=', kind)
  const res = await q.executeTakeFirst()
  return Number(res.numUpdatedRows)
}

// to_jsonb turns timestamps into strings and int8 into numbers; restore the row shapes callers expect.
function reviveDates (s: any): Session {
  return {
    ...s,
    id: String(s.id),
    user_id: String(s.user_id),
    created_at: new Date(s.created_at),
    expires_at: s.expires_at ? new Date(s.expires_at) : null,
    revoked_at: s.revoked_at ? new Date(s.revoked_at) : null
  }
}

export function reviveUser (u: any): User {
  return { ...u, id: String(u.id), created_at: new Date(u.created_at), updated_at: new Date(u.updated_at) }
}
