// POST /oauth/update_profile_native as jump.android (Capture.java getUpdateUserProfileConnection) and jump.ios
// (JRCapture.m updateProfileForUser) send it, and the email-change guard PATCH /user has
// (test/security/email-change-needs-recent-auth.test.ts): a recent sign-in (a refreshed token keeps its sign-in
// time), other sessions revoked, a notice to the old address; refusals in Capture's envelope.
import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { hashToken } from '../../plugins/crypto.ts'
import { openTokenRow, sealData } from '../../plugins/identity/tokens.ts'
import { CLIENT, DEFAULTS_CLIENT, fixture, nativeArgs, VERSION } from './fixtures/capture.ts'

const f = await fixture(t)
const db = f.app.db.db
const UPDATE = '/t/cap/oauth/update_profile_native'
const FORM = 'socialRegistrationForm' // firstName, lastName, emailAddress, displayName, mobile

async function signIn (user: 'alice' | 'bob' | 'dave' | 'erin', refreshSecret?: string): Promise<{ token: string, uuid: string }> {
  const social = await f.socialToken('github', user)
  const r = await f.form('/t/cap/oauth/auth_native', nativeArgs({ token: social, thin_registration: 'true', ...(refreshSecret ? { refresh_secret: refreshSecret } : {}) }))
  if (r.body.stat !== 'ok') throw new Error(JSON.stringify(r.body))
  return { token: r.body.access_token, uuid: r.body.capture_user.uuid }
}
/** The arguments both SDKs add to the form's fields. */
const update = (token: string, fields: Record<string, string>, extra: Record<string, string> = {}) =>
  f.form(UPDATE, { ...fields, client_id: CLIENT, locale: 'en-US', flow: 'standard', flow_version: VERSION, form: FORM, access_token: token, ...extra })
const me = async (token: string) => (await f.form('/t/cap/entity', { access_token: token })).body
const mailTo = async (address: string) => (await db.selectFrom('email_outbox').select('id').where('tenant_id', '=', 'cap').where('to_address', '=', address).execute()).length
const age = (token: string) => db.updateTable('sessions').set({ created_at: new Date(Date.now() - 301_000) }).where('token_hash', '=', hashToken(token)).execute()

t.test('names and attributes update; fields left out are kept', async (t) => {
  const { token } = await signIn('alice')
  const r = await update(token, { firstName: 'Ally', mobile: '555-0100' })
  t.same(r.body, { stat: 'ok' })
  let u = (await me(token)).result
  t.equal(u.givenName, 'Ally')
  t.equal(u.mobile, '555-0100')
  t.equal(u.email, 'alice@example.test', 'the address is kept')
  t.type(u.emailVerified, 'string')
  const second = await update(token, { lastName: 'Sheedy' })
  t.equal(second.body.stat, 'ok')
  u = (await me(token)).result
  t.equal(u.mobile, '555-0100', 'attributes merge')
  t.equal(u.givenName, 'Ally')

  const bad = await update(token, { emailAddress: 'not an address' })
  t.match(bad.body, { stat: 'error', code: 390, invalid_fields: { emailAddress: ['Invalid email address'] } })
  t.match((await update('x'.repeat(43), { firstName: 'Z' })).body, { stat: 'error', code: 414 })
  t.match((await update(token, { firstName: 'Z' }, { client_id: DEFAULTS_CLIENT })).body, { stat: 'error', code: 414 }, 'another client\'s token')
  t.match((await update(token, { firstName: 'Z' }, { form: 'nosuchForm' })).body, { stat: 'error', code: 200, argument_name: 'form' })
  t.match((await f.form(UPDATE, { client_id: CLIENT })).body, { stat: 'error', code: 100, argument_name: 'access_token' })
})

t.test('an old sign-in cannot change the email; nothing is written', async (t) => {
  const { token } = await signIn('bob')
  await age(token)
  const r = await update(token, { emailAddress: 'mallory@evil.test', firstName: 'Bobby' })
  t.same(r.body, { stat: 'error', code: 390, error_description: 'some form fields are invalid', error: 'invalid_form_fields', invalid_fields: { emailAddress: ['Sign in again to change your email address.'] }, request_id: r.body.request_id })
  const fr = await update(token, { emailAddress: 'mallory@evil.test' }, { locale: 'fr-FR' })
  t.same(fr.body.invalid_fields, { emailAddress: ['Reconnectez-vous pour changer votre adresse e-mail.'] })
  const u = (await me(token)).result
  t.equal(u.email, 'bob@example.test')
  t.not(u.givenName, 'Bobby', 'the whole update was refused')
  t.equal(await mailTo('bob@example.test'), 0)
  t.equal((await update(token, { emailAddress: 'BOB@example.test', firstName: 'Bobby' })).body.stat, 'ok', 'the same address in another case is no change')
})

t.test('a refreshed token is no fresher a sign-in', async (t) => {
  const secret = randomBytes(20).toString('hex')
  const { token } = await signIn('erin', secret)
  // Make the sign-in old: the session, and the sign-in time its refresh binding carries.
  await age(token)
  const row = openTokenRow(await db.selectFrom('one_time_tokens').selectAll().where('purpose', '=', 'capture-refresh-secret').where('token_hash', '=', hashToken(token)).executeTakeFirstOrThrow())
  const data = { ...row.data, auth_time: new Date(Date.now() - 301_000).toISOString() }
  await db.updateTable('one_time_tokens').set({ data: JSON.stringify(sealData(row.tenant_id, row.purpose, row.token_hash, data)) }).where('id', '=', row.id).execute()
  const date = new Date().toISOString().slice(0, 19).replace('T', ' ')
  const signature = createHmac('sha1', secret).update(`refresh_access_token\n${date}\n${token}\n`).digest('base64')
  const refreshed = await f.form('/t/cap/oauth/refresh_access_token', { access_token: token, signature, date, client_id: CLIENT, locale: 'en-US' })
  t.equal(refreshed.body.stat, 'ok', JSON.stringify(refreshed.body))
  const r = await update(refreshed.body.access_token, { emailAddress: 'mallory@evil.test' })
  t.match(r.body, { stat: 'error', code: 390, invalid_fields: { emailAddress: ['Sign in again to change your email address.'] } })
})

t.test('a fresh sign-in changes it: unverified, other sessions revoked, this one kept, a notice to the old address', async (t) => {
  const stale = await signIn('dave')
  const fresh = await signIn('dave')
  const r = await update(fresh.token, { emailAddress: 'dave.new@example.test' })
  t.same(r.body, { stat: 'ok' })
  const u = (await me(fresh.token)).result
  t.equal(u.email, 'dave.new@example.test')
  t.equal(u.emailVerified, null, 'a typed-in address is unverified')
  t.equal((await me(stale.token)).code, 414, 'the other session is revoked')
  t.equal(await mailTo('dave@example.test'), 1, 'one notice to the old address')
  t.equal(await mailTo('dave.new@example.test'), 0)

  // An address another account holds: 390 on the field, nothing revoked, no notice.
  const other = await signIn('alice')
  const taken = await update(fresh.token, { emailAddress: 'alice@example.test' })
  t.match(taken.body, { stat: 'error', code: 390, invalid_fields: { emailAddress: ['Email address is already in use.'] } })
  t.equal((await me(other.token)).stat, 'ok')
  t.equal(await mailTo('dave.new@example.test'), 0)
})
