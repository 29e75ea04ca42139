// Bad input never reaches a 500: every operation of the demo tenant's OpenAPI document (all five
// dialects) gets malformed bodies, types, encodings and path parameters, and must answer below 500.
import t from 'tap'
import { loadTenantFile } from '../../tenants/loader.ts'
import { build, rawRequest } from '../helpers/build.ts'

const BODIES: Array<[string, string]> = [
  ['application/json', '{"provider":"demo\\u0000x","code":"\\u0000","token":"\\u0000","email":"a\\u0000@b.c","client_key":"\\u0000"}'],
  ['application/json', '{"provider":[1,2],"code":{"a":1},"token":true,"email":12,"client_key":null,"access_token":[],"confirmation":{}}'],
  ['application/json', '[1,2,3]'],
  ['application/json', '"just a string"'],
  ['application/json', 'null'],
  ['application/json', '{"a":'],
  ['application/json', JSON.stringify({ nested: JSON.parse('['.repeat(200) + ']'.repeat(200)) })],
  ['application/json', JSON.stringify({ provider: 'x'.repeat(5000), code: 'y'.repeat(5000), email: `${'z'.repeat(300)}@x.test`, token: 't'.repeat(600) })],
  ['application/x-www-form-urlencoded', 'client_id=%00&flow=%00&token=%00&locale=%00&redirect_uri=%00&flow_version=%00&email=%00&grant_type=%00&code=%00'],
  ['application/x-www-form-urlencoded', 'client_id=demo-client-key&client_id=demo-client-key&token[]=a&token[]=b&locale=fr-FR&flow=standard&flow_version=1&redirect_uri=http://x'],
  ['application/x-www-form-urlencoded', '%%%=%%%&&&=='],
  ['text/plain', 'hello'],
  ['application/xml', '<a/>'],
  ['', '']
]
const PARAMS = ['%00', '..%2F..%2Fetc', 'x'.repeat(300), '%E0%A4%A', 'demo', "'; drop table users; --"]

t.test('every operation answers malformed input below 500', async (t) => {
  const { config } = await loadTenantFile('tenants/demo.json')
  // Limits off for this run: a 429 would hide whatever the route itself would have answered.
  const unlimited = { max: 1_000_000_000, timeWindow: '1 minute' }
  const { url, api } = await build(t, { tenants: [{ ...config, rateLimits: { default: unlimited, login: unlimited, link: unlimited } }] })
  const doc = await (await api('/t/demo/openapi.json')).json() as any
  let requests = 0
  const statuses = new Map<number, number>()
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const method of ['get', 'post', 'patch']) {
      if (!item[method]) continue
      for (const param of PARAMS) {
        const path = template.replace(/\{[^}]+\}/g, param)
        const headers: Record<string, string> = { authorization: 'Token \u0000'.replace('\u0000', '%00'), 'x-api-key': 'k'.repeat(600), 'x-user-key': 'u' }
        const bodies = method === 'get' ? [['', '']] as Array<[string, string]> : BODIES
        for (const [type, body] of bodies) {
          const res = await rawRequest(`${url}/t/demo${path}?code=%00&state=%00&token_url=%00&oauth_token=%00&oauth_verifier=%00`, {
            method: method.toUpperCase(), headers: type ? { ...headers, 'content-type': type } : headers, body: method === 'get' ? undefined : body
          })
          requests++
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
          if (res.status >= 500) t.fail(`${method.toUpperCase()} ${path} [${type}] ${body.slice(0, 60)} → ${res.status} ${res.text.slice(0, 200)}`)
        }
      }
    }
  }
  t.ok(requests > 1000, `${requests} malformed requests, none answered 5xx`)
  t.notOk(statuses.has(429), 'no answer was a rate limit (it would hide the route\'s own)')
  t.comment(JSON.stringify(Object.fromEntries(statuses)))
})
