// /oauth/auth_native and /oauth/register_native over HTTP with real Social Login tokens from the local peers.
import t from 'tap'
import { postJson } from '../helpers/build.ts'
import { CLIENT, DEFAULTS_CLIENT, expectUser, fbProfile, fixture, ghProfile, nativeArgs, NO_LOGIN_CLIENT, rid, VERSION } from './fixtures/capture.ts'

const f = await fixture(t)
const AUTH = '/t/cap/oauth/auth_native'
const REGISTER = '/t/cap/oauth/register_native'

t.test('100 missing_argument names every missing argument in seed order; query and JSON are read', async (t) => {
  let r = await f.form(AUTH, {})
  t.equal(r.status, 200)
  t.same(r.body, { stat: 'error', code: 100, error_description: 'missing arguments: client_id, flow, flow_version, locale, redirect_uri, token', error: 'missing_argument', argument_name: 'client_id', request_id: rid(t, r.body) })

  const { flow, ...noFlow } = nativeArgs({ token: 'x'.repeat(40) })
  r = await f.form(AUTH, noFlow)
  t.same(r.body, { stat: 'error', code: 100, error_description: 'missing arguments: flow', error: 'missing_argument', argument_name: 'flow', request_id: rid(t, r.body) })

  const { locale, ...noFlowNoLocale } = noFlow
  r = await f.form(AUTH, noFlowNoLocale)
  t.same(r.body, { stat: 'error', code: 100, error_description: 'missing arguments: flow, locale', error: 'missing_argument', argument_name: 'flow', request_id: rid(t, r.body) })

  const query = new URLSearchParams(nativeArgs({ token: 'x'.repeat(40) })).toString()
  const viaQuery = await f.api(`${AUTH}?${query}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' })
  const qb = await viaQuery.json() as any
  t.same(qb, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, qb) }, 'query-string arguments are read (jump.ios)')

  const json = await f.api(AUTH, postJson(nativeArgs({ token: 'x'.repeat(40) })))
  const jb = await json.json() as any
  t.equal(json.status, 200)
  t.same(jb, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, jb) }, 'a JSON body is read')

  const { flow: _f, flow_version: _v, ...noDefaults } = nativeArgs({ client_id: DEFAULTS_CLIENT, token: 'x'.repeat(40) })
  r = await f.form(AUTH, noDefaults)
  t.same(r.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, r.body) }, 'client defaults stand in for flow and flow_version')
})

t.test('403 permission_error for a client without login_client, and for an unknown client', async (t) => {
  for (const client of [NO_LOGIN_CLIENT, 'no-such-client']) {
    const r = await f.form(AUTH, nativeArgs({ client_id: client, token: 'x'.repeat(40) }))
    t.same(r.body, { stat: 'error', code: 403, error_description: 'This client does not support log in and registration.', error: 'permission_error', request_id: rid(t, r.body) })
  }
})

t.test('500 unexpected_error for an unknown flow, version, HEAD or locale', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ flow_version: '12345abc-1234-abcd-1234-12345abcde12' }, "could not find a flow named 'standard' with version '12345abc-1234-abcd-1234-12345abcde12' and locale 'en-US'"],
    [{ flow_version: 'HEAD' }, "could not find a flow named 'standard' with version 'HEAD' and locale 'en-US'"],
    [{ flow: 'nope' }, `could not find a flow named 'nope' with version '${VERSION}' and locale 'en-US'`],
    [{ locale: 'de-DE' }, `could not find a flow named 'standard' with version '${VERSION}' and locale 'de-DE'`]
  ]
  for (const [extra, description] of cases) {
    const r = await f.form(AUTH, nativeArgs({ token: 'x'.repeat(40), ...extra }))
    t.same(r.body, { stat: 'error', code: 500, error_description: description, error: 'unexpected_error', request_id: rid(t, r.body) })
  }
})

t.test('200 invalid_argument: bad token, bad redirect_uri, bad response_type, NUL bytes', async (t) => {
  let r = await f.form(AUTH, nativeArgs({ token: 'ab12cd34ef56gh78ij90kl12mn34op56qr78st78' }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, r.body) })
  r = await f.form(AUTH, nativeArgs({ token: 'x', redirect_uri: 'javascript:alert(1)' }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'redirect_uri must begin with http: or https:', error: 'invalid_argument', argument_name: 'redirect_uri', request_id: rid(t, r.body) })
  r = await f.form(AUTH, nativeArgs({ token: 'x', response_type: 'id_token' }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'response_type must be one of: token, code, code_with_token', error: 'invalid_argument', argument_name: 'response_type', request_id: rid(t, r.body) })
  r = await f.form(AUTH, nativeArgs({ token: 'abc\u0000def' }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'invalid argument: token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, r.body) })
})

t.test('fr-FR error descriptions; an unknown locale reports in the default locale', async (t) => {
  let r = await f.form(AUTH, nativeArgs({ locale: 'fr-FR', token: 'ab12cd34ef56gh78ij90kl12mn34op56qr78st78' }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'jeton invalide', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, r.body) })
  const { flow, ...noFlow } = nativeArgs({ locale: 'fr-FR' })
  r = await f.form(AUTH, noFlow)
  t.same(r.body, { stat: 'error', code: 100, error_description: 'arguments manquants : flow, token', error: 'missing_argument', argument_name: 'flow', request_id: rid(t, r.body) })
  r = await f.form(AUTH, nativeArgs({ locale: 'fr-FR', client_id: NO_LOGIN_CLIENT, token: 'x' }))
  t.same(r.body, { stat: 'error', code: 403, error_description: "Ce client ne prend pas en charge la connexion et l'inscription.", error: 'permission_error', request_id: rid(t, r.body) })
  r = await f.form(AUTH, nativeArgs({ locale: 'fr-FR', flow_version: 'HEAD', token: 'x' }))
  t.same(r.body, { stat: 'error', code: 500, error_description: "impossible de trouver un flux nommé 'standard' avec la version 'HEAD' et la locale 'fr-FR'", error: 'unexpected_error', request_id: rid(t, r.body) })
})

t.test('310 with prereg_fields, then register_native completes it; the token is then spent', async (t) => {
  const token = await f.socialToken('github', 'alice')
  t.match(token, /^[a-z0-9]{40}$/)
  let r = await f.form(AUTH, nativeArgs({ token, registration_form: 'socialRegistrationForm' }))
  t.same(r.body, {
    stat: 'error', code: 310, error_description: 'no such user', error: 'record_not_found', request_id: rid(t, r.body),
    prereg_fields: { firstName: 'Alice', lastName: 'Liddell', emailAddress: 'alice@example.test', displayName: 'Alice Liddell', mobile: null }
  })
  r = await f.form(AUTH, nativeArgs({ token }))
  t.same(r.body, { stat: 'error', code: 310, error_description: 'no such user', error: 'record_not_found', request_id: rid(t, r.body) }, 'no prereg_fields without registration_form; the token survives a 310')

  r = await f.form(REGISTER, nativeArgs({ token, form: 'socialRegistrationForm', firstName: 'Alice', lastName: 'Liddell', emailAddress: '', displayName: 'Ally' }))
  t.same(r.body, { stat: 'error', code: 390, error_description: 'some form fields are invalid', error: 'invalid_form_fields', request_id: rid(t, r.body), invalid_fields: { emailAddress: ['Required'] } }, '390 writes nothing')

  r = await f.form(REGISTER, nativeArgs({ token, form: 'socialRegistrationForm', firstName: 'Alice', lastName: 'Liddell', emailAddress: 'alice@example.test', displayName: 'Ally', mobile: '+33 6 00 00 00 00' }))
  t.match(r.body.access_token, /^[A-Za-z0-9_-]{43}$/)
  t.same(r.body, {
    stat: 'ok',
    capture_user: expectUser(t, r.body.capture_user, { email: 'alice@example.test', emailVerified: true, displayName: 'Ally', givenName: 'Alice', familyName: 'Liddell', photo: 'http://127.0.0.1/gh/1001.png', profiles: [ghProfile('alice', '1001', 'alice@example.test', true)], extra: { mobile: '+33 6 00 00 00 00' } }),
    is_new: true,
    access_token: r.body.access_token
  })

  const again = await f.form(REGISTER, nativeArgs({ token, form: 'socialRegistrationForm', emailAddress: 'alice@example.test' }))
  t.same(again.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, again.body) }, 'register_native consumed the token')
  const reuse = await f.form(AUTH, nativeArgs({ token }))
  t.same(reuse.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, reuse.body) })
})

t.test('a returning user: is_new false, same account; the token is single use', async (t) => {
  const token = await f.socialToken('github', 'alice')
  const r = await f.form(AUTH, nativeArgs({ token }))
  t.same(r.body, {
    stat: 'ok',
    capture_user: expectUser(t, r.body.capture_user, { email: 'alice@example.test', emailVerified: true, displayName: 'Ally', givenName: 'Alice', familyName: 'Liddell', photo: 'http://127.0.0.1/gh/1001.png', profiles: [ghProfile('alice', '1001', 'alice@example.test', true)], extra: { mobile: '+33 6 00 00 00 00' } }),
    is_new: false,
    access_token: r.body.access_token
  })
  const second = await f.form(AUTH, nativeArgs({ token }))
  t.same(second.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, second.body) })
})

t.test('thin_registration creates the user at once (is_new true); without an email it is still 310', async (t) => {
  const token = await f.socialToken('github', 'dave')
  const r = await f.form(AUTH, nativeArgs({ token, thin_registration: 'true' }))
  t.same(r.body, {
    stat: 'ok',
    capture_user: expectUser(t, r.body.capture_user, { email: 'dave@example.test', emailVerified: true, displayName: 'Dave Grohl', givenName: 'Dave', familyName: 'Grohl', photo: 'http://127.0.0.1/gh/1004.png', profiles: [ghProfile('dave', '1004', 'dave@example.test', true)] }),
    is_new: true,
    access_token: r.body.access_token
  })
  const carol = await f.socialToken('github', 'carol')
  const c = await f.form(AUTH, nativeArgs({ token: carol, thin_registration: 'true', registration_form: 'socialRegistrationForm' }))
  t.same(c.body, {
    stat: 'error', code: 310, error_description: 'no such user', error: 'record_not_found', request_id: rid(t, c.body),
    prereg_fields: { firstName: 'Carol', lastName: 'Danvers', emailAddress: null, displayName: 'Carol Danvers', mobile: null }
  })
  const bad = await f.form(AUTH, nativeArgs({ token: carol, thin_registration: 'maybe' }))
  t.same(bad.body, { stat: 'error', code: 200, error_description: 'thin_registration must be true or false', error: 'invalid_argument', argument_name: 'thin_registration', request_id: rid(t, bad.body) })
})

t.test('380 email_address_in_use, then the merge through auth_native with merge_token', async (t) => {
  // facebook/dave asserts dave@example.test, which github/dave registered above; Facebook does not verify it, so the
  // 380 says only which sign-in the merge goes through (test/security/capture-380-discloses-only-to-verified.test.ts).
  const fbToken = await f.socialToken('facebook', 'dave')
  const r = await f.form(AUTH, nativeArgs({ token: fbToken, thin_registration: 'true' }))
  t.same(r.body, {
    stat: 'error', code: 380, error_description: 'a user already exists with that email address', error: 'email_address_in_use', request_id: rid(t, r.body),
    existing_provider: 'github'
  })

  const existing = await f.socialToken('github', 'dave')
  const merged = await f.form(AUTH, nativeArgs({ token: existing, merge_token: fbToken }))
  t.same(merged.body, {
    stat: 'ok',
    capture_user: expectUser(t, merged.body.capture_user, { email: 'dave@example.test', emailVerified: true, displayName: 'Dave Grohl', givenName: 'Dave', familyName: 'Grohl', photo: 'http://127.0.0.1/gh/1004.png', profiles: [ghProfile('dave', '1004', 'dave@example.test', true), fbProfile('1004', 'dave@example.test')] }),
    is_new: false,
    access_token: merged.body.access_token
  })

  const viaFacebook = await f.form(AUTH, nativeArgs({ token: await f.socialToken('facebook', 'dave') }))
  t.equal(viaFacebook.body.stat, 'ok')
  t.equal(viaFacebook.body.is_new, false)
  t.equal(viaFacebook.body.capture_user.uuid, merged.body.capture_user.uuid, 'facebook now signs into the merged account')

  const replay = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'dave'), merge_token: fbToken }))
  t.same(replay.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'merge_token', request_id: rid(t, replay.body) }, 'the merge token was consumed')
})

t.test('a merge_token whose identity belongs to another user is refused and nothing is written', async (t) => {
  const aliceFb = await f.socialToken('facebook', 'alice')
  // facebook/alice is unregistered; attach it to alice first, then try to merge it into dave.
  const erin = await f.socialToken('github', 'erin')
  await f.form(AUTH, nativeArgs({ token: erin, thin_registration: 'true' }))
  const first = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'alice'), merge_token: aliceFb }))
  t.equal(first.body.stat, 'ok')
  const foreign = await f.socialToken('facebook', 'alice')
  const r = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'erin'), merge_token: foreign }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'the merge_token account is already linked to another user', error: 'invalid_argument', argument_name: 'merge_token', request_id: rid(t, r.body) })
  const still = await f.form(AUTH, nativeArgs({ token: foreign }))
  t.equal(still.body.capture_user?.email, 'alice@example.test', 'the identity stayed with alice; the refused merge consumed nothing')
})

t.test('two concurrent uses of one token: exactly one succeeds', async (t) => {
  const token = await f.socialToken('github', 'frank')
  const results = await Promise.all([0, 1, 2, 3].map(() => f.form(AUTH, nativeArgs({ token, thin_registration: 'true' }))))
  const ok = results.filter((r) => r.body.stat === 'ok')
  t.equal(ok.length, 1)
  for (const r of results.filter((r) => r.body.stat !== 'ok')) {
    t.same(r.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, r.body) })
  }
})

t.test('response_type code and code_with_token', async (t) => {
  const code = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'alice'), response_type: 'code' }))
  t.match(code.body.authorization_code, /^[A-Za-z0-9_-]{43}$/)
  t.same(Object.keys(code.body).sort(), ['authorization_code', 'capture_user', 'is_new', 'stat'])
  const both = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'alice'), response_type: 'code_with_token' }))
  t.same(Object.keys(both.body).sort(), ['access_token', 'authorization_code', 'capture_user', 'is_new', 'stat'])
  t.equal(CLIENT.length, 32)
})

t.test('a blocked account: the returning sign-in is refused with 403 permission_error, nothing issued, the token still live', async (t) => {
  const first = await f.form(AUTH, nativeArgs({ token: await f.socialToken('github', 'hank'), thin_registration: 'true' }))
  t.equal(first.body.stat, 'ok')
  const db = f.app.db.db
  await db.updateTable('users').set({ disabled_at: new Date() }).where('tenant_id', '=', 'cap').where('email', '=', 'hank@example.test').execute()
  const sessions = async () => (await db.selectFrom('sessions').select('id').where('tenant_id', '=', 'cap').execute()).length
  const before = await sessions()
  const token = await f.socialToken('github', 'hank')
  const r = await f.form(AUTH, nativeArgs({ token }))
  t.same(r.body, { stat: 'error', code: 403, error: 'permission_error', error_description: 'This account is disabled.', request_id: rid(t, r.body) })
  t.equal(await sessions(), before, 'no access token')
  const live = await db.selectFrom('one_time_tokens').select('consumed_at').where('tenant_id', '=', 'cap').where('purpose', '=', 'social-login').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()
  t.equal(live.consumed_at, null, 'the Social Login token was not spent')
})
