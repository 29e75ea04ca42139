// rest-social-auth OAuth1 step 1 sends the provider's verifier only to a redirect_uri the tenant listed
// (exact match of the normalised URL), and a tenant with an OAuth1 provider and no list is refused at load.
import t from 'tap'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { startOAuth1Peer } from '../peers/oauth1-peer.ts'
import { parseTenant } from '../../tenants/loader.ts'

const CALLBACK = 'https://app.test/twitter/callback'
const oauth1 = await startOAuth1Peer({ consumers: [{ key: 'ck', secret: 'cs' }] })
t.teardown(() => oauth1.close())
const providers = { twitter: { type: 'twitter', consumerKey: 'ck', consumerSecret: 'cs', endpoints: oauth1.endpoints, allowPrivateNetwork: true } }

const { api } = await build(t, { tenants: [tenantDoc('tw', { providers, dialects: { 'rest-social-auth': { oauth1CallbackUrls: [CALLBACK] } } })] })
const step1 = (redirect_uri: string) => api('/t/tw/social-auth', postJson({ provider: 'twitter', redirect_uri }))

t.test('hostile redirect_uri variants get no request token', async (t) => {
  const hostile = [
    'https://evil.example/collect', 'https:evil.example', 'https:/evil.example/collect', 'https://evil.example',
    'https://app.test.evil.example/twitter/callback', 'https://app.test@evil.example/twitter/callback',
    'https://evil.example\\@app.test/twitter/callback', 'https://app.test\\@evil.example/twitter/callback',
    'https://app.test/twitter/callback?next=https://evil.example', 'https://app.test/twitter/callback#https://evil.example',
    'https://app.test/twitter/callback/', 'https://app.test/twitter/callback/../../evil', 'https://app.test/twitter/callbackx',
    'http://app.test/twitter/callback', 'https://app.test:8443/twitter/callback', '//evil.example/collect', 'javascript:alert(1)'
  ]
  const before = oauth1.requests.filter((r) => r.path.includes('request_token')).length
  for (const uri of hostile) {
    const r = await step1(uri)
    t.equal(r.status, 400, uri)
    const body = await r.json() as any
    t.ok(Array.isArray(body.redirect_uri) && body.redirect_uri.length === 1, `${uri}: a DRF redirect_uri error`)
  }
  t.equal(oauth1.requests.filter((r) => r.path.includes('request_token')).length, before, 'the provider was never asked for a request token')
})

t.test('the listed callback (in any spelling of the same URL) works and the provider is given the listed one', async (t) => {
  for (const spelling of [CALLBACK, 'HTTPS://APP.TEST/twitter/callback', 'https://app.test:443/twitter/./callback']) {
    const r = await step1(spelling)
    t.equal(r.status, 200, spelling)
    const body = await r.json() as any
    t.equal(body.oauth_callback_confirmed, 'true')
    const { redirect } = await oauth1.authorize(body.oauth_token, 'alice')
    t.ok(redirect.startsWith(CALLBACK + '?'), 'the verifier goes to the listed callback')
  }
})

t.test('a tenant mounting rest-social-auth with an OAuth1 provider and no list is refused at load, naming the option', async (t) => {
  for (const options of [{}, { oauth1CallbackUrls: [] }]) {
    const res = parseTenant('tw.json', JSON.stringify(tenantDoc('tw', { providers, dialects: { 'rest-social-auth': options } })))
    t.equal(res.config, undefined)
    t.match(res.errors, [{ path: '/dialects/rest-social-auth/oauth1CallbackUrls', message: /required with an OAuth1 provider \("twitter"\)/ }])
  }
  const ok = parseTenant('gh.json', JSON.stringify(tenantDoc('gh', { providers: { github: { type: 'github', clientId: 'a', clientSecret: 'b' } }, dialects: { 'rest-social-auth': {} } })))
  t.same(ok.errors, [], 'no OAuth1 provider: no list needed')
  const withoutDialect = parseTenant('tw2.json', JSON.stringify(tenantDoc('tw2', { providers, dialects: { syncano: {} }, instances: [{ name: 'i', apiKeys: ['syncano-key-123'] }] })))
  t.same(withoutDialect.errors, [], 'an OAuth1 provider without rest-social-auth mounted needs no list')
})

t.test('the plugin itself refuses step 1 when it gets no list (defence behind the loader check)', async (t) => {
  const { default: plugin } = await import('../../routes/rest-social-auth/plugin.ts')
  const { appWith } = await import('../helpers/dialect-app.ts')
  const { createProviderRegistry } = await import('../../plugins/providers/index.ts')
  const app = appWith(plugin, {})
  ;(app as any).tenant.providers = createProviderRegistry(providers as any)
  t.teardown(() => app.close())
  const r = await app.inject({ method: 'POST', url: '/social-auth', payload: { provider: 'twitter', redirect_uri: 'https://evil.example/collect' } })
  t.equal(r.statusCode, 400)
  t.same(r.json(), { redirect_uri: ['This redirect_uri is not allowed.'] })
})
