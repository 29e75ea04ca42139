// db/sealing.ts (the v1 form, stored tenants): AES-256-GCM sealing with VESTIBULE_SECRET_KEY, opening with it or an old key, tamper and
// context checks; and `npm run admin -- secrets reseal`, which moves every stored secret to the current key.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { createKeyring, fingerprint, generateKey, keyringFromEnv, open, parseKey, seal, sealedWithOldKey } from '../../db/sealing.ts'
import { secretPatterns } from '../../tenants/db-store.ts'
import { build, TEST_DATABASE_URL, tenantDoc } from '../helpers/build.ts'
import { ALL, call, token } from './helpers.ts'

const run = promisify(execFile)
const K1 = generateKey()
const K2 = generateKey()

t.test('seal and open; another key, another context or a changed byte does not open', async (t) => {
  const ring = createKeyring({ current: K1 })
  const s = seal(ring, 'hunter2-secret', 'acme')
  t.match(s, /^vst-sealed:v1:[0-9a-f]{8}:/)
  t.notMatch(s, /hunter2/)
  t.not(seal(ring, 'hunter2-secret', 'acme'), s, 'a fresh IV every time')
  t.equal(open(ring, s, 'acme'), 'hunter2-secret')
  t.throws(() => open(ring, s, 'other'), /does not open/, 'bound to its context (the tenant)')
  t.throws(() => open(createKeyring({ current: K2 }), s, 'acme'), /neither VESTIBULE_SECRET_KEY nor in VESTIBULE_OLD_SECRET_KEYS/)
  const flipped = s.slice(0, -3) + (s.at(-3) === 'A' ? 'B' : 'A') + s.slice(-2)
  t.throws(() => open(ring, flipped, 'acme'), /does not open/)
  t.throws(() => seal(createKeyring({}), 'x'), /VESTIBULE_SECRET_KEY is not set/)
})

t.test('rotation: the new key seals, old keys still open until everything is re-sealed', async (t) => {
  const before = createKeyring({ current: K1 })
  const s = seal(before, 'v', 'ctx')
  const after = keyringFromEnv({ VESTIBULE_SECRET_KEY: K2, VESTIBULE_OLD_SECRET_KEYS: ` ${K1} ,` })
  t.equal(open(after, s, 'ctx'), 'v')
  t.ok(sealedWithOldKey(after, s))
  t.notOk(sealedWithOldKey(after, seal(after, 'v', 'ctx')))
  t.not(fingerprint(before, 'v', 'ctx'), fingerprint(after, 'v', 'ctx'), 'fingerprints follow the current key')
  t.equal(fingerprint(after, 'v', 'ctx'), fingerprint(after, 'v', 'ctx'))
})

t.test('keys are 32 bytes, hex or base64; anything else is refused with how to make one', async (t) => {
  t.equal(parseKey('ab'.repeat(32)).length, 32)
  t.equal(parseKey(K1).length, 32)
  t.throws(() => parseKey('short'), /32 random bytes.*secrets generate-key/)
  t.throws(() => keyringFromEnv({ VESTIBULE_SECRET_KEY: K1, VESTIBULE_OLD_SECRET_KEYS: 'nope' }), /VESTIBULE_OLD_SECRET_KEYS\[0\]/)
})

t.test('the secret fields are the ones the tenant schema marks writeOnly', async (t) => {
  t.same(secretPatterns().map((p) => '/' + p.join('/')).sort(), [
    '/clients/*/apiKey', '/clients/*/previousSecrets/*', '/clients/*/secret', '/instances/*/apiKeys/*',
    '/providers/*/clientSecret', '/providers/*/consumerSecret', '/webhooks/*/secret'
  ])
})

t.test('secrets reseal moves every stored secret, history included, to the current key', async (t) => {
  const b = await build(t, { adminApi: { keyring: createKeyring({ current: K1 }) } })
  const tok = await token(b, ALL)
  await call(b, tok, 'POST', '/tenants', tenantDoc('rot', { clients: [{ id: 'web', secret: 'web-secret-1' }] }))
  await call(b, tok, 'PATCH', '/tenants/rot', { frontendUrl: 'https://rot.app' })
  const env = { ...process.env, DATABASE_URL: `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${b.schema}`)}`, VESTIBULE_SECRET_KEY: K2, VESTIBULE_OLD_SECRET_KEYS: K1 }
  const r = await run('npx', ['tsx', 'tenants/admin/cli.ts', 'secrets', 'reseal'], { env })
  t.match(r.stdout, /re-sealed 1 tenant\(s\) and 2 version\(s\)/)
  // A node with the new key alone now serves the tenant, and can restore its first version.
  const fresh = await build(t, { nodeOf: b, adminApi: { keyring: createKeyring({ current: K2 }) } })
  t.equal((await fresh.api('/t/rot/openapi.json')).status, 200)
  t.equal((fresh.app.router.get('rot') as any)?.clients[0].secret, 'web-secret-1')
  const restored = await call(fresh, tok, 'POST', '/tenants/rot/versions/1/restore')
  t.equal(restored.status, 200)
  t.equal((fresh.app.router.get('rot') as any)?.clients[0].secret, 'web-secret-1')
  t.match((await run('npx', ['tsx', 'tenants/admin/cli.ts', 'secrets', 'generate-key'])).stdout, /^[A-Za-z0-9+/]{43}=\n$/)
})
