// One-time tokens: stored hashed, bound to tenant and purpose, expiring, consumed by one conditional UPDATE.
// Their data is sealed (AES-256-GCM, db/sealing.ts): it may hold what redeems a flow (a PKCE
// verifier, an OIDC nonce, an OAuth1 request-token secret, a provider profile), so a dump shows none of it.
import type { OneTimeToken } from '../../db/index.ts'
import { isSealed, open, processKeyring, seal } from '../../db/sealing.ts'
import { hashToken, randomToken } from '../crypto.ts'
import type { Executor } from './executor.ts'
import { rows, SOCIAL_SQL, SQL } from './statements.ts'

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
  /** Magic links: the address mailed, stored in the clear for the one-statement login (it redeems nothing). */
  email?: string | null
}

export async function createOneTimeToken (db: Executor, input: CreateTokenInput): Promise<{ token: string, row: OneTimeToken }> {
  const token = input.token ?? randomToken()
  const hash = hashToken(token)
  const data = input.data ?? {}
  const [row] = await rows<OneTimeToken>(db, SQL.createToken, [
    input.tenantId, input.purpose, hash, input.userId ?? null, JSON.stringify(sealData(input.tenantId, input.purpose, hash, data)), input.ttlSeconds, input.email ?? null
  ])
  return { token, row: { ...row, data } }
}

/** Sealed under the row's own tenant, purpose and token hash: data copied onto another row does not open. */
const dataContext = (tenantId: string, purpose: string, hash: string) => `one_time_tokens.data:${tenantId}:${purpose}:${hash}`

export function sealData (tenantId: string, purpose: string, hash: string, data: Record<string, unknown>): { sealed: string } {
  return { sealed: seal(processKeyring(), JSON.stringify(data), dataContext(tenantId, purpose, hash), 'compact') }
}

/** The row with its data readable; rows written before sealing (plain data) pass through. */
export function openTokenRow<R extends OneTimeToken | undefined> (row: R): R {
  if (!row) return row
  const d = row.data as { sealed?: unknown }
  if (!isSealed(d?.sealed, 'compact') || Object.keys(d).length !== 1) return row
  return { ...row, data: JSON.parse(open(processKeyring(), d.sealed, dataContext(row.tenant_id, row.purpose, row.token_hash))) }
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
  if (row) return { ok: true, row: openTokenRow(row) }
  const seen = await db.selectFrom('one_time_tokens').selectAll()
    .where('tenant_id', '=', tenantId).where('purpose', '=', purpose).where('token_hash', '=', hash)
    .executeTakeFirst()
  if (!seen) return { ok: false, reason: 'unknown' }
  if (seen.consumed_at) return { ok: false, reason: 'replayed', row: openTokenRow(seen) }
  return { ok: false, reason: 'expired' }
}

/** Reads a live token without consuming it (e.g. Social Login tokens that a later call may still need). */
export async function peekOneTimeToken (db: Executor, tenantId: string, purpose: TokenPurpose, token: string): Promise<OneTimeToken | undefined> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 512) return undefined
  const [row] = await rows<OneTimeToken>(db, SOCIAL_SQL.peekToken, [tenantId, purpose, hashToken(token)])
  return openTokenRow(row)
}
