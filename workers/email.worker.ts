// Email delivery wiring: the BullMQ worker (Redis mode) and the in-process runner (single-node mode)
// run the same processor. Job data holds the outbox id only, never the message or a secret.
import { Worker, type ConnectionOptions, type JobsOptions } from 'bullmq'
import type { Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { deliverDueBatch, deliverOutboxRow, pendingOutboxIds, SendSlots, type DeliveryOptions } from './email.processor.ts'
import type { MailTransport } from './mail-transport.ts'

export const EMAIL_QUEUE = 'vestibule-email'

interface Log { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void }

/** One job per outbox row: the job id dedupes re-enqueues of the same row. */
export function emailJob (outboxId: string): { name: string, data: { outboxId: string }, opts: JobsOptions } {
  return {
    name: 'deliver',
    data: { outboxId },
    opts: { jobId: `outbox-${outboxId}`, attempts: 8, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } }
  }
}

export type ObserveJob = (queue: string, outcome: 'completed' | 'failed') => void

/** Most rows one batch claim takes. */
export const MAIL_BATCH_MAX = 128

/**
 * The BullMQ worker, and beside it a batch pump: a backlog of jobs wakes the pump, which claims never-attempted
 * rows many at a time (claimDueBatch) and goes on by itself while its batches come back full, so a backlog goes out without
 * one BullMQ round trip, claim and record per mail; the rows' own jobs then find them sent and end.
 * Jobs and pump share `concurrency` send slots. Retries (attempts > 0) stay with the jobs' backoff.
 */
export function startEmailWorker (opts: { connection: ConnectionOptions, prefix?: string, db: Kysely<Database>, transport: MailTransport, log: Log, concurrency?: number, observe?: ObserveJob, leaseSeconds?: number, /** Batch claims beside the jobs (default true). */ batch?: boolean }): Worker {
  const concurrency = opts.concurrency ?? 8
  const slots = new SendSlots(concurrency)
  const delivery: DeliveryOptions = { leaseSeconds: opts.leaseSeconds, log: opts.log, slots }
  let closing = false
  let claiming = false
  let backlog = false
  let outstanding = 0 // rows the pump claimed whose delivery has not ended
  const inflight = new Set<Promise<unknown>>()
  const pump = (): void => {
    if (opts.batch === false || closing || claiming) return
    const room = Math.min(MAIL_BATCH_MAX, concurrency - outstanding)
    if (room < Math.max(1, Math.floor(concurrency / 4))) return
    claiming = true
    outstanding += room
    const p = deliverDueBatch(opts.db, opts.transport, room, {
      ...delivery,
      onClaimed: (claimed) => {
        outstanding -= room - claimed
        claiming = false
        // A full batch: a backlog, so the pump goes on by itself; otherwise the next job wakes it.
        backlog = claimed === room
        if (backlog) pump()
      },
      onDone: () => { outstanding--; if (backlog) pump() }
    }).catch((err) => {
      if (claiming) { claiming = false; backlog = false; outstanding -= room }
      opts.log.warn({ err: (err as Error).message }, 'batch mail claim failed; the jobs deliver their rows')
    })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }
  // A backlog is when the jobs alone fill half the worker: only then does a job wake the pump (a few
  // mails at a time go by their jobs, one claim each, as without the pump).
  let active = 0
  const worker = new Worker(EMAIL_QUEUE, async (job) => {
    if (++active >= Math.max(2, Math.ceil(concurrency / 2))) pump()
    try {
      return await deliverOutboxRow(opts.db, opts.transport, String(job.data.outboxId), delivery)
    } finally { active-- }
  }, { connection: opts.connection, prefix: opts.prefix, concurrency, autorun: true })
  const closeWorker = worker.close.bind(worker)
  // Closing also waits for the pump's deliveries under way (each ends sent and recorded, or released).
  worker.close = async (force?: boolean) => {
    closing = true
    await closeWorker(force)
    await Promise.allSettled([...inflight])
  }
  worker.on('error', (err) => opts.log.error({ err }, 'email worker error'))
  worker.on('failed', (job, err) => {
    opts.observe?.(EMAIL_QUEUE, 'failed')
    opts.log.warn({ job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'mail delivery failed')
  })
  worker.on('completed', () => opts.observe?.(EMAIL_QUEUE, 'completed'))
  return worker
}

/** Single-node mode: deliver in this process with retries and backoff, and sweep rows left behind. */
export class InProcessMailRunner {
  readonly #db: Kysely<Database>
  readonly #transport: MailTransport
  readonly #log: Log
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #sweep: NodeJS.Timeout
  #closed = false

  readonly #observe?: ObserveJob
  readonly #delivery: DeliveryOptions

  constructor (opts: { db: Kysely<Database>, transport: MailTransport, log: Log, sweepSeconds?: number, observe?: ObserveJob, leaseSeconds?: number }) {
    this.#observe = opts.observe
    this.#delivery = { leaseSeconds: opts.leaseSeconds, log: opts.log }
    this.#db = opts.db
    this.#transport = opts.transport
    this.#log = opts.log
    this.#sweep = setInterval(() => { void this.sweep() }, (opts.sweepSeconds ?? 30) * 1000)
    this.#sweep.unref()
  }

  enqueue (ids: string[], attempt = 1): void {
    for (const id of ids) this.#track(this.#attempt(id, attempt))
  }

  async #attempt (id: string, attempt: number): Promise<void> {
    if (this.#closed) return
    try {
      await deliverOutboxRow(this.#db, this.#transport, id, this.#delivery)
      this.#observe?.(EMAIL_QUEUE, 'completed')
    } catch (err) {
      this.#observe?.(EMAIL_QUEUE, 'failed')
      if (attempt >= 8 || this.#closed) { this.#log.error({ outboxId: id, err: (err as Error).message }, 'mail delivery gave up'); return }
      const t = setTimeout(() => { this.#timers.delete(t); this.enqueue([id], attempt + 1) }, 1000 * 2 ** (attempt - 1))
      this.#timers.add(t)
    }
  }

  /** Delivers rows that were written but never handed over (e.g. the process died after commit). */
  async sweep (): Promise<void> {
    if (this.#closed) return
    try { this.enqueue(await pendingOutboxIds(this.#db, 10, 100, this.#delivery.leaseSeconds)) } catch (err) { this.#log.warn({ err: (err as Error).message }, 'outbox sweep failed') }
  }

  #track (p: Promise<unknown>): void {
    this.#inflight.add(p)
    void p.finally(() => this.#inflight.delete(p))
  }

  /** Finishes deliveries under way; scheduled retries stay in the outbox for the next start's sweep. */
  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweep)
    for (const t of this.#timers) clearTimeout(t)
    await Promise.allSettled([...this.#inflight])
  }
}
