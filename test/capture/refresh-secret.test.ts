// refresh_secret at sign-in and POST /oauth/refresh_access_token, driven as the Janrain mobile SDKs build them:
// jump.android (Capture.java performSocialSignIn / performTraditionalSignIn / performRegistration send
// `refresh_secret`; CaptureRecord.java refreshAccessToken form-posts access_token, signature, date, client_id,
// locale, flow, flow_version) and jump.ios (JRCaptureData.m puts refresh_secret in the auth_native query string;
// JRCapture.m refreshAccessTokenForDelegate posts the same arguments, JRCaptureData generateAndStoreRefreshSecret
// makes 40 hex digits starting with `a`).
import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { hashToken } from '../../plugins/crypto.ts'
import { call, keyring, token as adminToken } from '../admin/helpers.ts'
import { CLIENT, CLIENT_SECRET, DEFAULTS_CLIENT, fixture, USERS, nativeArgs, REQUEST_ID, VERSION } from './fixtures/capture.ts'

const f = await fixture(t, ['cap', 'cap2'], { adminApi: { keyring: keyring() } })
const NATIVE = '/t/cap/oauth/auth_native'
const REFRESH = '/t/cap/oauth/refresh_access_token'

/** SimpleDateFormat("yyyy-MM-dd HH:mm:ss") in UTC, as both SDKs format `date`. */
const utc = (d = new Date()) => d.toISOString().slice(0, 19).replace('T', ' ')
/** CaptureRecord.java getRefreshSignature / JRCapture.m base64SignatureForRefreshWithDate. */
const sign = (secret: string, date: string, accessToken: string) =>
  createHmac('sha1', Buffer.from(secret, 'utf8')).update(`refresh_access_token\n${date}\n${accessToken}\n`, 'utf8').digest('base64')
/** jump.ios generateAndStoreRefreshSecret: 20 random bytes as hex, first character replaced by `a`. */
const iosSecret = () => 'a' + randomBytes(20).toString('hex').slice(1)
/** jump.android generateAndStoreRefreshSecret: 40 hex digits. */
const androidSecret = () => randomBytes(20).toString('hex')

/** The refresh as jump.android posts it (form body, flow and flow_version added when configured). */
const androidRefresh = (accessToken: string, secret: string, extra: Record<string, string> = {}, path = REFRESH) => {
  const date = extra.date ?? utc()
  return f.form(path, { access_token: accessToken, signature: sign(secret, date, accessToken), date, client_id: CLIENT, locale: 'en-US', flow: 'standard', flow_version: VERSION, ...extra })
}

async function androidSignIn (user: keyof typeof USERS = 'alice', clientId = CLIENT): Promise<{ accessToken: string, secret: string, body: any }> {
  const secret = androidSecret()
  const social = await f.socialToken('github', user)
  const r = await f.form(NATIVE, nativeArgs({ client_id: clientId, token: social, thin_registration: 'true', refresh_secret: secret }))
  if (r.body.stat !== 'ok') throw new Error(JSON.stringify(r.body))
  return { accessToken: r.body.access_token, secret, body: r.body }
}

const entity = async (accessToken: string, tenant = 'cap') => (await f.form(`/t/${tenant}/entity`, { access_token: accessToken })).body

t.test('jump.android: social sign-in with refresh_secret, then a form-posted refresh rotates the access token', async (t) => {
  const { accessToken, secret } = await androidSignIn()
  const r = await androidRefresh(accessToken, secret)
  t.equal(r.status, 200)
  t.equal(r.headers.get('cache-control'), 'no-store')
  t.same(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'stat'])
  t.equal(r.body.stat, 'ok')
  t.equal(r.body.expires_in, 3600)
  t.type(r.body.access_token, 'string')
  t.not(r.body.access_token, accessToken)
  t.equal((await entity(r.body.access_token)).stat, 'ok', 'the new token reads /entity')
  t.equal((await entity(accessToken)).code, 414, 'the old one is revoked')

  // The secret stays the app's: the new token refreshes with it too.
  const again = await androidRefresh(r.body.access_token, secret)
  t.equal(again.body.stat, 'ok', JSON.stringify(again.body))

  // At rest the secret is sealed: no column holds it in the clear.
  const rows = await f.app.db.db.selectFrom('one_time_tokens').select(['data', 'token_hash']).where('purpose', '=', 'capture-refresh-secret').execute()
  t.ok(rows.length > 0)
  t.notOk(JSON.stringify(rows).includes(secret), 'refresh secrets are sealed')
  t.notOk(JSON.stringify(rows).includes(again.body.access_token), 'and the access token is only hashed')
})

t.test('jump.ios: refresh_secret in the auth_native query string (empty body), refresh posted form-encoded', async (t) => {
  const secret = iosSecret()
  const social = await f.socialToken('github', 'bob')
  const q = new URLSearchParams({ ...nativeArgs({ response_type: 'code_and_token', thin_registration: 'true', refresh_secret: secret }), token: social })
  const signIn = await (await f.api(`${NATIVE}?${q.toString()}`, { method: 'POST' })).json() as any
  t.equal(signIn.stat, 'ok', JSON.stringify(signIn))
  // JRCapture.m: NSDictionary asJRURLParamString (keys in any order, values percent-escaped), POST body.
  const date = utc()
  const params = { date, locale: 'en-US', client_id: CLIENT, flow: 'standard', flow_version: VERSION, signature: sign(secret, date, signIn.access_token), access_token: signIn.access_token }
  const body = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
  const res = await f.api(REFRESH, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
  const out = await res.json() as any
  t.equal(out.stat, 'ok', JSON.stringify(out))
  t.equal((await entity(out.access_token)).result.uuid, signIn.capture_user.uuid)
})

t.test('traditional sign-in and registration bind the refresh_secret too', async (t) => {
  const secret = androidSecret()
  const reg = await f.form('/t/cap/oauth/register_native_traditional', nativeArgs({ form: 'registrationForm', emailAddress: 'rs-trad@example.test', newPassword: 'correct horse', newPasswordConfirm: 'correct horse', refresh_secret: secret }))
  t.equal(reg.body.stat, 'ok', JSON.stringify(reg.body))
  t.equal((await androidRefresh(reg.body.access_token, secret)).body.stat, 'ok', 'register_native_traditional')

  const secret2 = androidSecret()
  const signIn = await f.form('/t/cap/oauth/auth_native_traditional', nativeArgs({ signInEmailAddress: 'rs-trad@example.test', currentPassword: 'correct horse', refresh_secret: secret2 }))
  t.equal(signIn.body.stat, 'ok', JSON.stringify(signIn.body))
  t.equal((await androidRefresh(signIn.body.access_token, secret2)).body.stat, 'ok', 'auth_native_traditional')
  t.equal((await androidRefresh(signIn.body.access_token, secret)).body.code, 200, 'each sign-in has its own secret')

  const short = await f.form('/t/cap/oauth/auth_native_traditional', nativeArgs({ signInEmailAddress: 'rs-trad@example.test', currentPassword: 'correct horse', refresh_secret: 'short' }))
  t.match(short.body, { stat: 'error', code: 200, argument_name: 'refresh_secret' })
})

t.test('a code with refresh_secret: the access token /oauth/token issues for it refreshes', async (t) => {
  const secret = androidSecret()
  const social = await f.socialToken('github', 'frank')
  const signIn = await f.form(NATIVE, nativeArgs({ token: social, thin_registration: 'true', response_type: 'code', redirect_uri: 'https://app.test/cb', refresh_secret: secret }))
  t.equal(signIn.body.stat, 'ok', JSON.stringify(signIn.body))
  const ex = await f.form('/t/cap/oauth/token', { grant_type: 'authorization_code', code: signIn.body.authorization_code, redirect_uri: 'https://app.test/cb', client_id: CLIENT, client_secret: CLIENT_SECRET })
  t.equal(ex.status, 200, JSON.stringify(ex.body))
  t.equal((await androidRefresh(ex.body.access_token, secret)).body.stat, 'ok')
})

t.test('works after the access token expired', async (t) => {
  const { accessToken, secret } = await androidSignIn('dave')
  await f.app.db.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 60_000) }).where('token_hash', '=', hashToken(accessToken)).execute()
  t.equal((await entity(accessToken)).code, 414, 'expired')
  const r = await androidRefresh(accessToken, secret)
  t.equal(r.body.stat, 'ok', JSON.stringify(r.body))
})

t.test('refused: bad signature, skew, malformed date, replay, another client\'s token, another tenant, missing arguments', async (t) => {
  const { accessToken, secret } = await androidSignIn()
  const bad = await androidRefresh(accessToken, androidSecret())
  t.same(bad.body, { stat: 'error', code: 200, error: 'invalid_argument', error_description: 'invalid signature', argument_name: 'signature', request_id: bad.body.request_id })
  t.match(bad.body.request_id, REQUEST_ID)
  const tampered = await androidRefresh(accessToken, secret, { signature: sign(secret, utc(), accessToken + 'x') })
  t.equal(tampered.body.code, 200, 'a signature over another token')

  for (const [name, date] of [['6 minutes late', utc(new Date(Date.now() - 360_000))], ['6 minutes early', utc(new Date(Date.now() + 360_000))], ['ISO format', new Date().toISOString()], ['no such day', '2026-02-30 10:00:00']]) {
    const r = await androidRefresh(accessToken, secret, { date, signature: sign(secret, date, accessToken) })
    t.match(r.body, { stat: 'error', code: 200, error: 'invalid_argument', argument_name: 'date' }, name)
  }
  const fr = await androidRefresh(accessToken, secret, { date: '2000-01-01 00:00:00', locale: 'fr-FR' })
  t.match(fr.body.error_description, /^date doit être/, 'localized')

  // Another tenant: its own clients and tokens; the token is unknown there.
  const other = await androidRefresh(accessToken, secret, {}, '/t/cap2/oauth/refresh_access_token')
  t.match(other.body, { stat: 'error', code: 200, argument_name: 'signature' }, 'other tenant')

  // None of the failures spent the token: the right request still rotates, once.
  const date = utc()
  const args = { date, signature: sign(secret, date, accessToken) }
  const ok = await androidRefresh(accessToken, secret, args)
  t.equal(ok.body.stat, 'ok', JSON.stringify(ok.body))
  const replay = await androidRefresh(accessToken, secret, args)
  t.match(replay.body, { stat: 'error', code: 200, argument_name: 'signature' }, 'replay of the same date and signature')
  t.equal((await entity(ok.body.access_token)).stat, 'ok', 'the replay did not touch the new token')

  // Concurrent identical requests: exactly one rotates.
  const d2 = utc()
  const a2 = { date: d2, signature: sign(secret, d2, ok.body.access_token) }
  const both = await Promise.all([androidRefresh(ok.body.access_token, secret, a2), androidRefresh(ok.body.access_token, secret, a2)])
  t.equal(both.filter((r) => r.body.stat === 'ok').length, 1, 'one of two parallel uses wins')

  // A token issued to another client, refreshed in this client's name.
  const theirs = await androidSignIn('bob', DEFAULTS_CLIENT)
  const cross = await androidRefresh(theirs.accessToken, theirs.secret)
  t.match(cross.body, { stat: 'error', code: 200, argument_name: 'signature' }, 'other client')
  t.equal((await androidRefresh(theirs.accessToken, theirs.secret, { client_id: DEFAULTS_CLIENT })).body.stat, 'ok', 'its own client refreshes it')

  const missing = await f.form(REFRESH, { client_id: CLIENT })
  t.match(missing.body, { stat: 'error', code: 100, error: 'missing_argument', error_description: 'missing arguments: access_token, date, locale, signature', argument_name: 'access_token' })
  const unknownClient = await androidRefresh(accessToken, secret, { client_id: 'nosuchclient' })
  t.match(unknownClient.body, { stat: 'error', code: 403 })

  // A token signed in without refresh_secret cannot be refreshed.
  const social = await f.socialToken('github', 'alice')
  const plain = await f.form(NATIVE, nativeArgs({ token: social }))
  t.equal((await androidRefresh(plain.body.access_token, secret)).body.code, 200)
})

t.test('not after revocation, block or erase; erase deletes the refresh secrets', async (t) => {
  const admin = await adminToken(f, ['users:read', 'users:write'])
  // Revoked sessions (admin: revoke the user's sessions).
  const a = await androidSignIn('gina')
  const rev = await call(f, admin, 'DELETE', `/tenants/cap/users/${a.body.capture_user.id}/sessions`)
  t.equal(rev.status, 200, JSON.stringify(rev.body))
  t.match((await androidRefresh(a.accessToken, a.secret)).body, { stat: 'error', code: 200 }, 'revoked')

  const b = await androidSignIn('gina')
  const blocked = await call(f, admin, 'POST', `/tenants/cap/users/${b.body.capture_user.id}/block`)
  t.equal(blocked.status, 200, JSON.stringify(blocked.body))
  const r = await androidRefresh(b.accessToken, b.secret)
  t.equal(r.body.stat, 'error', 'blocked')
  t.notOk(r.body.access_token)
  await call(f, admin, 'POST', `/tenants/cap/users/${b.body.capture_user.id}/unblock`)

  const c = await androidSignIn('gina')
  const userId = c.body.capture_user.id
  const count = async () => Number((await f.app.db.db.selectFrom('one_time_tokens').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('purpose', '=', 'capture-refresh-secret').where('user_id', '=', String(userId)).executeTakeFirstOrThrow()).n)
  t.ok(await count() > 0, 'the user has refresh secrets')
  const erased = await call(f, admin, 'DELETE', `/tenants/cap/users/${userId}`)
  t.equal(erased.status, 200, JSON.stringify(erased.body))
  t.equal(await count(), 0, 'erase deleted them')
  t.equal((await androidRefresh(c.accessToken, c.secret)).body.code, 200, 'erased')
})
