// The hot paths' SQL, written once and executed as-is: no query building per request (Kysely's builder
// was the largest share of a token lookup's CPU). Each is a named prepared statement on PostgreSQL
// (db/prepared.ts: planned once per connection), selects the columns it hands back by name (never `*`,
// so a column added later changes no prepared statement's result), and takes one round trip; the token
// lookups and the magic-link login, at the end, are batched (db/batch.ts): the calls of one event-loop turn
// share that round trip. Parameters are positional ($1…) on PostgreSQL and PGlite.
import { CompiledQuery } from 'kysely'
import { Batched, batchedStatement, type BatchedStatement } from '../../db/batch.ts'
import { poolQueryOf } from '../../db/index.ts'
import { preparedStatement as named } from '../../db/prepared.ts'
import type { Executor } from './executor.ts'

/** Every column of users, for callers that hand the whole row on (drf's auth(), Capture's entity, Syncano's user). */
export const USER_COLUMNS = 'id, uuid, tenant_id, email, email_verified, username, given_name, family_name, display_name, photo, locale, referral_code, referred_by_id, password_hash, attributes, created_at, updated_at, disabled_at, email_verified_at'
const userColumns = (alias: string) => USER_COLUMNS.split(', ').map((c) => `${alias}.${c}`).join(', ')
/** What the read-only DRF profile routes serialize (by-link's me/, rest-social-auth's GET /user): verifySessionBrief. */
export const BRIEF_USER_COLUMNS = 'id, email, email_verified, username, given_name, family_name, referral_code'
export const TOKEN_COLUMNS = 'id, tenant_id, purpose, token_hash, user_id, data, email, created_at, expires_at, consumed_at'
export const SESSION_COLUMNS = 'id, tenant_id, user_id, kind, token_hash, client_id, source, created_at, expires_at, revoked_at'

/**
 * The audit event row, written by insertEvent and by the magic-link login's statement: a column added to
 * audit_events is added here, and its value to both statements' VALUES/SELECT lists below.
 */
export const EVENT_COLUMNS = 'tenant_id, user_id, type, data, dialect, provider, client_id, request_id, client_address, user_agent'

// ---- The social sign-in of a returning identity (issue 18 item 1; plugins/identity/social.ts, TenantIdentity) ----
/** The identity columns a sign-in hands back: all but `profile` (the provider's raw answer), which no caller reads. */
export const LOGIN_IDENTITY_COLUMNS = 'id, tenant_id, user_id, provider_type, provider_name, subject, issuer, email, email_verified, created_at'
/** What Capture's capture_user shows of each identity (routes/capture/user.ts captureUser). */
export const CAPTURE_IDENTITY_COLUMNS = 'id, provider_type, provider_name, subject, issuer, email, email_verified, created_at'
/**
 * $1 tenant, $2 provider type, $3 subject: the identity and its account when the account is not blocked, the
 * user row locked FOR KEY SHARE so a concurrent erase (which locks it FOR UPDATE) is waited for and then finds
 * nothing here. No row: the transactional path decides (a first login, a link, a blocked account, an erase).
 */
const returningHit = `hit as (
      select ${userColumns('u')}, ${LOGIN_IDENTITY_COLUMNS.split(', ').map((c) => `i.${c} as i_${c}`).join(', ')}
      from identities i join users u on u.id = i.user_id and u.tenant_id = i.tenant_id
      where i.tenant_id = $1 and i.provider_type = $2 and i.subject = $3 and u.disabled_at is null
      for key share of u
    )`
/** The `login` event resolveSocialLogin records, its context in $4…$9 (eventParams' fifth to tenth), for each row of `from`. */
const returningEvent = (from: string, returning = '') => `event as (
      insert into audit_events (${EVENT_COLUMNS})
      select $1, hit.id, 'login', '{"method":"social"}'::jsonb, $4, $5, $6, $7, $8, $9 from ${from}${returning}
    )`
/** The session insertSession writes: $10 kind, $11 token hash, $12 client, $13 source, $14 ttl seconds or null. */
const returningSession = (from: string) => `session as (
      insert into sessions (tenant_id, user_id, kind, token_hash, client_id, source, expires_at)
      select $1, hit.id, $10, $11, $12, $13, now() + make_interval(secs => $14::double precision) from ${from}
    )`

export const SOCIAL_SQL = {
  /**
   * A returning identity's social sign-in in one statement (what resolveSocialLogin's transaction does for an
   * identity that exists: the account, the `login` event): $1 tenant, $2 provider type, $3 subject, $4…$9 the
   * event's context (dialect, provider, client, request id, client address, user agent). Returns the user's
   * columns and the identity's as i_*; no row, having written nothing, when the transactional path must decide.
   */
  socialLogin: named('vst_social_login', `with ${returningHit}, ${returningEvent('hit')}
    select * from hit`),
  /** socialLogin, and the session of the sign-in too: $10 kind, $11 token hash, $12 client, $13 source, $14 ttl seconds or null. */
  socialLoginSession: named('vst_social_login_session', `with ${returningHit}, ${returningEvent('hit')}, ${returningSession('hit')}
    select * from hit`),
  /**
   * Capture's auth_native for a returning identity: socialLoginSession, only when it also consumes the live
   * one-time token $15 purpose, $16 token hash (a consumed, expired or raced token: nothing written, no row).
   * One row per identity of the account (by id, CAPTURE_IDENTITY_COLUMNS as li_*), each with the user's columns
   * and `last_login`, the time of the `login` event it wrote (what lastSignIn reads after it in the transaction).
   */
  socialLoginConsuming: named('vst_social_login_consuming', `with ${returningHit}, tok as (
      update one_time_tokens set consumed_at = now()
      where tenant_id = $1 and purpose = $15 and token_hash = $16 and consumed_at is null and expires_at > now()
        and exists (select 1 from hit)
      returning id
    ), ${returningEvent('hit join tok on true', ' returning created_at')}, ${returningSession('hit join tok on true')}
    select ${userColumns('hit')}, event.created_at as last_login, ${CAPTURE_IDENTITY_COLUMNS.split(', ').map((c) => `li.${c} as li_${c}`).join(', ')}
    from hit join event on true join identities li on li.tenant_id = $1 and li.user_id = hit.id
    order by li.id`),
  /**
   * $1 tenant, $2 purpose, $3 token hash: a live one-time token, not consumed (peekOneTimeToken): Capture's Social
   * Login token before auth_native's statement above, rest-social-auth's provider answer cache.
   */
  peekToken: named('vst_peek_token', `select ${TOKEN_COLUMNS} from one_time_tokens
    where tenant_id = $1 and purpose = $2 and token_hash = $3 and consumed_at is null and expires_at > now()`)
} as const
// ---- end of the social sign-in block ----

export const SQL = {
  /** $1 tenant, $2 purpose, $3 token hash: consume once. */
  consumeToken: named('vst_consume_token', `update one_time_tokens set consumed_at = now()
    where tenant_id = $1 and purpose = $2 and token_hash = $3 and consumed_at is null and expires_at > now()
    returning ${TOKEN_COLUMNS}`),
  /** $1 tenant, $2 purpose, $3 token hash, $4 user id, $5 data (json), $6 ttl seconds, $7 email (magic links) or null. */
  createToken: named('vst_create_token', `insert into one_time_tokens (tenant_id, purpose, token_hash, user_id, data, expires_at, email)
    values ($1, $2, $3, $4, $5::jsonb, now() + make_interval(secs => $6::double precision), $7) returning ${TOKEN_COLUMNS}`),
  /** $1 tenant, $2 lower-cased email. */
  userByEmail: named('vst_user_by_email', `select ${USER_COLUMNS} from users where tenant_id = $1 and lower(email) = $2`),
  /** $1 tenant, $2 user, $3 kind, $4 token hash, $5 client, $6 source, $7 ttl seconds or null (no expiry). */
  insertSession: named('vst_insert_session', `insert into sessions (tenant_id, user_id, kind, token_hash, client_id, source, expires_at)
    values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision)) returning ${SESSION_COLUMNS}`),
  /** Parameters built by eventParams (plugins/events/row.ts). */
  insertEvent: named('vst_insert_event', `insert into audit_events (${EVENT_COLUMNS})
    values ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10)`)
} as const

// ---- Batched statements (db/batch.ts, batchedRows): the token lookups and the magic-link login ----
// Each call is one row of `h` (its parameters, and its position `i`, which each row returned carries).

/** The session columns the full lookups hand back, prefixed so they do not collide with the user's. */
const SESSION_ROW = `s.id as s_id, s.kind as s_kind, s.client_id as s_client_id, s.source as s_source,
      s.created_at as s_created_at, s.expires_at as s_expires_at, s.revoked_at as s_revoked_at`
/** A live session of one of the call's kinds. */
const LIVE_SESSION = 's.kind = any(h.kinds) and s.revoked_at is null and (s.expires_at is null or s.expires_at > now())'
/** The call's session by tenant and token hash, with its user. */
const SESSION_OF_CALL = `join sessions s on s.tenant_id = h.tenant_id and s.token_hash = h.token_hash
    join users u on u.id = s.user_id and u.tenant_id = s.tenant_id`

/** Per call a tenant, a token hash and the session kinds (text[]): the live session with its user. */
export const VERIFY_SESSION = batchedStatement('vst_verify_session', ['text', 'text', 'text[]'], (values) => `select h.i,
      ${SESSION_ROW}, ${userColumns('u')}
    from (${values}) as h(tenant_id, token_hash, kinds, i)
    ${SESSION_OF_CALL}
    where ${LIVE_SESSION}`)

/**
 * Per call a tenant, a token hash and the kinds: the live session of an account that is not blocked, with the
 * few user columns a profile read serializes (fewer columns: less for PostgreSQL to send and pg to decode per
 * request). The blocked-account rule of TenantIdentity.verifySession is in the WHERE here.
 */
export const VERIFY_SESSION_BRIEF = batchedStatement('vst_verify_session_brief', ['text', 'text', 'text[]'], (values) => `select h.i,
      s.id as s_id, s.kind as s_kind, s.client_id as s_client_id, ${BRIEF_USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}
    from (${values}) as h(tenant_id, token_hash, kinds, i)
    ${SESSION_OF_CALL}
    where ${LIVE_SESSION} and u.disabled_at is null`)

/**
 * A signed session token (JWT): per call a tenant, the header's kid, the jti (the session's token hash) and the
 * kinds. One row when the key exists and is not retired (its alg and public JWK), with the live session and its
 * user joined in, or nulls there when the session is dead.
 */
export const VERIFY_SESSION_JWT = batchedStatement('vst_verify_session_jwt', ['text', 'text', 'text', 'text[]'], (values) => `select h.i,
      k.alg as k_alg, k.public_jwk as k_jwk, v.*
    from (${values}) as h(tenant_id, kid, jti, kinds, i)
    join signing_keys k on k.tenant_id = h.tenant_id and k.kid = h.kid and k.retired_at is null
    left join lateral (select ${SESSION_ROW}, ${userColumns('u')}
      from sessions s join users u on u.id = s.user_id and u.tenant_id = s.tenant_id
      where s.tenant_id = h.tenant_id and s.token_hash = h.jti and ${LIVE_SESSION}) v on true`)

/**
 * The magic-link login in one statement, batched (db/batch.ts): consume the link, find the verified account of its
 * address or create it, record `login`/`register`, issue the session. Each call is one row of `h`: tenant, link
 * token hash, session kind, session token hash, client, source, session ttl seconds or null, and the event's
 * context (dialect, provider, client, request id, address, user agent: eventParams' fifth to tenth).
 * Returns per call one row (i, id, username, email, given_name, family_name, is_new), or none, having written
 * nothing for that call, when the link is not live or the address's holder is one the transactional path must
 * decide: unverified (it gives the address up first), disabled (refused), or stored with non-ASCII letters
 * (lower() would fold them; the exact re-check of findUserByEmail applies).
 * Within a batch: two calls naming one link, one consumes it and the other gets no row (the transactional path
 * then finds it spent); two calls creating one address's account, the first registers it and the second signs
 * in to it. A concurrent first login of the same address elsewhere makes the insert do nothing: that call's
 * session then has a NULL user_id, and the NOT NULL violation (23502) rolls the whole statement back, links
 * included; each call of the batch then runs alone (db/batch.ts callsOwnError), and the one that met the race
 * takes the transactional path.
 */
export const MAGIC_LINK_LOGIN = batchedStatement('vst_magic_link_login',
  ['text', 'text', 'text', 'text', 'text', 'text', 'double precision', 'text', 'text', 'text', 'text', 'text', 'text'],
  (values) => `with h (tenant_id, link_hash, kind, session_hash, client_id, source, ttl, dialect, provider, ev_client, request_id, address, agent, i) as (
      ${values}
    ), link as (
      update one_time_tokens tok set consumed_at = now()
      from h
      where tok.tenant_id = h.tenant_id and tok.purpose = 'magic-link' and tok.token_hash = h.link_hash
        and tok.consumed_at is null and tok.expires_at > now() and tok.email is not null
        and not exists (select 1 from users x where x.tenant_id = h.tenant_id and lower(x.email) = lower(tok.email)
          and (not x.email_verified or x.disabled_at is not null or octet_length(x.email) <> char_length(x.email)))
      returning h.i, h.tenant_id, tok.email
    ), found as (
      select link.i, u.id, u.username, u.email, u.given_name, u.family_name
      from link join users u on u.tenant_id = link.tenant_id and lower(u.email) = lower(link.email)
    ), created as (
      insert into users (tenant_id, email, email_verified)
      select distinct on (link.tenant_id, lower(link.email)) link.tenant_id, link.email, true
      from link where not exists (select 1 from found where found.i = link.i)
      order by link.tenant_id, lower(link.email), link.i
      on conflict (tenant_id, lower(email)) where email is not null do nothing
      returning id, tenant_id, username, email, given_name, family_name
    ), account as (
      select found.i, found.id, found.username, found.email, found.given_name, found.family_name, false as is_new from found
      union all
      select link.i, c.id, c.username, c.email, c.given_name, c.family_name, link.i = min(link.i) over (partition by c.id)
      from link join created c on c.tenant_id = link.tenant_id and lower(c.email) = lower(link.email)
      where not exists (select 1 from found where found.i = link.i)
    ), event as (
      insert into audit_events (${EVENT_COLUMNS})
      select h.tenant_id, account.id, case when account.is_new then 'register' else 'login' end, '{"method":"magic-link"}'::jsonb,
        h.dialect, h.provider, h.ev_client, h.request_id, h.address, h.agent
      from account join h on h.i = account.i
    ), session as (
      insert into sessions (tenant_id, user_id, kind, token_hash, client_id, source, expires_at)
      select h.tenant_id, (select account.id from account where account.i = link.i), h.kind, h.session_hash, h.client_id, h.source,
        now() + make_interval(secs => h.ttl)
      from link join h on h.i = link.i
    )
    select i, id, username, email, given_name, family_name, is_new from account`)

const batches = new WeakMap<object, Map<BatchedStatement, Batched<any>>>()

/**
 * A batched statement (db/batch.ts): outside a transaction on PostgreSQL, the calls of one event-loop turn share one
 * statement; elsewhere (PGlite, inside a transaction) this call goes alone, as the statement of one row. The rows
 * of this call.
 */
export async function batchedRows<R> (db: Executor, statement: BatchedStatement, params: readonly unknown[]): Promise<Array<R & { i: number }>> {
  const direct = poolQueryOf(db)
  if (direct === undefined) return rows<R & { i: number }>(db, statement.text(1), params)
  let mine = batches.get(direct)
  if (mine === undefined) batches.set(direct, mine = new Map())
  let batch = mine.get(statement)
  if (batch === undefined) mine.set(statement, batch = new Batched(direct, statement))
  return batch.run(params)
}

export async function rows<R> (db: Executor, text: string, params: readonly unknown[]): Promise<R[]> {
  // Outside a transaction on PostgreSQL: straight to the pool (no Kysely connection handling per statement).
  const direct = poolQueryOf(db)
  if (direct !== undefined) return direct<R>(text, params as unknown[])
  return (await db.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]))).rows
}
