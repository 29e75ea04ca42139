// PATCH /user (rest-social-auth) may move an account to another address only with a fresh token; the
// change revokes every other token of the account and mails a notice to the old address.
import t from 'tap'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { startSocialPeer } from '../peers/social-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT] }] })
t.teardown(() => social.close())
const providers = {
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } }
}
const { api, app } = await build(t, { tenants: [tenantDoc('ec', { providers, dialects: { 'rest-social-auth': {} } })] })
const db = app.db.db

async function signIn (user: string): Promise<string> {
  const code = social.codeFor('github', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
  const res = await api('/t/ec/social-auth', postJson({ provider: 'github', code, redirect_uri: REDIRECT }))
  t.equal(res.status, 200)
  return (await res.json() as any).token
}
const patch = (token: string, body: unknown) => api('/t/ec/user', { method: 'PATCH', headers: { authorization: `Token ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const mailTo = async (address: string) => (await db.selectFrom('email_outbox').select('id').where('tenant_id', '=', 'ec').where('to_address', '=', address).execute()).length

t.test('an old token cannot change the email; names still can; nothing is written', async (t) => {
  const token = await signIn('alice')
  await db.updateTable('sessions').set({ created_at: new Date(Date.now() - 301_000) }).where('tenant_id', '=', 'ec').execute()
  const res = await patch(token, { email: 'mallory@evil.test' })
  t.equal(res.status, 403)
  t.same(await res.json(), { detail: 'Sign in again to change the email address: this token is too old.' })
  const me = await (await api('/t/ec/user', { headers: { authorization: `Token ${token}` } })).json() as any
  t.equal(me.email, 'alice@example.test', 'the address is unchanged')
  t.equal(await mailTo('alice@example.test'), 0, 'no notice for a refused change')
  const names = await patch(token, { first_name: 'Al', email: 'ALICE@example.test' })
  t.equal(names.status, 200, 'the same address in another case is no change; other fields need no fresh token')
})

t.test('a fresh token changes it: other tokens revoked, this one kept, a notice to the old address', async (t) => {
  const stale = await signIn('bob')
  const fresh = await signIn('bob')
  const res = await patch(fresh, { email: 'bob.new@example.test' })
  t.equal(res.status, 200)
  t.match(await res.json(), { email: 'bob.new@example.test', email_verified: false })
  t.equal((await api('/t/ec/user', { headers: { authorization: `Token ${stale}` } })).status, 401, 'the other token is revoked')
  t.equal((await api('/t/ec/user', { headers: { authorization: `Token ${fresh}` } })).status, 200, 'the token that made the change still works')
  t.equal(await mailTo('bob@example.test'), 1, 'one notice to the old address')
  t.equal(await mailTo('bob.new@example.test'), 0, 'nothing to the new one')
  const events = await db.selectFrom('audit_events').select('type').where('tenant_id', '=', 'ec').where('type', '=', 'email-changed').execute()
  t.equal(events.length, 1)
})

t.test('an address another account holds: 400, no session revoked, no notice', async (t) => {
  const bob = await signIn('bob')
  const other = await signIn('bob')
  const notices = await mailTo('bob.new@example.test')
  const res = await patch(bob, { email: 'alice@example.test' })
  t.equal(res.status, 400)
  t.same(await res.json(), { email: ['user with this email already exists.'] })
  t.equal((await api('/t/ec/user', { headers: { authorization: `Token ${other}` } })).status, 200)
  t.equal(await mailTo('bob.new@example.test'), notices)
})
