// Values sealed at rest: the few secrets that must be read back (a stored tenant's client and provider
// secrets, a mail body carrying a sign-in link, one-time-token data holding a PKCE verifier or an OAuth 1
// request-token secret), encrypted with AES-256-GCM under a key from the environment. VESTIBULE_SECRET_KEY
// seals and opens; any key in VESTIBULE_OLD_SECRET_KEYS (comma-separated) only opens (rotation: add the new
// key, move the old one to _OLD, re-seal, drop it). A key is 32 bytes as 64 hex digits or base64 / base64url.
// Tokens Vestibule issues are not sealed but hashed (plugins/crypto.ts): they never need to be read back.
//
// Here, below every layer that seals or opens (db/ is the bottom of the import order), so the mail worker opens
// a body with the same code the server sealed it with. Two written forms, both opened by `open` whatever the
// caller, each kept by the callers that wrote it before these were one module (a node of the previous version,
// during a rolling upgrade, still opens what this one writes):
//  - `v1`:      `vst-sealed:v1:<key id>:<iv>:<ciphertext>:<tag>`, the key id (8 hex digits) authenticated
//               with the context; stored tenants' secrets.
//  - `compact`: `vst1.<key id>.<iv>.<ciphertext + tag>`, the key id 8 base64url characters; mail bodies and
//               one-time-token data.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export type SealForm = 'v1' | 'compact'

const V1_PREFIX = 'vst-sealed:v1:'
const V1 = /^vst-sealed:v1:([0-9a-f]{8}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/
const COMPACT_PREFIX = 'vst1.'
const TAG_BYTES = 16

export class SecretKeyError extends Error {
  readonly code: string
  constructor (code: 'VST_ERR_SECRET_KEY_MISSING' | 'VST_ERR_SECRET_KEY_INVALID' | 'VST_ERR_SECRET_KEY_UNKNOWN' | 'VST_ERR_SECRET_TAMPERED', message: string) {
    super(message)
    this.name = 'SecretKeyError'
    this.code = code
  }
}

export interface SecretKey {
  /** The key's public name in the `v1` form: it says which key sealed a value without saying anything about the key. */
  readonly id: string
  /** Its name in the `compact` form. */
  readonly compactId: string
  readonly bytes: Buffer
}

export interface SecretKeyring {
  /** The key new values are sealed with; null when no key is configured (sealing then fails). */
  readonly current: SecretKey | null
  /** Every key that may open, the current one and the old ones, by `id`. */
  readonly keys: ReadonlyMap<string, SecretKey>
  /** The same keys by `compactId`. */
  readonly compactKeys: ReadonlyMap<string, SecretKey>
}

/** A 256-bit key written as 64 hex digits or base64 / base64url (44 or 43 characters). */
export function parseKey (text: string, name = 'VESTIBULE_SECRET_KEY'): Buffer {
  const t = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, 'base64') : null
  if (!bytes || bytes.length !== 32) throw new SecretKeyError('VST_ERR_SECRET_KEY_INVALID', `${name} must be 32 random bytes as 64 hex digits or base64 (generate one with: npm run admin -- secrets generate-key)`)
  return bytes
}

function keyOf (bytes: Buffer): SecretKey {
  return {
    id: createHash('sha256').update('vestibule-secret-key-id:').update(bytes).digest('hex').slice(0, 8),
    compactId: createHash('sha256').update(bytes).digest('base64url').slice(0, 8),
    bytes
  }
}

/** A keyring from key texts (see parseKey); the first occurrence of a key wins. */
export function createKeyring (opts: { current?: string | null, old?: readonly string[] } = {}): SecretKeyring {
  const keys = new Map<string, SecretKey>()
  const compactKeys = new Map<string, SecretKey>()
  const add = (k: SecretKey) => {
    if (!keys.has(k.id)) keys.set(k.id, k)
    if (!compactKeys.has(k.compactId)) compactKeys.set(k.compactId, k)
  }
  const current = opts.current ? keyOf(parseKey(opts.current)) : null
  if (current) add(current)
  for (const [i, text] of (opts.old ?? []).entries()) add(keyOf(parseKey(text, `VESTIBULE_OLD_SECRET_KEYS[${i}]`)))
  return { current, keys, compactKeys }
}

export interface KeyEnv { VESTIBULE_SECRET_KEY?: string, VESTIBULE_OLD_SECRET_KEYS?: string, NODE_ENV?: string, DATA_DIR?: string }

/**
 * VESTIBULE_SECRET_KEY (seals and opens) and VESTIBULE_OLD_SECRET_KEYS (open only). With `developmentKey`, a
 * missing key is a boot error under NODE_ENV=production and, outside it, a random key created once under
 * DATA_DIR (`secret.key`, mode 0600) with a notice; without it, a missing key leaves `current` null.
 */
export function keyringFromEnv (env: KeyEnv = process.env, opts: { developmentKey?: boolean, notice?: (message: string) => void } = {}): SecretKeyring {
  const old = (env.VESTIBULE_OLD_SECRET_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (env.VESTIBULE_SECRET_KEY || !opts.developmentKey) return createKeyring({ current: env.VESTIBULE_SECRET_KEY || null, old })
  if (env.NODE_ENV === 'production') throw new SecretKeyError('VST_ERR_SECRET_KEY_MISSING', 'VESTIBULE_SECRET_KEY is required with NODE_ENV=production (32 random bytes, e.g. `openssl rand -base64 32`)')
  const file = path.join(env.DATA_DIR || '.data', 'secret.key')
  mkdirSync(path.dirname(file), { recursive: true })
  try {
    writeFileSync(file, generateKey() + '\n', { flag: 'wx', mode: 0o600 })
    const notice = opts.notice ?? ((m: string) => process.emitWarning(m, { code: 'VST_SECRET_KEY_GENERATED' }))
    notice(`VESTIBULE_SECRET_KEY is not set: generated a development key in ${file}; set VESTIBULE_SECRET_KEY in production`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const bytes = parseKey(readFileSync(file, 'utf8'), file)
  return createKeyring({ current: bytes.toString('base64'), old })
}

let processRing: SecretKeyring | undefined
/** The process's keyring (server and worker alike), read from the environment on first use, with a development key. */
export function processKeyring (): SecretKeyring {
  processRing ??= keyringFromEnv(process.env, { developmentKey: true })
  return processRing
}

/** A new key for VESTIBULE_SECRET_KEY: 32 random bytes, base64. */
export function generateKey (): string {
  return randomBytes(32).toString('base64')
}

/** True for a value in either sealed form, or in `form` only (where a plain value may look like the other form). */
export function isSealed (value: unknown, form?: SealForm): value is string {
  if (typeof value !== 'string') return false
  return (form !== 'compact' && value.startsWith(V1_PREFIX)) || (form !== 'v1' && value.startsWith(COMPACT_PREFIX))
}

/** Seals `plaintext`; `context` (e.g. the tenant id) is authenticated, so a value moved elsewhere does not open. */
export function seal (ring: SecretKeyring, plaintext: string, context = '', form: SealForm = 'v1'): string {
  const key = ring.current
  if (!key) throw new SecretKeyError('VST_ERR_SECRET_KEY_MISSING', 'VESTIBULE_SECRET_KEY is not set: secrets cannot be stored (generate one with: npm run admin -- secrets generate-key)')
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv)
  cipher.setAAD(Buffer.from(form === 'v1' ? `${key.id}:${context}` : context))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return form === 'v1'
    ? `${V1_PREFIX}${key.id}:${iv.toString('base64url')}:${ct.toString('base64url')}:${tag.toString('base64url')}`
    : `${COMPACT_PREFIX}${key.compactId}.${iv.toString('base64url')}.${Buffer.concat([ct, tag]).toString('base64url')}`
}

interface Parsed { form: SealForm, key: SecretKey | undefined, keyName: string, iv: Buffer, ct: Buffer, tag: Buffer }

function parse (ring: SecretKeyring, sealed: string): Parsed | null {
  const m = V1.exec(sealed)
  if (m) return { form: 'v1', key: ring.keys.get(m[1]), keyName: m[1], iv: Buffer.from(m[2], 'base64url'), ct: Buffer.from(m[3], 'base64url'), tag: Buffer.from(m[4], 'base64url') }
  const parts = sealed.split('.')
  if (parts.length !== 4 || `${parts[0]}.` !== COMPACT_PREFIX || !parts[1] || !parts[2] || !parts[3]) return null
  const body = Buffer.from(parts[3], 'base64url')
  if (body.length < TAG_BYTES) return null
  return { form: 'compact', key: ring.compactKeys.get(parts[1]), keyName: parts[1], iv: Buffer.from(parts[2], 'base64url'), ct: body.subarray(0, body.length - TAG_BYTES), tag: body.subarray(body.length - TAG_BYTES) }
}

/** Opens a value sealed in either form with whichever configured key sealed it. */
export function open (ring: SecretKeyring, sealed: string, context = ''): string {
  const p = parse(ring, sealed)
  if (!p) throw new SecretKeyError('VST_ERR_SECRET_TAMPERED', 'not a sealed value')
  if (!p.key) throw new SecretKeyError('VST_ERR_SECRET_KEY_UNKNOWN', `a secret is sealed with key ${p.keyName}, which is neither VESTIBULE_SECRET_KEY nor in VESTIBULE_OLD_SECRET_KEYS`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', p.key.bytes, p.iv)
    decipher.setAAD(Buffer.from(p.form === 'v1' ? `${p.key.id}:${context}` : context))
    decipher.setAuthTag(p.tag)
    return Buffer.concat([decipher.update(p.ct), decipher.final()]).toString('utf8')
  } catch {
    throw new SecretKeyError('VST_ERR_SECRET_TAMPERED', `a secret sealed with key ${p.keyName} does not open: altered, or sealed for another place`)
  }
}

/** True when a sealed value (either form) is not sealed with the current key (re-seal it to retire the old one). */
export function sealedWithOldKey (ring: SecretKeyring, sealed: string): boolean {
  const p = parse(ring, sealed)
  return p !== null && p.keyName !== (p.form === 'v1' ? ring.current?.id : ring.current?.compactId)
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
