// One-time tokens: stored hashed, bound to tenant and purpose, expiring, consumed by one conditional UPDATE.
import { sql } from 'kysely'
import type { OneTimeToken } from '../../db/index.ts'
import { hashToken, randomToken } from '../crypto.ts'
import type { Executor } from './executor.ts'
import { rows, SQL } from './statements.ts'

export type TokenPurpose =
  | 'magic-link' | 'oauth-state' | 'confirmation' | 'social-login' | 'merge'
  | 'authorization-code' | 'oauth1-request' | (string & {})

export interface CreateTokenInput {
  tenantId: string
  purpose: TokenPurpose
  ttlSeconds: number
  userId?: string | null
  data?: Record<string, unknown>
  /** Supply the plaintext when the wire format fixes its shape (e.g. 40 characters); default 32 random bytes. */
  token?: string
}

export async function createOneTimeToken (db: Executor, input: CreateTokenInput): Promise<{ token: string, row: OneTimeToken }> {
  const token = input.token ?? randomToken()
  const [row] = await rows<OneTimeToken>(db, SQL.createToken, [
    input.tenantId, input.purpose, hashToken(token), input.userId ?? null, JSON.stringify(input.data ?? {}), input.ttlSeconds
  ])
  return { token, row }
}

export type ConsumeResult =
  | { ok: true, row: OneTimeToken }
  | { ok: false, reason: 'unknown' | 'expired' }
  | { ok: false, reason: 'replayed', row: OneTimeToken }

/**
 * Consume once: of N parallel calls with one token exactly one gets ok. A failed consume says why,
 * so callers can treat a replay as a signal (e.g. revoke what a reused authorization code issued).
 */
export async function consumeOneTimeToken (db: Executor, tenantId: string, purpose: TokenPurpose, token: string): Promise<ConsumeResult> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 512) return { ok: false, reason: 'unknown' }
  const hash = hashToken(token)
  const [row] = await rows<OneTimeToken>(db, SQL.consumeToken, [tenantId, purpose, hash])
  if (row) return { ok: true, row }
  const seen = await db.selectFrom('one_time_tokens').selectAll()
    .where('tenant_id', '=', tenantId).where('purpose', '=', purpose).where('token_hash', '=', hash)
    .executeTakeFirst()
  if (!seen) return { ok: false, reason: 'unknown' }
  if (seen.consumed_at) return { ok: false, reason: 'replayed', row: seen }
  return { ok: false, reason: 'expired' }
}

/** Reads a live token without consuming it (e.g. Social Login tokens that a later call may still need). */
export async function peekOneTimeToken (db: Executor, tenantId: string, purpose: TokenPurpose, token: string): Promise<OneTimeToken | undefined> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 512) return undefined
  return db.selectFrom('one_time_tokens').selectAll()
    .where('tenant_id', '=', tenantId).where('purpose', '=', purpose).where('token_hash', '=', hashToken(token))
    .where('consumed_at', 'is', null).where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
}
