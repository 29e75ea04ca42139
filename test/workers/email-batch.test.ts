// Batch claims (workers/email.processor.ts claimDueBatch / deliverDueBatch, and the pump beside the
// BullMQ worker): two workers claiming at once take different rows, each row with its own claim token,
// a batch never takes a row under a live claim or a retry, a refused send releases its claim, and a
// worker's sends in flight stay within its concurrency.
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { claimDueBatch, deliverDueBatch, deliverOutboxRow } from '../../workers/email.processor.ts'
import { EMAIL_QUEUE, emailJob, startEmailWorker } from '../../workers/email.worker.ts'
import { createMailTransport, type MailTransport } from '../../workers/mail-transport.ts'
import { testDatabase, TEST_REDIS_URL, uniqueName } from '../helpers/build.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

const mail = (to: string) => ({ tenantId: 'a', to, from: 'A <no-reply@a.test>', subject: 'Your link', text: `hello ${to}` })
const quiet = { info () {}, warn () {}, error () {} }

t.test('two batches at once take different rows; each row is sent once, with its own token; its job then sends nothing', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const { db } = await testDatabase(t)
  const transport = createMailTransport({ smtpUrl: `${smtp.url}?ignoreTLS=true`, maxConnections: 4 })
  t.teardown(() => transport.close())
  const outbox = createMailOutbox({ log: { warn () {} } })
  const ids: string[] = []
  for (let i = 0; i < 60; i++) ids.push(await outbox.write(db, mail(`b${i}@x.test`)))
  const [a, b] = await Promise.all([deliverDueBatch(db, transport, 40), deliverDueBatch(db, transport, 40)])
  t.equal(a.claimed + b.claimed, 60, 'every row claimed by exactly one of the two batches')
  t.equal(a.sent + b.sent, 60)
  t.same(await deliverDueBatch(db, transport, 40), { claimed: 0, sent: 0 }, 'nothing left for a third batch')
  for (const id of ids) t.equal(await deliverOutboxRow(db, transport, id), 'already-sent')
  await new Promise((r) => setTimeout(r, 300))
  for (let i = 0; i < 60; i++) t.equal(smtp.messages.filter((m) => m.to.includes(`b${i}@x.test`)).length, 1, `b${i} once`)
  const rows = await db.selectFrom('email_outbox').select(['claim_token', 'attempts', 'sent_at']).execute()
  t.equal(new Set(rows.map((r) => r.claim_token)).size, 60, 'one claim token per row')
  t.ok(rows.every((r) => r.attempts === 1 && r.sent_at))
})

t.test('a batch leaves rows under a live claim and retries alone; a refused send releases its claim and is not taken again', async (t) => {
  let refuse = true
  const smtp = await startSmtpPeer({ onMailFrom: async () => { if (refuse) throw Object.assign(new Error('try later'), { responseCode: 451 }) } })
  t.teardown(() => smtp.close())
  const { db } = await testDatabase(t)
  const transport = createMailTransport({ smtpUrl: `${smtp.url}?ignoreTLS=true` })
  t.teardown(() => transport.close())
  const outbox = createMailOutbox({ log: { warn () {} } })
  const held = await outbox.write(db, mail('held@x.test'))
  const retry = await outbox.write(db, mail('retry@x.test'))
  const fresh = await outbox.write(db, mail('fresh@x.test'))
  await db.updateTable('email_outbox').set({ claimed_at: new Date(), claim_token: 'someone-else', attempts: 1 }).where('id', '=', held).execute()
  await db.updateTable('email_outbox').set({ attempts: 1 }).where('id', '=', retry).execute()
  t.same(await deliverDueBatch(db, transport, 10), { claimed: 1, sent: 0 }, 'only the fresh row, and its send was refused')
  const row = await db.selectFrom('email_outbox').selectAll().where('id', '=', fresh).executeTakeFirstOrThrow()
  t.equal(row.claimed_at, null, 'the refused send released its claim')
  t.equal(row.sent_at, null)
  t.match(row.last_error, /try later/)
  refuse = false
  t.same(await claimDueBatch(db, 10), [], 'a retry is its job\'s (with backoff), not the next batch\'s')
  const heldRow = await db.selectFrom('email_outbox').select(['claim_token']).where('id', '=', held).executeTakeFirstOrThrow()
  t.equal(heldRow.claim_token, 'someone-else', 'the live claim is untouched')
  t.equal(await deliverOutboxRow(db, transport, fresh), 'sent', 'the job sends it')
  t.equal(smtp.messages.length, 1)
})

t.test('the worker\'s pump and its jobs deliver every row once, with at most `concurrency` sends in flight', async (t) => {
  const smtp = await startSmtpPeer({ acceptDelayMs: 20 })
  t.teardown(() => smtp.close())
  const { db } = await testDatabase(t)
  const inner = createMailTransport({ smtpUrl: `${smtp.url}?ignoreTLS=true`, maxConnections: 8 })
  t.teardown(() => inner.close())
  // One counting transport per worker: what each worker has in flight at once.
  let sends = 0
  const counted = () => {
    const c = { inFlight: 0, most: 0 }
    const transport: MailTransport = {
      kind: 'smtp',
      async send (row) {
        sends++
        c.most = Math.max(c.most, ++c.inFlight)
        try { return await inner.send(row) } finally { c.inFlight-- }
      },
      close () {}
    }
    return { c, transport }
  }
  const per = [counted(), counted()]
  const outbox = createMailOutbox({ log: { warn () {} } })
  const ids: string[] = []
  for (let i = 0; i < 80; i++) ids.push(await outbox.write(db, mail(`w${i}@x.test`)))
  const prefix = uniqueName('vsttest')
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(EMAIL_QUEUE, { connection, prefix })
  t.teardown(async () => { await queue.obliterate({ force: true }).catch(() => {}); await queue.close(); connection.disconnect() })
  await queue.addBulk(ids.map(emailJob))
  const workers = per.map((p) => startEmailWorker({ connection, prefix, db, transport: p.transport, log: quiet, concurrency: 4 }))
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && (await queue.getJobCounts('completed')).completed < 80) await new Promise((r) => setTimeout(r, 100))
  await Promise.all(workers.map((w) => w.close()))
  t.equal((await queue.getJobCounts('completed')).completed, 80, 'every job ended')
  const unsent = await db.selectFrom('email_outbox').select('id').where('sent_at', 'is', null).execute()
  t.equal(unsent.length, 0, 'every row marked sent')
  t.equal(sends, 80, 'one send per row')
  t.equal(smtp.messages.length, 80)
  for (const [i, p] of per.entries()) t.ok(p.c.most <= 4, `worker ${i}: sends in flight within its concurrency of 4 (most ${p.c.most})`)
})
