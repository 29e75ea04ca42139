// Secrets at rest that must be read back (a provider's client secret, an API key stored in the database),
// sealed with AES-256-GCM under a key from the environment: VESTIBULE_SECRET_KEY seals, and it or any key
// in VESTIBULE_OLD_SECRET_KEYS opens (rotation: add the new key, move the old one to _OLD, re-seal, drop it).
// Tokens Vestibule issues are not sealed but hashed (plugins/crypto.ts): they never need to be read back.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'

/** Sealed values look like `vst-sealed:v1:<key id>:<iv>:<ciphertext>:<tag>` (base64url parts). */
const PREFIX = 'vst-sealed:v1:'
const SEALED = /^vst-sealed:v1:([0-9a-f]{8}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/

export class SecretKeyError extends Error {
  readonly code: string
  constructor (code: 'VST_ERR_SECRET_KEY_MISSING' | 'VST_ERR_SECRET_KEY_INVALID' | 'VST_ERR_SECRET_KEY_UNKNOWN' | 'VST_ERR_SECRET_TAMPERED', message: string) {
    super(message)
    this.name = 'SecretKeyError'
    this.code = code
  }
}

interface Key { id: string, bytes: Buffer }

export interface SecretKeyring {
  /** The key new values are sealed with; null when no key is configured (sealing then fails). */
  readonly current: Key | null
  /** Every key that may open: the current one and the old ones. */
  readonly keys: ReadonlyMap<string, Key>
}

/** A 256-bit key written as 64 hex digits or base64 / base64url (44 or 43 characters). */
export function parseKey (text: string, name = 'VESTIBULE_SECRET_KEY'): Buffer {
  const t = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, 'base64') : null
  if (!bytes || bytes.length !== 32) throw new SecretKeyError('VST_ERR_SECRET_KEY_INVALID', `${name} must be 32 random bytes as 64 hex digits or base64 (generate one with: npm run admin -- secrets generate-key)`)
  return bytes
}

/** A key's public name: it says which key sealed a value without saying anything about the key. */
function keyId (bytes: Buffer): string {
  return createHash('sha256').update('vestibule-secret-key-id:').update(bytes).digest('hex').slice(0, 8)
}

export function createKeyring (opts: { current?: string | null, old?: readonly string[] } = {}): SecretKeyring {
  const keys = new Map<string, Key>()
  let current: Key | null = null
  if (opts.current) {
    const bytes = parseKey(opts.current)
    current = { id: keyId(bytes), bytes }
    keys.set(current.id, current)
  }
  for (const [i, text] of (opts.old ?? []).entries()) {
    const bytes = parseKey(text, `VESTIBULE_OLD_SECRET_KEYS[${i}]`)
    const id = keyId(bytes)
    if (!keys.has(id)) keys.set(id, { id, bytes })
  }
  return { current, keys }
}

/** VESTIBULE_SECRET_KEY (seals and opens) and VESTIBULE_OLD_SECRET_KEYS (comma-separated, open only). */
export function keyringFromEnv (env: NodeJS.ProcessEnv = process.env): SecretKeyring {
  return createKeyring({
    current: env.VESTIBULE_SECRET_KEY || null,
    old: (env.VESTIBULE_OLD_SECRET_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  })
}

export function generateKey (): string {
  return randomBytes(32).toString('base64')
}

export function isSealed (value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX)
}

/** Seals `plaintext`; `context` (e.g. the tenant id) is authenticated, so a value moved elsewhere does not open. */
export function seal (ring: SecretKeyring, plaintext: string, context = ''): string {
  const key = ring.current
  if (!key) throw new SecretKeyError('VST_ERR_SECRET_KEY_MISSING', 'VESTIBULE_SECRET_KEY is not set: secrets cannot be stored (generate one with: npm run admin -- secrets generate-key)')
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv)
  cipher.setAAD(Buffer.from(`${key.id}:${context}`))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${PREFIX}${key.id}:${iv.toString('base64url')}:${ct.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`
}

/** Opens a sealed value with whichever configured key sealed it. */
export function open (ring: SecretKeyring, sealed: string, context = ''): string {
  const m = SEALED.exec(sealed)
  if (!m) throw new SecretKeyError('VST_ERR_SECRET_TAMPERED', 'not a sealed value')
  const [, id, iv, ct, tag] = m
  const key = ring.keys.get(id)
  if (!key) throw new SecretKeyError('VST_ERR_SECRET_KEY_UNKNOWN', `a secret is sealed with key ${id}, which is neither VESTIBULE_SECRET_KEY nor in VESTIBULE_OLD_SECRET_KEYS`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(`${id}:${context}`))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8')
  } catch {
    throw new SecretKeyError('VST_ERR_SECRET_TAMPERED', `a secret sealed with key ${id} does not open: altered, or sealed for another place`)
  }
}

/**
 * A short public name for a secret (12 hex digits), so an operator can tell secrets apart and point at one
 * without seeing it: an HMAC under a key derived from the current one, so it says nothing about the secret
 * to whoever lacks the key. Stable while the key stays; changes when the key rotates.
 */
export function fingerprint (ring: SecretKeyring, plaintext: string, context = ''): string {
  const key = ring.current
  if (!key) throw new SecretKeyError('VST_ERR_SECRET_KEY_MISSING', 'VESTIBULE_SECRET_KEY is not set')
  const sub = createHash('sha256').update('vestibule-secret-fingerprint:').update(key.bytes).digest()
  return createHmac('sha256', sub).update(context).update('\u0000').update(plaintext).digest('hex').slice(0, 12)
}

/** True when a sealed value is not sealed with the current key (re-seal it to retire the old one). */
export function sealedWithOldKey (ring: SecretKeyring, sealed: string): boolean {
  const m = SEALED.exec(sealed)
  return m !== null && m[1] !== ring.current?.id
}
