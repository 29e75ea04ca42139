// Capture login calls accept only a redirect_uri the client registered (exact string match), and a client that
// registered none gets no authorization code (a token response keeps the seed's unchecked legacy redirect_uri).
import t from 'tap'
import { CLIENT, CLIENT_SECRET, DEFAULTS_CLIENT, fixture, nativeArgs, rid } from '../capture/fixtures/capture.ts'

const f = await fixture(t)
const REG = '/t/cap/oauth/register_native_traditional'
const SIGN_IN = '/t/cap/oauth/auth_native_traditional'
const GOOD = 'https://app.test/cb'

await f.form(REG, nativeArgs({ form: 'registrationForm', emailAddress: 'hank@example.test', newPassword: 'correct horse battery', newPasswordConfirm: 'correct horse battery' }))
const signIn = (extra: Record<string, string>, client = CLIENT) =>
  f.form(SIGN_IN, nativeArgs({ client_id: client, signInEmailAddress: 'hank@example.test', currentPassword: 'correct horse battery', ...extra }))

const HOSTILE = [
  'https://evil.example/cb', 'https://evil.example', 'http://evil.example/cb', 'https:evil.example', 'https:/evil.example/cb',
  'https://app.test.evil.example/cb', 'https://app.test@evil.example/cb', 'https://evil.example@app.test/cb', 'https://evil.example\\@app.test/cb',
  'https://app.test\\@evil.example/cb', 'https://app.test/cb/', 'https://app.test/cb/../evil', 'https://app.test/cbx', 'https://app.test/cb?x=1',
  'https://app.test/cb?redirect=https://evil.example', 'https://app.test/cb#evil', 'https://app.test/cb%2F..', 'https://app.test/CB',
  'https://APP.TEST/cb', 'HTTPS://app.test/cb', 'http://app.test/cb', 'https://app.test:443/cb', 'https://app.test:8443/cb', 'https://app.test./cb',
  'https://app.test/cb ', ' https://app.test/cb', 'https://app.test/cb\t', 'https://app.test/./cb', 'https://app.test//cb', 'https://app.test/cb;x',
  'https://xn--pp-8ka.test/cb', 'https://аpp.test/cb', 'https://app.test%2eevil.example/cb', 'https://127.0.0.1/cb', 'https://[::1]/cb',
  'https://app.test/cb\u0000', 'http://localhost/', 'http://localhost:80', 'https://localhost'
]

t.test('39 hostile redirect_uri variants: no code, no token', async (t) => {
  t.equal(HOSTILE.length, 39)
  for (const uri of HOSTILE) {
    for (const responseType of ['code', 'code_with_token', 'token']) {
      const r = await signIn({ response_type: responseType, redirect_uri: uri })
      t.equal(r.body.stat, 'error', `${responseType} ${JSON.stringify(uri)}`)
      t.notOk(r.body.authorization_code ?? r.body.access_token, 'nothing issued')
    }
  }
  const r = await signIn({ response_type: 'code', redirect_uri: 'https://evil.example/cb' })
  t.same(r.body, { stat: 'error', code: 200, error: 'invalid_argument', error_description: 'redirect_uri is not registered for this client', argument_name: 'redirect_uri', request_id: rid(t, r.body) })
})

t.test('the registered redirect_uri gets its code, and the code is bound to it at /oauth/token', async (t) => {
  const r = await signIn({ response_type: 'code', redirect_uri: GOOD })
  t.match(r.body, { stat: 'ok', authorization_code: /^[A-Za-z0-9_-]{43}$/ })
  const x = await f.form('/t/cap/oauth/token', { grant_type: 'authorization_code', code: r.body.authorization_code, redirect_uri: GOOD, client_id: CLIENT, client_secret: CLIENT_SECRET })
  t.equal(x.status, 200)
  const tok = await signIn({ response_type: 'token', redirect_uri: 'http://localhost' })
  t.match(tok.body, { stat: 'ok', access_token: String }, 'the seed\'s http://localhost, registered, still works for tokens')
})

t.test('a client with no redirectUris: tokens as the seed says, no code response types', async (t) => {
  for (const responseType of ['code', 'code_with_token']) {
    const r = await signIn({ response_type: responseType, redirect_uri: GOOD }, DEFAULTS_CLIENT)
    t.same(r.body, { stat: 'error', code: 200, error: 'invalid_argument', error_description: 'response_type code and code_with_token need a redirect_uri registered for this client', argument_name: 'redirect_uri', request_id: rid(t, r.body) }, responseType)
  }
  const fr = await signIn({ response_type: 'code', redirect_uri: GOOD, locale: 'fr-FR' }, DEFAULTS_CLIENT)
  t.equal(fr.body.error_description, 'les response_type code et code_with_token exigent une redirect_uri enregistrée pour ce client')
  const tok = await signIn({ response_type: 'token', redirect_uri: 'https://anything.example/' }, DEFAULTS_CLIENT)
  t.match(tok.body, { stat: 'ok', access_token: String })
})
