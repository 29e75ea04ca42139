// Shared fixtures for the oauth-confirm tests: peers registered with the tenant's callback URLs, the browser round trip.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/index.ts'
import { build, postJson, rawRequest, tenantDoc, type Built } from '../helpers/build.ts'
import { startHangingPeer, type HangingPeer } from '../peers/hanging-peer.ts'
import { startOAuth1Peer, type OAuth1Peer } from '../peers/oauth1-peer.ts'
import { startOidcPeer, type OidcPeer } from '../peers/oidc-peer.ts'
import { startSocialPeer, type SocialPeer } from '../peers/social-peer.ts'

export const CONFIRM_URL = 'https://app.acme.test/login/callback/{confirmation}'
export const ERROR_URL = 'https://app.acme.test/login/error'
export const CONFIRM = /^https:\/\/app\.acme\.test\/login\/callback\/([0-9a-f]{32})$/
export const STATE = /^[0-9a-f]{32}$/

/** Tenants are reached on their own host in these tests, so the public URL (and every callback) is known up front. */
export const publicUrl = (tenant: string) => `http://${tenant}.id.test`
export const callbackUrl = (tenant: string, provider: string) => `${publicUrl(tenant)}/oauth/callback/from/${provider}`

export interface Peers { social: SocialPeer, oidc: OidcPeer, twitter: OAuth1Peer, hanging: HangingPeer, close (): Promise<void> }

export async function startPeers (tenants: string[] = ['acme', 'beta']): Promise<Peers> {
  const redirects = (p: string) => tenants.map((t) => callbackUrl(t, p))
  const social = await startSocialPeer({ clients: [{ clientId: 'social-client', clientSecret: 'social-secret', redirectUris: [...redirects('github'), ...redirects('facebook')] }] })
  const oidc = await startOidcPeer({ clients: [{ clientId: 'g-client', clientSecret: 'g-secret', redirectUris: redirects('google'), tokenEndpointAuthMethod: 'client_secret_post' }] })
  const twitter = await startOAuth1Peer()
  const hanging = await startHangingPeer()
  return { social, oidc, twitter, hanging, async close () { await social.close(); await oidc.close(); await twitter.close(); await hanging.close() } }
}

export function providers (p: Peers): Record<string, unknown> {
  const { issuer, authorize, token, userinfo, jwks } = p.oidc.endpoints
  return {
    github: { type: 'github', allowPrivateNetwork: true, clientId: 'social-client', clientSecret: 'social-secret', endpoints: { authorize: p.social.github.authorize, token: p.social.github.token, userinfo: p.social.github.user, emails: p.social.github.emails } },
    facebook: { type: 'facebook', allowPrivateNetwork: true, clientId: 'social-client', clientSecret: 'social-secret', endpoints: { authorize: p.social.facebook.authorize, token: p.social.facebook.token, userinfo: p.social.facebook.me } },
    google: { type: 'google', allowPrivateNetwork: true, clientId: 'g-client', clientSecret: 'g-secret', endpoints: { issuer, authorize, token, userinfo, jwks } },
    twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'consumer-key', consumerSecret: 'consumer-secret', endpoints: p.twitter.endpoints },
    // A GitHub whose token endpoint never answers: the exchange times out (unavailable, not refused).
    'github-down': { type: 'github', allowPrivateNetwork: true, clientId: 'social-client', clientSecret: 'social-secret', timeoutMs: 300, endpoints: { authorize: p.social.github.authorize, token: p.hanging.url + '/token', userinfo: p.hanging.url + '/user' } }
  }
}

export function confirmTenant (id: string, p: Peers, options: Record<string, unknown> = { confirmUrl: CONFIRM_URL, errorUrl: ERROR_URL }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return tenantDoc(id, {
    hosts: [`${id}.id.test`],
    publicUrl: publicUrl(id),
    locales: ['en-US', 'fr-FR'],
    defaultLocale: 'en-US',
    providers: providers(p),
    dialects: { 'oauth-confirm': options },
    ...extra
  })
}

export interface Client {
  built: Built
  /** A request to the tenant on its host (the URL's own host goes in the Host header). */
  call (tenantUrl: string, init?: { method?: string, headers?: Record<string, string>, body?: string }): ReturnType<typeof rawRequest>
  init (provider: string, language: string, tenant?: string): Promise<{ state: string, url: string }>
  login (confirmation: string, tenant?: string): ReturnType<typeof rawRequest>
}

export function client (built: Built): Client {
  const call: Client['call'] = (tenantUrl, init = {}) => {
    const u = new URL(tenantUrl)
    return rawRequest(built.url + u.pathname + u.search, { ...init, headers: { host: u.host, ...init.headers } })
  }
  return {
    built,
    call,
    async init (provider, language, tenant = 'acme') {
      const res = await call(`${publicUrl(tenant)}/oauth/init`, jsonInit({ provider, language }))
      if (res.status !== 200) throw new Error(`init answered ${res.status} ${res.text}`)
      return res.json()
    },
    login: (confirmation, tenant = 'acme') => call(`${publicUrl(tenant)}/oauth/login`, jsonInit({ confirmation }))
  }
}

export function jsonInit (body: unknown): { method: string, headers: Record<string, string>, body: string } {
  const i = postJson(body)
  return { method: 'POST', headers: i.headers as Record<string, string>, body: i.body as string }
}

/** init → the peer's real login page → our callback; returns the callback's answer. */
export async function roundTrip (c: Client, peers: Peers, provider: string, user: string, language = 'fr', tenant = 'acme') {
  const { state, url } = await c.init(provider, language, tenant)
  const peer = provider === 'google' ? peers.oidc : peers.social
  const { redirect, state: echoed } = await peer.authorize(url, user)
  if (echoed !== state) throw new Error('the peer did not echo the state')
  const res = await c.call(redirect)
  return { state, url, redirect, res, location: String(res.headers.location ?? '') }
}

/** The full flow down to POST /oauth/login; returns its parsed body. */
export async function signIn (c: Client, peers: Peers, provider: string, user: string, language = 'fr', tenant = 'acme') {
  const { location } = await roundTrip(c, peers, provider, user, language, tenant)
  const m = CONFIRM.exec(location)
  if (m === null) throw new Error(`callback redirected to ${location}`)
  const res = await c.login(m[1], tenant)
  if (res.status !== 200) throw new Error(`login answered ${res.status}`)
  return { confirmation: m[1], body: res.json() }
}

export async function buildWith (t: { teardown (fn: () => unknown): void }, tenants: unknown[]): Promise<Client> {
  return client(await build(t, { tenants }))
}

export async function count (db: Kysely<Database>, table: 'users' | 'identities' | 'sessions' | 'one_time_tokens', tenantId: string): Promise<number> {
  const r = await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow()
  return Number(r.n)
}
