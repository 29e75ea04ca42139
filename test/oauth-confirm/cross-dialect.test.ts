// One identity, two dialects: a user made through syncano is the user oauth-confirm finds, and the other way round.
import t from 'tap'
import { getUserByUuid } from '../../plugins/identity/index.ts'
import { buildWith, confirmTenant, count, providers, publicUrl, signIn, startPeers } from './helpers.ts'

const peers = await startPeers(['acme', 'other'])
t.teardown(() => peers.close())

const API_KEY = 'acme-prod-key-0123456789'
const tenant = (id: string) => confirmTenant(id, peers, undefined, {
  instances: [{ name: 'acme-prod', apiKeys: [API_KEY] }],
  dialects: { 'oauth-confirm': { confirmUrl: 'https://app.acme.test/login/callback/{confirmation}', errorUrl: 'https://app.acme.test/login/error' }, syncano: {} },
  providers: providers(peers)
})

t.test('syncano first, then oauth-confirm: one user', async (t) => {
  const c = await buildWith(t, [tenant('acme')])
  const db = c.built.app.db.db
  const res = await c.call(`${publicUrl('acme')}/v1.1/instances/acme-prod/user/auth/github/`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify({ access_token: peers.social.accessTokenFor('github', 'alice') })
  })
  t.equal(res.status, 200)
  const syncanoUser = res.json()

  const { body } = await signIn(c, peers, 'github', 'alice', 'fr')
  t.equal(body.account.isNew, false, 'oauth-confirm logs the existing user in')
  const user = await getUserByUuid(db, 'acme', body.account.id)
  t.equal(Number(user?.id), syncanoUser.id, 'the same account')
  t.equal(body.account.username, 'alice')
  t.equal(body.account.language, 'fr', 'an account without a language takes the one chosen at init')
  t.equal(await count(db, 'users', 'acme'), 1)
  t.equal(await count(db, 'identities', 'acme'), 1)
})

t.test('oauth-confirm first, then syncano: one user', async (t) => {
  const c = await buildWith(t, [tenant('acme'), tenant('other')])
  const db = c.built.app.db.db
  const { body } = await signIn(c, peers, 'facebook', 'carol', 'en')
  const login = (tenantId: string) => c.call(`${publicUrl(tenantId)}/v1.1/instances/acme-prod/user/auth/facebook/`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify({ access_token: peers.social.accessTokenFor('facebook', 'carol') })
  })
  const res = await login('acme')
  t.equal(res.status, 200)
  const user = await getUserByUuid(db, 'acme', body.account.id)
  t.equal(res.json().id, Number(user?.id), 'syncano finds the account oauth-confirm created')
  t.match(res.json().username, /^user_\d{17}_0$/, 'Facebook has no username: one is generated and kept')
  t.equal(await count(db, 'users', 'acme'), 1)

  const again = await signIn(c, peers, 'facebook', 'carol', 'en')
  t.equal(again.body.account.username, res.json().username, 'oauth-confirm now shows that username')

  // The same identity in another tenant is another user: tenants never share accounts. (carol's Facebook
  // account has no email, which syncano refuses for a new account, as the platform does: she signs up
  // there through oauth-confirm first.)
  const refused = await login('other')
  t.same([refused.status, refused.json()], [400, { detail: 'Invalid social scope, missing email.' }])
  await signIn(c, peers, 'facebook', 'carol', 'en', 'other')
  const elsewhere = await login('other')
  t.equal(elsewhere.status, 200)
  t.not(elsewhere.json().id, res.json().id)
  t.equal(await count(db, 'users', 'other'), 1)
})
