// Values sealed before sealing became one module (db/sealing.ts) still open, in both forms, with the current key
// and after a rotation; what is sealed now keeps each caller's form and key id, so a node of the previous version
// (during a rolling upgrade) opens it too. The fixtures are strings the old code wrote (test/fixtures/).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { createKeyring, isSealed, open, seal, sealedWithOldKey } from '../../db/sealing.ts'
import { openOutboxRow, sealMailBodies } from '../../workers/mail-bodies.ts'

const F = JSON.parse(readFileSync(new URL('../fixtures/sealed-before-unification.json', import.meta.url), 'utf8'))
const K = Buffer.alloc(32, 7).toString('base64')
const OLD = Buffer.alloc(32, 9).toString('base64')
const ring = createKeyring({ current: K })
const rotated = createKeyring({ current: Buffer.alloc(32, 1).toString('hex'), old: [OLD, K] })

t.test('mail bodies sealed by the old plugins/crypto.ts open', async (t) => {
  const row = { tenant_id: F.mail.tenant, text_body: F.mail.text_body, html_body: F.mail.html_body }
  t.same(openOutboxRow(row, ring), { ...row, text_body: F.mail.text, html_body: F.mail.html })
  t.same(openOutboxRow(row, rotated).text_body, F.mail.text, 'with the key moved to VESTIBULE_OLD_SECRET_KEYS')
  t.throws(() => openOutboxRow({ ...row, tenant_id: 'other' }, ring), /does not open/, 'under another tenant: no')
  t.throws(() => openOutboxRow(row, createKeyring({ current: OLD })), /neither VESTIBULE_SECRET_KEY nor/, 'without its key: no')
  const old = { tenant_id: F.mailOldKey.tenant, text_body: F.mailOldKey.text_body, html_body: null }
  t.equal(openOutboxRow(old, rotated).text_body, F.mailOldKey.text)
  t.ok(sealedWithOldKey(rotated, F.mailOldKey.text_body), 'known as sealed with an old key')
  t.notOk(sealedWithOldKey(ring, F.mail.text_body))
})

t.test('one-time-token data sealed by the old code opens in its context only', async (t) => {
  t.equal(open(ring, F.token.sealed, F.token.context), F.token.data)
  t.throws(() => open(ring, F.token.sealed, F.token.context.replace('abc', 'abd')), /does not open/)
})

t.test('stored tenants\' secrets sealed by the old plugins/secrets.ts open', async (t) => {
  t.equal(open(ring, F.tenantSecret.sealed, F.tenantSecret.context), F.tenantSecret.plain)
  t.equal(open(rotated, F.tenantSecret.sealed, F.tenantSecret.context), F.tenantSecret.plain)
  t.equal(open(rotated, F.tenantSecretOldKey.sealed, 'acme'), F.tenantSecretOldKey.plain)
  t.throws(() => open(ring, F.tenantSecret.sealed, 'other'), /does not open/)
  t.ok(sealedWithOldKey(rotated, F.tenantSecret.sealed))
  t.notOk(sealedWithOldKey(ring, F.tenantSecret.sealed))
})

t.test('new seals keep each caller\'s form and key id', async (t) => {
  const mail = sealMailBodies('acme', 'x', null, ring)
  t.match(mail.text_body, /^vst1\.S7Bvjk46\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/, 'mail bodies: the compact form, the same key id as before')
  t.match(seal(ring, 'y', 'acme'), /^vst-sealed:v1:b5787b9c:/, 'tenant secrets: the v1 form, the same key id as before')
  t.ok(isSealed(mail.text_body) && isSealed(seal(ring, 'y')))
  t.notOk(isSealed('vst1') || isSealed('plain') || isSealed(null))
  // Each caller recognises its own form only, as before: a stored tenant's plain value may start with `vst1.`.
  t.notOk(isSealed(mail.text_body, 'v1'), 'a compact value is not a stored tenant\'s sealed secret')
  t.notOk(isSealed(seal(ring, 'y'), 'compact'))
  t.ok(isSealed(mail.text_body, 'compact') && isSealed(seal(ring, 'y'), 'v1'))
  // A flipped bit in either form does not open.
  for (const s of [mail.text_body, seal(ring, 'y', 'acme')]) {
    const i = s.length - 3
    const flipped = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
    t.throws(() => open(ring, flipped, s.startsWith('vst1.') ? 'email_outbox.text_body:acme' : 'acme'), /does not open/)
  }
})

t.test('a stored tenant\'s plain secret that looks like a compact sealed value is stored and served as given', async (t) => {
  const { build, tenantDoc } = await import('../helpers/build.ts')
  const { ALL, call, keyring, token } = await import('../admin/helpers.ts')
  const b = await build(t, { adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(b, ALL)
  const secret = 'vst1.looks.like.sealed'
  const res = await call(b, tok, 'POST', '/tenants', tenantDoc('lookalike', { clients: [{ id: 'c-1', secret }] }))
  t.equal(res.status, 201, 'accepted: only the v1 form is refused in a document')
  t.equal((await b.api('/t/lookalike/openapi.json')).status, 200)
  t.equal(b.app.router.get('lookalike')?.clients[0].secret, secret, 'served with the secret as given')
  const row = await b.app.db.db.selectFrom('tenant_configs').select('doc').where('id', '=', 'lookalike').executeTakeFirstOrThrow()
  t.match(JSON.stringify(row.doc), /vst-sealed:v1:/, 'sealed at rest')
  t.notMatch(JSON.stringify(row.doc), /looks\.like/)
})
