// Secrets: random tokens, their SHA-256 at-rest form, constant-time comparison, password hashing, and
// sealing (AES-256-GCM) of the few secrets that must be read back.
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>

/** A URL-safe random token with `bytes` of entropy (default 32 → 43 characters). */
export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
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

// ---------------------------------------------------------------------------------------------------
// Sealing: AES-256-GCM for secrets that must be read back (mail bodies carrying a link, one-time token
// data holding a PKCE verifier or an OAuth1 request-token secret). Keys come from the environment:
// VESTIBULE_SECRET_KEY seals and opens; VESTIBULE_OLD_SECRET_KEYS (comma-separated) only open, for
// rotation. Each key is 32 bytes as base64, base64url or 64 hex digits. Without a key, outside
// production, a random key is created once under DATA_DIR (`secret.key`, mode 0600) with a notice;
// with NODE_ENV=production a missing key is a boot error.

const SEALED_PREFIX = 'vst1'

export interface KeyRing {
  /** Seals with the current key; `context` is authenticated, so a value only opens where it was sealed. */
  seal (plaintext: string, context: string): string
  /** Opens with whichever key (current or old) sealed it; throws on tampering or an unknown key. */
  open (sealed: string, context: string): string
}

export function isSealed (v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(SEALED_PREFIX + '.')
}

function parseKey (name: string, raw: string): Buffer {
  const s = raw.trim()
  const key = /^[0-9a-f]{64}$/i.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64')
  if (key.length !== 32) throw new Error(`${name} must be 32 bytes (base64, base64url or 64 hex digits); got ${key.length} bytes`)
  return key
}

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8)

export function createKeyRing (current: Buffer, old: Buffer[] = []): KeyRing {
  const keys = new Map<string, Buffer>()
  for (const k of [current, ...old]) if (!keys.has(keyId(k))) keys.set(keyId(k), k)
  const currentId = keyId(current)
  return {
    seal (plaintext, context) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', current, iv)
      c.setAAD(Buffer.from(context))
      const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()])
      return `${SEALED_PREFIX}.${currentId}.${iv.toString('base64url')}.${body.toString('base64url')}`
    },
    open (sealed, context) {
      const [prefix, id, ivText, bodyText] = sealed.split('.')
      const key = keys.get(id)
      if (prefix !== SEALED_PREFIX || !key || !ivText || !bodyText) throw new Error('sealed value: unknown format or key (is VESTIBULE_OLD_SECRET_KEYS missing a retired key?)')
      const body = Buffer.from(bodyText, 'base64url')
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'))
      d.setAAD(Buffer.from(context))
      d.setAuthTag(body.subarray(body.length - 16))
      return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString('utf8')
    }
  }
}

export interface KeyRingEnv { VESTIBULE_SECRET_KEY?: string, VESTIBULE_OLD_SECRET_KEYS?: string, NODE_ENV?: string, DATA_DIR?: string }

/** The key ring the environment describes (see above); `notice` hears about a generated development key. */
export function keyRingFromEnv (env: KeyRingEnv = process.env, notice: (message: string) => void = (m) => process.emitWarning(m, { code: 'VST_SECRET_KEY_GENERATED' })): KeyRing {
  const old = (env.VESTIBULE_OLD_SECRET_KEYS ?? '').split(',').filter((s) => s.trim() !== '').map((s) => parseKey('VESTIBULE_OLD_SECRET_KEYS', s))
  if (env.VESTIBULE_SECRET_KEY) return createKeyRing(parseKey('VESTIBULE_SECRET_KEY', env.VESTIBULE_SECRET_KEY), old)
  if (env.NODE_ENV === 'production') throw new Error('VESTIBULE_SECRET_KEY is required with NODE_ENV=production (32 random bytes, e.g. `openssl rand -base64 32`)')
  const file = path.join(env.DATA_DIR || '.data', 'secret.key')
  mkdirSync(path.dirname(file), { recursive: true })
  try {
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { flag: 'wx', mode: 0o600 })
    notice(`VESTIBULE_SECRET_KEY is not set: generated a development key in ${file}; set VESTIBULE_SECRET_KEY in production`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return createKeyRing(parseKey(file, readFileSync(file, 'utf8')), old)
}

let processRing: KeyRing | undefined
/** The process's key ring, read from the environment on first use (server and worker alike). */
export function secretKeys (): KeyRing {
  processRing ??= keyRingFromEnv()
  return processRing
}
