// Scheduled maintenance: the outbox relay and token cleanup. The relay is a timer in every worker
// process, reading only PostgreSQL: it must not depend on Redis state, which a Redis restart without
// persistence (or an eviction) loses, and with it every job and schedule. Token cleanup is a BullMQ
// job scheduler (one run per interval across any number of workers), re-registered whenever Redis
// comes back and whenever the relay finds it missing. Without Redis, both are timers in the server.
import { Queue, Worker, type ConnectionOptions } from 'bullmq'
import type { Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { cleanupExpired, type CleanupOptions } from './cleanup.processor.ts'
import { CLAIM_LEASE_SECONDS, pendingOutboxRows } from './email.processor.ts'
import { emailJob, type ObserveJob } from './email.worker.ts'

export const MAINTENANCE_QUEUE = 'vestibule-maintenance'
const CLEANUP = 'token-cleanup'

interface Log { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void }

export interface Schedule {
  cleanupEveryMs: number
  relayEveryMs: number
  /** A row is the relay's once it has waited this long without being delivered. */
  relayAfterSeconds: number
  /** Lease of a delivery's claim on its row (a worker that died mid-send holds it this long). */
  claimLeaseSeconds: number
  cleanup?: CleanupOptions
}

export const DEFAULT_SCHEDULE: Schedule = { cleanupEveryMs: 60_000, relayEveryMs: 15_000, relayAfterSeconds: 30, claimLeaseSeconds: CLAIM_LEASE_SECONDS }

const ON_ITS_WAY = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children'])

/**
 * Hands BullMQ every outbox row still pending after `afterSeconds` that no live claim holds: rows
 * whose enqueue failed (Redis was down), rows whose job Redis lost (restarted empty, evicted), rows
 * whose job ended without sending (retries exhausted), and rows whose worker died holding the job.
 */
export async function relayOutbox (db: Kysely<Database>, emailQueue: Queue, afterSeconds: number, leaseSeconds = CLAIM_LEASE_SECONDS): Promise<number> {
  const rows = await pendingOutboxRows(db, afterSeconds, 500, leaseSeconds)
  let relayed = 0
  for (const row of rows) {
    const job = emailJob(row.id)
    const existing = await emailQueue.getJob(job.opts.jobId!)
    const state = existing ? await existing.getState() : 'missing'
    if (ON_ITS_WAY.has(state)) continue
    if (state === 'active') {
      // Its worker is gone (BullMQ notices only when the job's lock runs out) or it never got to claim
      // the row: a second job, one per attempt count, so repeated relays add it once. Two jobs for one
      // row still send it once: only one of them can claim it.
      // That second job may exist already and have ended without sending (it met a claim that has
      // expired since): it is replaced, or a BullMQ add with its id would silently do nothing.
      const retryId = `${job.opts.jobId}-r${row.attempts}`
      const prior = await emailQueue.getJob(retryId)
      const priorState = prior ? await prior.getState() : 'missing'
      if (ON_ITS_WAY.has(priorState) || priorState === 'active') continue
      if (prior) await prior.remove().catch(() => { /* another relay removed it first */ })
      await emailQueue.add(job.name, job.data, { ...job.opts, jobId: retryId })
    } else {
      if (existing) await existing.remove().catch(() => { /* another relay removed it first */ })
      await emailQueue.add(job.name, job.data, job.opts)
    }
    relayed++
  }
  return relayed
}

export function startMaintenance (opts: { connection: ConnectionOptions & { on?: (event: 'ready', fn: () => void) => unknown, off?: (event: 'ready', fn: () => void) => unknown }, prefix?: string, db: Kysely<Database>, emailQueue: Queue, log: Log, schedule?: Partial<Schedule>, observe?: ObserveJob }): { worker: Worker, queue: Queue, close: () => Promise<void> } {
  const schedule = { ...DEFAULT_SCHEDULE, ...opts.schedule }
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: opts.connection, prefix: opts.prefix })
  queue.on('error', (err) => opts.log.warn({ err: err.message }, 'maintenance queue'))
  let closing = false

  // The cleanup schedule: registered now, again each time the connection is ready (a reconnect may
  // meet a Redis that lost it), and by the relay's tick whenever it is found missing (a FLUSHALL).
  let registering: Promise<void> | null = null
  const ensureCleanup = (force: boolean): Promise<void> => {
    registering ??= (async () => {
      try {
        if (!force && await queue.getJobScheduler(CLEANUP)) return
        await queue.upsertJobScheduler(CLEANUP, { every: schedule.cleanupEveryMs }, { name: CLEANUP, opts: { removeOnComplete: 100, removeOnFail: 100 } })
        // Schedulers of older releases relayed the outbox through Redis; the timer below does now.
        await queue.removeJobScheduler('outbox-relay')
        if (!force) opts.log.warn({}, 'token cleanup schedule was missing in Redis (data lost?); registered again')
      } catch (err) {
        if (!closing) opts.log.warn({ err: (err as Error).message }, 'cannot register the token cleanup schedule yet')
      } finally { registering = null }
    })()
    return registering
  }
  const onReady = (): void => { void ensureCleanup(true) }
  opts.connection.on?.('ready', onReady)
  void ensureCleanup(true)

  // The relay: PostgreSQL says what is pending; Redis only carries the jobs.
  let relaying: Promise<void> | null = null
  const tick = (): void => {
    if (relaying || closing) return
    relaying = (async () => {
      try {
        const relayed = await relayOutbox(opts.db, opts.emailQueue, schedule.relayAfterSeconds, schedule.claimLeaseSeconds)
        opts.observe?.(MAINTENANCE_QUEUE, 'completed')
        if (relayed) opts.log.warn({ relayed }, 'outbox rows re-enqueued')
      } catch (err) {
        opts.observe?.(MAINTENANCE_QUEUE, 'failed')
        opts.log.warn({ err: (err as Error).message }, 'outbox relay failed; next tick retries')
      }
      await ensureCleanup(false)
    })().finally(() => { relaying = null })
  }
  const timer = setInterval(tick, schedule.relayEveryMs)
  timer.unref()

  const worker = new Worker(MAINTENANCE_QUEUE, async (job) => {
    if (job.name === CLEANUP) return cleanupExpired(opts.db, schedule.cleanup)
    if (job.name === 'outbox-relay') return { relayed: 0 } // left by an older release's scheduler
    throw new Error(`unknown maintenance job ${job.name}`)
  }, { connection: opts.connection, prefix: opts.prefix, concurrency: 1 })
  worker.on('error', (err) => opts.log.error({ err }, 'maintenance worker error'))
  worker.on('failed', () => opts.observe?.(MAINTENANCE_QUEUE, 'failed'))
  worker.on('completed', (job, result) => {
    opts.observe?.(MAINTENANCE_QUEUE, 'completed')
    if (job.name === CLEANUP && (result.oneTimeTokens || result.sessions)) opts.log.info({ ...result }, 'expired tokens deleted')
  })
  return {
    worker,
    queue,
    close: async () => {
      closing = true
      clearInterval(timer)
      opts.connection.off?.('ready', onReady)
      await worker.close()
      await relaying
      await registering
      await queue.close()
    }
  }
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
