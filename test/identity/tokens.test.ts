// One-time tokens and sessions on both engines: single use under concurrency, expiry, tenant and purpose binding.
import t from 'tap'
import { sql } from 'kysely'
import { consumeOneTimeToken, createOneTimeToken, createUser, issueSession, peekOneTimeToken, revokeSession, revokeSessionsBySource, verifySession, verifySessionBrief } from '../../plugins/identity/index.ts'
import { hashToken } from '../../plugins/crypto.ts'
import { testDatabase, type Engine } from '../helpers/build.ts'

for (const engine of ['postgres', 'pglite'] as Engine[]) {
  t.test(engine, async (t) => {
    const { db } = await testDatabase(t, engine)

    t.test('50 parallel consumes of one token: exactly one succeeds', async (t) => {
      const { token } = await createOneTimeToken(db, { tenantId: 'a', purpose: 'magic-link', ttlSeconds: 60, data: { email: 'x@y.z' } })
      const results = await Promise.all(Array.from({ length: 50 }, () => consumeOneTimeToken(db, 'a', 'magic-link', token)))
      t.equal(results.filter((r) => r.ok).length, 1)
      t.equal(results.filter((r) => !r.ok && r.reason === 'replayed').length, 49, 'the others see a replay')
      const ok = results.find((r) => r.ok)
      t.same(ok && ok.ok && ok.row.data, { email: 'x@y.z' })
    })

    t.test('stored hashed, never in plain text', async (t) => {
      const { token, row } = await createOneTimeToken(db, { tenantId: 'a', purpose: 'magic-link', ttlSeconds: 60 })
      t.equal(row.token_hash, hashToken(token))
      const hits = await db.selectFrom('one_time_tokens').select('id').where('token_hash', '=', token).execute()
      t.equal(hits.length, 0)
    })

    t.test('bound to tenant and purpose', async (t) => {
      const { token } = await createOneTimeToken(db, { tenantId: 'a', purpose: 'magic-link', ttlSeconds: 60 })
      t.same(await consumeOneTimeToken(db, 'b', 'magic-link', token), { ok: false, reason: 'unknown' }, 'other tenant')
      t.same(await consumeOneTimeToken(db, 'a', 'oauth-state', token), { ok: false, reason: 'unknown' }, 'other purpose')
      t.ok((await consumeOneTimeToken(db, 'a', 'magic-link', token)).ok, 'still usable by its own tenant')
    })

    t.test('expired tokens are refused, and peek does not consume', async (t) => {
      const { token, row } = await createOneTimeToken(db, { tenantId: 'a', purpose: 'social-login', ttlSeconds: 60 })
      t.ok(await peekOneTimeToken(db, 'a', 'social-login', token))
      t.ok(await peekOneTimeToken(db, 'a', 'social-login', token), 'peek twice')
      await db.updateTable('one_time_tokens').set({ expires_at: sql`now() - interval '1 second'` }).where('id', '=', row.id).execute()
      t.same(await consumeOneTimeToken(db, 'a', 'social-login', token), { ok: false, reason: 'expired' })
      t.notOk(await peekOneTimeToken(db, 'a', 'social-login', token))
    })

    t.test('garbage tokens are simply unknown', async (t) => {
      t.same(await consumeOneTimeToken(db, 'a', 'magic-link', ''), { ok: false, reason: 'unknown' })
      t.same(await consumeOneTimeToken(db, 'a', 'magic-link', 'x'.repeat(5000)), { ok: false, reason: 'unknown' })
    })

    t.test('sessions: issue, verify, revoke, expire, tenant-bound', async (t) => {
      const user = await createUser(db, 'a', { email: 's@a.test' })
      const { token } = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'token' })
      const v = await verifySession(db, 'a', ['token'], token)
      t.equal(v?.user.id, user.id)
      t.equal(v?.user.email, 's@a.test')
      t.ok(v?.user.created_at instanceof Date)
      t.notOk(await verifySession(db, 'b', ['token'], token), 'not visible through another tenant')
      t.notOk(await verifySession(db, 'a', ['access'], token), 'kind-bound')
      t.ok(await revokeSession(db, 'a', token))
      t.notOk(await verifySession(db, 'a', ['token'], token), 'revoked')
      t.notOk(await revokeSession(db, 'a', token), 'revoking twice is a no-op')

      const short = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'access', ttlSeconds: 60 })
      t.ok(await verifySession(db, 'a', ['access'], short.token))
      await db.updateTable('sessions').set({ expires_at: sql`now() - interval '1 second'` }).where('id', '=', short.session.id).execute()
      t.notOk(await verifySession(db, 'a', ['access'], short.token), 'expired')

      const a1 = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'access', source: 'code-1' })
      const a2 = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'refresh', source: 'code-1' })
      t.equal((await revokeSessionsBySource(db, 'a', 'code-1')).length, 2)
      t.notOk(await verifySession(db, 'a', ['access', 'refresh'], a1.token))
      t.notOk(await verifySession(db, 'a', ['access', 'refresh'], a2.token))
    })

    t.test('the brief lookup (profile reads): same rules, a blocked account\'s live token is dead, only the brief columns', async (t) => {
      const user = await createUser(db, 'a', { email: 'brief@a.test', given_name: 'Bri' })
      const { token, session } = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'token', clientId: 'cl' })
      const v = await verifySessionBrief(db, 'a', ['token'], token)
      t.same(v, {
        session: { id: session.id, kind: 'token', client_id: 'cl' },
        user: { id: user.id, email: 'brief@a.test', email_verified: false, username: null, given_name: 'Bri', family_name: null, referral_code: user.referral_code }
      }, 'the session and the serialized columns, nothing else (no password hash, no attributes)')
      t.notOk(await verifySessionBrief(db, 'b', ['token'], token), 'tenant-bound')
      t.notOk(await verifySessionBrief(db, 'a', ['access'], token), 'kind-bound')
      t.notOk(await verifySessionBrief(db, 'a', ['token'], ''), 'empty token')
      // Blocked without the revocation (a session that escaped it): the statement itself refuses it.
      await db.updateTable('users').set({ disabled_at: sql`now()` }).where('id', '=', user.id).execute()
      t.notOk(await verifySessionBrief(db, 'a', ['token'], token), 'blocked account')
      await db.updateTable('users').set({ disabled_at: null }).where('id', '=', user.id).execute()
      t.ok(await verifySessionBrief(db, 'a', ['token'], token))
      await db.updateTable('sessions').set({ expires_at: sql`now() - interval '1 second'` }).where('id', '=', session.id).execute()
      t.notOk(await verifySessionBrief(db, 'a', ['token'], token), 'expired')
      await db.updateTable('sessions').set({ expires_at: null }).where('id', '=', session.id).execute()
      t.ok(await revokeSession(db, 'a', token))
      t.notOk(await verifySessionBrief(db, 'a', ['token'], token), 'revoked')
    })
  })
}
