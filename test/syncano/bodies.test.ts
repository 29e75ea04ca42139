// syncano: the bodies the platform parses besides JSON and forms: PreflightParser's text/plain JSON with
// keys and a `_method` override (apps/batch/parsers.py; the platform's apps/batch/tests/test_preflight.py,
// ported), and multipart/form-data (DRF's MultiPartParser), bounded like every other body.
import t from 'tap'
import { build, postJson, rawRequest } from '../helpers/build.ts'
import { PROD_KEY, startPeers, syncanoTenant } from './helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const BASE = '/t/acme/v1.1/instances/acme-prod'
const text = (body: unknown, method = 'POST'): RequestInit => ({ method, headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })

async function setup (t: { teardown (fn: () => unknown): void }) {
  const built = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  // carol's Twitter account has no email, so alice's Facebook one below is another account.
  const pair = peers.twitter.accessTokenFor('carol')
  const res = await built.api(`${BASE}/user/auth/twitter/`, postJson({ access_token: `${pair.accessToken}:${pair.accessTokenSecret}` }, { 'x-api-key': PROD_KEY }))
  const user = await res.json() as any
  return { ...built, user }
}

t.test('TestPreflightAPI, on the user endpoints', async (t) => {
  const { api, user } = await setup(t)
  const keys = { _api_key: PROD_KEY, _user_key: user.user_key }

  // test_simple_call: {'_method': 'GET'} alone is 403; with the keys, 200.
  const bare = await api(`${BASE}/user/`, text({ _method: 'GET' }))
  t.equal(bare.status, 403, 'test_simple_call: no keys')
  t.same(await bare.json(), { detail: 'You do not have permission to perform this action.' })
  // test_user_access
  const get = await api(`${BASE}/user/`, text({ _method: 'GET', ...keys }))
  t.equal(get.status, 200, 'test_user_access')
  t.equal((await get.json() as any).username, user.username)
  // test_patch_call, on the user: {'_method': 'PATCH', ...}
  const patch = await api(`${BASE}/user/`, text({ _method: 'PATCH', username: 'abcd', ...keys }))
  t.equal(patch.status, 200, 'test_patch_call')
  t.equal((await patch.json() as any).username, 'abcd')
  const put = await api(`${BASE}/user/`, text({ _method: 'PUT', username: 'abcde', password: 'pw', ...keys }))
  t.equal(put.status, 200)
  t.equal((await put.json() as any).username, 'abcde')
  const putInvalid = await api(`${BASE}/user/`, text({ _method: 'PUT', username: 'abcde', ...keys }))
  t.equal(putInvalid.status, 400, 'served as a PUT: password required')
  t.same(await putInvalid.json(), { password: ['This field is required.'] })

  const del = await api(`${BASE}/user/`, text({ _method: 'DELETE', ...keys }))
  t.equal(del.status, 405)
  t.same(await del.json(), { detail: 'Method "DELETE" not allowed.' })
  t.equal(del.headers.get('allow'), 'GET, PUT, PATCH, HEAD')

  const lower = await api(`${BASE}/user/`, text({ _method: 'get', ...keys }))
  t.equal(lower.status, 405, 'only the upper-case names are methods (PreflightParser.valid_methods)')
  t.same(await lower.json(), { detail: 'Method "POST" not allowed.' })
  const json = await api(`${BASE}/user/`, postJson({ _method: 'GET', ...keys }))
  t.equal(json.status, 405, 'a JSON body does not override the method: only text/plain does')
  const notPost = await api(`${BASE}/user/`, text({ _method: 'GET', username: 'via-patch', ...keys }, 'PATCH'))
  t.equal(notPost.status, 200, 'only a POST is overridden')
  t.equal((await notPost.json() as any).username, 'via-patch')

  const reset = await api(`${BASE}/users/${user.id}/reset_key/`, text(keys))
  t.equal(reset.status, 200, 'reset_key with the keys in a text/plain body')
  t.not((await reset.json() as any).user_key, user.user_key)
})

t.test('social login by text/plain, with the method named', async (t) => {
  const { api } = await setup(t)
  const login = await api(`${BASE}/user/auth/facebook/`, text({ _method: 'POST', _api_key: PROD_KEY, access_token: peers.social.accessTokenFor('facebook', 'alice') }))
  t.equal(login.status, 200)
  const asGet = await api(`${BASE}/user/auth/facebook/`, text({ _method: 'GET', _api_key: PROD_KEY }))
  t.equal(asGet.status, 405)
  t.same(await asGet.json(), { detail: 'Method "GET" not allowed.' })
  const broken = await api(`${BASE}/user/auth/facebook/`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '{"_api_key": ' })
  t.equal(broken.status, 400, 'text/plain that is not JSON: the parse error, before any key is known')
  t.same(await broken.json(), { detail: 'JSON parse error - the body is not valid JSON.' })
  const proto = await api(`${BASE}/user/auth/facebook/`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-api-key': PROD_KEY }, body: '{"__proto__": {"x": 1}, "access_token": "t"}' })
  t.equal(proto.status, 400, 'prototype poisoning is refused as in JSON bodies')
})

t.test('multipart/form-data: fields read, files dropped, every size bounded', async (t) => {
  const { api, url } = await setup(t)
  const fd = (fields: Record<string, string | Blob>) => { const f = new FormData(); for (const [k, v] of Object.entries(fields)) f.set(k, v); return f }
  const post = (f: FormData) => api(`${BASE}/user/auth/facebook/`, { method: 'POST', headers: { 'x-api-key': PROD_KEY }, body: f })

  const ok = await post(fd({ access_token: peers.social.accessTokenFor('facebook', 'alice'), avatar: new Blob(['png bytes'], { type: 'image/png' }) }))
  t.equal(ok.status, 200, 'a file part is read and ignored')

  const noToken = await post(fd({ avatar: new Blob(['x']) }))
  t.equal(noToken.status, 401, 'a file is not an access token')
  t.same(await noToken.json(), { detail: 'Invalid authorization token.' })

  for (const [name, f] of [
    ['a file over 64 KiB', fd({ access_token: 'x', big: new Blob(['x'.repeat(70 * 1024)]) })],
    ['a field over 64 KiB', fd({ access_token: 'x'.repeat(70 * 1024) })],
    ['fields adding up to over 64 KiB', fd(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, 'x'.repeat(4 * 1024)])))],
    ['too many fields', fd(Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, 'x'])))]
  ] as Array<[string, FormData]>) {
    const res = await post(f)
    t.equal(res.status, 413, name)
    t.same(await res.json(), { detail: 'Request body is too large.' }, name)
  }

  const malformed = await rawRequest(`${url}${BASE}/user/auth/facebook/`, {
    method: 'POST',
    headers: { 'x-api-key': PROD_KEY, 'content-type': 'multipart/form-data; boundary=XYZ' },
    body: '--XYZ\r\nContent-Disposition: form-data; name="access_token"\r\n\r\nabc'
  })
  t.equal(malformed.status, 400, 'a truncated multipart body')
  t.same(malformed.json(), { detail: 'Multipart form parse error - the body is not valid multipart/form-data.' })

  const noBoundary = await rawRequest(`${url}${BASE}/user/auth/facebook/`, {
    method: 'POST', headers: { 'x-api-key': PROD_KEY, 'content-type': 'multipart/form-data' }, body: 'access_token=abc'
  })
  t.equal(noBoundary.status, 400, 'no boundary')
  t.same(noBoundary.json(), { detail: 'Multipart form parse error - the body is not valid multipart/form-data.' })
})
