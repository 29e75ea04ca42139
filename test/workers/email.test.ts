// Mail delivery: a job that runs twice sends once; BullMQ delivers to a real SMTP server; and when Redis
// is down at the moment of the request, the outbox relay delivers once Redis is back.
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { deliverOutboxRow } from '../../workers/email.processor.ts'
import { EMAIL_QUEUE, emailJob } from '../../workers/email.worker.ts'
import { createMailTransport } from '../../workers/mail-transport.ts'
import { build, testDatabase, TEST_REDIS_URL, uniqueName } from '../helpers/build.ts'
import { privateRedis } from '../helpers/redis.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

const mail = (to: string) => ({ tenantId: 'a', to, from: 'A <no-reply@a.test>', subject: 'Your link', text: `hello ${to}` })

t.test('a row delivered twice (in parallel and again later) is sent once', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const { db } = await testDatabase(t)
  const transport = createMailTransport({ smtpUrl: `${smtp.url}?ignoreTLS=true` })
  t.teardown(() => transport.close())
  const outbox = createMailOutbox({ log: { warn () {} } })
  const id = await outbox.write(db, mail('twice@x.test'))
  const results = await Promise.all([deliverOutboxRow(db, transport, id), deliverOutboxRow(db, transport, id)])
  t.same(results.sort(), ['claimed-elsewhere', 'sent'])
  t.equal(await deliverOutboxRow(db, transport, id), 'already-sent')
  await smtp.waitForMail('twice@x.test')
  await new Promise((r) => setTimeout(r, 200))
  t.equal(smtp.messages.filter((m: any) => m.to.includes('twice@x.test')).length, 1)
  const row = await db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  t.ok(row.sent_at)
  t.equal(row.attempts, 1)
})

t.test('on PGlite too: a row delivered twice is sent once, with its own Message-ID and the server\'s answer', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const { db } = await testDatabase(t, 'pglite')
  const transport = createMailTransport({ smtpUrl: `${smtp.url}?ignoreTLS=true` })
  t.teardown(() => transport.close())
  const id = await createMailOutbox({ log: { warn () {} } }).write(db, mail('embedded@x.test'))
  const results = await Promise.all([deliverOutboxRow(db, transport, id), deliverOutboxRow(db, transport, id)])
  t.same(results.sort(), ['claimed-elsewhere', 'sent'])
  const got = await smtp.waitForMail('embedded@x.test')
  const row = await db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  t.match(row.message_id, /^<[0-9a-f-]{36}@vestibule>$/)
  t.equal(got.messageId, row.message_id)
  t.match(row.sent_response, /^250 /)
  t.ok(row.claim_token)
})

t.test('BullMQ worker delivers; a duplicate job for the same row sends nothing', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const prefix = uniqueName('vsttest')
  const { app } = await build(t, { tenants: [], redisUrl: TEST_REDIS_URL, redisPrefix: prefix, runWorkers: true, smtpUrl: `${smtp.url}?ignoreTLS=true` })
  const outbox = createMailOutbox({ log: { warn () {} } })
  const id = await outbox.write(app.db.db, mail('queued@x.test'))
  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(EMAIL_QUEUE, { connection: conn, prefix })
  t.teardown(async () => { await queue.obliterate({ force: true }).catch(() => {}); await queue.close(); conn.disconnect() })
  const job = emailJob(id)
  await queue.add(job.name, job.data, job.opts)
  await smtp.waitForMail('queued@x.test', { timeoutMs: 10_000 })
  // The server accepted it; the worker records that a moment later.
  for (let i = 0; i < 100; i++) {
    if ((await app.db.db.selectFrom('email_outbox').select('sent_at').where('id', '=', id).executeTakeFirstOrThrow()).sent_at) break
    await new Promise((r) => setTimeout(r, 50))
  }
  // The same row under another job id: the processor sees it sent and does nothing.
  const dup = await queue.add('deliver', { outboxId: id }, { jobId: `dup-${id}` })
  // Polled rather than awaited through QueueEvents: an event can be missed under load, a state cannot.
  let state = ''
  for (let i = 0; i < 300 && state !== 'completed' && state !== 'failed'; i++) {
    state = await dup.getState()
    if (state !== 'completed') await new Promise((r) => setTimeout(r, 100))
  }
  t.equal(state, 'completed')
  t.equal((await queue.getJob(dup.id!))?.returnvalue, 'already-sent')
  t.equal(smtp.messages.filter((m: any) => m.to.includes('queued@x.test')).length, 1)
})

t.test('Redis down when the mail is queued: the request does not fail, the relay delivers after Redis returns', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const redis = await privateRedis(t)
  const { app } = await build(t, {
    tenants: [], redisUrl: redis.url, runWorkers: true, smtpUrl: `${smtp.url}?ignoreTLS=true`,
    schedule: { relayEveryMs: 300, relayAfterSeconds: 0 }
  })
  await redis.stop()
  const id = await app.mail.write(app.db.db, mail('relay@x.test'))
  await app.mail.dispatch([id]) // must not throw with Redis down
  const pending = await app.db.db.selectFrom('email_outbox').select(['sent_at']).where('id', '=', id).executeTakeFirstOrThrow()
  t.equal(pending.sent_at, null, 'nothing sent while Redis is down')
  await redis.start()
  const got = await smtp.waitForMail('relay@x.test', { timeoutMs: 20_000 })
  t.equal(got.subject, 'Your link')
  let sentAt: Date | null = null
  for (let i = 0; i < 50 && !sentAt; i++) {
    sentAt = (await app.db.db.selectFrom('email_outbox').select(['sent_at']).where('id', '=', id).executeTakeFirstOrThrow()).sent_at
    if (!sentAt) await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(sentAt, 'marked sent')
  await new Promise((r) => setTimeout(r, 500))
  t.equal(smtp.messages.filter((m: any) => m.to.includes('relay@x.test')).length, 1, 'and sent once')
})
