// Token cleanup on both engines: expired rows go, live ones stay, in bounded batches.
import t from 'tap'
import { sql } from 'kysely'
import { consumeOneTimeToken, createOneTimeToken, createUser, issueSession, revokeSession, verifySession } from '../../plugins/identity/index.ts'
import { cleanupExpired } from '../../workers/cleanup.processor.ts'
import { testDatabase, type Engine } from '../helpers/build.ts'

for (const engine of ['postgres', 'pglite'] as Engine[]) {
  t.test(engine, async (t) => {
    const { db } = await testDatabase(t, engine)
    const user = await createUser(db, 'a', { email: 'c@x.test' })

    const live = await createOneTimeToken(db, { tenantId: 'a', purpose: 'magic-link', ttlSeconds: 600 })
    const liveSession = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'token' })
    const liveAccess = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'access', ttlSeconds: 600 })
    // 23 expired tokens (more than two batches of 10), an expired and a revoked session, all past retention.
    for (let i = 0; i < 23; i++) await createOneTimeToken(db, { tenantId: i % 2 ? 'a' : 'b', purpose: 'oauth-state', ttlSeconds: 60 })
    await db.updateTable('one_time_tokens').set({ expires_at: sql`now() - interval '2 hours'` }).where('purpose', '=', 'oauth-state').execute()
    const dead = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'access', ttlSeconds: 60 })
    await db.updateTable('sessions').set({ expires_at: sql`now() - interval '2 days'` }).where('id', '=', dead.session.id).execute()
    const revoked = await issueSession(db, { tenantId: 'a', userId: user.id, kind: 'token' })
    await revokeSession(db, 'a', revoked.token)
    await db.updateTable('sessions').set({ revoked_at: sql`now() - interval '2 days'` }).where('id', '=', revoked.session.id).execute()
    // Recently expired: kept for the retention window, so a replay still reads as "replayed".
    const recent = await createOneTimeToken(db, { tenantId: 'a', purpose: 'authorization-code', ttlSeconds: 60 })
    await consumeOneTimeToken(db, 'a', 'authorization-code', recent.token)
    await db.updateTable('one_time_tokens').set({ expires_at: sql`now() - interval '1 minute'` }).where('id', '=', recent.row.id).execute()

    // Outbox: two rows sent 8 days ago go; one sent an hour ago and one never sent (still owed) stay.
    const mail = (subject: string, sentAgo: string | null, createdAgo = '8 days') => db.insertInto('email_outbox').values({
      tenant_id: 'a', to_address: 'c@x.test', from_address: 'n@x.test', subject, text_body: '',
      created_at: sql`now() - ${createdAgo}::interval`, sent_at: sentAgo === null ? null : sql`now() - ${sentAgo}::interval`
    }).execute()
    await mail('old-1', '8 days'); await mail('old-2', '8 days'); await mail('recent', '1 hour'); await mail('unsent', null)

    const r = await cleanupExpired(db, { batchSize: 10, pauseMs: 0 })
    t.same(r, { oneTimeTokens: 23, sessions: 2, outbox: 2, events: 0, webhookDeliveries: 0, batches: 10 }, '10 + 10 + 3 + 0 tokens, then 2 + 0 sessions, then 2 + 0 outbox rows, no events or deliveries')
    t.same((await db.selectFrom('email_outbox').select('subject').orderBy('id').execute()).map((x) => x.subject), ['recent', 'unsent'], 'sent rows past retention go; recent and unsent ones stay')

    const left = await db.selectFrom('one_time_tokens').select('purpose').orderBy('id').execute()
    t.same(left.map((x) => x.purpose), ['magic-link', 'authorization-code'])
    t.ok(await verifySession(db, 'a', ['token'], liveSession.token), 'a live session survives')
    t.ok(await verifySession(db, 'a', ['access'], liveAccess.token), 'an unexpired access token survives')
    t.ok((await consumeOneTimeToken(db, 'a', 'magic-link', live.token)).ok, 'a live token still works')
    t.same(await cleanupExpired(db, { batchSize: 10, pauseMs: 0 }), { oneTimeTokens: 0, sessions: 0, outbox: 0, events: 0, webhookDeliveries: 0, batches: 5 }, 'nothing left to do: one empty batch per table')
  })
}
