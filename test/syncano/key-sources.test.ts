// syncano: keys from every place the platform reads them (apps/core/authentication.py): the API key from
// X-API-KEY, ?api_key=, ?apikey=, `Authorization: <scheme> <key>`, `_api_key` in the body; the user key
// from X-USER-KEY, ?user_key=, ?userkey=, `_user_key` in the body; in the platform's order of precedence.
import t from 'tap'
import { build, postJson, rawRequest } from '../helpers/build.ts'
import { PROD_KEY, startPeers, syncanoTenant } from './helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const AUTH = '/t/acme/v1.1/instances/acme-prod/user/auth/facebook/'
const DENIED = { detail: 'You do not have permission to perform this action.' }
const NO_SUCH = { detail: 'No such API Key.' }

t.test('the API key from the header, the query string, Authorization or the body', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const token = () => peers.social.accessTokenFor('facebook', 'alice')
  const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() })
  const multipart = (fields: Record<string, string>): RequestInit => { const fd = new FormData(); for (const [k, v] of Object.entries(fields)) fd.set(k, v); return { method: 'POST', body: fd } }
  const text = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })

  const cases: Array<[string, string, () => RequestInit, number, unknown?]> = [
    ['X-API-KEY', AUTH, () => postJson({ access_token: token() }, { 'x-api-key': PROD_KEY }), 200],
    ['?api_key=', `${AUTH}?api_key=${PROD_KEY}`, () => postJson({ access_token: token() }), 200],
    ['?apikey=', `${AUTH}?apikey=${PROD_KEY}`, () => postJson({ access_token: token() }), 200],
    ['Authorization: Token <key> (syncano-js with a social token)', AUTH, () => postJson({ access_token: token() }, { authorization: `Token ${PROD_KEY}` }), 200],
    ['Authorization: any scheme', AUTH, () => postJson({ access_token: token() }, { authorization: `ApiKey ${PROD_KEY}` }), 200],
    ['_api_key in a JSON body', AUTH, () => postJson({ access_token: token(), _api_key: PROD_KEY }), 200],
    ['_api_key in a form body', AUTH, () => form({ access_token: token(), _api_key: PROD_KEY }), 200],
    ['_api_key in a multipart body', AUTH, () => multipart({ access_token: token(), _api_key: PROD_KEY }), 200],
    ['_api_key in a text/plain body', AUTH, () => text({ access_token: token(), _api_key: PROD_KEY }), 200],
    ['the last of a repeated ?api_key= (QueryDict.get)', `${AUTH}?api_key=wrong-key-0000&api_key=${PROD_KEY}`, () => postJson({ access_token: token() }), 200],
    ['an empty ?api_key= counts as absent', `${AUTH}?api_key=&apikey=${PROD_KEY}`, () => postJson({ access_token: token() }), 200],
    ['a wrong _api_key', AUTH, () => postJson({ access_token: token(), _api_key: 'wrong-key-0000' }), 403, NO_SUCH],
    ['a wrong ?api_key=', `${AUTH}?api_key=wrong-key-0000`, () => postJson({ access_token: token() }), 403, NO_SUCH],
    // Precedence: the first source that has a key decides; later ones are not consulted.
    ['X-API-KEY wins over ?api_key=', `${AUTH}?api_key=${PROD_KEY}`, () => postJson({ access_token: token() }, { 'x-api-key': 'wrong-key-0000' }), 403, NO_SUCH],
    ['?api_key= wins over Authorization', `${AUTH}?api_key=wrong-key-0000`, () => postJson({ access_token: token() }, { authorization: `Token ${PROD_KEY}` }), 403, NO_SUCH],
    ['Authorization wins over the body', AUTH, () => postJson({ access_token: token(), _api_key: PROD_KEY }, { authorization: 'Token wrong-key-0000' }), 403, NO_SUCH],
    ['Authorization with three words is not a key: the body is read', AUTH, () => postJson({ access_token: token(), _api_key: PROD_KEY }, { authorization: `Token ${PROD_KEY} extra` }), 200],
    ['a one-word Authorization is not a key', AUTH, () => postJson({ access_token: token() }, { authorization: PROD_KEY }), 403, DENIED],
    ['a non-string _api_key is no key', AUTH, () => postJson({ access_token: token(), _api_key: 12345678 }), 403, DENIED]
  ]
  for (const [name, path, init, status, body] of cases) {
    const res = await api(path, init())
    t.equal(res.status, status, name)
    if (body !== undefined) t.same(await res.json(), body, name)
  }
})

t.test('the user key from the header, the query string or the body', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const login = await api(AUTH, postJson({ access_token: peers.social.accessTokenFor('facebook', 'alice') }, { 'x-api-key': PROD_KEY }))
  const { user_key: key, id } = await login.json() as any
  const ME = '/t/acme/v1.1/instances/acme-prod/user/'
  const wrong = 'a'.repeat(40)
  const cases: Array<[string, string, RequestInit, number]> = [
    ['X-USER-KEY', ME, { headers: { 'x-api-key': PROD_KEY, 'x-user-key': key } }, 200],
    ['?user_key=', `${ME}?user_key=${key}`, { headers: { 'x-api-key': PROD_KEY } }, 200],
    ['?userkey=', `${ME}?userkey=${key}`, { headers: { 'x-api-key': PROD_KEY } }, 200],
    ['both keys in the query string', `${ME}?api_key=${PROD_KEY}&user_key=${key}`, {}, 200],
    ['_user_key in a PATCH body', ME, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-api-key': PROD_KEY }, body: JSON.stringify({ _user_key: key }) }, 200],
    ['both keys in a form body', `/t/acme/v1.1/instances/acme-prod/users/${id}/`, { method: 'PATCH', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_api_key=${PROD_KEY}&_user_key=${key}` }, 200],
    ['X-USER-KEY wins over ?user_key=', `${ME}?user_key=${key}`, { headers: { 'x-api-key': PROD_KEY, 'x-user-key': wrong } }, 403],
    ['?user_key= wins over the body', `${ME}?user_key=${wrong}`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-api-key': PROD_KEY }, body: JSON.stringify({ _user_key: key }) }, 403],
    ['a user key without an API key', `${ME}?user_key=${key}`, {}, 403]
  ]
  for (const [name, path, init, status] of cases) {
    const res = await api(path, init)
    t.equal(res.status, status, name)
    if (status === 403) t.same(await res.json(), DENIED, name)
  }
})

t.test('a query-string API key counts as its instance for the tenant-wide rate limit', async (t) => {
  const { url } = await build(t, { tenants: [syncanoTenant('acme', peers, { rateLimits: { default: { max: 2, timeWindow: '1 minute' } } })] })
  const anonymous = () => rawRequest(`${url}/t/acme/v1.1/instances/acme-prod/user/`)
  for (let i = 0; i < 2; i++) t.equal((await anonymous()).status, 403)
  t.equal((await anonymous()).status, 429, 'the address is over its limit')
  for (const path of [`?api_key=${PROD_KEY}`, `?apikey=${PROD_KEY}`]) {
    t.equal((await rawRequest(`${url}/t/acme/v1.1/instances/acme-prod/user/${path}`)).status, 403, `${path}: the instance's own counter`)
  }
  const third = await rawRequest(`${url}/t/acme/v1.1/instances/acme-prod/user/`, { headers: { authorization: `Token ${PROD_KEY}` } })
  t.equal(third.status, 429, 'Authorization: the same instance counter, now over')
})
