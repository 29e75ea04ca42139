// Capture's 380 email_address_in_use tells a claimant whose provider did not verify the address only what the
// seed's merge flow needs (existing_provider); the account's display name, photo and creation date go only to a
// claimant whose provider verified that address.
import t from 'tap'
import { fixture, nativeArgs, rid, USERS } from '../capture/fixtures/capture.ts'

const f = await fixture(t)
const AUTH = '/t/cap/oauth/auth_native'

t.before(async () => {
  // erin registers through GitHub (verified address); frank sets a password (a "capture" account).
  const erin = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'erin'), thin_registration: 'true' }))
  const frank = await f.form('/t/cap/oauth/register_native_traditional', nativeArgs({ form: 'registrationForm', emailAddress: USERS.frank.emails[0].email, newPassword: 'correct horse battery', newPasswordConfirm: 'correct horse battery', displayName: 'Frank' }))
  if (erin.body.stat !== 'ok' || frank.body.stat !== 'ok') throw new Error('setup failed')
})

const UNVERIFIED_BODY = (body: any, provider: string) => ({
  stat: 'error', code: 380, error_description: 'a user already exists with that email address', error: 'email_address_in_use', request_id: rid(t, body), existing_provider: provider
})

t.test('an unverified claimant (Facebook asserts no verification) learns only existing_provider', async (t) => {
  for (const [user, provider] of [['erin', 'github'], ['frank', 'capture']] as const) {
    const r = await f.form(AUTH, nativeArgs({ token: await f.socialToken('facebook', user), thin_registration: 'true' }))
    t.same(r.body, UNVERIFIED_BODY(r.body, provider), `${user}: no display name, photo or creation date`)
  }
})

t.test('a claimant whose provider verified the address gets the existing account\'s details', async (t) => {
  // frank's GitHub identity verifies frank@example.test, owned by the password account.
  const r = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'frank'), thin_registration: 'true' }))
  t.same(r.body, { ...UNVERIFIED_BODY(r.body, 'capture'), existing_display_name: 'Frank', existing_photo: null, existing_date_created: r.body.existing_date_created })
  t.match(r.body.existing_date_created, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \+0000$/)
})
