// Traditional registration and sign-in (with merge_token), /oauth/token grants with code replay, and /entity.
import t from 'tap'
import { CLIENT, CLIENT_SECRET, DEFAULTS_CLIENT, expectUser, fixture, ghProfile, nativeArgs, NO_LOGIN_CLIENT, rid } from './fixtures/capture.ts'

const f = await fixture(t)
const REG = '/t/cap/oauth/register_native_traditional'
const SIGN_IN = '/t/cap/oauth/auth_native_traditional'
const TOKEN = '/t/cap/oauth/token'
const ENTITY = '/t/cap/entity'
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` })

const gina = { form: 'registrationForm', emailAddress: 'gina@example.test', newPassword: 'correct horse battery', newPasswordConfirm: 'correct horse battery', displayName: 'Gina', favoriteColor: 'teal' }

t.test('register_native_traditional: 390 on bad fields, then success; the password is never echoed', async (t) => {
  let r = await f.form(REG, nativeArgs({ form: 'registrationForm', emailAddress: 'not-an-email', newPassword: 'short', newPasswordConfirm: 'other' }))
  t.same(r.body, {
    stat: 'error', code: 390, error_description: 'some form fields are invalid', error: 'invalid_form_fields', request_id: rid(t, r.body),
    invalid_fields: { emailAddress: ['Invalid email address'], newPassword: ['Must be at least 8 characters'], newPasswordConfirm: ['Does not match'] }
  })
  r = await f.form(REG, nativeArgs({ form: 'registrationForm', locale: 'fr-FR' }))
  t.same(r.body, {
    stat: 'error', code: 390, error_description: 'certains champs du formulaire sont invalides', error: 'invalid_form_fields', request_id: rid(t, r.body),
    invalid_fields: { emailAddress: ['Obligatoire'], newPassword: ['Obligatoire'], newPasswordConfirm: ['Obligatoire'] }
  })
  const { form, ...noForm } = gina
  r = await f.form(REG, nativeArgs(noForm))
  t.same(r.body, { stat: 'error', code: 100, error_description: 'missing arguments: form', error: 'missing_argument', argument_name: 'form', request_id: rid(t, r.body) })

  r = await f.form(REG, nativeArgs(gina))
  t.same(r.body, {
    stat: 'ok',
    capture_user: expectUser(t, r.body.capture_user, { email: 'gina@example.test', emailVerified: false, displayName: 'Gina', givenName: null, familyName: null, photo: null, profiles: [], extra: { favoriteColor: 'teal' } }),
    is_new: true,
    access_token: r.body.access_token
  })
  t.notMatch(JSON.stringify(r.body), /correct horse/)

  r = await f.form(REG, nativeArgs({ ...gina, emailAddress: 'GINA@example.test' }))
  t.same(r.body, { stat: 'error', code: 390, error_description: 'some form fields are invalid', error: 'invalid_form_fields', request_id: rid(t, r.body), invalid_fields: { emailAddress: ['Email address is already in use.'] } })
})

t.test('auth_native_traditional: 210 on a wrong password or unknown email, success otherwise', async (t) => {
  for (const [email, password] of [['gina@example.test', 'wrong password!'], ['nobody@example.test', 'correct horse battery']]) {
    const r = await f.form(SIGN_IN, nativeArgs({ signInEmailAddress: email, currentPassword: password }))
    t.same(r.body, { stat: 'error', code: 210, error_description: 'invalid credentials', error: 'invalid_credentials', request_id: rid(t, r.body), invalid_fields: { signInForm: ['Incorrect username or password. Please try again.'] } })
  }
  let r = await f.form(SIGN_IN, nativeArgs({ signInEmailAddress: 'gina@example.test' }))
  t.same(r.body, { stat: 'error', code: 390, error_description: 'some form fields are invalid', error: 'invalid_form_fields', request_id: rid(t, r.body), invalid_fields: { currentPassword: ['Required'] } })
  r = await f.form(SIGN_IN, nativeArgs({ client_id: NO_LOGIN_CLIENT, signInEmailAddress: 'gina@example.test', currentPassword: 'correct horse battery' }))
  t.same(r.body, { stat: 'error', code: 403, error_description: 'This client does not support log in and registration.', error: 'permission_error', request_id: rid(t, r.body) })
  r = await f.form(SIGN_IN, nativeArgs({ form: 'signInForm', signInEmailAddress: 'Gina@Example.test', currentPassword: 'correct horse battery' }))
  t.same(r.body, {
    stat: 'ok',
    capture_user: expectUser(t, r.body.capture_user, { email: 'gina@example.test', emailVerified: false, displayName: 'Gina', givenName: null, familyName: null, photo: null, profiles: [], extra: { favoriteColor: 'teal' } }),
    is_new: false,
    access_token: r.body.access_token
  })
})

t.test('380 with existing_provider capture, then the merge through auth_native_traditional', async (t) => {
  const token = await f.socialToken('github', 'gina')
  const r = await f.form('/t/cap/oauth/auth_native', nativeArgs({ token, thin_registration: 'true' }))
  t.same(r.body, {
    stat: 'error', code: 380, error_description: 'a user already exists with that email address', error: 'email_address_in_use', request_id: rid(t, r.body),
    existing_provider: 'capture', existing_display_name: 'Gina', existing_photo: null, existing_date_created: r.body.existing_date_created
  })
  const wrong = await f.form(SIGN_IN, nativeArgs({ signInEmailAddress: 'gina@example.test', currentPassword: 'nope nope nope', merge_token: token }))
  t.equal(wrong.body.code, 210, 'a failed sign-in merges nothing')
  const m = await f.form(SIGN_IN, nativeArgs({ signInEmailAddress: 'gina@example.test', currentPassword: 'correct horse battery', merge_token: token }))
  t.same(m.body, {
    stat: 'ok',
    capture_user: expectUser(t, m.body.capture_user, { email: 'gina@example.test', emailVerified: false, displayName: 'Gina', givenName: null, familyName: null, photo: null, profiles: [ghProfile('gina', '1007', 'gina@example.test', true)], extra: { favoriteColor: 'teal' } }),
    is_new: false,
    access_token: m.body.access_token
  })
  const social = await f.form('/t/cap/oauth/auth_native', nativeArgs({ token: await f.socialToken('github', 'gina') }))
  t.equal(social.body.capture_user?.uuid, m.body.capture_user.uuid, 'github/gina now signs into the password account')
  const replay = await f.form(SIGN_IN, nativeArgs({ signInEmailAddress: 'gina@example.test', currentPassword: 'correct horse battery', merge_token: token }))
  t.same(replay.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'merge_token', request_id: rid(t, replay.body) })
})

async function codeFor (user: 'gina', redirectUri = 'https://app.test/cb') {
  const r = await f.form(SIGN_IN, nativeArgs({ signInEmailAddress: `${user}@example.test`, currentPassword: 'correct horse battery', response_type: 'code', redirect_uri: redirectUri }))
  t.match(r.body.authorization_code, /^[A-Za-z0-9_-]{43}$/)
  return r.body.authorization_code as string
}

t.test('/oauth/token: code exchange, /entity, reuse refused and revokes what the code issued', async (t) => {
  const code = await codeFor('gina')
  const x = await f.form(TOKEN, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.test/cb' }, basic(CLIENT, CLIENT_SECRET))
  t.equal(x.status, 200)
  t.same(x.body, { access_token: x.body.access_token, token_type: 'Bearer', expires_in: 3600, refresh_token: x.body.refresh_token })
  t.match(x.body.access_token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(x.headers.get('cache-control'), 'no-store')

  const e = await f.form(ENTITY, { access_token: x.body.access_token })
  t.same(e.body, { stat: 'ok', result: expectUser(t, e.body.result, { email: 'gina@example.test', emailVerified: false, displayName: 'Gina', givenName: null, familyName: null, photo: null, profiles: [ghProfile('gina', '1007', 'gina@example.test', true)], extra: { favoriteColor: 'teal' } }) })
  const viaHeader = await f.form(ENTITY, {}, { authorization: `Bearer ${x.body.access_token}` })
  t.equal(viaHeader.body.result?.email, 'gina@example.test')

  const reuse = await f.form(TOKEN, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.test/cb', client_id: CLIENT, client_secret: CLIENT_SECRET })
  t.equal(reuse.status, 400)
  t.match(reuse.body, { stat: 'error', code: 415, error: 'invalid_grant', error_description: 'the authorization code is invalid, expired or already used', argument_name: 'code' })
  const revoked = await f.form(ENTITY, { access_token: x.body.access_token })
  t.same(revoked.body, { stat: 'error', code: 414, error_description: 'access token expired or invalid', error: 'access_token_expired', request_id: rid(t, revoked.body) }, 'the replay revoked the access token')
  const refreshAfter = await f.form(TOKEN, { grant_type: 'refresh_token', refresh_token: x.body.refresh_token }, basic(CLIENT, CLIENT_SECRET))
  t.match(refreshAfter.body, { stat: 'error', code: 200, error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' , argument_name: 'refresh_token' }, 'and the refresh token')
})

t.test('/oauth/token: client authentication, redirect_uri binding, refresh rotation, bad grants', async (t) => {
  const code = await codeFor('gina')
  let r = await f.form(TOKEN, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.test/cb' }, basic(CLIENT, 'wrong-secret'))
  t.equal(r.status, 401)
  t.equal(r.headers.get('www-authenticate'), 'Basic realm="capture"')
  t.match(r.body, { stat: 'error', code: 402, error: 'invalid_client', error_description: 'client authentication failed' })
  r = await f.form(TOKEN, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.test/cb', client_id: DEFAULTS_CLIENT })
  t.equal(r.status, 401, 'a client without a secret cannot use the token endpoint')
  r = await f.form(TOKEN, { grant_type: 'password' }, basic(CLIENT, CLIENT_SECRET))
  t.equal(r.status, 400)
  t.match(r.body, { stat: 'error', code: 200, error: 'unsupported_grant_type', error_description: 'unsupported grant_type: password', argument_name: 'grant_type' })
  r = await f.form(TOKEN, { grant_type: 'authorization_code', code }, basic(CLIENT, CLIENT_SECRET))
  t.match(r.body, { stat: 'error', code: 100, error: 'invalid_request', error_description: 'missing redirect_uri', argument_name: 'redirect_uri' })
  r = await f.form(TOKEN, { grant_type: 'authorization_code', code, redirect_uri: 'https://evil.test/cb' }, basic(CLIENT, CLIENT_SECRET))
  t.match(r.body, { stat: 'error', code: 415, error: 'invalid_grant', error_description: 'the authorization code is invalid, expired or already used' , argument_name: 'code' }, 'redirect_uri must match')

  const code2 = await codeFor('gina')
  const x = await f.form(TOKEN, { grant_type: 'authorization_code', code: code2, redirect_uri: 'https://app.test/cb', client_id: CLIENT, client_secret: CLIENT_SECRET })
  const rt = x.body.refresh_token
  const refreshed = await f.form(TOKEN, { grant_type: 'refresh_token', refresh_token: rt }, basic(CLIENT, CLIENT_SECRET))
  t.same(refreshed.body, { access_token: refreshed.body.access_token, token_type: 'Bearer', expires_in: 3600, refresh_token: refreshed.body.refresh_token })
  t.not(refreshed.body.refresh_token, rt)
  const old = await f.form(TOKEN, { grant_type: 'refresh_token', refresh_token: rt }, basic(CLIENT, CLIENT_SECRET))
  t.match(old.body, { stat: 'error', code: 200, error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' , argument_name: 'refresh_token' }, 'refresh tokens rotate')
  const e = await f.form(ENTITY, { access_token: refreshed.body.access_token })
  t.equal(e.body.result?.email, 'gina@example.test')
})

t.test('/entity errors', async (t) => {
  let r = await f.form(ENTITY, {})
  t.same(r.body, { stat: 'error', code: 100, error_description: 'missing arguments: access_token', error: 'missing_argument', argument_name: 'access_token', request_id: rid(t, r.body) })
  r = await f.form(ENTITY, { access_token: 'bogus' })
  t.same(r.body, { stat: 'error', code: 414, error_description: 'access token expired or invalid', error: 'access_token_expired', request_id: rid(t, r.body) })
})
