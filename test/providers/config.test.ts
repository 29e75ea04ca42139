// Config mistakes throw at registry creation, naming the provider key and the field.
import t from 'tap'
import { createProviderRegistry, ProviderConfigError, type ProviderConfig } from '../../plugins/providers/index.ts'

const bad = (cfg: unknown) => () => createProviderRegistry({ 'acme-sso': cfg as ProviderConfig })

t.test('one test per rule', async (t) => {
  t.throws(bad({ type: 'oidc', clientId: 'c', clientSecret: 's' }), { message: /provider "acme-sso": endpoints\.issuer or endpoints\.discovery is required/, code: 'VST_ERR_PROVIDER_CONFIG' })
  t.throws(bad({ type: 'myspace', clientId: 'c', clientSecret: 's' }), { message: /"acme-sso": type must be one of/ })
  t.throws(bad({ type: 'google', clientSecret: 's' }), { message: /"acme-sso": clientId is required/ })
  t.throws(bad({ type: 'google', clientId: '', clientSecret: 's' }), { message: /"acme-sso": clientId is required/ })
  t.throws(bad({ type: 'github', clientId: 'c' }), { message: /"acme-sso": clientSecret is required/ })
  t.throws(bad({ type: 'github', clientId: 'c', clientSecret: 's', endpoints: { token: 'not a url' } }), { message: /"acme-sso": endpoints\.token is not a valid URL/ })
  t.throws(bad({ type: 'github', clientId: 'c', clientSecret: 's', endpoints: { token: 'ftp://x.test/t' } }), { message: /"acme-sso": endpoints\.token must be an http/ })
  t.throws(bad({ type: 'facebook', clientId: 'c', clientSecret: 's', timeoutMs: 5 }), { message: /"acme-sso": timeoutMs must be/ })
  t.throws(bad({ type: 'facebook', clientId: 'c', clientSecret: 's', scope: 'email' }), { message: /"acme-sso": scope must be an array/ })
  t.throws(bad({ type: 'twitter', consumerSecret: 's' }), { message: /"acme-sso": consumerKey is required/ })
  t.throws(bad({ type: 'twitter', consumerKey: 'k' }), { message: /"acme-sso": consumerSecret is required/ })
  t.throws(bad({ type: 'twitter', consumerKey: 'k', consumerSecret: 's', endpoints: { profile: '::' } }), { message: /"acme-sso": endpoints\.profile is not a valid URL/ })
  t.throws(bad(null), ProviderConfigError)
  t.throws(bad({ type: 'github', clientId: 'c', clientSecret: 's', allowPrivateNetwork: 'yes' }), { message: /"acme-sso": allowPrivateNetwork must be a boolean/ })
  t.throws(bad({ type: 'github', clientId: 'c', clientSecret: 's', endpoints: { token: 'http://127.0.0.1/t' } }), { message: /"acme-sso": endpoints\.token points at 127\.0\.0\.1, in the loopback range/ })
  t.throws(bad({ type: 'oidc', clientId: 'c', clientSecret: 's', endpoints: { issuer: 'https://idp.test' }, accessTokenCheck: 'trust' }), { message: /"acme-sso": accessTokenCheck must be one of auto, introspection, jwt, refuse/ })
  t.throws(bad({ type: 'github', clientId: 'c', clientSecret: 's', accessTokenCheck: 'jwt' }), { message: /"acme-sso": accessTokenCheck "jwt" is for types oidc and demo/ })
  t.throws(bad({ type: 'google', clientId: 'c', clientSecret: 's', acceptedClientIds: [''] }), { message: /"acme-sso": acceptedClientIds must be an array of non-empty strings/ })
  t.throws(bad({ type: 'facebook', clientId: 'c', clientSecret: 's', acceptedClientIds: ['x'] }), { message: /"acme-sso": acceptedClientIds applies to types google, oidc, demo and linkedin/ })
})

t.test('valid configs build, with defaults for every type', async (t) => {
  const reg = createProviderRegistry({
    google: { type: 'google', clientId: 'c', clientSecret: 's' },
    'google-oauth2': { type: 'google', clientId: 'c', clientSecret: 's' },
    facebook: { type: 'facebook', clientId: 'c', clientSecret: 's' },
    github: { type: 'github', clientId: 'c', clientSecret: 's' },
    linkedin: { type: 'linkedin', clientId: 'c', clientSecret: 's' },
    // The demo type's default issuer is on loopback: it must opt in like any other local provider.
    demo: { type: 'demo', clientId: 'c', clientSecret: 's', allowPrivateNetwork: true },
    corp: { type: 'oidc', clientId: 'c', clientSecret: 's', endpoints: { issuer: 'https://idp.example.test' } },
    twitter: { type: 'twitter', consumerKey: 'k', consumerSecret: 's' }
  })
  t.same(reg.names(), ['google', 'google-oauth2', 'facebook', 'github', 'linkedin', 'demo', 'corp', 'twitter'])
  t.equal(reg.get('nope'), undefined)
  t.match(reg.get('google'), { protocol: 'oauth2', type: 'google', name: 'google' })
  t.match(reg.get('twitter'), { protocol: 'oauth1', type: 'twitter' })
  const url = (name: string) => (reg.get(name) as { authorizeUrl (i: object): string }).authorizeUrl({ state: 's', redirectUri: 'https://app.test/cb' })
  t.match(url('google'), /^https:\/\/accounts\.google\.com\/o\/oauth2\/v2\/auth\?/)
  t.match(url('facebook'), /^https:\/\/www\.facebook\.com\/v\d+\.0\/dialog\/oauth\?/)
  t.match(url('github'), /^https:\/\/github\.com\/login\/oauth\/authorize\?/)
  t.match(url('linkedin'), /^https:\/\/www\.linkedin\.com\/oauth\/v2\/authorization\?/)
  t.match(url('demo'), /^http:\/\/127\.0\.0\.1:3001\/auth\?/)
  t.match((reg.get('twitter') as { authorizeUrl (s: string): string }).authorizeUrl('tok'), /^https:\/\/api\.twitter\.com\/oauth\/authenticate\?oauth_token=tok$/)
})
