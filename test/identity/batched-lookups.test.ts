// The token lookups of concurrent requests share one statement (db/batch.ts, batchedRows): each call still gets
// exactly the answer it would get alone: its own tenant, kind, revocation, expiry and blocked-account rules,
// never a row of another call in the batch. On both engines (PGlite and transactions run each call alone).
import { sql } from 'kysely'
import t from 'tap'
import { BATCH_SIZES, Batched, batchSize, MAX_BATCH } from '../../db/batch.ts'
import { poolQueryOf } from '../../db/index.ts'
import { hashToken } from '../../plugins/crypto.ts'
import { createUser, issueSession, verifySession, verifySessionBrief } from '../../plugins/identity/index.ts'
import { VERIFY_SESSION_BRIEF } from '../../plugins/identity/statements.ts'
import { testDatabase, type Engine } from '../helpers/build.ts'

for (const engine of ['postgres', 'pglite'] as Engine[]) {
  t.test(engine, async (t) => {
    const { db } = await testDatabase(t, engine)
    const alice = await createUser(db, 'a', { email: 'alice@a.test', given_name: 'Alice' })
    const bob = await createUser(db, 'b', { email: 'bob@b.test', given_name: 'Bob' })
    const blocked = await createUser(db, 'a', { email: 'blocked@a.test' })
    const tokens = {
      aliceToken: (await issueSession(db, { tenantId: 'a', userId: alice.id, kind: 'token' })).token,
      aliceAccess: (await issueSession(db, { tenantId: 'a', userId: alice.id, kind: 'access', ttlSeconds: 600 })).token,
      bobToken: (await issueSession(db, { tenantId: 'b', userId: bob.id, kind: 'token' })).token,
      blockedToken: (await issueSession(db, { tenantId: 'a', userId: blocked.id, kind: 'token' })).token,
      revoked: (await issueSession(db, { tenantId: 'a', userId: alice.id, kind: 'token' })).token,
      expired: (await issueSession(db, { tenantId: 'a', userId: alice.id, kind: 'access', ttlSeconds: 600 })).token,
      unknown: 'no-such-token'
    }
    await db.updateTable('sessions').set({ revoked_at: sql`now()` }).where('token_hash', '=', hashToken(tokens.revoked)).execute()
    await db.updateTable('sessions').set({ expires_at: sql`now() - interval '1 second'` }).where('token_hash', '=', hashToken(tokens.expired)).execute()
    await db.updateTable('users').set({ disabled_at: sql`now()` }).where('id', '=', blocked.id).execute()

    // Every combination of tenant, kinds and token, in both lookups: 2 × 3 × 7 × 2 = 84 calls.
    const calls: Array<{ brief: boolean, tenant: string, kinds: string[], token: string }> = []
    for (const brief of [false, true]) {
      for (const tenant of ['a', 'b']) {
        for (const kinds of [['token'], ['access'], ['access', 'token']]) {
          for (const token of Object.values(tokens)) calls.push({ brief, tenant, kinds, token })
        }
      }
    }
    const lookup = (c: typeof calls[number]) => (c.brief ? verifySessionBrief(db, c.tenant, c.kinds, c.token) : verifySession(db, c.tenant, c.kinds, c.token))
    const who = (r: Awaited<ReturnType<typeof lookup>>) => r === undefined ? null : `${r.user.email} ${r.session.kind}`

    const alone: Array<string | null> = []
    for (const c of calls) alone.push(who(await lookup(c)))
    t.same(alone.filter((x) => x !== null).sort(), [
      // the full lookup leaves the blocked-account rule to TenantIdentity; the brief one has it in SQL
      'alice@a.test access', 'alice@a.test access', 'alice@a.test token', 'alice@a.test token', 'blocked@a.test token', 'blocked@a.test token', 'bob@b.test token', 'bob@b.test token',
      'alice@a.test access', 'alice@a.test access', 'alice@a.test token', 'alice@a.test token', 'bob@b.test token', 'bob@b.test token'
    ].sort(), 'one at a time: each live token through its own tenant and kinds only')

    // All at once (one event-loop turn: one statement on PostgreSQL), twice over in shuffled order, so a batch holds
    // the same token for both tenants and the same token twice.
    const order = [...calls.keys(), ...calls.keys()].sort(() => Math.random() - 0.5)
    const together = await Promise.all(order.map((k) => lookup(calls[k])))
    t.same(together.map(who), order.map((k) => alone[k]), 'each call of a batch gets the answer it got alone')
    const full = await verifySession(db, 'a', ['token'], tokens.aliceToken)
    const fromBatch = together[order.findIndex((k) => !calls[k].brief && calls[k].tenant === 'a' && calls[k].kinds.join() === 'token' && calls[k].token === tokens.aliceToken)]
    t.same(fromBatch, full, 'the whole session and user, as alone')

    t.test('inside a transaction a lookup runs alone and sees the transaction', async (t) => {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('sessions').set({ revoked_at: sql`now()` }).where('token_hash', '=', hashToken(tokens.aliceAccess)).execute()
        t.notOk(await verifySession(trx, 'a', ['access'], tokens.aliceAccess), 'revoked in this transaction')
        // (PGlite has one connection: a statement outside would wait for this transaction.)
        if (engine === 'postgres') t.ok(await verifySession(db, 'a', ['access'], tokens.aliceAccess), 'still live outside it until it commits')
        await trx.updateTable('sessions').set({ revoked_at: null }).where('token_hash', '=', hashToken(tokens.aliceAccess)).execute()
      })
    })

    t.test('a batch takes the smallest prepared size that holds it', async (t) => {
      t.same(BATCH_SIZES, [1, 2, 4, 8, 16, 32, 64, 128, 256])
      t.same([1, 2, 3, 5, 17, 256].map(batchSize), [1, 2, 4, 8, 32, 256])
      t.throws(() => batchSize(MAX_BATCH + 1))
      t.match(VERIFY_SESSION_BRIEF.text(2), /values \(\$1::text, \$2::text, \$3::text\[\], 1\), \(\$4::text, \$5::text, \$6::text\[\], 2\)\)/)
    })

    if (engine !== 'postgres') return
    const direct = poolQueryOf(db)!

    t.test('the calls of one turn go as one statement; more than MAX_BATCH as several', async (t) => {
      let statements = 0
      const counted: typeof direct = (text, values) => { statements++; return direct(text, values) }
      const read = new Batched<{ i: number, email: string }>(counted, VERIFY_SESSION_BRIEF)
      const n = MAX_BATCH * 2 + 10
      const answers = await Promise.all(Array.from({ length: n }, (_, j) => read.run(['a', hashToken(j % 2 ? tokens.aliceToken : tokens.unknown), ['token']])))
      t.equal(statements, 3, `${n} calls in one turn: 3 statements`)
      t.same(answers.map((rows) => rows.map((r) => r.email)), Array.from({ length: n }, (_, j) => (j % 2 ? ['alice@a.test'] : [])))
      statements = 0
      t.equal((await read.run(['a', hashToken(tokens.aliceToken), ['token']])).length, 1)
      t.equal((await read.run(['b', hashToken(tokens.aliceToken), ['token']])).length, 0, 'a lone call: its own statement, its own tenant')
      t.equal(statements, 2, 'a call awaited before the next is never held for it')
    })

    t.test('a failed statement fails every call of its batch, and the next batch runs', async (t) => {
      let fail = true
      const flaky: typeof direct = (text, values) => {
        if (fail) { fail = false; return Promise.reject(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' })) }
        return direct(text, values)
      }
      const read = new Batched<{ i: number }>(flaky, VERIFY_SESSION_BRIEF)
      const first = await Promise.allSettled([1, 2, 3].map(() => read.run(['a', hashToken(tokens.aliceToken), ['token']])))
      t.same(first.map((r) => r.status), ['rejected', 'rejected', 'rejected'])
      t.match((first[0] as PromiseRejectedResult).reason, { code: 'ECONNRESET' })
      t.equal((await read.run(['a', hashToken(tokens.aliceToken), ['token']])).length, 1)
      t.throws(() => read.run(['a', 'x']), /takes 3 parameters/)
    })
  })
}

t.test('PostgreSQL keeps each batch size\'s generic plan (no planning per lookup)', async (t) => {
  // One pool connection, so the prepared statements read below are the ones the lookups ran on.
  const { db } = await testDatabase(t, 'postgres', { poolSize: 1 })
  const user = await createUser(db, 'a', { email: 'plan@a.test' })
  const { token } = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'token' })
  for (let k = 0; k < 20; k++) {
    // three calls in one turn: the statement of 4 rows, with other values each time
    const found = await Promise.all([token, `x${k}`, `y${k}`].map((tk) => verifySessionBrief(db, 'a', ['token'], tk)))
    t.equal(found.filter(Boolean).length, 1)
  }
  const [plans] = await poolQueryOf(db)!<{ generic_plans: string, custom_plans: string }>(
    "select generic_plans, custom_plans from pg_prepared_statements where name = 'vst_verify_session_brief_4'", [])
  t.ok(plans, 'the statement of 4 rows was prepared on this connection')
  t.ok(Number(plans.custom_plans) <= 5 && Number(plans.generic_plans) >= 15, `generic plans ${plans.generic_plans}, custom plans ${plans.custom_plans}`)
})
