// Referral codes as baseapp has them: every user owns `referral_code` (GET /user), POST /social-auth's
// `referral_code` names the referrer and is checked before the provider is called (baseapp_social_auth
// serializers.py, test_facebook_when_referral_code_is_invalid), who referred whom is recorded on registration only
// (baseapp_referrals pipeline.py), and PATCH /user `referred_by_code` follows baseapp_auth UserSerializer.
import t from 'tap'
import { sql } from 'kysely'
import { build, postForm, postJson, tenantDoc } from '../helpers/build.ts'
import { SOCIAL_PEER_USERS, startSocialPeer, type SocialUser } from '../peers/social-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const person = (id: string, name: string): SocialUser => ({ id, login: name, name, firstName: name, lastName: 'Test', emails: [{ email: `${name}@example.test`, primary: true, verified: true }] })
const users = { ...SOCIAL_PEER_USERS, dave: person('2001', 'dave'), erin: person('2002', 'erin'), frank: person('2003', 'frank'), gina: person('2004', 'gina'), hal: person('2005', 'hal'), ivy: person('2006', 'ivy'), jack: person('2007', 'jack') }
let duringProviderCall: (() => Promise<void>) | null = null
const social = await startSocialPeer({
  users,
  clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT] }],
  beforeAnswer: async () => { const act = duringProviderCall; duringProviderCall = null; await act?.() }
})
t.teardown(() => social.close())
const providers = {
  facebook: { type: 'facebook', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.facebook.authorize, token: social.facebook.token, userinfo: social.facebook.me } },
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } }
}
const doc = (id: string) => tenantDoc(id, { providers, dialects: { 'rest-social-auth': {} } })
const { api, app } = await build(t, { tenants: [doc('ra'), doc('rb')] })
const db = app.db.db

const post = (body: unknown, tenant = 'ra') => api(`/t/${tenant}/social-auth`, postJson(body))
const ghCode = (user: string) => social.codeFor('github', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
const fbCode = (user: string) => social.codeFor('facebook', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
const auth = (token: string) => ({ authorization: `Token ${token}` })
const peerCalls = () => social.requests.length
async function signUp (code: string, tenant = 'ra', extra: Record<string, unknown> = {}) {
  const r = await post({ provider: 'github', code, redirect_uri: REDIRECT, ...extra }, tenant)
  if (r.status !== 200) throw new Error(`sign-up failed: ${r.status} ${await r.text()}`)
  const { token } = await r.json() as any
  const me = await (await api(`/t/${tenant}/user`, { headers: auth(token) })).json() as any
  return { token, me }
}
const referredBy = async (tenant: string, id: number) =>
  (await db.selectFrom('users').select('referred_by_id').where('tenant_id', '=', tenant).where('id', '=', String(id)).executeTakeFirstOrThrow()).referred_by_id

// alice (tenant ra) refers others; her code is also tried on tenant rb.
const alice = await signUp(ghCode('alice'))

t.test('every user has a referral code of their own, distinct, shown by GET /user', async (t) => {
  t.match(alice.me.referral_code, /^[0-9A-F]{16}$/)
  const bob = await signUp(ghCode('bob'), 'rb')
  t.not(bob.me.referral_code, alice.me.referral_code)
  const again = await (await api('/t/ra/user', { headers: auth(alice.token) })).json() as any
  t.equal(again.referral_code, alice.me.referral_code, 'stable')
})

t.test('an unknown referral code is 400 {"referral_code": ["Invalid referral code."]} and the provider is not called', async (t) => {
  const before = peerCalls()
  const users = await db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  for (const code of ['18a9sdf891203', 'NOPE', 'ABCDEF0123456789', alice.me.referral_code + '0', '../x']) {
    const r = await post({ provider: 'facebook', code: fbCode('dave'), redirect_uri: REDIRECT, referral_code: code })
    t.same([r.status, await r.json()], [400, { referral_code: ['Invalid referral code.'] }], code)
  }
  t.equal(peerCalls(), before, 'no request reached the provider')
  const after = await db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  t.equal(after.n, users.n, 'no user written')
  // With a missing field too: all serializer errors together, still before the provider.
  const r = await post({ provider: 'facebook', redirect_uri: REDIRECT, referral_code: 'NOPE' })
  t.same([r.status, await r.json()], [400, { code: ['This field is required.'], referral_code: ['Invalid referral code.'] }])
  t.equal(peerCalls(), before)
})

t.test('a code from another tenant is invalid there', async (t) => {
  const before = peerCalls()
  const r = await post({ provider: 'github', code: ghCode('erin'), redirect_uri: REDIRECT, referral_code: alice.me.referral_code }, 'rb')
  t.same([r.status, await r.json()], [400, { referral_code: ['Invalid referral code.'] }])
  t.equal(peerCalls(), before)
})

t.test('a valid code records the referrer on registration only (form body, lower case accepted)', async (t) => {
  const r = await api('/t/ra/social-auth', postForm({ provider: 'facebook', code: fbCode('dave'), redirect_uri: REDIRECT, referral_code: alice.me.referral_code.toLowerCase() }))
  t.equal(r.status, 200)
  const dave = await r.json() as any
  t.equal(dave.is_new, true)
  const daveMe = await (await api('/t/ra/user', { headers: auth(dave.token) })).json() as any
  t.equal(await referredBy('ra', daveMe.id), String(alice.me.id), 'dave was referred by alice')

  // hal registers without a code, then logs in with one: ignored.
  const hal = await signUp(ghCode('hal'))
  t.equal(await referredBy('ra', hal.me.id), null)
  const again = await post({ provider: 'github', code: ghCode('hal'), redirect_uri: REDIRECT, referral_code: alice.me.referral_code })
  t.match([again.status, await again.json()], [200, { is_new: false }])
  t.equal(await referredBy('ra', hal.me.id), null, 'a login does not record a referrer')
})

t.test('PATCH /user referred_by_code: baseapp UserSerializer rules, all-or-nothing', async (t) => {
  const frank = await signUp(ghCode('frank'))
  const patch = (body: unknown, token = frank.token) => api('/t/ra/user', { method: 'PATCH', headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify(body) })
  let r = await patch({ referred_by_code: 'NOPE', first_name: 'Frank' })
  t.same([r.status, await r.json()], [400, { referred_by_code: ['Invalid referral code.'] }])
  t.equal((await (await api('/t/ra/user', { headers: auth(frank.token) })).json() as any).first_name, 'frank', 'nothing written with the refused code')
  r = await patch({ referred_by_code: frank.me.referral_code })
  t.same([r.status, await r.json()], [400, { referred_by_code: ['You cannot refer yourself.'] }])
  const bobRb = await db.selectFrom('users').select('referral_code').where('tenant_id', '=', 'rb').executeTakeFirstOrThrow()
  r = await patch({ referred_by_code: bobRb.referral_code })
  t.same([r.status, await r.json()], [400, { referred_by_code: ['Invalid referral code.'] }], 'another tenant\'s code')
  r = await patch({ referred_by_code: alice.me.referral_code, first_name: 'Frank' })
  t.equal(r.status, 200)
  t.match(await r.json(), { first_name: 'Frank', referral_code: frank.me.referral_code })
  t.equal(await referredBy('ra', frank.me.id), String(alice.me.id))
  r = await patch({ referred_by_code: alice.me.referral_code })
  t.same([r.status, await r.json()], [400, { referred_by_code: ['You have already been referred by somebody.'] }])

  const gina = await signUp(ghCode('gina'))
  await db.updateTable('users').set({ created_at: sql`now() - interval '25 hours'` as any }).where('id', '=', String(gina.me.id)).execute()
  r = await patch({ referred_by_code: alice.me.referral_code }, gina.token)
  t.same([r.status, await r.json()], [400, { referred_by_code: ['You are no longer allowed to change who you were referred by.'] }])
  t.equal(await referredBy('ra', gina.me.id), null)
})

t.test('the referrer erased while the provider call is in flight: the account is made without a referrer, never a 500', async (t) => {
  const ivy = await signUp(ghCode('ivy'))
  duringProviderCall = async () => { await db.deleteFrom('users').where('tenant_id', '=', 'ra').where('id', '=', String(ivy.me.id)).execute() }
  const r = await post({ provider: 'facebook', code: fbCode('jack'), redirect_uri: REDIRECT, referral_code: ivy.me.referral_code })
  t.equal(r.status, 200, 'the code was valid when checked')
  const jack = await r.json() as any
  t.equal(jack.is_new, true)
  const me = await (await api('/t/ra/user', { headers: auth(jack.token) })).json() as any
  t.equal(await referredBy('ra', me.id), null, 'no referrer: it no longer exists')
})
