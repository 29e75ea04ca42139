// The worker entry: email delivery plus scheduled maintenance, on BullMQ when Redis is configured.
// `npm run worker` runs this alone; the server runs it in-process in development.
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { EMAIL_QUEUE, startEmailWorker, type ObserveJob } from './email.worker.ts'
import type { MailTransport } from './mail-transport.ts'
import { DEFAULT_SCHEDULE, startMaintenance, type Schedule } from './maintenance.worker.ts'
import { warnOnUnsafeRedis } from './redis-settings.ts'

interface Log { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void }

export interface Workers { close (): Promise<void> }

export async function startWorkers (opts: { redisUrl: string, prefix?: string, db: Kysely<Database>, transport: MailTransport, log: Log, concurrency?: number, schedule?: Partial<Schedule>, observe?: ObserveJob }): Promise<Workers> {
  // Workers block on Redis commands: no per-request retry limit (BullMQ's guidance).
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null })
  connection.on('error', (err) => opts.log.warn({ err: err.message }, 'worker redis'))
  connection.once('ready', () => { void warnOnUnsafeRedis(connection, opts.log) })
  const leaseSeconds = opts.schedule?.claimLeaseSeconds ?? DEFAULT_SCHEDULE.claimLeaseSeconds
  const email = startEmailWorker({ connection, prefix: opts.prefix, db: opts.db, transport: opts.transport, log: opts.log, concurrency: opts.concurrency, observe: opts.observe, leaseSeconds })
  const emailQueue = new Queue(EMAIL_QUEUE, { connection, prefix: opts.prefix })
  emailQueue.on('error', (err) => opts.log.warn({ err: err.message }, 'email queue'))
  const maintenance = startMaintenance({ connection, prefix: opts.prefix, db: opts.db, emailQueue, log: opts.log, schedule: opts.schedule, observe: opts.observe })
  return {
    async close () {
      // Finish the jobs under way, then let go of Redis.
      await Promise.allSettled([email.close(), maintenance.close()])
      await emailQueue.close()
      await connection.quit().catch(() => connection.disconnect())
    }
  }
}
