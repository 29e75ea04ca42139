// The provider-answer cache (baseapp_social_auth cache/models.py, cache/pipeline.py): a retry of the same code within
// the hour completes; the cached answer is bound to tenant, provider, redirect_uri and code, and stored without the code.
import t from 'tap'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { startOAuth1Peer } from '../peers/oauth1-peer.ts'
import { startSocialPeer } from '../peers/social-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const OTHER_REDIRECT = 'http://127.0.0.1:1/other'
const CALLBACK = 'http://127.0.0.1:1/twitter/callback'
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT, OTHER_REDIRECT] }] })
const oauth1 = await startOAuth1Peer({ consumers: [{ key: 'ck', secret: 'cs' }] })
t.teardown(async () => { await social.close(); await oauth1.close() })

const providers = {
  twitter: { type: 'twitter', allowPrivateNetwork: true, consumerKey: 'ck', consumerSecret: 'cs', endpoints: oauth1.endpoints },
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } }
}
const doc = (id: string) => tenantDoc(id, { providers, dialects: { 'rest-social-auth': { oauth1CallbackUrls: [CALLBACK] } } })
const { api, app } = await build(t, { tenants: [doc('one'), doc('two')] })
const db = app.db.db
const post = (body: unknown, tenant = 'one') => api(`/t/${tenant}/social-auth`, postJson(body))
const ghCode = (user: string, redirectUri = REDIRECT) => social.codeFor('github', { userKey: user, clientId: 'app', redirectUri })
const result = async (r: Response) => [r.status, await r.json()]

t.test('no_email_provided, then the same code with email added completes; a retry after success logs in', async (t) => {
  const code = ghCode('carol')
  t.same(await result(await post({ provider: 'github', code, redirect_uri: REDIRECT })), [400, { email: 'no_email_provided' }])
  const ok = await post({ provider: 'github', code, redirect_uri: REDIRECT, email: 'carol@example.test' })
  t.equal(ok.status, 200)
  t.match(await ok.json(), { token: String, is_new: true })
  const again = await post({ provider: 'github', code, redirect_uri: REDIRECT, email: 'carol@example.test' })
  t.equal(again.status, 200)
  t.match(await again.json(), { token: String, is_new: false }, 'upstream test_facebook_is_new_response_field posts the same code twice')
})

t.test('the cache row holds neither the code nor the provider token in clear', async (t) => {
  const code = ghCode('alice')
  t.equal((await post({ provider: 'github', code, redirect_uri: REDIRECT })).status, 200)
  const rows = await db.selectFrom('one_time_tokens').selectAll().where('purpose', '=', 'rsa-provider-answer').execute()
  t.ok(rows.length >= 1)
  const dump = JSON.stringify(rows)
  t.notOk(dump.includes(code), 'the code is not stored')
  t.notOk(/accessToken|gho_|access_token/.test(dump), 'the provider answer is sealed')
})

t.test('a cached code replayed from another tenant fails', async (t) => {
  const code = ghCode('bob')
  t.equal((await post({ provider: 'github', code, redirect_uri: REDIRECT })).status, 200)
  t.same(await result(await post({ provider: 'github', code, redirect_uri: REDIRECT }, 'two')), [400, { non_field_errors: 'invalid_credentials' }])
})

t.test('a cached code replayed with another redirect_uri fails', async (t) => {
  const code = ghCode('bob')
  t.equal((await post({ provider: 'github', code, redirect_uri: REDIRECT })).status, 200)
  t.same(await result(await post({ provider: 'github', code, redirect_uri: OTHER_REDIRECT })), [400, { non_field_errors: 'invalid_credentials' }])
})

t.test('a cached code replayed after its hour fails', async (t) => {
  const code = ghCode('bob')
  t.equal((await post({ provider: 'github', code, redirect_uri: REDIRECT })).status, 200)
  t.equal((await post({ provider: 'github', code, redirect_uri: REDIRECT })).status, 200, 'within the hour')
  // The hour passes (database time): every cached answer of this tenant is now older than its lifetime.
  const rows = await db.updateTable('one_time_tokens').set({ expires_at: new Date(Date.now() - 1000) })
    .where('purpose', '=', 'rsa-provider-answer').executeTakeFirst()
  t.ok(Number(rows.numUpdatedRows) >= 1)
  t.same(await result(await post({ provider: 'github', code, redirect_uri: REDIRECT })), [400, { non_field_errors: 'invalid_credentials' }])
})

t.test('OAuth1: step 1 with only the provider, then step 2 retried with email completes; a wrong secret does not', async (t) => {
  const s1 = await post({ provider: 'twitter' })
  t.equal(s1.status, 200, 'upstream test_twitter_can_perform_step1: the configured callback is used')
  const rt = await s1.json() as any
  const a = await oauth1.authorize(rt.oauth_token, 'carol')
  t.ok(a.redirect.startsWith(CALLBACK + '?'))
  const step2 = { provider: 'twitter', oauth_token: a.oauthToken, oauth_token_secret: rt.oauth_token_secret, oauth_verifier: a.oauthVerifier }
  t.same(await result(await post(step2)), [400, { email: 'no_email_provided' }])
  t.same(await result(await post({ ...step2, oauth_token_secret: 'guess', email: 'x@example.test' })), [400, { non_field_errors: 'invalid_credentials' }], 'the cache is bound to the secret')
  t.same(await result(await post(step2, 'two')), [400, { non_field_errors: 'invalid_credentials' }], 'and to the tenant')
  const ok = await post({ ...step2, email: 'carol.tw@example.test' })
  t.equal(ok.status, 200)
  t.match(await ok.json(), { token: String, is_new: true })
})
