// Scheduled maintenance: token cleanup and the outbox relay. With Redis they are BullMQ job schedulers
// (idempotent across any number of worker processes); without, timers in the server process.
import { Queue, Worker, type ConnectionOptions } from 'bullmq'
import type { Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { cleanupExpired, type CleanupOptions } from './cleanup.processor.ts'
import { pendingOutboxIds } from './email.processor.ts'
import { emailJob, type ObserveJob } from './email.worker.ts'

export const MAINTENANCE_QUEUE = 'vestibule-maintenance'

interface Log { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void }

export interface Schedule {
  cleanupEveryMs: number
  relayEveryMs: number
  /** A row is the relay's once it has waited this long without being delivered. */
  relayAfterSeconds: number
  cleanup?: CleanupOptions
}

export const DEFAULT_SCHEDULE: Schedule = { cleanupEveryMs: 60_000, relayEveryMs: 15_000, relayAfterSeconds: 30 }

/**
 * Hands BullMQ every outbox row still pending after `afterSeconds`: rows whose enqueue failed (Redis
 * was down), and rows whose job ended without sending (retries exhausted, a worker died mid-claim).
 */
export async function relayOutbox (db: Kysely<Database>, emailQueue: Queue, afterSeconds: number): Promise<number> {
  const ids = await pendingOutboxIds(db, afterSeconds, 500)
  let relayed = 0
  for (const id of ids) {
    const job = emailJob(id)
    const existing = await emailQueue.getJob(job.opts.jobId!)
    if (existing) {
      const state = await existing.getState()
      if (state !== 'completed' && state !== 'failed') continue // still on its way
      await existing.remove()
    }
    await emailQueue.add(job.name, job.data, job.opts)
    relayed++
  }
  return relayed
}

export function startMaintenance (opts: { connection: ConnectionOptions, prefix?: string, db: Kysely<Database>, emailQueue: Queue, log: Log, schedule?: Partial<Schedule>, observe?: ObserveJob }): { worker: Worker, queue: Queue, close: () => Promise<void> } {
  const schedule = { ...DEFAULT_SCHEDULE, ...opts.schedule }
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: opts.connection, prefix: opts.prefix })
  queue.on('error', (err) => opts.log.warn({ err: err.message }, 'maintenance queue'))
  // Registering the schedules must not hold up start when Redis is down: retry until it answers.
  let closing = false
  const register = async (): Promise<void> => {
    for (let delay = 500; !closing; delay = Math.min(delay * 2, 15_000)) {
      try {
        await queue.upsertJobScheduler('token-cleanup', { every: schedule.cleanupEveryMs }, { name: 'token-cleanup', opts: { removeOnComplete: 100, removeOnFail: 100 } })
        await queue.upsertJobScheduler('outbox-relay', { every: schedule.relayEveryMs }, { name: 'outbox-relay', opts: { removeOnComplete: 100, removeOnFail: 100 } })
        return
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'cannot register maintenance schedules yet')
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
      }
    }
  }
  const registered = register()
  const worker = new Worker(MAINTENANCE_QUEUE, async (job) => {
    if (job.name === 'token-cleanup') return cleanupExpired(opts.db, schedule.cleanup)
    if (job.name === 'outbox-relay') return { relayed: await relayOutbox(opts.db, opts.emailQueue, schedule.relayAfterSeconds) }
    throw new Error(`unknown maintenance job ${job.name}`)
  }, { connection: opts.connection, prefix: opts.prefix, concurrency: 1 })
  worker.on('error', (err) => opts.log.error({ err }, 'maintenance worker error'))
  worker.on('failed', () => opts.observe?.(MAINTENANCE_QUEUE, 'failed'))
  worker.on('completed', (job, result) => {
    opts.observe?.(MAINTENANCE_QUEUE, 'completed')
    if (job.name === 'token-cleanup' && (result.oneTimeTokens || result.sessions)) opts.log.info({ ...result }, 'expired tokens deleted')
    if (job.name === 'outbox-relay' && result.relayed) opts.log.warn({ relayed: result.relayed }, 'outbox rows re-enqueued')
  })
  return { worker, queue, close: async () => { closing = true; await worker.close(); await registered; await queue.close() } }
}

/** Single-node mode: the cleanup on a timer (the in-process mail runner sweeps the outbox itself). */
export function startInProcessCleanup (db: Kysely<Database>, log: Log, everyMs = DEFAULT_SCHEDULE.cleanupEveryMs, options?: CleanupOptions): { close: () => Promise<void> } {
  let running: Promise<unknown> | null = null
  const timer = setInterval(() => {
    if (running) return
    running = cleanupExpired(db, options)
      .catch((err) => log.warn({ err: (err as Error).message }, 'token cleanup failed'))
      .finally(() => { running = null })
  }, everyMs)
  timer.unref()
  return { close: async () => { clearInterval(timer); await running } }
}
