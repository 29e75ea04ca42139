// Redis restarted empty mid-run (no persistence) loses every queued job and every schedule; accepted
// mail must still go out, each once: the outbox relay is a timer in the worker reading PostgreSQL,
// and the token-cleanup schedule is registered again when Redis comes back. A Redis without AOF or
// with an evicting memory policy is named in one startup warning.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import pino from 'pino'
import t from 'tap'
import { MAINTENANCE_QUEUE } from '../../workers/maintenance.worker.ts'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { until } from '../helpers/processes.ts'
import { privateRedis } from '../helpers/redis.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

const tenant = tenantDoc('flush', {
  clients: [{ id: 'flush-client' }],
  dialects: { 'by-link': { linkUrl: 'https://flush.app/l/{token}' } },
  rateLimits: { link: { max: 1000, timeWindow: '1 minute' } }
})

function capturingLogger (): { logger: pino.Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({ write (chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb() } })
  return { logger: pino({ level: 'info' }, stream), lines }
}

t.test('Redis restarted empty mid-run: every accepted mail is delivered, once', async (t) => {
  const smtp = await startSmtpPeer({ acceptDelayMs: 30 })
  t.teardown(() => smtp.close())
  const redis = await privateRedis(t)
  const { api, app, redisPrefix } = await build(t, {
    tenants: [tenant], redisUrl: redis.url, runWorkers: true, smtpUrl: smtp.url,
    schedule: { relayEveryMs: 300, relayAfterSeconds: 1 }
  })
  const accepted: string[] = []
  const link = async (email: string) => {
    const r = await api('/t/flush/v1/auth/by-link/link/', postJson({ email }))
    if (r.status === 200) accepted.push(email)
    return r.status
  }
  // A backlog in Redis (the SMTP server takes 30 ms a mail), then Redis dies with it.
  const before = await Promise.all(Array.from({ length: 40 }, (_, i) => link(`before${i}@flush.test`)))
  t.same(new Set(before), new Set([200]), 'accepted before')
  await redis.stop()
  const during = await Promise.all(Array.from({ length: 10 }, (_, i) => link(`during${i}@flush.test`)))
  t.same(new Set(during), new Set([200]), 'accepted while Redis is down (the outbox holds them)')
  await redis.start() // empty: no jobs, no schedules
  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => link(`after${i}@flush.test`)))
  t.same(new Set(after), new Set([200]), 'accepted after')
  t.ok(smtp.messages.length < accepted.length, `some mail was lost with Redis (${smtp.messages.length} of ${accepted.length} sent by then)`)

  await until('every accepted mail delivered', () => accepted.every((a) => smtp.messages.some((m) => m.envelopeTo.includes(a))), 60_000, 200)
  await until('every row marked sent', async () => (await app.db.db.selectFrom('email_outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, 20_000, 200)
  await new Promise((r) => setTimeout(r, 1500)) // more relay ticks: nothing goes out twice
  const counts = new Map<string, number>()
  for (const m of smtp.messages) for (const a of m.envelopeTo) counts.set(a, (counts.get(a) ?? 0) + 1)
  t.same([...counts.entries()].filter(([, n]) => n !== 1), [], 'no mail twice')
  t.equal(counts.size, accepted.length, 'none lost')

  const conn = new Redis(redis.url, { maxRetriesPerRequest: null })
  const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: conn, prefix: redisPrefix })
  t.teardown(async () => { await maintenance.close(); conn.disconnect() })
  await until('the token-cleanup schedule registered again', async () => (await maintenance.getJobScheduler('token-cleanup')) !== undefined, 10_000)
  t.pass('token cleanup is scheduled in the new Redis')
})

t.test('a startup warning, once, when Redis has no AOF or evicts keys', async (t) => {
  const unsafe = await privateRedis(t, ['--maxmemory-policy', 'allkeys-lru'])
  const { logger, lines } = capturingLogger()
  await build(t, { tenants: [], redisUrl: unsafe.url, runWorkers: true, logger: logger as never })
  await until('the warning', () => lines.some((l) => /not configured for durable queues/.test(l.msg)), 10_000)
  await unsafe.stop()
  await unsafe.start() // a reconnect does not repeat it
  await new Promise((r) => setTimeout(r, 1500))
  const warnings = lines.filter((l) => /not configured for durable queues/.test(l.msg))
  t.equal(warnings.length, 1, 'logged once')
  t.equal(warnings[0].level, 40, 'at warn level')
  t.match(warnings[0].msg, /appendonly is no/)
  t.match(warnings[0].msg, /maxmemory-policy is allkeys-lru/)
  t.same(warnings[0].redis, { appendonly: false, maxmemoryPolicy: 'allkeys-lru' })

  const dir = mkdtempSync(path.join(tmpdir(), 'vst-aof-'))
  const durable = await privateRedis(t, ['--appendonly', 'yes', '--dir', dir, '--maxmemory-policy', 'noeviction'])
  const quiet = capturingLogger()
  await build(t, { tenants: [], redisUrl: durable.url, runWorkers: true, logger: quiet.logger as never })
  await new Promise((r) => setTimeout(r, 1000))
  t.same(quiet.lines.filter((l) => /durable queues/.test(l.msg)), [], 'no warning for appendonly yes and noeviction')
})
