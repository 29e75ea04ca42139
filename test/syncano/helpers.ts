// Shared fixtures for the syncano tests: peers, a tenant document wired to them, and the expected user object.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/index.ts'
import { startOAuth1Peer, type OAuth1Peer } from '../peers/oauth1-peer.ts'
import { startOidcPeer, type OidcPeer } from '../peers/oidc-peer.ts'
import { startSocialPeer, type SocialPeer } from '../peers/social-peer.ts'
import { startHangingPeer, type HangingPeer } from '../peers/hanging-peer.ts'
import { tenantDoc } from '../helpers/build.ts'

export const PROD_KEY = 'prod-key-0123456789abcdef'
export const PROD_KEY_2 = 'prod-key-second-0123456789'
export const DEV_KEY = 'dev-key-0123456789abcdef'

export interface Peers { social: SocialPeer, oidc: OidcPeer, twitter: OAuth1Peer, hanging: HangingPeer, close (): Promise<void> }

export async function startPeers (): Promise<Peers> {
  const social = await startSocialPeer()
  const oidc = await startOidcPeer({ clients: [{ clientId: 'g-client', clientSecret: 'g-secret', redirectUris: ['http://127.0.0.1:1/cb'], tokenEndpointAuthMethod: 'client_secret_post' }] })
  const twitter = await startOAuth1Peer()
  const hanging = await startHangingPeer()
  return {
    social, oidc, twitter, hanging,
    async close () { await social.close(); await oidc.close(); await twitter.close(); await hanging.close() }
  }
}

export function providers (p: Peers): Record<string, unknown> {
  const { issuer, authorize, token, userinfo, jwks, tokeninfo } = p.oidc.endpoints
  return {
    facebook: { type: 'facebook', allowPrivateNetwork: true, clientId: 'social-client', clientSecret: 'social-secret', endpoints: { authorize: p.social.facebook.authorize, token: p.social.facebook.token, userinfo: p.social.facebook.me } },
    github: { type: 'github', allowPrivateNetwork: true, clientId: 'social-client', clientSecret: 'social-secret', endpoints: { authorize: p.social.github.authorize, token: p.social.github.token, userinfo: p.social.github.user, emails: p.social.github.emails } },
    'google-oauth2': { type: 'google', allowPrivateNetwork: true, clientId: 'g-client', clientSecret: 'g-secret', endpoints: { issuer, authorize, token, userinfo, jwks, introspection: tokeninfo } },
    // LinkedIn's OpenID Connect userinfo and its token introspection, played by the OIDC peer.
    linkedin: { type: 'linkedin', allowPrivateNetwork: true, clientId: 'g-client', clientSecret: 'g-secret', endpoints: { issuer, authorize, token, userinfo, introspection: p.oidc.endpoints.introspection } },
    twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'consumer-key', consumerSecret: 'consumer-secret', endpoints: p.twitter.endpoints },
    // A Facebook whose Graph API never answers: the provider times out (unavailable, not bad credentials).
    'facebook-down': { type: 'facebook', allowPrivateNetwork: true, clientId: 'social-client', clientSecret: 'social-secret', timeoutMs: 300, endpoints: { authorize: p.hanging.url + '/dialog', token: p.hanging.url + '/token', userinfo: p.hanging.url + '/me' } }
  }
}

export function syncanoTenant (id: string, p: Peers, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return tenantDoc(id, {
    providers: providers(p),
    instances: [{ name: 'acme-prod', apiKeys: [PROD_KEY, PROD_KEY_2] }, { name: 'acme-dev', apiKeys: [DEV_KEY] }],
    dialects: { syncano: {} },
    ...extra
  })
}

export const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/
export const USER_KEY = /^[0-9a-f]{40}$/

/** The seed's user object for `id` in `instance`, with the random parts taken from `got` once they passed t.match. */
export function expectedUser (got: any, id: number, instance: string, username: string): Record<string, unknown> {
  const self = `/v1.1/instances/${instance}/users/${id}/`
  return {
    username,
    user_key: got.user_key,
    profile: {
      channel_room: null,
      group: null,
      links: { owner: self },
      group_permissions: 'none',
      created_at: got.profile.created_at,
      owner_permissions: 'full',
      updated_at: got.profile.updated_at,
      id,
      avatar: null,
      owner: id,
      other_permissions: 'none',
      channel: null,
      revision: 1
    },
    id,
    links: { self, 'reset-key': `${self}reset_key/`, groups: `${self}groups/` }
  }
}

export async function countUsers (db: Kysely<Database>, tenantId: string): Promise<number> {
  const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow()
  return Number(r.n)
}
