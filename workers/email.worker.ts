// Email delivery wiring: the BullMQ worker (Redis mode) and the in-process runner (single-node mode)
// run the same processor. Job data holds the outbox id only, never the message or a secret.
import { Worker, type ConnectionOptions, type JobsOptions } from 'bullmq'
import type { Kysely } from 'kysely'
import type { Database } from '../db/index.ts'
import { deliverOutboxRow, pendingOutboxIds, type DeliveryOptions } from './email.processor.ts'
import type { MailTransport } from './mail-transport.ts'

export const EMAIL_QUEUE = 'vestibule-email'

/**
 * Mail deliveries a worker process runs at once (WORKER_CONCURRENCY). The rate follows it (each send
 * waits on SMTP round trips, not CPU); it also bounds what a killed worker leaves sent but unrecorded.
 */
export const WORKER_CONCURRENCY = 128

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

export function startEmailWorker (opts: { connection: ConnectionOptions, prefix?: string, db: Kysely<Database>, transport: MailTransport, log: Log, concurrency?: number, observe?: ObserveJob, leaseSeconds?: number }): Worker {
  const delivery: DeliveryOptions = { leaseSeconds: opts.leaseSeconds, log: opts.log }
  const worker = new Worker(EMAIL_QUEUE, async (job) => {
    const result = await deliverOutboxRow(opts.db, opts.transport, String(job.data.outboxId), delivery)
    return result
  }, { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 8, autorun: true })
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
