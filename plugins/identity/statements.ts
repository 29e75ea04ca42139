// The hot paths' SQL, written once and executed as-is: no query building per request (Kysely's builder
// was the largest share of a token lookup's CPU). Parameters are positional ($1…) on PostgreSQL and PGlite.
// bench/floor-child.ts runs these same texts, so the bench compares like with like.
import { CompiledQuery } from 'kysely'
import type { Executor } from './executor.ts'

export const SQL = {
  /** $1 tenant, $2 token hash, $3 kinds (text[]): the live session with its user, in one round trip. */
  verifySession: `select s.id as s_id, s.kind as s_kind, s.client_id as s_client_id, s.source as s_source,
      s.created_at as s_created_at, s.expires_at as s_expires_at, s.revoked_at as s_revoked_at, u.*
    from sessions s join users u on u.id = s.user_id and u.tenant_id = s.tenant_id
    where s.tenant_id = $1 and s.token_hash = $2 and s.kind = any($3::text[]) and s.revoked_at is null
      and (s.expires_at is null or s.expires_at > now())`,
  /** $1 tenant, $2 purpose, $3 token hash: consume once. */
  consumeToken: `update one_time_tokens set consumed_at = now()
    where tenant_id = $1 and purpose = $2 and token_hash = $3 and consumed_at is null and expires_at > now()
    returning *`,
  /** $1 tenant, $2 purpose, $3 token hash, $4 user id, $5 data (json), $6 ttl seconds. */
  createToken: `insert into one_time_tokens (tenant_id, purpose, token_hash, user_id, data, expires_at)
    values ($1, $2, $3, $4, $5::jsonb, now() + make_interval(secs => $6::double precision)) returning *`,
  /** $1 tenant, $2 lower-cased email. */
  userByEmail: 'select * from users where tenant_id = $1 and lower(email) = $2',
  /** $1 tenant, $2 user, $3 kind, $4 token hash, $5 client, $6 source, $7 ttl seconds or null (no expiry). */
  insertSession: `insert into sessions (tenant_id, user_id, kind, token_hash, client_id, source, expires_at)
    values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision)) returning *`,
  /** $1 tenant, $2 user or null, $3 type, $4 data (json). */
  insertEvent: 'insert into audit_events (tenant_id, user_id, type, data) values ($1, $2, $3, $4::jsonb)'
} as const

export async function rows<R> (db: Executor, text: string, params: readonly unknown[]): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]))).rows
}
