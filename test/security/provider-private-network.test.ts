// A tenant's provider endpoints cannot aim Vestibule at loopback, private, link-local or unique-local
// addresses (SSRF) unless that provider opts in with allowPrivateNetwork: refused when the tenant loads
// (IP literals, localhost) and at connect time (names resolving there, whatever the config or discovery said).
import t from 'tap'
import { lookup } from 'node:dns/promises'
import { hostname } from 'node:os'
import { createProviderRegistry, nonPublicRange, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { send } from '../../plugins/providers/http.ts'
import { parseTenant } from '../../tenants/loader.ts'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { startSocialPeer } from '../peers/social-peer.ts'

const social = await startSocialPeer()
t.teardown(() => social.close())

const github = (base: string, extra: Record<string, unknown> = {}) => ({
  type: 'github', clientId: 'social-client', clientSecret: 'social-secret', ...extra,
  endpoints: { authorize: `${base}/github/login/oauth/authorize`, token: `${base}/github/login/oauth/access_token`, userinfo: `${base}/github/user`, emails: `${base}/github/user/emails` }
})
const KEY = 'private-network-api-key-0123456789'
const syncanoTenant = (id: string, provider: Record<string, unknown>) => tenantDoc(id, { providers: { github: provider }, instances: [{ name: 'app', apiKeys: [KEY] }], dialects: { syncano: {} } })

t.test('non-public ranges', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'], ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'], ['fd12:3456::1', 'unique-local'], ['0.0.0.0', 'unspecified ("this network")'], ['::', 'unspecified'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'], ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['64:ff9b::a9fe:a9fe', 'link-local'], ['2002:c0a8:0101::1', 'private'],
    ['0.1.2.3', 'unspecified ("this network")'], ['255.255.255.255', 'broadcast'], ['192.0.2.10', 'reserved'], ['198.18.0.1', 'reserved'],
    ['fec0::1', 'site-local'], ['::7f00:1', 'loopback'], ['100::1', 'discard-only'], ['2001:db8::1', 'reserved'], ['64:ff9b::808:808', null],
    ['8.8.8.8', null], ['172.32.0.1', null], ['1.1.1.1', null], ['2606:4700:4700::1111', null], ['::ffff:8.8.8.8', null], ['accounts.google.com', null]
  ]
  for (const [ip, range] of cases) t.equal(nonPublicRange(ip), range, ip)
})

t.test('refused when the tenant loads: IP literals and localhost, in any endpoint, naming the provider, field and switch', async (t) => {
  for (const base of ['http://127.0.0.1:9', 'http://localhost:9', 'http://api.localhost', 'http://[::1]:9', 'http://10.0.0.5', 'http://169.254.169.254', 'http://[fd00::1]', 'http://[::ffff:127.0.0.1]', 'http://0x7f000001']) {
    const r = parseTenant('acme.json', JSON.stringify(syncanoTenant('acme', github(base))))
    t.equal(r.config, undefined, `${base} refused`)
    t.match(r.errors, [{ file: 'acme.json', path: '/providers/github', message: /^provider "github": endpoints\.authorize points at .+, in the .+ range; .*allowPrivateNetwork: true/ }])
  }
  const oidc = parseTenant('a.json', JSON.stringify(tenantDoc('a', { providers: { sso: { type: 'oidc', clientId: 'c', clientSecret: 's', endpoints: { issuer: 'http://192.168.0.10/realm' } } } })))
  t.match(oidc.errors, [{ path: '/providers/sso', message: /endpoints\.issuer points at 192\.168\.0\.10, in the private range/ }], 'the issuer, where discovery is fetched from')
  const demo = parseTenant('d.json', JSON.stringify(tenantDoc('d', { providers: { demo: { type: 'demo', clientId: 'c', clientSecret: 's' } } })))
  t.match(demo.errors, [{ path: '/providers/demo', message: /endpoints\.issuer points at 127\.0\.0\.1 \(the demo type's default\), in the loopback range/ }], 'the demo type\'s loopback default too')
  const twitter = parseTenant('tw.json', JSON.stringify(tenantDoc('tw', { providers: { twitter: { type: 'twitter', consumerKey: 'k', consumerSecret: 's', endpoints: { profile: 'http://127.0.0.1:9/verify' } } } })))
  t.match(twitter.errors, [{ path: '/providers/twitter', message: /endpoints\.profile points at 127\.0\.0\.1/ }], 'OAuth 1.0a endpoints too')
  await t.rejects(build(t, { tenants: [syncanoTenant('acme', github(social.url))] }), { name: 'TenantConfigError', message: /allowPrivateNetwork/ }, 'the app does not start with such a tenant')
})

t.test('with allowPrivateNetwork: true the same provider works', async (t) => {
  const { api } = await build(t, { tenants: [syncanoTenant('acme', github(social.url, { allowPrivateNetwork: true }))] })
  const res = await api('/t/acme/v1.1/instances/app/user/auth/github/', postJson({ access_token: social.accessTokenFor('github', 'alice') }, { 'x-api-key': KEY }))
  t.equal(res.status, 200)
})

t.test('refused at connect time: IP literals and names that resolve to non-public addresses', async (t) => {
  const port = new URL(social.url).port
  const before = social.requests.length
  for (const url of [`http://127.0.0.1:${port}/github/user`, `http://localhost:${port}/github/user`, `http://[::1]:${port}/github/user`]) {
    const r = await send({ url, timeoutMs: 2000, what: 'probe', allowPrivateNetwork: false })
    t.match(r, { ok: false, error: 'unavailable', detail: /^probe: refused: .* is in the loopback range; provider calls may not reach it unless the provider sets allowPrivateNetwork: true$/ }, url)
  }
  t.equal(social.requests.length, before, 'no request reached the peer')
  const allowed = await send({ url: `http://localhost:${port}/github/user`, timeoutMs: 2000, what: 'probe', allowPrivateNetwork: true })
  t.match(allowed, { ok: true, value: { status: 401 } }, 'the private-network agent connects')
})

t.test('a name the config check cannot judge is refused when it resolves, through a whole sign-in', async (t) => {
  // The machine's own hostname resolves through /etc/hosts, usually to loopback or a private address.
  const name = hostname()
  const addresses = await lookup(name, { all: true }).catch(() => [])
  if (addresses.length === 0 || addresses.some((a) => nonPublicRange(a.address) === null)) {
    t.pass(`skipped: ${name} does not resolve to non-public addresses only on this machine`)
    return
  }
  const base = `http://${name}:${new URL(social.url).port}`
  const { api } = await build(t, { tenants: [syncanoTenant('acme', github(base))] })
  const before = social.requests.length
  const res = await api('/t/acme/v1.1/instances/app/user/auth/github/', postJson({ access_token: social.accessTokenFor('github', 'alice') }, { 'x-api-key': KEY }))
  t.equal(res.status, 503, 'the provider is unavailable to this tenant')
  t.equal(social.requests.length, before, 'and was never called')

  // The provider layer says why (for the logs).
  const p = createProviderRegistry({ gh: github(base) as never }).get('gh') as OAuth2Provider
  t.match(await p.profileFromAccessToken(social.accessTokenFor('github', 'alice')), { ok: false, error: 'unavailable', detail: new RegExp(`refused: ${name} resolves to .*, which is in the .* range`) })
  if (addresses.every((a) => nonPublicRange(a.address) === 'loopback')) {
    const opted = createProviderRegistry({ gh: github(base, { allowPrivateNetwork: true }) as never }).get('gh') as OAuth2Provider
    t.match(await opted.profileFromAccessToken(social.accessTokenFor('github', 'alice')), { ok: true, value: { subject: '1001' } }, 'opted in, the same name works')
  }
})
