// The returning identity's social sign-in in one statement (SOCIAL_SQL.socialLogin*, socialLoginConsuming): that it
// is the path taken (the connection holds its prepared statement and not the transactional path's lock query's
// results), that its event row equals the one the transactional path writes, and the cases it leaves to that path
// (a blocked account, a first login, a spent token, an account being erased) with nothing written.
import t from 'tap'
import { sql } from 'kysely'
import { AccountDisabledError, createTenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import { recordEvent, resolveSocialLogin, returningSocialLogin } from '../../plugins/identity/index.ts'
import { withEventContext } from '../../plugins/events/context.ts'
import { hashToken } from '../../plugins/crypto.ts'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { testDatabase, type Engine } from '../helpers/build.ts'
import { profile } from '../helpers/profiles.ts'

const log = { info () {}, warn () {}, error () {}, debug () {} } as any
const ctx = { requestId: 'req-1', clientAddress: '203.0.113.0', userAgent: 'ua/1', dialect: 'syncano' }
const EVENT = ['tenant_id', 'user_id', 'type', 'data', 'dialect', 'provider', 'client_id', 'request_id', 'client_address', 'user_agent'] as const

async function setup (t: { teardown (fn: () => unknown): void }, engine: Engine) {
  const { db } = await testDatabase(t, engine, { poolSize: engine === 'postgres' ? 1 : undefined })
  const identity = createTenantIdentity(db, { tenantId: 'acme', linking: 'reject', mail: createMailOutbox({ queue: null, runner: null, log }) })
  const events = (userId: string) => db.selectFrom('audit_events').select([...EVENT]).where('user_id', '=', userId).orderBy('id').execute()
  return { db, identity, events }
}

for (const engine of ['postgres', 'pglite'] as Engine[]) {
  t.test(`${engine}: a returning identity signs in in one statement; its event equals the transactional path's`, async (t) => {
    const { db, identity, events } = await setup(t, engine)
    const p = profile('ret-1', { email: 'ret@x.test', emailVerified: true, displayName: 'Ret' })
    const first = await identity.signInWithProfile(p, { session: { kind: 'token', clientId: 'web' } })
    t.ok(first.kind === 'signed-in' && first.isNew && first.how === 'created')
    if (first.kind !== 'signed-in') return
    const userId = first.user.id

    const again = await withEventContext(ctx, () => identity.signInWithProfile(p, { session: { kind: 'token', clientId: 'web', ttlSeconds: 3600 } }))
    t.ok(again.kind === 'signed-in' && !again.isNew && again.how === 'login' && again.user.id === userId, 'the same account, not new')
    if (again.kind !== 'signed-in') return
    t.same(again.user, await identity.getUser(userId), 'the whole user row, as getUser reads it')
    const stored = await db.selectFrom('identities').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow()
    const { profile: _raw, ...identityColumns } = stored
    t.same(again.identity, identityColumns, 'the identity, every column but the raw provider profile')
    if (engine === 'postgres') {
      const names = (await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db)).rows.map((r) => r.name)
      t.ok(names.includes('vst_social_login_session'), 'ran as the named statement')
    }
    const s = await db.selectFrom('sessions').selectAll().where('token_hash', '=', hashToken(again.token!)).executeTakeFirstOrThrow()
    t.same([s.user_id, s.kind, s.client_id, s.source, s.revoked_at], [userId, 'token', 'web', null, null])
    const ttl = (s.expires_at!.getTime() - s.created_at.getTime()) / 1000
    t.ok(ttl > 3590 && ttl < 3610, 'the session expires after its ttl')

    // What the transactional path writes for the same login: recordEvent with resolveLocked's arguments.
    await withEventContext(ctx, () => recordEvent(db, 'acme', 'login', userId, { method: 'social' }, { provider: p.providerName, client: 'web' }))
    const rows = await events(userId)
    t.equal(rows.length, 3, 'register, the one-statement login, the reference row')
    t.same(rows[1], rows[2], 'the one-statement login event has every column of the transactional path\'s')
    t.same(rows[1], { tenant_id: 'acme', user_id: userId, type: 'login', data: { method: 'social' }, dialect: 'syncano', provider: 'github', client_id: 'web', request_id: 'req-1', client_address: '203.0.113.0', user_agent: 'ua/1' })

    // resolveSocialLogin alone (and inside a transaction) takes the statement too, without a session.
    const before = await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()
    const alone = await resolveSocialLogin(db, { tenantId: 'acme', linking: 'reject', profile: p, clientId: 'cli' })
    t.ok(alone.kind === 'login' && alone.user.id === userId)
    const inTx = await db.transaction().execute((trx) => resolveSocialLogin(trx, { tenantId: 'acme', linking: 'reject', profile: p }))
    t.ok(inTx.kind === 'login' && inTx.user.id === userId)
    t.equal((await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length, before.length, 'no session without one asked for')
    const last = await events(userId)
    t.same(last.slice(-2).map((e) => [e.type, e.client_id]), [['login', 'cli'], ['login', null]])
  })

  t.test(`${engine}: a blocked account is left to the transactional path, which refuses it as before`, async (t) => {
    const { db, identity, events } = await setup(t, engine)
    const p = profile('blk-1', { email: 'blk@x.test', emailVerified: true })
    const first = await identity.signInWithProfile(p, {})
    if (first.kind !== 'signed-in') return t.fail('first login')
    await db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', first.user.id).execute()
    t.equal(await returningSocialLogin(db, 'acme', p, null, { kind: 'token', tokenHash: hashToken('x'), clientId: null, source: null, ttlSeconds: null }), null, 'the statement finds nothing')
    await t.rejects(identity.signInWithProfile(p, { session: { kind: 'token', clientId: 'web' } }), { code: new AccountDisabledError().code })
    t.same((await events(first.user.id)).map((e) => [e.type, e.data]), [['register', { method: 'social' }], ['login-failed', { method: 'social', reason: 'blocked' }]], 'no login event, the refusal recorded')
    t.equal((await db.selectFrom('sessions').select('id').where('user_id', '=', first.user.id).execute()).length, 0, 'no session')
  })

  t.test(`${engine}: signInConsuming spends the token with the login, or writes nothing`, async (t) => {
    const { db, identity, events } = await setup(t, engine)
    const p = profile('cap-1', { email: 'cap@x.test', emailVerified: true })
    const other = profile('cap-2', { providerType: 'google', providerName: 'google', email: 'cap2@x.test', emailVerified: true })
    const first = await identity.signInWithProfile(p, {})
    if (first.kind !== 'signed-in') return t.fail('first login')
    const userId = first.user.id
    await identity.attachIdentity(userId, other)
    const session = { kind: 'access', clientId: 'cap-client', ttlSeconds: 600, source: null } as const
    const mint = async () => (await identity.createToken('social-login', { ttlSeconds: 600, data: { profile: p } })).token

    const tok = await mint()
    const done = await withEventContext(ctx, () => identity.signInConsuming('social-login', tok, p, session))
    if (!done) return t.fail('signed in')
    t.same(done.user, await identity.getUser(userId), 'the whole user row')
    t.same(done.identities.map((i) => [i.provider_type, i.subject]), [['github', 'cap-1'], ['google', 'cap-2']], 'every identity, by id')
    t.same(done.lastLogin, await identity.lastSignIn(userId), 'the login event\'s time, as lastSignIn reads it')
    t.notOk(await identity.peekToken('social-login', tok), 'the token is spent')
    const s = await db.selectFrom('sessions').selectAll().where('token_hash', '=', hashToken(done.token)).executeTakeFirstOrThrow()
    t.same([s.user_id, s.kind, s.client_id, s.source], [userId, 'access', 'cap-client', null])
    const ev = (await events(userId)).at(-1)
    t.same(ev, { tenant_id: 'acme', user_id: userId, type: 'login', data: { method: 'social' }, dialect: 'syncano', provider: 'github', client_id: null, request_id: 'req-1', client_address: '203.0.113.0', user_agent: 'ua/1' }, 'the event as signInWithProfile records it when `then` issues the session')

    const count = async () => [(await events(userId)).length, (await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length]
    const n = await count()
    t.equal(await identity.signInConsuming('social-login', tok, p, session), null, 'a spent token: nothing')
    t.equal(await identity.signInConsuming('social-login', 'never-minted', p, session), null, 'an unknown token: nothing')
    const fresh = await mint()
    t.equal(await identity.signInConsuming('social-login', fresh, profile('cap-new'), session), null, 'a first login: nothing')
    t.ok(await identity.peekToken('social-login', fresh), 'and the token stays live for the transactional path')
    await db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', userId).execute()
    t.equal(await identity.signInConsuming('social-login', fresh, p, session), null, 'a blocked account: nothing')
    t.ok(await identity.peekToken('social-login', fresh), 'the token stays live')
    t.same(await count(), n, 'no event, no session written by the refusals')
    await db.updateTable('users').set({ disabled_at: null }).where('id', '=', userId).execute()

    const raced = await mint()
    const both = await Promise.all([identity.signInConsuming('social-login', raced, p, session), identity.signInConsuming('social-login', raced, p, session)])
    t.equal(both.filter((x) => x !== null).length, 1, 'two concurrent uses of one token: one signs in')
    t.same(await count(), [n[0] + 1, n[1] + 1], 'one event, one session')
  })
}

t.test('postgres: an erase that holds the account while the statement runs: the statement waits, then writes nothing', async (t) => {
  const { db } = await testDatabase(t, 'postgres')
  const identity = createTenantIdentity(db, { tenantId: 'acme', linking: 'reject', mail: createMailOutbox({ queue: null, runner: null, log }) })
  const p = profile('era-1', { email: 'era@x.test', emailVerified: true })
  const first = await identity.signInWithProfile(p, {})
  if (first.kind !== 'signed-in') return t.fail('first login')
  const userId = first.user.id
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  // As TenantUsers.erase does: the user row FOR UPDATE, then the delete (identities and sessions cascade), then commit.
  const erase = db.transaction().execute(async (tx) => {
    await tx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute()
    locked()
    await released
    await tx.deleteFrom('users').where('id', '=', userId).execute()
  })
  await isLocked
  const signIn = returningSocialLogin(db, 'acme', p, 'web', { kind: 'token', tokenHash: hashToken('erase-race'), clientId: 'web', source: null, ttlSeconds: null })
  let settled = false
  void signIn.finally(() => { settled = true })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.notOk(settled, 'the statement waits for the erase')
  release()
  await erase
  t.equal(await signIn, null, 'then finds no account and writes nothing')
  t.equal((await db.selectFrom('audit_events').select('id').where('user_id', '=', userId).where('type', '=', 'login').execute()).length, 0, 'no login event names the erased account')
  t.equal((await db.selectFrom('sessions').select('id').where('token_hash', '=', hashToken('erase-race')).execute()).length, 0, 'no session')
  const after = await identity.signInWithProfile(p, {})
  t.ok(after.kind === 'signed-in' && after.isNew && after.user.id !== userId, 'the identity went with the account: the next sign-in registers anew, as before')
})
