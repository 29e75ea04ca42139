// The capture dialect driven exactly as Janrain's own clients build their requests: jump.ios (query-string
// arguments, empty POST body, response_type code_and_token), jump.android (form posts), the WordPress
// janrain_capture module (form body labelled application/json, Authorization: OAuth, stat == "error").
import t from 'tap'
import { CLIENT, CLIENT_SECRET, fixture, nativeArgs } from './fixtures/capture.ts'

const f = await fixture(t)
const NATIVE = '/t/cap/oauth/auth_native'

t.test('jump.ios: every auth_native argument in the query string, empty POST body; code_and_token', async (t) => {
  const token = await f.socialToken('github', 'alice')
  // JRCaptureData.m captureTokenUrlWithMergeToken + JRSessionData.m startMakeCallToTokenUrl (`&token=` appended).
  const q = new URLSearchParams({ ...nativeArgs({ response_type: 'code_and_token', thin_registration: 'true', refresh_secret: 'a'.repeat(40) }), token })
  const res = await f.api(`${NATIVE}?${q.toString()}`, { method: 'POST' })
  const body = await res.json() as any
  t.equal(body.stat, 'ok', JSON.stringify(body))
  t.type(body.access_token, 'string', 'code_and_token gives an access token')
  t.type(body.authorization_code, 'string', 'and an authorization code')

  // The body wins over the query string.
  const token2 = await f.socialToken('github', 'alice')
  const both = await f.api(`${NATIVE}?${new URLSearchParams({ ...nativeArgs(), token: 'x'.repeat(40) }).toString()}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: token2 }).toString()
  })
  t.equal((await both.json() as any).stat, 'ok', 'the body token is the one used')
})

t.test('100 and 200 carry argument_name (JRCaptureError.m)', async (t) => {
  let r = await f.form(NATIVE, nativeArgs())
  t.equal(r.body.code, 100)
  t.equal(r.body.argument_name, 'token')
  r = await f.form(NATIVE, nativeArgs({ token: 'y'.repeat(40) }))
  t.equal(r.body.code, 200)
  t.equal(r.body.argument_name, 'token')
  r = await f.form(NATIVE, nativeArgs({ token: 'y'.repeat(40), response_type: 'bogus' }))
  t.equal(r.body.argument_name, 'response_type')
})

t.test('multipart/form-data and JSON bodies on capture endpoints', async (t) => {
  const token = await f.socialToken('github', 'alice')
  const fd = new FormData()
  for (const [k, v] of Object.entries({ ...nativeArgs(), token })) fd.append(k, v)
  const res = await f.api(NATIVE, { method: 'POST', body: fd })
  t.equal((await res.json() as any).stat, 'ok', 'multipart auth_native')

  const token2 = await f.socialToken('github', 'alice')
  const json = await f.api(NATIVE, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...nativeArgs(), token: token2 }) })
  t.equal((await json.json() as any).stat, 'ok', 'JSON auth_native')

  const bad = await f.api(NATIVE, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token": ' })
  t.equal(bad.status, 200)
  t.equal((await bad.json() as any).stat, 'error', 'malformed JSON is a Capture error, never a 500')
})

t.test('WordPress janrain_capture: code exchange with a JSON-labelled form body, /entity with Authorization: OAuth, 414, stat on /oauth/token errors', async (t) => {
  const token = await f.socialToken('github', 'alice')
  const signIn = await f.form(NATIVE, nativeArgs({ token, response_type: 'code', redirect_uri: 'https://app.test/cb' }))
  const code = signIn.body.authorization_code as string
  t.type(code, 'string')
  // janrain_capture_api.php call(): header Content-Type application/json, body an array (sent form-encoded).
  const wp = (path: string, args: Record<string, string>, accessToken?: string) => f.api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(accessToken ? { authorization: `OAuth ${accessToken}` } : {}) },
    body: new URLSearchParams({ ...args, client_id: CLIENT, client_secret: CLIENT_SECRET }).toString()
  }).then(async (r) => ({ status: r.status, body: await r.json() as any }))

  const exchanged = await wp('/t/cap/oauth/token', { code, redirect_uri: 'https://app.test/cb', grant_type: 'authorization_code' })
  t.equal(exchanged.status, 200, JSON.stringify(exchanged.body))
  t.notOk(exchanged.body.stat === 'error')
  const entity = await wp('/t/cap/entity', {}, exchanged.body.access_token)
  t.equal(entity.body.stat, 'ok')
  t.equal(entity.body.result.uuid, signIn.body.capture_user.uuid)

  const expired = await wp('/t/cap/entity', {}, 'z'.repeat(40))
  t.equal(expired.body.code, 414, 'an unknown token is 414, the module refreshes on it')

  const replay = await wp('/t/cap/oauth/token', { code, redirect_uri: 'https://app.test/cb', grant_type: 'authorization_code' })
  t.equal(replay.status, 400)
  t.match(replay.body, { stat: 'error', code: 415, error: 'invalid_grant', argument_name: 'code', request_id: /^[a-z0-9]{16}$/ })
  const refreshed = await wp('/t/cap/oauth/token', { refresh_token: exchanged.body.refresh_token, grant_type: 'refresh_token' })
  t.equal(refreshed.body.stat === 'error', true, 'the code replay revoked the refresh token too; the failure carries stat')

  const missing = await wp('/t/cap/oauth/token', {})
  t.match(missing.body, { stat: 'error', code: 100, error: 'invalid_request', error_description: 'missing grant_type', argument_name: 'grant_type' })
  const noClient = await f.api('/t/cap/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' })
  t.equal(noClient.status, 401)
  t.match(await noClient.json(), { stat: 'error', code: 402, error: 'invalid_client' })
})

t.test('GET /oauth/token with query arguments', async (t) => {
  const token = await f.socialToken('github', 'alice')
  const signIn = await f.form(NATIVE, nativeArgs({ token, response_type: 'code', redirect_uri: 'https://app.test/cb' }))
  const q = new URLSearchParams({ code: signIn.body.authorization_code, redirect_uri: 'https://app.test/cb', grant_type: 'authorization_code', client_id: CLIENT, client_secret: CLIENT_SECRET })
  const res = await f.api(`/t/cap/oauth/token?${q.toString()}`)
  t.equal(res.status, 200)
  const body = await res.json() as any
  t.type(body.access_token, 'string')
  t.equal(res.headers.get('cache-control'), 'no-store')
})
