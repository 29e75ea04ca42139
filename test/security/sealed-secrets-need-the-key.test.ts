// Sealed values (mail bodies, one-time token data) open only with a configured key and in the context
// they were sealed for; old keys keep opening after rotation; production refuses to start without a key.
// These use the `compact` form (db/sealing.ts) that mail bodies and token data have always been written in.
import t from 'tap'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { keyringFromEnv, open, seal, type KeyEnv } from '../../db/sealing.ts'

/** The process keyring as the server and worker read it (a development key outside production). */
const keyRingFromEnv = (env: KeyEnv, notice?: (m: string) => void) => {
  const ring = keyringFromEnv(env, { developmentKey: true, notice })
  return { seal: (v: string, c: string) => seal(ring, v, c, 'compact'), open: (v: string, c: string) => open(ring, v, c) }
}

const key = () => randomBytes(32).toString('base64')

t.test('seal and open; context and tampering are checked', async (t) => {
  const ring = keyRingFromEnv({ VESTIBULE_SECRET_KEY: key() })
  const s = ring.seal('https://app.test/link/SECRET', 'ctx-a')
  t.notMatch(s, /SECRET/)
  t.equal(ring.open(s, 'ctx-a'), 'https://app.test/link/SECRET')
  t.throws(() => ring.open(s, 'ctx-b'), 'another context does not open it')
  const parts = s.split('.')
  parts[3] = Buffer.from(Buffer.from(parts[3], 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url')
  t.throws(() => ring.open(parts.join('.'), 'ctx-a'), 'a flipped bit does not open')
  t.throws(() => keyRingFromEnv({ VESTIBULE_SECRET_KEY: key() }).open(s, 'ctx-a'), 'another key does not open it')
})

t.test('rotation: the old key still opens, the new one seals', async (t) => {
  const oldKey = key()
  const sealedBefore = keyRingFromEnv({ VESTIBULE_SECRET_KEY: oldKey }).seal('v', 'c')
  const rotated = keyRingFromEnv({ VESTIBULE_SECRET_KEY: key(), VESTIBULE_OLD_SECRET_KEYS: `${key()},${oldKey}` })
  t.equal(rotated.open(sealedBefore, 'c'), 'v')
  t.throws(() => keyRingFromEnv({ VESTIBULE_SECRET_KEY: oldKey }).open(rotated.seal('w', 'c'), 'c'), 'new seals need the new key')
  t.throws(() => keyRingFromEnv({ VESTIBULE_SECRET_KEY: 'too-short' }), /32 random bytes/)
})

t.test('no key: production refuses; development generates and keeps one under DATA_DIR', async (t) => {
  t.throws(() => keyRingFromEnv({ NODE_ENV: 'production' }), /VESTIBULE_SECRET_KEY is required/)
  const dir = mkdtempSync(path.join(tmpdir(), 'vst-key-'))
  const notices: string[] = []
  const a = keyRingFromEnv({ DATA_DIR: dir }, (m) => notices.push(m))
  const b = keyRingFromEnv({ DATA_DIR: dir }, (m) => notices.push(m))
  t.equal(b.open(a.seal('x', 'c'), 'c'), 'x', 'the same key after a restart')
  t.equal(notices.length, 1, 'one notice, when the key is generated')
  t.equal(statSync(path.join(dir, 'secret.key')).mode & 0o777, 0o600)
  t.equal(Buffer.from(readFileSync(path.join(dir, 'secret.key'), 'utf8').trim(), 'base64').length, 32)
})
