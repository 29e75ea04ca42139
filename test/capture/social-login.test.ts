// Social Login tokens: the hosted round trip, token_url allow-list, auth_info, single use, tenant isolation; OpenAPI.
import t from 'tap'
import { cookiesFrom } from '../helpers/build.ts'
import { API_KEY, fixture, nativeArgs, rid, TOKEN_URL } from './fixtures/capture.ts'

const f = await fixture(t, ['cap', 'other'])

t.test('start: only listed token_urls; never a redirect elsewhere', async (t) => {
  const ok = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL + '?next=/home')}`, { redirect: 'manual' })
  t.equal(ok.status, 302)
  const to = new URL(ok.headers.get('location')!)
  t.equal(to.origin + to.pathname, f.peer.github.authorize)
  t.equal(to.searchParams.get('redirect_uri'), `${f.url}/t/cap/social/github/callback`)
  t.equal(to.searchParams.get('code_challenge_method'), 'S256')

  for (const bad of ['https://evil.test/token', 'https://app.test/token/extra', 'https://app.test/token@evil.test', '//evil.test']) {
    const r = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(bad)}`, { redirect: 'manual' })
    t.equal(r.status, 400, bad)
    t.equal(r.headers.get('location'), null)
    t.same(await r.json(), { stat: 'fail', err: { code: 1, msg: 'Invalid parameter: token_url' } })
  }
  let r = await f.api('/t/cap/social/github/start', { redirect: 'manual' })
  t.same(await r.json(), { stat: 'fail', err: { code: 0, msg: 'Missing parameter: token_url' } })
  r = await f.api(`/t/cap/social/myspace/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  t.equal(r.status, 404)
  t.same(await r.json(), { stat: 'fail', err: { code: 1, msg: 'Invalid parameter: provider' } })
})

t.test('callback: token_url gets a 40-character token; the state is single use and bound to its provider', async (t) => {
  const start = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL + '?next=/home')}`, { redirect: 'manual' })
  const { code, state } = await f.peer.authorize(start.headers.get('location')!, 'alice')
  const wrongProvider = await f.api(`/t/cap/social/facebook/callback?code=${code}&state=${state}`, { redirect: 'manual' })
  t.equal(wrongProvider.status, 400)
  t.same(await wrongProvider.json(), { stat: 'fail', err: { code: 1, msg: 'Invalid parameter: state' } })

  const start2 = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL + '?next=/home')}`, { redirect: 'manual' })
  const second = await f.peer.authorize(start2.headers.get('location')!, 'alice')
  const browser = { cookie: cookiesFrom(start2) }
  const cb = await f.api(`/t/cap/social/github/callback?code=${second.code}&state=${second.state}`, { redirect: 'manual', headers: browser })
  t.equal(cb.status, 302)
  const loc = new URL(cb.headers.get('location')!)
  t.equal(loc.origin + loc.pathname, TOKEN_URL)
  t.equal(loc.searchParams.get('next'), '/home', 'the token_url keeps its own query')
  t.match(loc.searchParams.get('token'), /^[a-z0-9]{40}$/)
  const replay = await f.api(`/t/cap/social/github/callback?code=${second.code}&state=${second.state}`, { redirect: 'manual', headers: browser })
  t.equal(replay.status, 400)
  t.same(await replay.json(), { stat: 'fail', err: { code: 1, msg: 'Invalid parameter: state' } })

  const start3 = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  const state3 = new URL(start3.headers.get('location')!).searchParams.get('state')!
  const denied = await f.api(`/t/cap/social/github/callback?error=access_denied&state=${state3}`, { redirect: 'manual', headers: { cookie: cookiesFrom(start3) } })
  t.equal(denied.status, 302)
  t.equal(denied.headers.get('location'), `${TOKEN_URL}?error=access_denied`)
})

t.test('auth_info: profile for token + apiKey; single use; errors', async (t) => {
  const token = await f.socialToken('github', 'alice')
  let r = await f.form('/t/cap/api/v2/auth_info', { apiKey: 'wrong-key-0123456789', token })
  t.same(r.body, { stat: 'fail', err: { code: 1, msg: 'Invalid parameter: apiKey' } })
  r = await f.form('/t/cap/api/v2/auth_info', { apiKey: API_KEY })
  t.same(r.body, { stat: 'fail', err: { code: 0, msg: 'Missing parameter: token' } })
  r = await f.form('/t/cap/api/v2/auth_info', { apiKey: API_KEY, token })
  t.equal(r.status, 200)
  t.same(r.body, {
    stat: 'ok',
    profile: {
      providerName: 'GitHub',
      identifier: 'https://github.com/?user_id=1001',
      verifiedEmail: 'alice@example.test',
      email: 'alice@example.test',
      name: { givenName: 'Alice', familyName: 'Liddell', formatted: 'Alice Liddell' },
      displayName: 'Alice Liddell',
      preferredUsername: 'alice',
      photo: 'http://127.0.0.1/gh/1001.png'
    }
  })
  r = await f.form('/t/cap/api/v2/auth_info', { apiKey: API_KEY, token })
  t.same(r.body, { stat: 'fail', err: { code: 2, msg: 'Data not found' } }, 'second use refused')
})

t.test('a Social Login token of one tenant is refused by another', async (t) => {
  const token = await f.socialToken('github', 'hank', 'cap')
  let r = await f.form('/t/other/oauth/auth_native', nativeArgs({ token, thin_registration: 'true' }))
  t.same(r.body, { stat: 'error', code: 200, error_description: 'invalid token', error: 'invalid_argument', argument_name: 'token', request_id: rid(t, r.body) })
  r = await f.form('/t/other/api/v2/auth_info', { apiKey: API_KEY, token })
  t.same(r.body, { stat: 'fail', err: { code: 2, msg: 'Data not found' } })
  const start = await f.api(`/t/cap/social/github/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  const { code, state } = await f.peer.authorize(start.headers.get('location')!, 'hank')
  const cross = await f.api(`/t/other/social/github/callback?code=${code}&state=${state}`, { redirect: 'manual' })
  t.equal(cross.status, 400, 'a state of one tenant is unknown to another')
  r = await f.form('/t/cap/oauth/auth_native', nativeArgs({ token, thin_registration: 'true' }))
  t.equal(r.body.stat, 'ok', 'still good on its own tenant')
})

t.test('OpenAPI: every capture route, form-encoded requests, the error schemas', async (t) => {
  const doc = await (await f.api('/t/cap/openapi.json')).json() as any
  const ops: Record<string, string> = {
    '/oauth/auth_native': 'captureAuthNative',
    '/oauth/register_native': 'captureRegisterNative',
    '/oauth/auth_native_traditional': 'captureAuthNativeTraditional',
    '/oauth/register_native_traditional': 'captureRegisterNativeTraditional',
    '/oauth/token': 'captureOauthToken',
    '/entity': 'captureEntity',
    '/oauth/refresh_access_token': 'captureRefreshAccessToken',
    '/oauth/update_profile_native': 'captureUpdateProfileNative',
    '/api/v2/auth_info': 'captureAuthInfo'
  }
  for (const [path, id] of Object.entries(ops)) {
    const op = doc.paths[path]?.post
    t.equal(op?.operationId, id, path)
    t.same(op?.tags, ['capture'])
    t.same(Object.keys(op?.requestBody?.content ?? {}), ['application/x-www-form-urlencoded'], `${path} is form-only`)
  }
  t.equal(doc.paths['/social/{provider}/start']?.get?.operationId, 'captureSocialStart')
  t.equal(doc.paths['/social/{provider}/callback']?.get?.operationId, 'captureSocialCallback')
  const auth = doc.paths['/oauth/auth_native'].post
  t.ok(auth.requestBody.content['application/x-www-form-urlencoded'].schema.properties.token, 'token documented')
  // The published document names shared schemas as components and tells Capture's 200 answers apart by `stat`.
  const named = (s: any): [string, any] => s.$ref ? [s.$ref.split('/').pop(), doc.components.schemas[s.$ref.split('/').pop()]] : [s.title, s]
  const answer = named(auth.responses['200'].content['application/json'].schema)[1]
  t.equal(answer.discriminator?.propertyName, 'stat')
  const [success, errors] = answer.oneOf.map(named)
  t.equal(success[0], 'CaptureAuthSuccess')
  const variants = errors[1].anyOf.map(named)
  t.same(variants.map(([title]: [string]) => title), ['CaptureRecordNotFound', 'CaptureEmailInUse', 'CaptureInvalidFields', 'CaptureError'])
  t.ok(['stat', 'code', 'error_description', 'error', 'request_id'].every((k) => k in variants[3][1].properties), 'the error envelope')
  t.same(doc.paths['/oauth/token'].post.security, [{ CaptureClientCredentials: [] }])
  t.same(doc.paths['/entity'].post.security, [{ CaptureAccessToken: [] }])
  t.ok(doc.components.securitySchemes.CaptureAccessToken)
  t.ok(doc.paths['/oauth/token'].post.responses['400'])
})
