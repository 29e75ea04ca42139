// Generates N tenant files like a real deployment's: providers, clients, instances, a flow, and every dialect.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export function tenantDocument (i: number): Record<string, unknown> {
  const id = `tenant-${i}`
  return {
    id,
    hosts: [`${id}.bench.test`],
    locales: ['en-US', 'fr-FR'],
    linking: 'verified-email',
    providers: {
      github: { type: 'github', allowPrivateNetwork: true, clientId: `gh-${i}`, clientSecret: 'secret', endpoints: { authorize: 'http://127.0.0.1:9/authorize', token: 'http://127.0.0.1:9/token', userinfo: 'http://127.0.0.1:9/user', emails: 'http://127.0.0.1:9/user/emails' } },
      twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: `tw-${i}`, consumerSecret: 'secret', endpoints: { requestToken: 'http://127.0.0.1:9/rt', authorize: 'http://127.0.0.1:9/auth', accessToken: 'http://127.0.0.1:9/at', profile: 'http://127.0.0.1:9/me' } }
    },
    clients: [{ id: `client-${i}-0123456789abcdef`, secret: 'client-secret', features: ['login_client'], redirectUris: ['https://app.test/cb'], apiKey: `apikey-${i}-0123456789abcdef`, defaultFlow: 'standard', defaultFlowVersion: '1' }],
    instances: [{ name: `inst-${i}`, apiKeys: [`syncano-key-${i}-0123456789`] }],
    flows: [{ name: 'standard', versions: [{ version: '1', locales: ['en-US', 'fr-FR'], forms: { socialRegistrationForm: { fields: [{ name: 'emailAddress', attribute: 'email', required: true }, { name: 'displayName', attribute: 'displayName' }] } } }] }],
    dialects: mounted({
      'rest-social-auth': { oauth1CallbackUrls: ['https://app.test/twitter/callback'] },
      'by-link': { linkUrl: `https://${id}.app.test/auth/link/{token}` },
      'oauth-confirm': { confirmUrl: `https://${id}.app.test/confirm/{confirmation}` },
      syncano: {},
      capture: { tokenUrls: [`https://${id}.app.test/token`] }
    }),
    email: { from: `${id} <no-reply@${id}.test>` }
  }
}

export function writeTenants (dir: string, count: number): void {
  mkdirSync(dir, { recursive: true })
  for (let i = 1; i <= count; i++) writeFileSync(path.join(dir, `tenant-${i}.json`), JSON.stringify(tenantDocument(i)))
}

// Only dialects that exist in this checkout, so the bench runs at every stage of the project.
const routesDir = new URL('../routes/', import.meta.url).pathname
function mounted (all: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(all).filter(([d]) => existsSync(path.join(routesDir, d, 'index.ts'))))
}
