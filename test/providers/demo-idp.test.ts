// The demo IdP: discovery, its login page, and a full code flow through the `demo` provider type.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startDemoIdp } from '../../plugins/providers/demo-idp.ts'
import { createProviderRegistry, type OAuth2Provider } from '../../plugins/providers/index.ts'
import { Browser } from '../peers/browser.ts'

const REDIRECT = 'http://127.0.0.1:1/demo/callback'
const idp = await startDemoIdp({ port: 0, clients: [{ clientId: 'demo-client', clientSecret: 'demo-secret', redirectUris: [REDIRECT] }] })
t.teardown(() => idp.close())

t.test('discovery document is served for the issuer', async (t) => {
  const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`)
  t.equal(res.status, 200)
  const doc = await res.json() as Record<string, unknown>
  t.equal(doc.issuer, idp.issuer)
  t.equal(doc.authorization_endpoint, `${idp.issuer}/auth`)
  t.equal(doc.jwks_uri, `${idp.issuer}/jwks`)
})

t.test('a person picks a demo account and the app gets a verified profile', async (t) => {
  const demo = createProviderRegistry({ demo: { type: 'demo', allowPrivateNetwork: true, clientId: 'demo-client', clientSecret: 'demo-secret', endpoints: { issuer: idp.issuer } } }).get('demo') as OAuth2Provider
  const codeVerifier = randomBytes(32).toString('base64url')
  const nonce = randomBytes(8).toString('hex')
  const url = demo.authorizeUrl({ state: 'demo-state', redirectUri: REDIRECT, codeVerifier, nonce })
  const pages: string[] = []
  const { params } = await new Browser().follow(url, REDIRECT, (fields, html) => {
    pages.push(html)
    return { ...fields, account: 'demo-grace' }
  })
  t.equal(pages.length, 1, 'one login page, no consent screen')
  t.match(pages[0], /Continue as Ada Lovelace/)
  t.match(pages[0], /Continue as Grace Hopper/)
  t.equal(params.get('state'), 'demo-state')
  const tokens = await demo.exchangeCode({ code: params.get('code') ?? '', redirectUri: REDIRECT, codeVerifier })
  if (!tokens.ok) throw new Error(tokens.detail)
  const p = await demo.profileFromTokens(tokens.value, { nonce })
  t.match(p, { ok: true, value: { providerType: 'demo', subject: 'demo-grace', issuer: idp.issuer, email: 'grace@demo.vestibule.test', emailVerified: true, givenName: 'Grace' } })
})

t.test('an unknown account is not accepted and the page is shown again', async (t) => {
  const demo = createProviderRegistry({ demo: { type: 'demo', allowPrivateNetwork: true, clientId: 'demo-client', clientSecret: 'demo-secret', endpoints: { issuer: idp.issuer } } }).get('demo') as OAuth2Provider
  let tries = 0
  await t.rejects(new Browser().follow(demo.authorizeUrl({ state: 's', redirectUri: REDIRECT }), REDIRECT, (fields) => {
    tries++
    return { ...fields, account: 'mallory' }
  }), /too many hops/)
  t.ok(tries > 1)
})

t.test('startDemoIdp refuses an empty client list', async (t) => {
  await t.rejects(startDemoIdp({ port: 0, clients: [] }), /clients/)
})
