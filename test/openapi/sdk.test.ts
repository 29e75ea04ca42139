// SDK users' path: generate a TypeScript client from a tenant's live OpenAPI document (openapi-typescript
// + openapi-fetch), compile it under strict tsc, and use it to complete a magic-link login and a
// rest-social-auth OAuth2 login against the running server and the local peers.
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import openapiTS, { astToString } from 'openapi-typescript'
import { build, tenantDoc, uniqueName } from '../helpers/build.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'
import { startSocialPeer } from '../peers/social-peer.ts'

const run = promisify(execFile)
const REDIRECT = 'https://sdk-app.test/oauth/callback'

// The app code an SDK user writes: only the generated types and openapi-fetch.
const CLIENT_SOURCE = `import createClient from 'openapi-fetch'
import type { paths } from './schema.ts'

export function client (baseUrl: string) {
  const api = createClient<paths>({ baseUrl })
  return {
    async requestLink (email: string) {
      const { data, error, response } = await api.POST('/v1/auth/by-link/link/', { body: { email } })
      return { status: response.status, data, error }
    },
    async loginWithLink (token: string, clientKey: string) {
      const { data, error, response } = await api.POST('/v1/auth/by-link/login/', { body: { token, client_key: clientKey } })
      return { status: response.status, token: data?.token, email: data?.email, error }
    },
    async me (token: string) {
      const { data, response } = await api.GET('/v1/auth/me/', { headers: { Authorization: \`Token \${token}\` } })
      return { status: response.status, email: data?.email }
    },
    async socialAuth (provider: string, code: string, redirectUri: string) {
      const { data, error, response } = await api.POST('/social-auth', { body: { provider, code, redirect_uri: redirectUri } })
      // 200 is either OAuth1 step 1 (oauth_token…) or a finished login ({token, is_new}): narrow it.
      const login = data && 'token' in data ? data : undefined
      return { status: response.status, token: login?.token, isNew: login?.is_new, error }
    }
  }
}
`

t.test('a generated TypeScript client compiles and completes both logins', async (t) => {
  const smtp = await startSmtpPeer()
  const social = await startSocialPeer({ clients: [{ clientId: 'sdk-app', clientSecret: 'sdk-secret', redirectUris: [REDIRECT] }] })
  t.teardown(async () => { await smtp.close(); await social.close() })
  const { url, api } = await build(t, {
    smtpUrl: smtp.url,
    tenants: [tenantDoc('sdk', {
      clients: [{ id: 'sdk-client-key' }],
      providers: { github: { type: 'github', allowPrivateNetwork: true, clientId: 'sdk-app', clientSecret: 'sdk-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } } },
      dialects: { 'rest-social-auth': {}, 'by-link': { linkUrl: 'https://sdk-app.test/auth/link/{token}' } }
    })]
  })

  const doc = await (await api('/t/sdk/openapi.json')).json()
  const dir = path.join('test', 'artifacts', uniqueName('sdk'))
  mkdirSync(dir, { recursive: true })
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(path.join(dir, 'schema.ts'), astToString(await openapiTS(doc as any)))
  writeFileSync(path.join(dir, 'client.ts'), CLIENT_SOURCE)
  const tsc = await run(process.execPath, [
    'node_modules/typescript/bin/tsc', '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--allowImportingTsExtensions', '--skipLibCheck', '--types', 'node', path.join(dir, 'client.ts')
  ]).then(() => ({ code: 0, out: '' }), (e) => ({ code: e.code, out: String(e.stdout) + String(e.stderr) }))
  t.equal(tsc.code, 0, `the generated client compiles under strict tsc ${tsc.out}`)

  const sdk = (await import(path.resolve(dir, 'client.ts'))).client(`${url}/t/sdk`)

  // Magic link: request it, read the real mail, log in, call an authenticated route.
  const link = await sdk.requestLink('sdk-user@example.test')
  t.equal(link.status, 200)
  const mail = await smtp.waitForMail('sdk-user@example.test', { timeoutMs: 10_000 })
  const token = (mail.text ?? '').match(/https:\/\/sdk-app\.test\/auth\/link\/([A-Za-z0-9_-]+)/)?.[1]
  t.ok(token, 'the mail carries the link')
  const login = await sdk.loginWithLink(token!, 'sdk-client-key')
  t.equal(login.status, 200)
  t.equal(login.email, 'sdk-user@example.test')
  t.same(await sdk.me(login.token!), { status: 200, email: 'sdk-user@example.test' })
  const replay = await sdk.loginWithLink(token!, 'sdk-client-key')
  t.equal(replay.status, 400, 'the typed client sees the documented 400')

  // rest-social-auth OAuth2: a code the app got from the provider, exchanged through the client.
  const code = social.codeFor('github', { userKey: 'alice', clientId: 'sdk-app', redirectUri: REDIRECT })
  const first = await sdk.socialAuth('github', code, REDIRECT)
  t.equal(first.status, 200)
  t.equal(first.isNew, true)
  t.match(first.token, /\S{20,}/)
  const bad = await sdk.socialAuth('myspace', 'x', REDIRECT)
  t.same({ status: bad.status, error: bad.error }, { status: 400, error: { provider: ['Invalid provider'] } })
})
