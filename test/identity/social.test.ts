// resolveSocialLogin on both engines: the linking rules of DESIGN 4.3 and the one-user-per-identity race.
import t from 'tap'
import { attachIdentity, createUser, resolveSocialLogin, updateUser } from '../../plugins/identity/index.ts'
import { testDatabase, type Engine } from '../helpers/build.ts'
import { profile } from '../helpers/profiles.ts'

for (const engine of ['postgres', 'pglite'] as Engine[]) {
  t.test(engine, async (t) => {
    const { db } = await testDatabase(t, engine)

    t.test('10 parallel first logins of one identity: one user, exactly one is_new', async (t) => {
      const p = profile('race-1', { email: 'race@x.test', emailVerified: true })
      const out = await Promise.all(Array.from({ length: 10 }, () => resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: p })))
      t.equal(out.filter((o) => o.kind === 'created').length, 1)
      t.equal(out.filter((o) => o.kind === 'login').length, 9)
      const ids = new Set(out.map((o) => ('user' in o ? o.user.id : null)))
      t.equal(ids.size, 1)
      const users = await db.selectFrom('users').select('id').where('tenant_id', '=', 'a').where('email', '=', 'race@x.test').execute()
      t.equal(users.length, 1)
    })

    t.test('two identities racing for one email: one account, the other is told email-in-use', async (t) => {
      const out = await Promise.all(['r-a', 'r-b', 'r-c'].map((s) => resolveSocialLogin(db, {
        tenantId: 'a', linking: 'reject', profile: profile(s, { email: 'same@x.test', emailVerified: true })
      })))
      t.equal(out.filter((o) => o.kind === 'created').length, 1)
      t.equal(out.filter((o) => o.kind === 'email-in-use').length, 2)
    })

    t.test('returning identity logs in, is_new false', async (t) => {
      const p = profile('ret-1', { email: 'ret@x.test', emailVerified: true, displayName: 'Ret' })
      const first = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: p })
      const second = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: p })
      t.equal(first.kind, 'created')
      t.equal(second.kind, 'login')
      t.equal(first.kind === 'created' && first.user.display_name, 'Ret')
    })

    t.test('linking: reject refuses, verified-email links only when both sides are verified', async (t) => {
      const owner = await createUser(db, 'a', { email: 'owner@x.test', email_verified: true })
      const verified = profile('link-1', { providerType: 'google', providerName: 'google', email: 'Owner@x.test', emailVerified: true })
      const r1 = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: verified })
      t.equal(r1.kind, 'email-in-use', 'reject: the email is in use (case-insensitive)')

      const unverified = profile('link-2', { providerType: 'facebook', providerName: 'facebook', email: 'owner@x.test', emailVerified: false })
      const r2 = await resolveSocialLogin(db, { tenantId: 'a', linking: 'verified-email', profile: unverified })
      t.equal(r2.kind, 'email-in-use', 'never link on an unverified provider email')

      const r3 = await resolveSocialLogin(db, { tenantId: 'a', linking: 'verified-email', profile: verified })
      t.equal(r3.kind, 'linked')
      t.equal(r3.kind === 'linked' && r3.user.id, owner.id)

      const loose = await createUser(db, 'a', { email: 'loose@x.test', email_verified: false })
      const r4 = await resolveSocialLogin(db, { tenantId: 'a', linking: 'verified-email', profile: profile('link-3', { email: 'loose@x.test', emailVerified: true }) })
      t.equal(r4.kind, 'email-in-use', 'never link to an account whose own email is unverified')
      await updateUser(db, 'a', loose.id, { display_name: 'x' })
      const ids = await db.selectFrom('identities').select('id').where('user_id', '=', loose.id).execute()
      t.equal(ids.length, 0, 'nothing written')
    })

    t.test('no email: no-email when required; supplied email is used but not verified', async (t) => {
      const p = profile('noemail-1')
      t.same(await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: p, requireEmail: true }), { kind: 'no-email' })
      const r = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: p, requireEmail: true, suppliedEmail: 'given@x.test', newUser: { locale: 'fr' } })
      t.equal(r.kind, 'created')
      if (r.kind === 'created') {
        t.equal(r.user.email, 'given@x.test')
        t.equal(r.user.email_verified, false)
        t.equal(r.user.locale, 'fr')
        t.match(r.user.referral_code, /^[0-9A-F]{16}$/, 'every new user gets a referral code of its own')
      }
    })

    t.test('register:false reports not-registered and writes nothing', async (t) => {
      const r = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: profile('two-step', { email: 'two@x.test' }), register: false })
      t.same(r, { kind: 'not-registered', email: 'two@x.test' })
      const n = await db.selectFrom('users').select('id').where('email', '=', 'two@x.test').execute()
      t.equal(n.length, 0)
    })

    t.test('a provider username another user holds is not taken from them', async (t) => {
      const a = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: profile('u-gh', { username: 'alice' }) })
      const b = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: profile('u-tw', { providerType: 'twitter', providerName: 'twitter', username: 'Alice' }) })
      const c = await resolveSocialLogin(db, { tenantId: 'b', linking: 'reject', profile: profile('u-gh', { username: 'alice' }) })
      t.equal(a.kind === 'created' && a.user.username, 'alice')
      t.equal(b.kind === 'created' && b.user.username, null, 'case-insensitively taken: the new account gets none')
      t.equal(c.kind === 'created' && c.user.username, 'alice', 'another tenant is another namespace')
      const racers = await Promise.all(['r1', 'r2', 'r3'].map((s) => resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: profile(s, { username: 'racer' }) })))
      t.same(racers.map((r) => r.kind), ['created', 'created', 'created'], 'a race on one username creates every account')
      t.equal(racers.filter((r) => r.kind === 'created' && r.user.username === 'racer').length, 1)
    })

    t.test('tenants do not see each other', async (t) => {
      const p = profile('cross-1', { email: 'cross@x.test', emailVerified: true })
      const a = await resolveSocialLogin(db, { tenantId: 'a', linking: 'reject', profile: p })
      const b = await resolveSocialLogin(db, { tenantId: 'b', linking: 'reject', profile: p })
      t.equal(a.kind, 'created')
      t.equal(b.kind, 'created', 'the same identity and email are new in tenant b')
      t.not(a.kind === 'created' && a.user.id, b.kind === 'created' && b.user.id)
    })

    t.test('attachIdentity merges a new identity and refuses one owned by another user', async (t) => {
      const u1 = await createUser(db, 'a', { email: 'm1@x.test' })
      const u2 = await createUser(db, 'a', { email: 'm2@x.test' })
      const p = profile('merge-1', { providerType: 'twitter', providerName: 'twitter' })
      t.equal((await attachIdentity(db, 'a', u1.id, p)).kind, 'attached')
      t.equal((await attachIdentity(db, 'a', u1.id, p)).kind, 'already-attached')
      t.equal((await attachIdentity(db, 'a', u2.id, p)).kind, 'owned-by-other')
    })
  })
}
