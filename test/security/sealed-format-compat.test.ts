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
  // A flipped bit in either form does not open.
  for (const s of [mail.text_body, seal(ring, 'y', 'acme')]) {
    const i = s.length - 3
    const flipped = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
    t.throws(() => open(ring, flipped, s.startsWith('vst1.') ? 'email_outbox.text_body:acme' : 'acme'), /does not open/)
  }
})
