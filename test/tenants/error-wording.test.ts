// Tenant-file errors in an operator's words: no raw regex, every valid value of a choice listed, a
// near-miss key answered with "did you mean", an unknown dialect with the registered dialect names.
import t from 'tap'
import { dialectNames } from '../../tenants/dialects.ts'
import { parseTenant } from '../../tenants/loader.ts'

const errors = (extra: Record<string, unknown>) =>
  parseTenant('w.json', JSON.stringify({ id: 'w', email: { from: 'a@b.c' }, ...extra })).errors.map(({ path, message }) => ({ path, message }))

t.test('a choice lists all its valid values', async (t) => {
  t.same(errors({ linking: 'sometimes' }), [{ path: '/linking', message: '"sometimes" is not one of "reject", "verified-email"' }])
  t.same(errors({ providers: { gh: { type: 'github', clientId: 'a', clientSecret: 'b', tokenEndpointAuthMethod: 'post' } } }),
    [{ path: '/providers/gh/tokenEndpointAuthMethod', message: '"post" is not one of "client_secret_post", "client_secret_basic"' }])
})

t.test('near-miss keys: did you mean …?', async (t) => {
  t.same(errors({ dialect: {} }), [{ path: '/dialect', message: 'unknown key "dialect"; did you mean "dialects"?' }])
  t.same(errors({ ratelimits: {} }), [{ path: '/ratelimits', message: 'unknown key "ratelimits"; did you mean "rateLimits"?' }])
  t.same(errors({ clients: [{ id: 'c', redirectUri: [] }] }), [{ path: '/clients/0/redirectUri', message: 'unknown key "redirectUri"; did you mean "redirectUris"?' }])
  t.match(errors({ colour: 'red' }), [{ path: '/colour', message: /^unknown key "colour" \(the keys here are \$schema, id, hosts, .*\)$/ }], 'no near miss: the keys are listed')
})

t.test('an unknown dialect lists the registered dialects', async (t) => {
  const names = dialectNames().join(', ')
  t.equal(dialectNames().length, 5)
  t.same(errors({ dialects: { bylink: {} } }), [{ path: '/dialects/bylink', message: `unknown dialect "bylink"; did you mean "by-link"? The dialects are ${names}` }])
  t.same(errors({ dialects: { saml: {} } }), [{ path: '/dialects/saml', message: `unknown dialect "saml"; the dialects are ${names}` }])
})

t.test('a missing field says what it is', async (t) => {
  t.same(parseTenant('w.json', JSON.stringify({ id: 'w' })).errors.map((e) => [e.path, e.message]), [['/email', 'is required']])
  t.match(errors({ clients: [{ id: 'c' }], dialects: { 'by-link': {} } }), [{ path: '/dialects/by-link/linkUrl', message: /^is required \(Link mailed to the user; `\{token\}` is replaced by the magic-link token\)$/ }])
})

t.test('no message shows a regular expression', async (t) => {
  const bad: Array<Record<string, unknown>> = [
    { id: 'Bad_ID' }, { hosts: ['a b'] }, { locales: ['english'] }, { publicUrl: 'x' }, { frontendUrl: 'x' },
    { providers: { 'a b': { type: 'github', clientId: 'a', clientSecret: 'b' } } },
    { providers: { g: { type: 'google', clientId: 'a', clientSecret: 'b', endpoints: { issuer: 'x' } } } },
    { cors: { origins: ['x'] } }, { email: { from: 'x' } }, { instances: [{ name: 'a b', apiKeys: ['12345678'] }] },
    { clients: [{ id: 'c' }], dialects: { 'by-link': { linkUrl: 'x' }, 'oauth-confirm': { confirmUrl: 'x', errorUrl: 'x' }, capture: { tokenUrls: ['x'] }, 'rest-social-auth': { oauth1CallbackUrls: ['x'] } } },
    { rateLimits: { default: { max: 1, timeWindow: 'x' } } }
  ]
  let seen = 0
  for (const extra of bad) {
    const found = errors(extra)
    t.ok(found.length > 0, `refused: ${JSON.stringify(extra)}`)
    for (const e of found) {
      seen++
      t.notMatch(e.message, /\^|\$'|\(\?:|\\[dsw{]|\[a-z|Expected string to match/, `${e.path}: ${e.message}`)
      t.match(e.message, /expected|not one of|unknown|required/, `${e.path} says what was expected`)
    }
  }
  t.ok(seen >= 15)
})
