// Mail across worker crashes: a real worker process is killed (SIGKILL) at each step of a delivery
// and another one started. Killed after claiming the row but before the SMTP server accepted: the
// mail arrives once (after the claim's lease). Killed after the server accepted but before the row
// was marked sent: the mail arrives twice, both with the row's one Message-ID — the one instant
// docs/operations.md documents as at-least-once. Killed after marking: once, and never again.
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type pg from 'pg'
import { createDatabase, migrateToLatest, type DatabaseHandle } from '../../db/index.ts'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { EMAIL_QUEUE, emailJob } from '../../workers/email.worker.ts'
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/build.ts'
import { backendsWaitingOnLocks, freshSchema, startProcess, terminateBackends, until, type Schema } from '../helpers/processes.ts'
import { startSmtpPeer, type SmtpPeer, type SmtpPeerOptions } from '../peers/smtp-peer.ts'

const LEASE_SECONDS = 2

async function setup (t: any, hooks: SmtpPeerOptions) {
  const smtp: SmtpPeer = await startSmtpPeer(hooks)
  t.teardown(() => smtp.close())
  const s: Schema = await freshSchema(t)
  const h: DatabaseHandle = await createDatabase({ url: TEST_DATABASE_URL, schema: s.name })
  t.teardown(() => h.close())
  await migrateToLatest(h.db, s.name)
  const appName = uniqueName('vstkill')
  const prefix = uniqueName('vstkill')
  const env = {
    DATABASE_URL: s.url, PGAPPNAME: appName, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, SMTP_URL: smtp.url,
    MAIL_CLAIM_LEASE_SECONDS: String(LEASE_SECONDS), MAIL_RELAY_EVERY_MS: '300', MAIL_RELAY_AFTER_SECONDS: '1'
  }
  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(EMAIL_QUEUE, { connection: conn, prefix })
  t.teardown(async () => { await queue.obliterate({ force: true }).catch(() => {}); await queue.close(); conn.disconnect() })
  const send = async (to: string): Promise<string> => {
    const id = await createMailOutbox({ log: { warn () {} } }).write(h.db, { tenantId: 'k', to, from: 'k <k@k.test>', subject: 'Your link', text: `hello ${to}` })
    const job = emailJob(id)
    await queue.add(job.name, job.data, job.opts)
    return id
  }
  const row = (id: string) => h.db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  const received = (to: string) => smtp.messages.filter((m) => m.envelopeTo.includes(to))
  return { smtp, s, h, appName, env, send, row, received, startWorker: () => startProcess(t, 'worker', env) }
}

/** Kills the worker and ends what it left in PostgreSQL: a killed process's backend can outlive it
 *  (one waiting on a lock runs its statement once the lock goes), a real crash's statement never ran. */
async function crash (worker: { kill: (s?: NodeJS.Signals) => Promise<unknown> }, admin: pg.Client, appName: string): Promise<void> {
  await worker.kill('SIGKILL')
  await terminateBackends(admin, appName)
}

const settle = () => new Promise((r) => setTimeout(r, (LEASE_SECONDS + 2) * 1000)) // past a lease and several relay ticks

t.test('killed after claiming, before the SMTP server accepted: the mail arrives once', async (t) => {
  let reached!: () => void
  const atMailFrom = new Promise<void>((resolve) => { reached = resolve })
  let release!: (err: Error) => void
  let first = true
  const x = await setup(t, {
    onMailFrom: () => {
      if (!first) return
      first = false
      reached()
      return new Promise<void>((_resolve, reject) => { release = reject })
    }
  })
  const a = await x.startWorker()
  const id = await x.send('claimed@k.test')
  await atMailFrom
  const claimed = await x.row(id)
  t.ok(claimed.claim_token && claimed.claimed_at && !claimed.sent_at, 'claimed, mid-transaction with the SMTP server')
  await crash(a, x.s.admin, x.appName)
  release(new Error('client gone'))
  t.equal(x.received('claimed@k.test').length, 0, 'nothing accepted')

  await x.startWorker()
  const mail = await x.smtp.waitForMail('claimed@k.test', { timeoutMs: 30_000 })
  await until('the row marked sent', async () => (await x.row(id)).sent_at !== null)
  await settle()
  const sent = await x.row(id)
  t.equal(x.received('claimed@k.test').length, 1, 'delivered once')
  t.equal(mail.messageId, sent.message_id, 'with the row\'s Message-ID')
  t.equal(sent.attempts, 2, 'on the second claim, after the first one\'s lease')
  t.match(sent.sent_response, /^250 /, 'the server\'s answer recorded')
})

t.test('killed after the SMTP server accepted, before marking it sent: twice, with one Message-ID', async (t) => {
  let locker: pg.Client | null = null
  let first = true
  let rowId = ''
  const x = await setup(t, {
    beforeAccept: async () => {
      if (!first) return
      first = false
      // The server has the message; our row lock makes the worker's "sent" UPDATE wait until it dies.
      locker = await x.s.connect()
      await locker.query('BEGIN')
      await locker.query('SELECT id FROM email_outbox WHERE id = $1 FOR UPDATE', [rowId])
    }
  })
  const a = await x.startWorker()
  rowId = await x.send('accepted@k.test')
  await until('the worker recording the send, held by our lock', async () => locker !== null && (await backendsWaitingOnLocks(x.s.admin, x.appName)) >= 1)
  t.equal(x.received('accepted@k.test').length, 1, 'the server accepted it')
  await crash(a, x.s.admin, x.appName)
  await locker!.query('ROLLBACK')
  const orphan = await x.row(rowId)
  t.equal(orphan.sent_at, null, 'the worker died before recording it')

  await x.startWorker()
  await until('the resend', () => x.received('accepted@k.test').length >= 2, 30_000)
  await until('the row marked sent', async () => (await x.row(rowId)).sent_at !== null)
  await settle()
  const sent = await x.row(rowId)
  const got = x.received('accepted@k.test')
  t.equal(got.length, 2, 'at-least-once at this instant: sent again, and only once more')
  t.ok(sent.message_id && /^<[0-9a-f-]{36}@vestibule>$/.test(sent.message_id), 'the row has a stable Message-ID')
  t.same(got.map((m) => m.messageId), [sent.message_id, sent.message_id], 'both copies carry it, so the receiver can de-duplicate')
  t.equal(sent.attempts, 2)
})

t.test('killed after marking it sent: once, and never again', async (t) => {
  const x = await setup(t, {})
  const a = await x.startWorker()
  const id = await x.send('marked@k.test')
  await until('the row marked sent', async () => (await x.row(id)).sent_at !== null)
  await crash(a, x.s.admin, x.appName)
  await x.startWorker()
  await settle()
  t.equal(x.received('marked@k.test').length, 1, 'delivered once')
  const sent = await x.row(id)
  t.equal(sent.attempts, 1)
  t.equal(x.received('marked@k.test')[0].messageId, sent.message_id)
})

t.test('several mails with the worker killed at random moments: every one arrives, none twice but at the documented instant', async (t) => {
  const x = await setup(t, { acceptDelayMs: 20 })
  const addresses = Array.from({ length: 40 }, (_, i) => `r${i}@k.test`)
  let worker = await x.startWorker()
  const ids: string[] = []
  for (const a of addresses) ids.push(await x.send(a))
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 300))
    await crash(worker, x.s.admin, x.appName)
    worker = await x.startWorker()
  }
  // Bound of both waits: a row whose job the kill left active waits for BullMQ's stall check (30 s lock, then a
  // 30 s check) before it is taken again, so its mail can first go out about 60 s after the kill; on a loaded
  // machine that is the slowest path (a 60 s bound on the delivery timed out once on a slow 2-core machine).
  await until('every mail delivered', () => addresses.every((a) => x.received(a).length >= 1), 90_000, 200)
  await until('every row marked sent', async () => (await x.h.db.selectFrom('email_outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, 90_000, 200)
  await settle()
  const rows = await x.h.db.selectFrom('email_outbox').select(['to_address', 'message_id']).execute()
  for (const r of rows) {
    const got = x.received(r.to_address)
    // More than one copy only where a worker died between the server's 250 and its UPDATE; each kill
    // interrupts at most the deliveries then in flight, and every copy carries the row's Message-ID.
    t.ok(got.length >= 1 && got.every((m) => m.messageId === r.message_id), `${r.to_address}: ${got.length} cop${got.length === 1 ? 'y' : 'ies'}, one Message-ID`)
  }
  const extra = rows.reduce((n, r) => n + x.received(r.to_address).length - 1, 0)
  // At most WORKER_CONCURRENCY (128) deliveries, here at most the 40 rows, are in flight at each of the 3 kills.
  t.ok(extra <= 3 * Math.min(addresses.length, 128), `duplicates bounded by the deliveries in flight at the kills (${extra})`)
})
