// A worker process told to stop (SIGTERM) while it is delivering a mail finishes that delivery first:
// the mail arrives once, the outbox row is marked sent, and the process exits cleanly.
import { spawn } from 'node:child_process'
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { EMAIL_QUEUE, emailJob } from '../../workers/email.worker.ts'
import { testDatabase, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/build.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

t.test('SIGTERM during a delivery lets it finish', async (t) => {
  let inFlight!: () => void
  const started = new Promise<void>((resolve) => { inFlight = resolve })
  const smtp = await startSmtpPeer({ onDataStart: () => inFlight(), acceptDelayMs: 1500 })
  t.teardown(() => smtp.close())
  const h = await testDatabase(t)
  const id = await createMailOutbox({ log: { warn () {} } }).write(h.db, { tenantId: 'w', to: 'slow@x.test', from: 'w <w@x.test>', subject: 'Your link', text: 'https://x.test/l/1' })

  const prefix = uniqueName('vstwk')
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'worker'], {
    env: { ...process.env, DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${h.schema}`, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, SMTP_URL: smtp.url, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  child.stderr.on('data', (c) => { out += c })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  for (let i = 0; i < 200 && !out.includes('worker started'); i++) await new Promise((r) => setTimeout(r, 50))

  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(EMAIL_QUEUE, { connection: conn, prefix })
  t.teardown(async () => { await queue.obliterate({ force: true }).catch(() => {}); await queue.close(); conn.disconnect() })
  const job = emailJob(id)
  await queue.add(job.name, job.data, job.opts)

  await started
  const stoppedAt = Date.now()
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'clean exit')
  t.ok(Date.now() - stoppedAt >= 1000, 'it waited for the delivery under way')
  t.equal(smtp.messages.filter((m) => m.envelopeTo.includes('slow@x.test')).length, 1, 'the mail arrived once')
  const row = await h.db.selectFrom('email_outbox').select(['sent_at']).where('id', '=', id).executeTakeFirstOrThrow()
  t.ok(row.sent_at, 'and is marked sent')
  t.match(out, /worker shutting down/)
})
