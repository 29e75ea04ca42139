// Admin API tokens: created by the CLI (`npm run admin -- token create`), shown once, stored as SHA-256,
// each with scopes and optionally restricted to one tenant, revocable. A token is `vsta_` + 43 characters
// (256 random bits), so secret scanners can recognise one.
import type { Kysely } from 'kysely'
import type { AdminToken, Database } from '../../db/index.ts'
import { hashToken, randomToken } from '../../plugins/crypto.ts'

export const SCOPES = ['tenants:read', 'tenants:write', 'users:read', 'users:write', 'events:read'] as const
export type Scope = typeof SCOPES[number]

const TOKEN = /^vsta_[A-Za-z0-9_-]{43}$/
const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/

export interface AdminTokenInfo {
  id: string
  name: string | null
  scopes: Scope[]
  /** null: every tenant. */
  tenantId: string | null
  createdAt: Date
  expiresAt: Date | null
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export class AdminTokenInputError extends Error {}

function info (r: AdminToken): AdminTokenInfo {
  return { id: r.id, name: r.name, scopes: r.scopes as Scope[], tenantId: r.tenant_id, createdAt: r.created_at, expiresAt: r.expires_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }
}

export async function createAdminToken (db: Kysely<Database>, input: { scopes: string[], tenantId?: string | null, name?: string | null, expiresInDays?: number | null }): Promise<{ token: string, info: AdminTokenInfo }> {
  const scopes = [...new Set(input.scopes)]
  if (scopes.length === 0) throw new AdminTokenInputError(`give at least one --scope (${SCOPES.join(', ')})`)
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length) throw new AdminTokenInputError(`unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}; scopes are ${SCOPES.join(', ')}`)
  if (input.tenantId != null && !TENANT_ID.test(input.tenantId)) throw new AdminTokenInputError(`--tenant must be a tenant id ([a-z0-9-]), got ${JSON.stringify(input.tenantId)}`)
  const days = input.expiresInDays
  if (days != null && (!Number.isFinite(days) || days <= 0)) throw new AdminTokenInputError('--expires-days must be a positive number')
  const token = `vsta_${randomToken(32)}`
  const row = await db.insertInto('admin_tokens').values({
    token_hash: hashToken(token),
    name: input.name ?? null,
    scopes,
    tenant_id: input.tenantId ?? null,
    expires_at: days != null ? new Date(Date.now() + days * 86_400_000) : null
  }).returningAll().executeTakeFirstOrThrow()
  return { token, info: info(row) }
}

export async function listAdminTokens (db: Kysely<Database>, opts: { includeRevoked?: boolean } = {}): Promise<AdminTokenInfo[]> {
  let q = db.selectFrom('admin_tokens').selectAll().orderBy('id')
  if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null)
  return (await q.execute()).map(info)
}

export async function revokeAdminToken (db: Kysely<Database>, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false
  const r = await db.updateTable('admin_tokens').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
  return Number(r.numUpdatedRows) > 0
}

/** The live token a bearer value names, or undefined (unknown, revoked, expired, malformed). */
export async function verifyAdminToken (db: Kysely<Database>, token: string): Promise<AdminTokenInfo | undefined> {
  if (!TOKEN.test(token)) return undefined
  const row = await db.selectFrom('admin_tokens').selectAll()
    .where('token_hash', '=', hashToken(token)).where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .executeTakeFirst()
  if (!row) return undefined
  // At most one write a minute per token: enough to tell an operator which tokens are in use.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    void db.updateTable('admin_tokens').set({ last_used_at: new Date() }).where('id', '=', row.id).execute().catch(() => {})
  }
  return info(row)
}
