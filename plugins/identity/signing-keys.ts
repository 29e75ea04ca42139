// Per-tenant JWT signing keys and the signed session tokens made with them (issue 17). Each tenant has one
// current key (created on first use) that signs; a rotation makes a new current key while the old one still
// verifies until an operator retires it. Private keys are sealed at rest (plugins/crypto.ts); public keys are
// published as the tenant's JWKS. A signed token names its session (`jti` = the session's token hash), and every
// verification reads that session row, so a token dies with its session (logout, block, erase, revocation).
import {
  calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT,
  type CryptoKey, type JWK, type JWTPayload, type KeyObject
} from 'jose'
import { sql } from 'kysely'
import type { Session, SigningKey, User } from '../../db/index.ts'
import { open, processKeyring, seal } from '../../db/sealing.ts'
import { inTransaction, type Executor } from './executor.ts'
import { issueSession, type IssueSessionInput, type SessionKind, type VerifiedSession } from './sessions.ts'
import { batchedRows, VERIFY_SESSION_JWT } from './statements.ts'

/** What a tenant's keys may be: ES256 (P-256) or RS256 (2048-bit RSA). Both verify with jsonwebtoken, passport-jwt and jose. */
export const JWT_ALGORITHMS = ['ES256', 'RS256'] as const
export type JwtAlgorithm = typeof JWT_ALGORITHMS[number]
export const DEFAULT_JWT_ALGORITHM: JwtAlgorithm = 'ES256'

export type SigningKeyState = 'current' | 'previous' | 'retired'
export interface SigningKeyInfo { kid: string, alg: string, state: SigningKeyState, createdAt: Date, rotatedAt: Date | null, retiredAt: Date | null }

export class SigningKeyError extends Error {
  constructor (readonly code: 'VST_ERR_SIGNING_KEY_UNKNOWN' | 'VST_ERR_SIGNING_KEY_CURRENT' | 'VST_ERR_SIGNING_KEY_ALG', message: string) {
    super(message)
    this.name = 'SigningKeyError'
  }
}

const isAlgorithm = (v: unknown): v is JwtAlgorithm => (JWT_ALGORITHMS as readonly unknown[]).includes(v)
/** A value sealed for one tenant's key opens only there (the context is authenticated). */
const sealContext = (tenantId: string, kid: string) => `signing-key:${tenantId}:${kid}`
const KID = /^[A-Za-z0-9_-]{43}$/
const JTI = /^[0-9a-f]{64}$/

type Key = CryptoKey | KeyObject
/** An EC or RSA key; a stored JWK that imports as a shared secret (kty `oct`) is never used. */
async function importAsymmetric (jwk: JWK, alg: JwtAlgorithm): Promise<Key> {
  if (jwk.kty !== (alg === 'ES256' ? 'EC' : 'RSA')) throw new Error(`signing key: a ${String(jwk.kty)} key for ${alg}`)
  const key = await importJWK(jwk, alg)
  if (key instanceof Uint8Array) throw new Error('signing key: not an asymmetric key')
  return key
}
// Imported keys by tenant and kid. A kid is the key's own thumbprint, so its material never changes; whether a
// key still verifies (retired or not) is read from the database on every verification, never cached.
const privateKeys = new Map<string, Key>()
const publicKeys = new Map<string, Key>()
function remember (map: Map<string, Key>, id: string, key: Key): Key {
  if (map.size >= 10_000) map.clear()
  map.set(id, key)
  return key
}

function info (row: SigningKey): SigningKeyInfo {
  return {
    kid: row.kid, alg: row.alg, createdAt: row.created_at, rotatedAt: row.rotated_at, retiredAt: row.retired_at,
    state: row.retired_at ? 'retired' : row.rotated_at ? 'previous' : 'current'
  }
}

async function newKeyRow (tenantId: string, alg: JwtAlgorithm) {
  if (!isAlgorithm(alg)) throw new SigningKeyError('VST_ERR_SIGNING_KEY_ALG', `signing keys are ${JWT_ALGORITHMS.join(' or ')}, not ${String(alg)}`)
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) })
  const pub = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(pub, 'sha256')
  const sealed = seal(processKeyring(), JSON.stringify(await exportJWK(privateKey)), sealContext(tenantId, kid), 'compact')
  return { tenant_id: tenantId, kid, alg, public_jwk: JSON.stringify({ ...pub, kid, alg, use: 'sig' }), private_sealed: sealed }
}

function selectCurrent (db: Executor, tenantId: string) {
  return db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).where('rotated_at', 'is', null).executeTakeFirst()
}

/** The tenant's signing key, created (with `alg`) on first use; concurrent first uses make one. */
export async function currentSigningKey (db: Executor, tenantId: string, alg: JwtAlgorithm = DEFAULT_JWT_ALGORITHM): Promise<SigningKey> {
  const found = await selectCurrent(db, tenantId)
  if (found) return found
  await db.insertInto('signing_keys').values(await newKeyRow(tenantId, alg))
    .onConflict((oc) => oc.column('tenant_id').where('rotated_at', 'is', null).doNothing()).execute()
  const made = await selectCurrent(db, tenantId)
  if (!made) throw new Error('signing key vanished after its creation')
  return made
}

/**
 * A new current key (with `alg`, else the old key's algorithm); the old one stops signing but still verifies
 * until retired. Tokens signed from now on carry the new kid.
 */
export async function rotateSigningKey (db: Executor, tenantId: string, alg?: JwtAlgorithm): Promise<{ current: SigningKeyInfo, previous: SigningKeyInfo | null }> {
  return inTransaction(db, async (trx) => {
    const old = await trx.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).where('rotated_at', 'is', null).forUpdate().executeTakeFirst()
    const previous = old ? await trx.updateTable('signing_keys').set({ rotated_at: sql`now()` }).where('id', '=', old.id).returningAll().executeTakeFirstOrThrow() : undefined
    const row = await trx.insertInto('signing_keys').values(await newKeyRow(tenantId, alg ?? (isAlgorithm(old?.alg) ? old.alg : DEFAULT_JWT_ALGORITHM))).returningAll().executeTakeFirstOrThrow()
    return { current: info(row), previous: previous ? info(previous) : null }
  })
}

/** Retires a rotated key: it leaves the JWKS and every token it signed is refused from now on. The current key cannot be retired (rotate first). */
export async function retireSigningKey (db: Executor, tenantId: string, kid: string): Promise<SigningKeyInfo> {
  const row = await db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).where('kid', '=', kid).executeTakeFirst()
  if (!row) throw new SigningKeyError('VST_ERR_SIGNING_KEY_UNKNOWN', `tenant "${tenantId}" has no signing key "${kid}"`)
  if (!row.rotated_at) throw new SigningKeyError('VST_ERR_SIGNING_KEY_CURRENT', `signing key "${kid}" is the current key of tenant "${tenantId}": rotate first`)
  if (row.retired_at) return info(row)
  return info(await db.updateTable('signing_keys').set({ retired_at: sql`now()` }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow())
}

/**
 * Re-seals every stored private key (all tenants) with the current VESTIBULE_SECRET_KEY, after a rotation of that
 * key: signing keys live until retired, far longer than any other sealed value, so the old key can go only after this.
 */
export async function resealSigningKeys (db: Executor): Promise<number> {
  const ring = processKeyring()
  let n = 0
  for (const row of await db.selectFrom('signing_keys').select(['id', 'tenant_id', 'kid', 'private_sealed']).where('retired_at', 'is', null).execute()) {
    const context = sealContext(row.tenant_id, row.kid)
    await db.updateTable('signing_keys').set({ private_sealed: seal(ring, open(ring, row.private_sealed, context), context, 'compact') }).where('id', '=', row.id).execute()
    n++
  }
  return n
}

/** Every key of a tenant, newest first. */
export async function listSigningKeys (db: Executor, tenantId: string): Promise<SigningKeyInfo[]> {
  const all = await db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('id', 'desc').execute()
  return all.map(info)
}

/** The tenant's JWKS: the public keys that verify (current first, then the rotated ones not yet retired). */
export async function publicJwks (db: Executor, tenantId: string, alg?: JwtAlgorithm): Promise<{ keys: JWK[] }> {
  await currentSigningKey(db, tenantId, alg)
  const live = await db.selectFrom('signing_keys').select(['public_jwk']).where('tenant_id', '=', tenantId).where('retired_at', 'is', null)
    .orderBy(sql`rotated_at is null`, 'desc').orderBy('id', 'desc').execute()
  return { keys: live.map((r) => r.public_jwk as JWK) }
}

export interface SignedSessionOptions {
  /** `iss`: the tenant's issuer URL. */
  issuer: string
  /** `aud`, when the tenant configured one. */
  audience?: string | string[]
  /** The algorithm of a key created on first use (an existing key keeps its own). */
  alg?: JwtAlgorithm
  /** Claims of the dialect's own (freesewing's `_id`, `handle`); the registered ones above win. */
  claims?: JWTPayload
}

/**
 * Issues a session and signs a JWT for it: `jti` is the session's token hash (a public name: the session's
 * random secret is never handed out), `sub` the account UUID, `exp` the session's expiry when it has one.
 */
export async function issueSignedSession (db: Executor, input: IssueSessionInput, user: Pick<User, 'uuid'>, opts: SignedSessionOptions): Promise<{ token: string, session: Session }> {
  const key = await currentSigningKey(db, input.tenantId, opts.alg)
  const { session } = await issueSession(db, input)
  const cacheId = `${key.tenant_id}:${key.kid}`
  const privateKey = privateKeys.get(cacheId) ?? remember(privateKeys, cacheId,
    await importAsymmetric(JSON.parse(open(processKeyring(), key.private_sealed, sealContext(key.tenant_id, key.kid))) as JWK, key.alg as JwtAlgorithm))
  const jwt = new SignJWT({ ...opts.claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setSubject(user.uuid)
    .setIssuedAt()
    .setJti(session.token_hash)
  if (opts.audience !== undefined) jwt.setAudience(opts.audience)
  if (session.expires_at) jwt.setExpirationTime(Math.floor(new Date(session.expires_at).getTime() / 1000))
  return { token: await jwt.sign(privateKey), session }
}

type JwtRow = { k_alg: string, k_jwk: JWK, s_id: string | null, s_kind: string, s_client_id: string | null, s_source: string | null, s_created_at: Date, s_expires_at: Date | null, s_revoked_at: Date | null } & User

/**
 * A signed session token's live session, or undefined: the signature under one of the tenant's unretired keys
 * (its own algorithm only: `none`, HMAC and algorithm swaps are refused), `iss`, `aud` when configured, `exp`,
 * and the session it names, live, of one of `kinds`, of the account in `sub`. One round trip.
 */
export async function verifySignedSession (db: Executor, tenantId: string, kinds: readonly SessionKind[], token: string, opts: { issuer: string, audience?: string | string[] }): Promise<(VerifiedSession & { claims: JWTPayload }) | undefined> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096 || kinds.length === 0) return undefined
  let kid: unknown, alg: unknown, jti: unknown
  try {
    ({ kid, alg } = decodeProtectedHeader(token));
    ({ jti } = decodeJwt(token))
  } catch { return undefined }
  if (typeof kid !== 'string' || !KID.test(kid) || !isAlgorithm(alg) || typeof jti !== 'string' || !JTI.test(jti)) return undefined
  const [row] = await batchedRows<JwtRow>(db, VERIFY_SESSION_JWT, [tenantId, kid, jti, kinds])
  if (!row || row.k_alg !== alg || !isAlgorithm(row.k_alg)) return undefined
  const cacheId = `${tenantId}:${kid}`
  const key = publicKeys.get(cacheId) ?? remember(publicKeys, cacheId, await importAsymmetric(row.k_jwk, row.k_alg))
  let claims: JWTPayload
  try {
    ({ payload: claims } = await jwtVerify(token, key, {
      algorithms: [row.k_alg], issuer: opts.issuer, ...(opts.audience !== undefined ? { audience: opts.audience } : {}), requiredClaims: ['iat', 'sub', 'jti']
    }))
  } catch { return undefined }
  const { i: _i, k_alg: _alg, k_jwk: _jwk, s_id: id, s_kind: kind, s_client_id: clientId, s_source: source, s_created_at: createdAt, s_expires_at: expiresAt, s_revoked_at: revokedAt, ...user } = row
  if (id === null || claims.jti !== jti || claims.sub !== user.uuid || user.disabled_at) return undefined
  return {
    session: { id, tenant_id: tenantId, user_id: user.id, kind, token_hash: jti, client_id: clientId, source, created_at: createdAt, expires_at: expiresAt, revoked_at: revokedAt },
    user,
    claims
  }
}
