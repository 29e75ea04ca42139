// The real Syncano JavaScript client (the `syncano` npm package, 1.0.x, pinned in devDependencies)
// against our loopback server, unchanged: social login, the user's details, an update and a key reset,
// its error objects, and its retry on 429 + Retry-After.
import { createRequire } from 'node:module'
import t from 'tap'
import { build } from '../helpers/build.ts'
import { PROD_KEY, startPeers, syncanoTenant, USER_KEY } from './helpers.ts'

const require = createRequire(import.meta.url)
// No types ship with it; the calls below are the ones its README and src/models/user.js document.
const Syncano = require('syncano') as (config: Record<string, unknown>) => any

const peers = await startPeers()
t.teardown(() => peers.close())

// QuerySet.then takes only a success callback, so `await` on a failing QuerySet would never settle:
// .request() is its real promise, resolving to [model, raw body].
const run = async (qs: any): Promise<any> => (await qs.request())[0]

t.test('syncano-js 1.0.x: social login, user details, update, reset key', async (t) => {
  const { url } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const connection = Syncano({ baseUrl: `${url}/t/acme`, apiKey: PROD_KEY, defaults: { instanceName: 'acme-prod' } })
  const { User } = connection

  // User.please().socialLogin(query, credentials), as in seed 003's example
  const pair = peers.twitter.accessTokenFor('alice')
  const user = await run(User.please().socialLogin({ backend: 'twitter' }, { access_token: `${pair.accessToken}:${pair.accessTokenSecret}` }))
  t.equal(user.username, 'alice')
  t.match(user.user_key, USER_KEY)
  t.type(user.id, 'number')
  connection.setUserKey(user.user_key)

  // User.please().get(): with an API key and a user key (no account key) it reads /v1.1/instances/<i>/user/
  const me = await run(User.please().get({}))
  t.equal(me.id, user.id)
  t.equal(me.username, 'alice')
  t.equal(me.user_key, user.user_key)

  // User.please().update(): PATCH /user/ in the same situation
  const updated = await run(User.please().update({}, { username: 'Alice.Renamed' }))
  t.equal(updated.username, 'alice.renamed')
  t.equal((await run(User.please().get({}))).username, 'alice.renamed', 'the change holds')

  // User.please().resetKey({id}) and the model's own resetKey()
  const reset = await run(User.please().resetKey({ id: user.id }))
  t.match(reset.user_key, USER_KEY)
  t.not(reset.user_key, user.user_key)
  const stale = await User.please().get({}).request().then(() => null, (err: any) => err)
  t.equal(stale?.status, 403, 'the old key is revoked: a RequestError with the status')
  t.same(stale?.response?.body, { detail: 'You do not have permission to perform this action.' })
  connection.setUserKey(reset.user_key)
  const again = await run(User.please().get({}))
  t.equal(again.user_key, reset.user_key, 'the new key works')
  const model = await again.resetKey()
  t.match(model.user_key, USER_KEY, 'user.resetKey() on the model')
  t.not(model.user_key, reset.user_key)
})

t.test('syncano-js: a wrong API key and a rejected token surface as RequestErrors', async (t) => {
  const { url } = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const bad = Syncano({ baseUrl: `${url}/t/acme`, apiKey: 'not-a-key-of-ours', defaults: { instanceName: 'acme-prod' } })
  const err = await bad.User.please().socialLogin({ backend: 'facebook' }, { access_token: 'x' }).request().then(() => null, (e: any) => e)
  t.equal(err?.status, 403)
  t.same(err?.response?.body, { detail: 'No such API Key.' })

  const good = Syncano({ baseUrl: `${url}/t/acme`, apiKey: PROD_KEY, defaults: { instanceName: 'acme-prod' } })
  const rejected = await good.User.please().socialLogin({ backend: 'facebook' }, { access_token: 'EAABbogus' }).request().then(() => null, (e: any) => e)
  t.equal(rejected?.status, 401)
  t.same(rejected?.response?.body, { detail: 'Invalid username or password.' })
})

t.test('syncano-js waits out a 429 by its Retry-After and retries', async (t) => {
  const { url } = await build(t, { tenants: [syncanoTenant('acme', peers, { rateLimits: { login: { max: 1, timeWindow: '1 second' } } })] })
  const connection = Syncano({ baseUrl: `${url}/t/acme`, apiKey: PROD_KEY, defaults: { instanceName: 'acme-prod' } })
  const login = () => run(connection.User.please().socialLogin({ backend: 'facebook' }, { access_token: peers.social.accessTokenFor('facebook', 'alice') }))
  await login()
  const started = Date.now()
  const second = await login()
  t.match(second.user_key, USER_KEY, 'the second login went through after the retry')
  t.ok(Date.now() - started >= 500, 'after waiting for the window to pass')
})
