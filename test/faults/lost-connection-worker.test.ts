// The worker process survives losing its PostgreSQL connections: backends terminated with
// pg_terminate_backend while deliveries hold them fail those attempts, the jobs retry, the process
// keeps running, and every mail is delivered exactly once, also when the terminations come again and
// again under a load of deliveries (before the fix the worker died within the first rounds).
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { EMAIL_QUEUE, emailJob } from '../../workers/email.worker.ts'
import { createDatabase, migrateToLatest } from '../../db/index.ts'
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/build.ts'
import { backendsWaitingOnLocks, freshSchema, startProcess, terminateBackends, until } from '../helpers/processes.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

/** An SMTP peer, a fresh schema, a real worker process on it (named `appName` in pg_stat_activity) and its queue. */
async function setup (t: { teardown (fn: () => unknown): void }, workerEnv: Record<string, string> = {}) {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const s = await freshSchema(t)
  const h = await createDatabase({ url: TEST_DATABASE_URL, schema: s.name })
  t.teardown(() => h.close())
  await migrateToLatest(h.db, s.name)
  const appName = uniqueName('vstwlost')
  const prefix = uniqueName('vstwlost')
  const worker = await startProcess(t, 'worker', { DATABASE_URL: s.url, PGAPPNAME: appName, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, SMTP_URL: smtp.url, ...workerEnv })
  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(EMAIL_QUEUE, { connection: conn, prefix })
  t.teardown(async () => { await queue.obliterate({ force: true }).catch(() => {}); await queue.close(); conn.disconnect() })
  return { smtp, s, h, appName, worker, queue }
}

t.test('pg_terminate_backend under in-flight deliveries: the worker lives on and delivers each mail once', async (t) => {
  const { smtp, s, h, appName, worker, queue } = await setup(t)

  const outbox = createMailOutbox({ log: { warn () {} } })
  const write = (to: string) => outbox.write(h.db, { tenantId: 'w', to, from: 'w <w@w.test>', subject: 'Your link', text: `hello ${to}` })
  const enqueue = async (id: string) => { const job = emailJob(id); await queue.add(job.name, job.data, job.opts) }
  const send = async (to: string) => enqueue(await write(to))
  await send('warm@w.test')
  await smtp.waitForMail('warm@w.test', { timeoutMs: 15_000 })

  // Our lock holds the deliveries at their claim, each on a checked-out pool client of the worker.
  const addresses = Array.from({ length: 6 }, (_, i) => `held${i}@w.test`)
  const ids = await Promise.all(addresses.map(write))
  const locker = await s.connect()
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE email_outbox IN EXCLUSIVE MODE')
  for (const id of ids) await enqueue(id)
  // The worker batches the claims made in one turn of its event loop into one statement, so the six
  // deliveries wait on our lock in one to six backends: all six jobs active, and some backend waiting.
  await until('deliveries waiting on our lock', async () => (await queue.getActiveCount()) >= 6 && (await backendsWaitingOnLocks(s.admin, appName)) >= 1)
  await new Promise((r) => setTimeout(r, 300)) // the last job's claim reaches PostgreSQL
  t.ok(await terminateBackends(s.admin, appName) >= 1, 'their backends terminated')
  await locker.query('ROLLBACK')

  for (const a of addresses) await smtp.waitForMail(a, { timeoutMs: 30_000 })
  t.ok(worker.alive(), 'the worker is still running')
  await send('after@w.test')
  await smtp.waitForMail('after@w.test', { timeoutMs: 15_000 })
  await new Promise((r) => setTimeout(r, 1000))
  for (const a of [...addresses, 'after@w.test']) t.equal(smtp.messages.filter((m) => m.envelopeTo.includes(a)).length, 1, `${a}: once`)
  const pending = await h.db.selectFrom('email_outbox').select('id').where('sent_at', 'is', null).execute()
  t.same(pending, [], 'every row marked sent')
  t.ok(worker.alive())
  t.notMatch(worker.output(), /shutting down after an error/)
})

t.test('terminations again and again under load: the worker lives on and delivers each mail once', async (t) => {
  // A short lease and a quick relay, so a claim whose answer a termination swallowed is retried soon.
  const { smtp, s, h, appName, worker, queue } = await setup(t, { MAIL_CLAIM_LEASE_SECONDS: '10', MAIL_RELAY_EVERY_MS: '500', MAIL_RELAY_AFTER_SECONDS: '1' })
  const outbox = createMailOutbox({ log: { warn () {} } })
  const addresses = Array.from({ length: 300 }, (_, i) => `m${i}@load.test`)
  const ids: string[] = []
  for (const to of addresses) ids.push(await outbox.write(h.db, { tenantId: 'w', to, from: 'w <w@w.test>', subject: 'Your link', text: `hello ${to}` }))
  await queue.addBulk(ids.map(emailJob))

  let rounds = 0
  for (; rounds < 30 && worker.alive(); rounds++) {
    await terminateBackends(s.admin, appName)
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100))
  }
  t.ok(worker.alive(), `the worker lived through ${rounds} rounds of terminations`)
  await until('every mail delivered', () => new Set(smtp.messages.flatMap((m) => m.envelopeTo)).size >= addresses.length, 60_000, 200)
  await until('every row marked sent', async () => (await h.db.selectFrom('email_outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, 20_000, 200)
  await new Promise((r) => setTimeout(r, 1500)) // a relay tick or two more: nothing may go out again
  const counts = new Map<string, number>()
  for (const m of smtp.messages) for (const a of m.envelopeTo) counts.set(a, (counts.get(a) ?? 0) + 1)
  t.same([...counts.entries()].filter(([, n]) => n !== 1), [], 'no mail twice')
  t.equal(counts.size, addresses.length, 'no mail lost')
  t.ok(worker.alive())
  t.notMatch(worker.output(), /shutting down after an error/)
})
