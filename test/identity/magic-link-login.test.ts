// The magic-link login in one statement (MAGIC_LINK_LOGIN) and the hot statements as named prepared
// statements: what the statement writes, that it is the path taken (the connection holds its prepared
// statement and not the transactional path's), the cases it leaves to the transactional path, its races.
import pg from 'pg'
import t from 'tap'
import { sql } from 'kysely'
import { createTenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import { hashToken } from '../../plugins/crypto.ts'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { TEST_DATABASE_URL, testDatabase, type Engine } from '../helpers/build.ts'

const log = { info () {}, warn () {}, error () {}, debug () {} } as any
const session = { kind: 'token', clientId: 'web' } as const

async function setup (t: { teardown (fn: () => unknown): void }, engine: Engine, opts: { preparedStatements?: boolean } = {}) {
  // One connection, so pg_prepared_statements shows what this identity core prepared.
  const { db } = await testDatabase(t, engine, { poolSize: 1, ...opts })
  const identity = createTenantIdentity(db, { tenantId: 'acme', linking: 'verified-email', mail: createMailOutbox({ queue: null, runner: null, log }) })
  const link = async (email: string) => (await identity.sendMagicLink({ email, ttlSeconds: 600, compose: () => ({ from: 'a@acme.test', subject: 's', text: 't' }) })).token
  const prepared = async () => (await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db)).rows.map((r) => r.name)
  return { db, identity, link, prepared }
}

t.test('postgres: a new address, then the same address again, each in the one statement', async (t) => {
  const { db, identity, link, prepared } = await setup(t, 'postgres')
  const first = await identity.signInWithMagicLink(await link('Ann@Acme.test'), session)
  t.equal(first.kind, 'signed-in')
  if (first.kind !== 'signed-in') return
  t.equal(first.isNew, true)
  t.equal(first.user.email, 'Ann@Acme.test', 'the address as typed')
  const names = await prepared()
  t.ok(names.includes('vst_magic_link_login_1'), 'ran as the named statement (a batch of one)')
  t.notOk(names.includes('vst_consume_token'), 'the transactional path did not run')
  const user = await db.selectFrom('users').selectAll().where('id', '=', first.user.id).executeTakeFirstOrThrow()
  t.equal(user.email_verified, true)
  const s = await db.selectFrom('sessions').selectAll().where('token_hash', '=', hashToken(first.token)).executeTakeFirstOrThrow()
  t.same([s.user_id, s.kind, s.client_id, s.expires_at], [first.user.id, 'token', 'web', null])
  t.same((await db.selectFrom('audit_events').select(['type', 'data', 'client_id']).where('user_id', '=', first.user.id).execute()), [{ type: 'register', data: { method: 'magic-link' }, client_id: 'web' }], 'the statement records the event with its context, as the transactional path does')

  const again = await identity.signInWithMagicLink(await link('ann@acme.test'), session)
  t.ok(again.kind === 'signed-in' && !again.isNew && again.user.id === first.user.id, 'same account, not new')
  t.equal((await db.selectFrom('audit_events').select('type').where('type', '=', 'login').execute()).length, 1)
  t.notOk((await prepared()).includes('vst_consume_token'), 'still one statement')
  t.equal((await db.selectFrom('one_time_tokens').select('id').where('consumed_at', 'is', null).execute()).length, 0, 'both links spent')
})

t.test('postgres: a link works once, also under 20 parallel logins', async (t) => {
  const { db, identity, link } = await setup(t, 'postgres')
  const token = await link('bob@acme.test')
  const results = await Promise.all(Array.from({ length: 20 }, () => identity.signInWithMagicLink(token, session)))
  t.equal(results.filter((r) => r.kind === 'signed-in').length, 1)
  t.equal((await db.selectFrom('sessions').select('id').execute()).length, 1)
  t.same(await identity.signInWithMagicLink(token, session), { kind: 'invalid-token' })
  t.same(await identity.signInWithMagicLink('nope', session), { kind: 'invalid-token' })
})

t.test('postgres: parallel first logins of one new address with different links make one account', async (t) => {
  const { db, identity, link } = await setup(t, 'postgres')
  const tokens = await Promise.all(Array.from({ length: 8 }, () => link('cy@acme.test')))
  const results = await Promise.all(tokens.map((tk) => identity.signInWithMagicLink(tk, session)))
  t.ok(results.every((r) => r.kind === 'signed-in'), 'every link signs in')
  t.equal(results.filter((r) => r.kind === 'signed-in' && r.isNew).length, 1, 'exactly one is new')
  t.equal((await db.selectFrom('users').select('id').execute()).length, 1, 'one account')
  t.equal((await db.selectFrom('sessions').select('id').execute()).length, 8, 'a session per link')
})

t.test('postgres: an unverified holder gives the address up on the transactional path', async (t) => {
  const { db, identity, link, prepared } = await setup(t, 'postgres')
  const squatter = await db.insertInto('users').values({ tenant_id: 'acme', email: 'dee@acme.test', email_verified: false }).returning('id').executeTakeFirstOrThrow()
  const r = await identity.signInWithMagicLink(await link('dee@acme.test'), session)
  t.ok(r.kind === 'signed-in' && r.isNew && r.user.id !== squatter.id, 'a new account takes the proven address')
  t.ok((await prepared()).includes('vst_consume_token'), 'decided by the transactional path')
  const old = await db.selectFrom('users').select('email').where('id', '=', squatter.id).executeTakeFirstOrThrow()
  t.equal(old.email, null, 'released')
})

t.test('postgres: a disabled holder is refused and the link is not spent', async (t) => {
  const { db, identity, link } = await setup(t, 'postgres')
  await db.insertInto('users').values({ tenant_id: 'acme', email: 'eve@acme.test', email_verified: true, disabled_at: new Date() }).execute()
  const token = await link('eve@acme.test')
  await t.rejects(identity.signInWithMagicLink(token, session), { code: 'VST_ERR_ACCOUNT_DISABLED' })
  t.equal((await db.selectFrom('sessions').select('id').execute()).length, 0)
  t.equal((await db.selectFrom('one_time_tokens').select('id').where('consumed_at', 'is', null).execute()).length, 1, 'rolled back')
})

t.test('postgres: DATABASE_PREPARED_STATEMENTS=off sends every statement unnamed', async (t) => {
  const { identity, link, prepared } = await setup(t, 'postgres', { preparedStatements: false })
  t.equal((await identity.signInWithMagicLink(await link('fay@acme.test'), session)).kind, 'signed-in')
  t.same(await prepared(), [])
})

t.test('pglite: the same statement on the embedded engine', async (t) => {
  const { identity, link } = await setup(t, 'pglite')
  const token = await link('gus@acme.test')
  const r = await identity.signInWithMagicLink(token, session)
  t.ok(r.kind === 'signed-in' && r.isNew)
  t.same(await identity.signInWithMagicLink(token, session), { kind: 'invalid-token' })
  const again = await identity.signInWithMagicLink(await link('gus@acme.test'), session)
  t.ok(again.kind === 'signed-in' && !again.isNew)
})

t.test('postgres: the logins of one turn share one statement, each with its own answer, events and session', async (t) => {
  const { db, identity, link, prepared } = await setup(t, 'postgres')
  await db.insertInto('users').values(['old1', 'old2', 'old3'].map((n) => ({ tenant_id: 'acme', email: `${n}@acme.test`, email_verified: true }))).execute()
  const emails = ['old1', 'old2', 'old3', 'new1', 'new2', 'new1'].map((n) => `${n}@acme.test`)
  const tokens = [] as string[]
  for (const e of emails) tokens.push(await link(e))
  tokens.push(tokens[0]) // the first link twice
  tokens.push('no-such-link')
  const results = await Promise.all(tokens.map((tk) => identity.signInWithMagicLink(tk, session)))
  t.ok((await prepared()).includes('vst_magic_link_login_8'), 'eight logins, one statement of eight rows')
  t.same(results.map((r) => r.kind === 'signed-in' ? [r.user.email, r.isNew] : r.kind), [
    ['old1@acme.test', false], ['old2@acme.test', false], ['old3@acme.test', false],
    ['new1@acme.test', true], ['new2@acme.test', true], ['new1@acme.test', false], // the second link of new1: the account the first made
    'invalid-token', 'invalid-token' // the first link again (spent by its first use), and an unknown one
  ])
  const users = await db.selectFrom('users').select(['id', 'email']).execute()
  t.equal(users.length, 5, 'two new accounts, none twice')
  const events = await db.selectFrom('audit_events').select(['type', 'user_id']).where('type', 'in', ['login', 'register']).execute()
  t.same(events.map((e) => e.type).sort(), ['login', 'login', 'login', 'login', 'register', 'register'])
  const sessions = await db.selectFrom('sessions').select(['user_id', 'token_hash']).execute()
  t.same(sessions.map((s) => s.token_hash).sort(), results.flatMap((r) => (r.kind === 'signed-in' ? [hashToken(r.token)] : [])).sort(), 'a session per sign-in, for the token it returned')
  for (const r of results) if (r.kind === 'signed-in') t.equal(sessions.find((s) => s.token_hash === hashToken(r.token))?.user_id, r.user.id)
})

t.test('postgres: a batch that meets a concurrent first login elsewhere runs each login alone', async (t) => {
  const { db, identity, link, prepared } = await setup(t, 'postgres')
  const tokens = [await link('race@acme.test'), await link('calm1@acme.test'), await link('calm2@acme.test')]
  // Another writer is creating race@'s account and has not committed: the batch's insert of that address waits
  // for it, then finds the row and inserts nothing, so that login's session has no user (23502): the batch rolls back.
  const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0].s
  const other = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` })
  await other.connect()
  t.teardown(() => other.end())
  await other.query('begin')
  const winner = await other.query(`insert into users (tenant_id, email, email_verified) values ('acme', 'race@acme.test', true) returning id`)
  const pending = Promise.all(tokens.map((tk) => identity.signInWithMagicLink(tk, session)))
  await new Promise((resolve) => setTimeout(resolve, 300))
  await other.query('commit')
  const results = await pending
  t.same(results.map((r) => r.kind === 'signed-in' ? [r.user.email, r.isNew] : r.kind), [
    ['race@acme.test', false], ['calm1@acme.test', true], ['calm2@acme.test', true]
  ], 'every login signed in; race@ to the account the other writer made')
  t.equal(results[0].kind === 'signed-in' && results[0].user.id, winner.rows[0].id)
  const names = await prepared()
  t.ok(names.includes('vst_magic_link_login_1'), 'each alone')
  t.notOk(names.includes('vst_consume_token'), 'alone, each in the one statement: none needed the transactional path')
  t.equal((await db.selectFrom('users').select('id').execute()).length, 3, 'no account twice')
  t.equal((await db.selectFrom('sessions').select('id').execute()).length, 3, 'one session each, none from the rolled-back batch')
  t.equal((await db.selectFrom('one_time_tokens').select('id').where('consumed_at', 'is', null).execute()).length, 0, 'every link spent once')
  t.same((await db.selectFrom('audit_events').select('type').where('type', 'in', ['login', 'register']).execute()).map((e) => e.type).sort(), ['login', 'register', 'register'])
  const later = await Promise.all([await link('later1@acme.test'), await link('later2@acme.test'), await link('later3@acme.test')].map((tk) => identity.signInWithMagicLink(tk, session)))
  t.ok(later.every((r) => r.kind === 'signed-in'), 'the statement of four rows runs again on the connection where it failed')
})

t.test('postgres: one login\'s bad value does not fail the others of its batch (another tenant\'s here)', async (t) => {
  const { db, identity, link } = await setup(t, 'postgres')
  // A session lifetime past PostgreSQL's timestamps (22008): every login with it fails, alone or not.
  const other = createTenantIdentity(db, { tenantId: 'other', linking: 'verified-email', mail: createMailOutbox({ queue: null, runner: null, log }) })
  const otherLink = (await other.sendMagicLink({ email: 'far@other.test', ttlSeconds: 600, compose: () => ({ from: 'a@other.test', subject: 's', text: 't' }) })).token
  const mine = [await link('near1@acme.test'), await link('near2@acme.test')]
  const results = await Promise.allSettled([
    identity.signInWithMagicLink(mine[0], session),
    other.signInWithMagicLink(otherLink, { ...session, ttlSeconds: 1e15 }),
    identity.signInWithMagicLink(mine[1], session)
  ])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'], 'only the login with the bad value fails')
  t.match((results[1] as PromiseRejectedResult).reason, { code: '22008' })
  t.same(results.flatMap((r) => (r.status === 'fulfilled' && r.value.kind === 'signed-in' ? [r.value.user.email] : [])), ['near1@acme.test', 'near2@acme.test'])
  t.equal((await db.selectFrom('sessions').select('id').execute()).length, 2, 'the two sessions, nothing of the failed one')
  t.equal((await db.selectFrom('one_time_tokens').select('id').where('consumed_at', 'is', null).execute()).length, 1, 'the failed login\'s link is not spent')
})
