// Property: a Syncano API key or user key never reaches a log line, wherever the client put it: the
// X-API-KEY / X-USER-KEY / Authorization headers (redacted by name), the query string (?api_key=,
// ?apikey=, ?user_key=, ?userkey=: the request line logs the path only) or the body (never logged),
// whatever the answer (200, 403, 404, 405, 400, 429), with the logger at its most verbose level.
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { REDACT } from '../../app.ts'
import { build, postJson, rawRequest } from '../helpers/build.ts'
import { startPeers, syncanoTenant } from '../syncano/helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const API_KEY = 'api-key-SECRET-0b1c2d3e4f5a6b7c'

t.test('no key in any log line', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done() } })
  const { api, url } = await build(t, {
    logger: pino({ level: 'trace', redact: REDACT }, sink) as never,
    tenants: [syncanoTenant('acme', peers, { instances: [{ name: 'acme-prod', apiKeys: [API_KEY] }], rateLimits: { login: { max: 40, timeWindow: '1 minute' } } })]
  })
  const BASE = '/t/acme/v1.1/instances/acme-prod'
  const pair = peers.twitter.accessTokenFor('alice')
  const login = await api(`${BASE}/user/auth/twitter/?api_key=${API_KEY}`, postJson({ access_token: `${pair.accessToken}:${pair.accessTokenSecret}` }))
  t.equal(login.status, 200)
  const { user_key: userKey, id } = await login.json() as any
  const wrongKey = 'wrong-key-SECRET-9f8e7d6c5b4a'

  const requests: Array<[string, string, RequestInit, number]> = [
    ['?api_key= and ?user_key=', `${BASE}/user/?api_key=${API_KEY}&user_key=${userKey}`, {}, 200],
    ['?apikey= and ?userkey=', `${BASE}/user/?apikey=${API_KEY}&userkey=${userKey}`, {}, 200],
    ['headers', `${BASE}/user/`, { headers: { 'x-api-key': API_KEY, 'x-user-key': userKey } }, 200],
    ['Authorization', `${BASE}/user/?user_key=${userKey}`, { headers: { authorization: `Token ${API_KEY}` } }, 200],
    ['body keys (text/plain)', `${BASE}/user/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ _method: 'GET', _api_key: API_KEY, _user_key: userKey }) }, 200],
    ['a wrong key in the query', `${BASE}/user/?api_key=${wrongKey}`, {}, 403],
    ['a wrong key in the body', `${BASE}/user/auth/twitter/`, postJson({ access_token: 'x:y', _api_key: wrongKey }), 403],
    ['an unknown path', `${BASE}/nowhere/?api_key=${API_KEY}&user_key=${userKey}`, {}, 404],
    ['an unknown instance', `/t/acme/v1.1/instances/ghost/user/?api_key=${API_KEY}`, {}, 404],
    ['a refused method', `${BASE}/user/?api_key=${API_KEY}&user_key=${userKey}`, { method: 'DELETE' }, 405],
    ['a malformed body', `${BASE}/user/?api_key=${API_KEY}&user_key=${userKey}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: `{"_user_key": "${userKey}"` }, 400],
    ['a provider refusal', `${BASE}/user/auth/twitter/?api_key=${API_KEY}`, postJson({ access_token: `${pair.accessToken}:wrong` }), 401],
    ['reset_key', `${BASE}/users/${id}/reset_key/?api_key=${API_KEY}&user_key=${userKey}`, { method: 'POST' }, 200]
  ]
  for (const [name, path, init, status] of requests) t.equal((await api(path, init)).status, status, name)

  // Over the limit: throttled answers are logged too.
  let throttled = 0
  for (let i = 0; i < 40 && throttled === 0; i++) {
    if ((await rawRequest(`${url}${BASE}/user/?api_key=${API_KEY}&user_key=${userKey}`)).status === 429) throttled++
  }
  t.equal(throttled, 1, 'reached the limit')
  await new Promise((r) => setTimeout(r, 50))

  const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request')
  t.ok(requestLines.length >= requests.length + 2, 'every request was logged')
  t.ok(requestLines.every((l) => typeof l.path === 'string' && !l.path.includes('?')), 'request lines carry the path without its query string')
  const all = lines.join('\n')
  for (const [name, secret] of [['the API key', API_KEY], ['the user key', userKey], ['a wrong key', wrongKey], ['the Twitter secret', pair.accessTokenSecret]]) {
    t.notOk(all.includes(secret), `${name} is in no log line`)
  }
})
