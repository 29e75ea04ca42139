// Issue 20, end to end: the SDK generators users pick — openapi-typescript (+ openapi-fetch), @hey-api/openapi-ts
// (fetch client) and orval (fetch client) — each generate a client from the example tenants' published documents
// (offline, into test/artifacts/, removed afterwards), the clients compile under strict tsc with no hand edit, and the
// app code an SDK user writes with each one (DRIVERS below: only generated calls plus the documented auth line)
// completes real flows against the running server and the local peers: a magic link login and `me` with `Token`
// auth, a rest-social-auth login and `/user`, a Syncano social login and user details with the API key, Capture
// auth_native (a typed 310 with prereg_fields), register_native_traditional with the tenant's form fields and the
// traditional sign-in, /entity with the bearer access token, and oauth-confirm init.
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import openapiTS, { astToString } from 'openapi-typescript'
import { createClient as heyApi } from '@hey-api/openapi-ts'
import { generate as orval } from 'orval'
import { VERSION } from '../../app.ts'
import { loadTenantFile } from '../../tenants/loader.ts'
import { tenantOpenApi } from '../../tenants/openapi.ts'
import { TOKEN_AUTH_LINES } from '../../plugins/token-auth-scheme.ts'
import { SYNCANO_AUTH_LINE } from '../../routes/syncano/options.ts'
import { build, cookiesFrom, uniqueName } from '../helpers/build.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'
import { startSocialPeer, type SocialUser } from '../peers/social-peer.ts'

const run = promisify(execFile)
const REDIRECT = 'https://sdk-app.test/oauth/callback'
const SOCIAL_APP = { clientId: 'sdk-app', clientSecret: 'sdk-secret', redirectUris: [REDIRECT] }
const ACME_ENV = {
  ...process.env,
  ACME_GOOGLE_SECRET: 'g', ACME_FACEBOOK_SECRET: 'f', ACME_GITHUB_SECRET: 'h', ACME_LINKEDIN_SECRET: 'l', ACME_TWITTER_SECRET: 't',
  ACME_WEB_SECRET: 'w', ACME_SOCIAL_LOGIN_API_KEY: 'apikey-0123456789abcdef', ACME_SYNCANO_KEY: 'syncano-0123456789'
}

type Generator = 'openapi-typescript' | 'hey-api' | 'orval'

/** Writes the generator's client for the document at `docFile` into `out`. */
async function generateClient (gen: Generator, docFile: string, out: string): Promise<void> {
  mkdirSync(out, { recursive: true })
  if (gen === 'openapi-typescript') {
    writeFileSync(path.join(out, 'schema.ts'), astToString(await openapiTS(JSON.parse(readFileSync(docFile, 'utf8')))))
  } else if (gen === 'hey-api') {
    await heyApi({ input: docFile, output: { path: out }, plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'], logs: { level: 'silent' } } as any)
  } else {
    await orval({ input: { target: docFile }, output: { target: path.join(out, 'client.ts'), client: 'fetch', mode: 'single', prettier: false, baseUrl: { getBaseUrlFromSpecification: true } } } as any)
  }
}

/** openapi-fetch sends JSON unless told otherwise: a form body needs its Content-Type (it then serializes it). */
const FORM_LINE = "headers: { 'Content-Type': 'application/x-www-form-urlencoded' }"
/** The lines README.md documents, used verbatim by the drivers below. */
const DOCUMENTED_LINES = [TOKEN_AUTH_LINES.heyApi, TOKEN_AUTH_LINES.headers, SYNCANO_AUTH_LINE, FORM_LINE]

// What the SDK user writes, per generator: the same flows, each through the generated calls. The auth lines are the
// ones README.md ("Generating a client") documents.
const DRIVERS: Record<Generator, string> = {
  'openapi-typescript': `import createClient from 'openapi-fetch'
import type { paths } from './gen/schema.ts'

export function driver (baseUrl: string) {
  const api = createClient<paths>({ baseUrl })
  return {
    async requestLink (email: string) {
      const { response } = await api.POST('/v1/auth/by-link/link/', { body: { email } })
      return { status: response.status }
    },
    async loginWithLink (token: string, clientKey: string) {
      const { data, response } = await api.POST('/v1/auth/by-link/login/', { body: { token, client_key: clientKey } })
      return { status: response.status, token: data?.token, email: data?.email }
    },
    async me (token: string) {
      const { data, response } = await api.GET('/v1/auth/me/', { ${TOKEN_AUTH_LINES.headers} })
      return { status: response.status, email: data?.email }
    },
    async socialAuth (provider: string, code: string, redirectUri: string) {
      const { data, response } = await api.POST('/social-auth', { body: { provider, code, redirect_uri: redirectUri } })
      return { status: response.status, token: data && 'token' in data ? data.token : undefined }
    },
    async restUser (token: string) {
      const { data, response } = await api.GET('/user', { ${TOKEN_AUTH_LINES.headers} })
      return { status: response.status, email: data?.email ?? undefined }
    },
    async syncanoLogin (instance: string, backend: string, apiKey: string, accessToken: string) {
      const { data, response } = await api.POST('/v1.1/instances/{instance}/user/auth/{backend}/', { params: { path: { instance, backend } }, headers: { 'X-API-KEY': apiKey }, body: { access_token: accessToken } })
      return { status: response.status, userKey: data?.user_key, username: data?.username }
    },
    async syncanoUser (instance: string, apiKey: string, userKey: string) {
      const { data, response } = await api.GET('/v1.1/instances/{instance}/user/', { params: { path: { instance } }, headers: { 'X-API-KEY': apiKey, 'X-USER-KEY': userKey } })
      return { status: response.status, username: data?.username }
    },
    async captureAuthNative (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, token: string, registration_form: string }) {
      const { data } = await api.POST('/oauth/auth_native', { body: args, ${FORM_LINE} })
      if (!data) return { stat: 'none' }
      if (data.stat === 'ok') return { stat: data.stat, isNew: data.is_new }
      return { stat: data.stat, code: data.code, prereg: 'prereg_fields' in data ? data.prereg_fields : undefined }
    },
    async captureRegister (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, form: string, emailAddress: string, displayName: string, newPassword: string, newPasswordConfirm: string }) {
      const { data } = await api.POST('/oauth/register_native_traditional', { body: args, ${FORM_LINE} })
      if (!data) return { stat: 'none' }
      if (data.stat === 'ok') return { stat: data.stat, email: data.capture_user.email, displayName: data.capture_user.displayName, accessToken: data.access_token }
      return { stat: data.stat, code: data.code }
    },
    async captureSignIn (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, signInEmailAddress: string, currentPassword: string }) {
      const { data } = await api.POST('/oauth/auth_native_traditional', { body: args, ${FORM_LINE} })
      if (!data) return { stat: 'none' }
      if (data.stat === 'ok') return { stat: data.stat, email: data.capture_user.email, isNew: data.is_new }
      return { stat: data.stat, code: data.code }
    },
    async captureEntity (accessToken: string) {
      const { data } = await api.POST('/entity', { body: { type_name: 'user' }, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: \`Bearer \${accessToken}\` } })
      return data?.stat === 'ok' ? { stat: data.stat, email: data.result.email } : { stat: data?.stat }
    },
    async oauthInit (provider: string, language: string) {
      const { data, response } = await api.POST('/oauth/init', { body: { provider, language } })
      return { status: response.status, state: data?.state, url: data?.url }
    }
  }
}
`,
  'hey-api': `import { createClient, createConfig } from './gen/client/index.js'
import * as sdk from './gen/sdk.gen.js'

export function driver (baseUrl: string) {
  const client = createClient(createConfig({ baseUrl }))
  return {
    async requestLink (email: string) {
      const { response } = await sdk.byLinkSendLink({ client, body: { email } })
      return { status: response.status }
    },
    async loginWithLink (token: string, clientKey: string) {
      const { data, response } = await sdk.byLinkLogin({ client, body: { token, client_key: clientKey } })
      return { status: response.status, token: data?.token, email: data?.email }
    },
    async me (token: string) {
      const { data, response } = await sdk.byLinkMe({ client, ${TOKEN_AUTH_LINES.heyApi} })
      return { status: response.status, email: data?.email }
    },
    async socialAuth (provider: string, code: string, redirectUri: string) {
      const { data, response } = await sdk.restSocialAuthSocialAuth({ client, body: { provider, code, redirect_uri: redirectUri } })
      return { status: response.status, token: data && 'token' in data ? data.token : undefined }
    },
    async restUser (token: string) {
      const { data, response } = await sdk.restSocialAuthGetUser({ client, ${TOKEN_AUTH_LINES.heyApi} })
      return { status: response.status, email: data?.email ?? undefined }
    },
    async syncanoLogin (instance: string, backend: string, apiKey: string, accessToken: string) {
      const { data, response } = await sdk.syncanoUserSocialLogin({ client, path: { instance, backend }, body: { access_token: accessToken }, auth: () => apiKey })
      return { status: response.status, userKey: data?.user_key, username: data?.username }
    },
    async syncanoUser (instance: string, apiKey: string, userKey: string) {
      const { data, response } = await sdk.syncanoUserDetails({ client, path: { instance }, ${SYNCANO_AUTH_LINE} })
      return { status: response.status, username: data?.username }
    },
    async captureAuthNative (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, token: string, registration_form: string }) {
      const { data } = await sdk.captureAuthNative({ client, body: args })
      if (!data) return { stat: 'none' }
      if (data.stat === 'ok') return { stat: data.stat, isNew: data.is_new }
      return { stat: data.stat, code: data.code, prereg: 'prereg_fields' in data ? data.prereg_fields : undefined }
    },
    async captureRegister (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, form: string, emailAddress: string, displayName: string, newPassword: string, newPasswordConfirm: string }) {
      const { data } = await sdk.captureRegisterNativeTraditional({ client, body: args })
      if (!data) return { stat: 'none' }
      if (data.stat === 'ok') return { stat: data.stat, email: data.capture_user.email, displayName: data.capture_user.displayName, accessToken: data.access_token }
      return { stat: data.stat, code: data.code }
    },
    async captureSignIn (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, signInEmailAddress: string, currentPassword: string }) {
      const { data } = await sdk.captureAuthNativeTraditional({ client, body: args })
      if (!data) return { stat: 'none' }
      if (data.stat === 'ok') return { stat: data.stat, email: data.capture_user.email, isNew: data.is_new }
      return { stat: data.stat, code: data.code }
    },
    async captureEntity (accessToken: string) {
      const { data } = await sdk.captureEntity({ client, body: { type_name: 'user' }, auth: () => accessToken })
      return data?.stat === 'ok' ? { stat: data.stat, email: data.result.email } : { stat: data?.stat }
    },
    async oauthInit (provider: string, language: string) {
      const { data, response } = await sdk.oauthConfirmInit({ client, body: { provider, language } })
      return { status: response.status, state: data?.state, url: data?.url }
    }
  }
}
`,
  orval: `import * as api from './gen/client.ts'

// orval's functions call the server of the document's \`servers\` entry; \`baseUrl\` is only checked against it.
export function driver (baseUrl: string) {
  if (!api.getByLinkMeUrl().startsWith(baseUrl)) throw new Error(\`generated for \${api.getByLinkMeUrl()}\`)
  return {
    async requestLink (email: string) {
      const r = await api.byLinkSendLink({ email })
      return { status: r.status }
    },
    async loginWithLink (token: string, clientKey: string) {
      const r = await api.byLinkLogin({ token, client_key: clientKey })
      return r.status === 200 ? { status: r.status, token: r.data.token, email: r.data.email } : { status: r.status }
    },
    async me (token: string) {
      const r = await api.byLinkMe({ ${TOKEN_AUTH_LINES.headers} })
      return r.status === 200 ? { status: r.status, email: r.data.email } : { status: r.status }
    },
    async socialAuth (provider: string, code: string, redirectUri: string) {
      const r = await api.restSocialAuthSocialAuth({ provider, code, redirect_uri: redirectUri })
      return { status: r.status, token: r.status === 200 && 'token' in r.data ? r.data.token : undefined }
    },
    async restUser (token: string) {
      const r = await api.restSocialAuthGetUser({ ${TOKEN_AUTH_LINES.headers} })
      return r.status === 200 ? { status: r.status, email: r.data.email ?? undefined } : { status: r.status }
    },
    async syncanoLogin (instance: string, backend: string, apiKey: string, accessToken: string) {
      const r = await api.syncanoUserSocialLogin(instance, backend, { access_token: accessToken }, { headers: { 'X-API-KEY': apiKey } })
      return r.status === 200 ? { status: r.status, userKey: r.data.user_key, username: r.data.username } : { status: r.status }
    },
    async syncanoUser (instance: string, apiKey: string, userKey: string) {
      const r = await api.syncanoUserDetails(instance, { headers: { 'X-API-KEY': apiKey, 'X-USER-KEY': userKey } })
      return r.status === 200 ? { status: r.status, username: r.data.username } : { status: r.status }
    },
    async captureAuthNative (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, token: string, registration_form: string }) {
      const { data } = await api.captureAuthNative(args)
      if (data.stat === 'ok') return { stat: data.stat, isNew: data.is_new }
      return { stat: data.stat, code: data.code, prereg: 'prereg_fields' in data ? data.prereg_fields : undefined }
    },
    async captureRegister (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, form: string, emailAddress: string, displayName: string, newPassword: string, newPasswordConfirm: string }) {
      const { data } = await api.captureRegisterNativeTraditional(args)
      if (data.stat === 'ok') return { stat: data.stat, email: data.capture_user.email, displayName: data.capture_user.displayName, accessToken: data.access_token }
      return { stat: data.stat, code: data.code }
    },
    async captureSignIn (args: { client_id: string, flow: string, flow_version: string, locale: string, redirect_uri: string, signInEmailAddress: string, currentPassword: string }) {
      const { data } = await api.captureAuthNativeTraditional(args)
      if (data.stat === 'ok') return { stat: data.stat, email: data.capture_user.email, isNew: data.is_new }
      return { stat: data.stat, code: data.code }
    },
    async captureEntity (accessToken: string) {
      const { data } = await api.captureEntity({ type_name: 'user' }, { headers: { Authorization: \`Bearer \${accessToken}\` } })
      return data.stat === 'ok' ? { stat: data.stat, email: data.result.email } : { stat: data.stat }
    },
    async oauthInit (provider: string, language: string) {
      const r = await api.oauthConfirmInit({ provider, language })
      return r.status === 200 ? { status: r.status, state: r.data.state, url: r.data.url } : { status: r.status }
    }
  }
}
`
}

const GENERATORS = Object.keys(DRIVERS) as Generator[]
/** Each generator's client signs in its own provider accounts (GitHub for Capture and rest-social-auth, Facebook for
 *  Syncano), so the three runs never meet. */
const USER: Record<Generator, string> = { 'openapi-typescript': 'ots', 'hey-api': 'hey', orval: 'orval' }
const PEER_USERS: Record<string, SocialUser> = Object.fromEntries(Object.values(USER).flatMap((u, i) => ['gh', 'fb'].map((site, j) => {
  const login = `${u}-${site}`
  return [login, { id: String(3000 + 10 * i + j), login, name: `${u} ${site}`, firstName: u, lastName: site, emails: [{ email: `${login}@example.test`, primary: true, verified: true }] }]
})))

/** demo.json as served in these tests: its providers replaced by the local peer, `${VAR:-default}` by the default. */
function demoTenant (peer: Awaited<ReturnType<typeof startSocialPeer>>): Record<string, unknown> {
  const raw = readFileSync('tenants/demo.json', 'utf8').replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
  const { $schema, hosts, ...doc } = JSON.parse(raw)
  const endpoints = (site: 'github' | 'facebook') => site === 'github'
    ? { authorize: peer.github.authorize, token: peer.github.token, userinfo: peer.github.user, emails: peer.github.emails }
    : { authorize: peer.facebook.authorize, token: peer.facebook.token, userinfo: peer.facebook.me }
  doc.providers = Object.fromEntries((['github', 'facebook'] as const).map((site) =>
    [site, { type: site, allowPrivateNetwork: true, clientId: SOCIAL_APP.clientId, clientSecret: SOCIAL_APP.clientSecret, endpoints: endpoints(site) }]))
  return doc
}

t.test('README documents the lines the generated clients need', async (t) => {
  const readme = readFileSync('README.md', 'utf8')
  for (const line of DOCUMENTED_LINES) t.ok(readme.includes(line), `README.md shows \`${line}\``)
})

t.test('clients from three generators compile and complete every dialect\'s flow', async (t) => {
  const smtp = await startSmtpPeer()
  const social = await startSocialPeer({ clients: [SOCIAL_APP], users: PEER_USERS })
  t.teardown(async () => { await smtp.close(); await social.close() })
  const demo = demoTenant(social)
  const { url, api } = await build(t, { smtpUrl: smtp.url, tenants: [demo] })
  const base = `${url}/t/demo`
  for (const p of ['github', 'facebook']) SOCIAL_APP.redirectUris.push(`${base}/social/${p}/callback`, `${base}/oauth/callback/from/${p}`)

  const dir = path.join('test', 'artifacts', uniqueName('generators'))
  mkdirSync(dir, { recursive: true })
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The live document of the running tenant, and the acme example's document (compiled only: its providers are real).
  const demoDoc = path.join(dir, 'demo.json')
  writeFileSync(demoDoc, await (await api('/t/demo/openapi.json')).text())
  const { config: acme, errors } = await loadTenantFile('tenants/examples/acme.yaml', ACME_ENV)
  if (!acme) throw new Error(errors.map((e) => e.message).join('; '))
  const acmeDoc = path.join(dir, 'acme.json')
  writeFileSync(acmeDoc, JSON.stringify(await tenantOpenApi(acme, 'https://acme.id.example.com', VERSION)))

  const entries: string[] = []
  for (const gen of GENERATORS) {
    for (const [tenant, docFile] of [['demo', demoDoc], ['acme', acmeDoc]] as const) {
      const out = path.join(dir, gen, tenant)
      const started = Date.now()
      await generateClient(gen, docFile, path.join(out, 'gen'))
      t.ok(Date.now() - started < 60_000, `${gen} generates the ${tenant} client offline in under a minute`)
      writeFileSync(path.join(out, 'driver.ts'), DRIVERS[gen])
      entries.push(path.join(out, 'driver.ts'))
    }
  }
  // One strict tsc run over every generated client and the code written against it.
  const tsc = await run(process.execPath, [
    'node_modules/typescript/bin/tsc', '--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--allowImportingTsExtensions', '--skipLibCheck', '--types', 'node', ...entries
  ], { maxBuffer: 16 * 1024 * 1024 }).then(() => ({ code: 0, out: '' }), (e) => ({ code: e.code, out: String(e.stdout) + String(e.stderr) }))
  t.equal(tsc.code, 0, `every generated client compiles under strict tsc with no hand edit ${tsc.out}`)

  const flow = { client_id: 'demo-client-key', flow: 'standard', flow_version: '1', locale: 'en-US', redirect_uri: 'http://localhost' }
  const tokenUrl = (demo as any).dialects.capture.tokenUrls[0] as string
  /** A Capture Social Login token for `user` through the hosted round trip (as the browser does it). */
  const captureToken = async (user: string): Promise<string> => {
    const start = await api(`/t/demo/social/github/start?token_url=${encodeURIComponent(tokenUrl)}`, { redirect: 'manual' })
    const { code, state } = await social.authorize(start.headers.get('location')!, user)
    const cb = await api(`/t/demo/social/github/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`, { redirect: 'manual', headers: { cookie: cookiesFrom(start) } })
    return new URL(cb.headers.get('location')!).searchParams.get('token')!
  }

  for (const gen of GENERATORS) {
    await t.test(gen, async (t) => {
      const sdk = (await import(path.resolve(dir, gen, 'demo', 'driver.ts'))).driver(base)
      const user = USER[gen]
      const email = `${gen}@example.test`

      // by-link: request the link, read the mail, log in, call me/ with `Authorization: Token …`.
      t.same(await sdk.requestLink(email), { status: 200 }, 'by-link link/: 200 (a JSON body with its Content-Type)')
      const mail = await smtp.waitForMail(email, { timeoutMs: 10_000 })
      const linkToken = (mail.text ?? '').match(/\/_vestibule\/demo\/link\/([A-Za-z0-9_-]+)/)?.[1]
      t.ok(linkToken, 'the mail carries the link')
      const login = await sdk.loginWithLink(linkToken, 'demo-client-key')
      t.match(login, { status: 200, email, token: /\S{20,}/ })
      t.same(await sdk.me(login.token), { status: 200, email }, 'me/ with the documented Token auth line')
      t.same(await sdk.me('not-a-token'), { status: 401 }, 'a wrong token is refused')

      // Capture: auth_native for a new user is a typed 310 with the registration form filled in.
      const native = await sdk.captureAuthNative({ ...flow, token: await captureToken(`${user}-gh`), registration_form: 'socialRegistrationForm' })
      t.match(native, { stat: 'error', code: 310, prereg: { emailAddress: `${user}-gh@example.test`, firstName: user } })
      // register_native_traditional: the tenant's form fields arrive (a dropped field would be a 390).
      const regEmail = `capture-${gen}@example.test`
      const reg = await sdk.captureRegister({ ...flow, form: 'registrationForm', emailAddress: regEmail, displayName: `${gen} user`, newPassword: 'correct horse battery', newPasswordConfirm: 'correct horse battery' })
      t.match(reg, { stat: 'ok', email: regEmail, displayName: `${gen} user`, accessToken: /\S{20,}/ })
      t.match(await sdk.captureSignIn({ ...flow, signInEmailAddress: regEmail, currentPassword: 'correct horse battery' }), { stat: 'ok', email: regEmail, isNew: false })
      t.match(await sdk.captureSignIn({ ...flow, signInEmailAddress: regEmail, currentPassword: 'wrong password!' }), { stat: 'error', code: 210 })
      // /entity with the access token: CaptureAccessToken is a standard bearer scheme (hey-api fills it from \`auth\`).
      t.same(await sdk.captureEntity(reg.accessToken), { stat: 'ok', email: regEmail })
      t.match(await sdk.captureEntity('not-a-token'), { stat: 'error' })

      // rest-social-auth: the app's code exchanged (the same GitHub account Capture registered), then /user.
      const social1 = await sdk.socialAuth('github', social.codeFor('github', { userKey: `${user}-gh`, clientId: SOCIAL_APP.clientId, redirectUri: REDIRECT }), REDIRECT)
      t.match(social1, { status: 200, token: /\S{20,}/ })
      t.same(await sdk.restUser(social1.token), { status: 200, email: `${user}-gh@example.test` }, '/user with the documented Token auth line')

      // Syncano: a social login with the instance API key, then the user with both keys.
      const syn = await sdk.syncanoLogin('demo', 'facebook', 'demo-syncano-api-key', social.accessTokenFor('facebook', `${user}-fb`, SOCIAL_APP.clientId))
      t.match(syn, { status: 200, userKey: /^[0-9a-f]{40}$/, username: String })
      t.same(await sdk.syncanoUser('demo', 'demo-syncano-api-key', syn.userKey), { status: 200, username: syn.username })
      t.match(await sdk.syncanoLogin('demo', 'facebook', 'wrong-key-0123456789', 'x'), { status: 403 }, 'a wrong API key is refused')

      // oauth-confirm: init answers the state and the provider URL.
      const init = await sdk.oauthInit('github', 'en')
      t.match(init, { status: 200, state: /^[0-9a-f]{32}$/ })
      t.equal(new URL(init.url).origin, new URL(social.github.authorize).origin, 'the URL is the provider\'s')
    })
  }
})
