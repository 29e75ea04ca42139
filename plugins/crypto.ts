// Secrets Vestibule issues and checks: random tokens, their SHA-256 at-rest form, constant-time comparison,
// password hashing. The few secrets that must be read back are sealed instead (db/sealing.ts).
import { createHash, randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>

/** A URL-safe random token with `bytes` of entropy (default 32 → 43 characters). */
export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** `bytes` random bytes as lower-case hex (Syncano-style keys: 20 bytes → 40 digits). */
export function randomHex (bytes: number): string {
  return randomBytes(bytes).toString('hex')
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'
/** A random string of exactly `length` characters from [a-z0-9] (Janrain-style tokens, request ids). */
export function randomAlnum (length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)]
  return out
}

/** What is stored for a secret: hex SHA-256. Tokens are high-entropy, so no salt or stretching is needed. */
export function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function safeEqual (a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab) // spend the same time whether or not the lengths match
    return false
  }
  return timingSafeEqual(ab, bb)
}

/** True when `candidate` equals one of `secrets`, checking every one in constant time. */
export function matchesAny (candidate: string, secrets: readonly string[]): boolean {
  let found = false
  for (const s of secrets) found = safeEqual(candidate, s) || found
  return found
}

const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
/** scrypt password hash in a self-describing string: scrypt$N$r$p$salt$hash. */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password.normalize('NFKC'), salt, 32, SCRYPT)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

export async function verifyPassword (password: string, stored: string | null): Promise<boolean> {
  // A missing hash still costs one scrypt so timing does not reveal which accounts have passwords.
  const parts = (stored ?? '').split('$')
  const ok = parts.length === 6 && parts[0] === 'scrypt'
  const [N, r, p] = ok ? parts.slice(1, 4).map(Number) : [SCRYPT.N, SCRYPT.r, SCRYPT.p]
  const salt = ok ? Buffer.from(parts[4], 'base64url') : randomBytes(16)
  const expected = ok ? Buffer.from(parts[5], 'base64url') : randomBytes(32)
  const key = await scrypt(password.normalize('NFKC'), salt, expected.length, { N, r, p, maxmem: SCRYPT.maxmem })
  return timingSafeEqual(key, expected) && ok
}
