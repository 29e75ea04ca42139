// A provider-verified address links into an account only when it is exactly one valid address equal to
// the account's once both are normalised: a Kelvin sign (U+212A) for K, full-width letters and lists
// ("kevin@…, mallory@…") never land in kevin@example.test's account nor are stored as verified.
import t from 'tap'
import { loadTenantFile } from '../../tenants/loader.ts'
import { normalizeEmail } from '../../plugins/email-address.ts'
import { createUser, findUserByEmail, resolveSocialLogin } from '../../plugins/identity/index.ts'
import { build, postForm, testDatabase } from '../helpers/build.ts'
import { profile } from '../helpers/profiles.ts'

const KELVIN = '\u212Aevin@example.test'
const FULL_WIDTH = 'ｋｅｖｉｎ＠ｅｘａｍｐｌｅ．ｔｅｓｔ'
const HOSTILE = [KELVIN, FULL_WIDTH, 'kevin@example.test, mallory@evil.test', 'kevin@example.test,mallory@evil.test',
  'Kevin <kevin@example.test>', '"kevin"@example.test', 'kevin@example.test\nBcc: mallory@evil.test', 'ke\u0301vin@example.test', 'kevin@exam\u2024ple.test']

t.test('normalizeEmail: one NFKC-stable address, ASCII letters lower-cased, nothing folded', async (t) => {
  t.equal(normalizeEmail('  Kevin@Example.TEST '), 'kevin@example.test')
  for (const h of HOSTILE) t.equal(normalizeEmail(h), null, JSON.stringify(h))
})

t.test('identity core: hostile provider addresses never link, never stored as verified', async (t) => {
  const { db } = await testDatabase(t)
  const kevin = await createUser(db, 'a', { email: 'kevin@example.test', email_verified: true })
  let n = 0
  for (const email of HOSTILE) {
    const out = await resolveSocialLogin(db, { tenantId: 'a', linking: 'verified-email', profile: profile(`h-${n++}`, { email, emailVerified: true }) })
    t.not(out.kind, 'linked', `${JSON.stringify(email)} does not link`)
    if ('user' in out) {
      t.not(out.user.id, kevin.id, 'not kevin\'s account')
      t.equal(out.user.email, null, 'no address stored for it')
      t.equal(out.user.email_verified, false)
    }
  }
  t.notOk(await findUserByEmail(db, 'a', KELVIN), 'a Kelvin-sign lookup finds nobody')
  // The same address in plain ASCII, any case, still links (the rule is exact match of the normalised form).
  const same = await resolveSocialLogin(db, { tenantId: 'a', linking: 'verified-email', profile: profile('ok', { email: 'KEVIN@example.test', emailVerified: true }) })
  t.equal(same.kind, 'linked')
  t.equal('user' in same && same.user.id, kevin.id)
  // A row written before the fix with a Kelvin sign is not found by lower() folding.
  await db.updateTable('users').set({ email: 'x' + KELVIN }).where('id', '=', kevin.id).execute()
  t.notOk(await findUserByEmail(db, 'a', 'xkevin@example.test'))
})

t.test('Capture forms refuse hostile addresses', async (t) => {
  const { config } = await loadTenantFile('tenants/demo.json')
  const { api, app } = await build(t, { tenants: [config] })
  const reg = (email: string) => api('/t/demo/oauth/register_native_traditional', postForm({
    client_id: 'demo-client-key', flow: 'standard', flow_version: '1', locale: 'en-US', redirect_uri: 'http://127.0.0.1/cb',
    form: 'registrationForm', emailAddress: email, newPassword: 'password123', newPasswordConfirm: 'password123'
  }))
  let r = await (await reg('Kevin@Example.test')).json() as any
  t.equal(r.stat, 'ok')
  for (const h of HOSTILE) {
    r = await (await reg(h)).json() as any
    t.equal(r.code, 390, `${JSON.stringify(h)} refused as a form error`)
    t.same(r.invalid_fields, { emailAddress: ['Invalid email address'] })
  }
  const users = await app.db.db.selectFrom('users').select('email').where('tenant_id', '=', 'demo').execute()
  t.same(users.map((u) => u.email), ['Kevin@Example.test'], 'stored as typed; compared in its normalised form')
})
