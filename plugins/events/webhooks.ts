// Webhooks (issue 22, docs/events.md). audit_events is the outbox: every event is written in its change's
// transaction (one-statement logins included), and a relay turns committed events into delivery rows, one per
// (event, endpoint), reading past a cursor over (writing transaction, id) and only transactions older than every
// one still running, so no event is skipped by a late commit. Deliveries are claimed, signed (Standard Webhooks,
// the `standardwebhooks` package), POSTed and recorded like mail (workers/email.processor.ts): a claim with a
// lease, idempotent marking, exponential backoff kept in PostgreSQL, and a sweep that re-enqueues rows whose jobs
// Redis lost. Per user and endpoint, a later event waits until the earlier one is delivered or dead.
import { createHash, randomUUID } from 'node:crypto'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { sql, type Kysely, type Transaction } from 'kysely'
import { Webhook } from 'standardwebhooks'
import { request } from 'undici'
import type { Database } from '../../db/index.ts'
import { eventsRecorded, webhookDeliveries, webhookEndpointsFailing } from '../metrics.ts'
import { agentFor, nonPublicIn } from '../providers/http.ts'
import { publicEventName } from './catalogue.ts'
import type { WebhookConfig } from './schema.ts'

export const WEBHOOK_QUEUE = 'vestibule-webhooks'

export interface WebhookTenant { webhooks: WebhookConfig[], retentionDays: number }
/** The tenant's current config (secrets in plain text), or undefined when it is no longer served. */
export type TenantLookup = (tenantId: string) => Promise<WebhookTenant | undefined>

export interface WebhookSettings {
  /** How often the relay reads new events (and, every `sweepEvery` ticks, sweeps for lost jobs). */
  relayEveryMs: number
  sweepEvery: number
  batchSize: number
  /** Retry n waits min(baseDelayMs · 4^(n-1), maxDelayMs); after maxAttempts attempts the delivery is dead. */
  baseDelayMs: number
  maxDelayMs: number
  maxAttempts: number
  /** An endpoint is marked failing after this many failures in a row spanning at least failingAfterMs. */
  failingAfterFailures: number
  failingAfterMs: number
  timeoutMs: number
  /** A claim protects a delivery this long (a worker that died mid-send). */
  leaseSeconds: number
  /** A due delivery no job has taken for this long is re-enqueued by the sweep (Redis lost its job). */
  redeliverAfterMs: number
  concurrency: number
}

// 30 s, 2 min, 8 min, 32 min, 2 h 8 min, then 6 h: twelve attempts span about 39 hours.
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  relayEveryMs: 1000,
  sweepEvery: 15,
  batchSize: 500,
  baseDelayMs: 30_000,
  maxDelayMs: 6 * 3600_000,
  maxAttempts: 12,
  failingAfterFailures: 20,
  failingAfterMs: 24 * 3600_000,
  timeoutMs: 15_000,
  leaseSeconds: 60,
  redeliverAfterMs: 30_000,
  concurrency: 8
}

export function retryDelayMs (failures: number, s: Pick<WebhookSettings, 'baseDelayMs' | 'maxDelayMs'>): number {
  return Math.min(s.baseDelayMs * 4 ** Math.max(0, failures - 1), s.maxDelayMs)
}

/** An endpoint's key in the delivery tables: its URL (one entry per URL in a tenant). */
export function endpointKey (url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 32)
}

/** What marks an endpoint failing applies to: a change to any of these re-enables it. */
function configHash (w: WebhookConfig): string {
  return createHash('sha256').update(JSON.stringify([w.url, [...w.events].sort(), w.secret, w.allowPrivateNetwork === true])).digest('hex')
}

function subscribed (w: WebhookConfig, name: string): boolean {
  return w.events.includes('*') || w.events.includes(name)
}

interface Log { info: (o: object, m?: string) => void, warn: (o: object, m?: string) => void, error: (o: object, m?: string) => void }

// ---- the relay: committed events → delivery rows ----

export interface RelayResult { events: number, deliveries: Array<{ id: string }> }

/**
 * Reads the next batch of committed events past the cursor and writes their delivery rows and the new cursor in
 * one transaction. Null when another node holds the relay. Also keeps event_settings (retention) current for the
 * tenants it meets, since the maintenance worker reads no tenant config.
 */
export async function relayEvents (db: Kysely<Database>, lookup: TenantLookup, batchSize: number, retention?: Map<string, number>): Promise<RelayResult | null> {
  // Read and resolve outside the writing transaction: a lookup may query the database itself (stored tenants),
  // and PGlite has one connection. The transaction then checks that no other node moved the cursor meanwhile.
  const cur = (await sql<{ cursor_tx: string, cursor_id: string }>`
    SELECT cursor_tx::text AS cursor_tx, cursor_id::text AS cursor_id FROM webhook_relay WHERE id = 1`.execute(db)).rows[0]
  if (!cur) return null
  // pg_snapshot_xmin: every transaction below it has ended, so the rows it wrote are all visible now.
  const events = (await sql<{ id: string, tenant_id: string, user_id: string | null, type: string, tx: string }>`
    SELECT id::text AS id, tenant_id, user_id, type, tx::text AS tx FROM audit_events
    WHERE tx IS NOT NULL AND (tx, id) > (${cur.cursor_tx}::xid8, ${cur.cursor_id}::bigint)
      AND tx < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY tx, id LIMIT ${batchSize}`.execute(db)).rows
  if (events.length === 0) return { events: 0, deliveries: [] }
  const tenants = new Map<string, WebhookTenant | undefined>()
  const rows: Array<{ tenant_id: string, endpoint: string, event_id: string, user_id: string | null }> = []
  for (const e of events) {
    if (!tenants.has(e.tenant_id)) tenants.set(e.tenant_id, await lookup(e.tenant_id))
    const t = tenants.get(e.tenant_id)
    const name = publicEventName(e.type)
    if (!t || !name) continue
    for (const w of t.webhooks) if (subscribed(w, name)) rows.push({ tenant_id: e.tenant_id, endpoint: endpointKey(w.url), event_id: e.id, user_id: e.user_id })
  }
  const last = events[events.length - 1]
  const written = new Map<string, number>()
  const result = await db.transaction().execute(async (tx) => {
    // Only the holder of the cursor row writes, and only from the cursor it read (else another node did it).
    const held = (await sql<{ ok: boolean }>`
      SELECT cursor_tx = ${cur.cursor_tx}::xid8 AND cursor_id = ${cur.cursor_id}::bigint AS ok
      FROM webhook_relay WHERE id = 1 FOR UPDATE SKIP LOCKED`.execute(tx)).rows[0]
    if (!held?.ok) return null
    await keepRetention(tx, tenants, retention, written)
    const deliveries = rows.length
      ? await tx.insertInto('webhook_deliveries').values(rows).onConflict((oc) => oc.columns(['tenant_id', 'endpoint', 'event_id']).doNothing()).returning('id').execute()
      : []
    await sql`UPDATE webhook_relay SET cursor_tx = ${last.tx}::xid8, cursor_id = ${last.id}::bigint, updated_at = now() WHERE id = 1`.execute(tx)
    return { events: events.length, deliveries: deliveries.map((d) => ({ id: String(d.id) })) }
  })
  if (result) {
    for (const e of events) eventsRecorded.inc({ tenant: e.tenant_id, type: e.type }) // committed: count them
    for (const [id, days] of written) retention?.set(id, days)
  }
  return result
}

async function keepRetention (tx: Transaction<Database>, tenants: Map<string, WebhookTenant | undefined>, known: Map<string, number> | undefined, written: Map<string, number>): Promise<void> {
  for (const [id, t] of tenants) {
    if (!t || known?.get(id) === t.retentionDays) continue
    await tx.insertInto('event_settings').values({ tenant_id: id, retention_days: t.retentionDays })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ retention_days: t.retentionDays, updated_at: sql`now()` }))
      .execute()
    written.set(id, t.retentionDays) // remembered once committed
  }
}

// ---- one delivery ----

export type DeliveryOutcome = 'delivered' | 'failed' | 'dead' | 'refused' | 'waiting' | 'not-due' | 'claimed-elsewhere' | 'done' | 'missing' | 'endpoint-failing'
/** What to run next: the same delivery later (a retry, a row not yet due), or the next one of the same user. */
export interface DeliveryReport { outcome: DeliveryOutcome, next: Array<{ id: string, delayMs: number, jobId: string }> }

interface DeliveryRow { id: string, tenant_id: string, endpoint: string, event_id: string, user_id: string | null, attempts: number }

export async function deliverWebhook (db: Kysely<Database>, lookup: TenantLookup, id: string, s: WebhookSettings): Promise<DeliveryReport> {
  const token = randomUUID()
  // The claim: not delivered or dead, due, no live claim, and no earlier event of the same user still owed.
  const row = (await sql<DeliveryRow>`
    UPDATE webhook_deliveries d SET claimed_at = now(), claim_token = ${token}
    WHERE d.id = ${id} AND d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= now()
      AND (d.claimed_at IS NULL OR d.claimed_at < now() - make_interval(secs => ${s.leaseSeconds}))
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p
        WHERE p.tenant_id = d.tenant_id AND p.endpoint = d.endpoint AND p.user_id = d.user_id
          AND p.event_id < d.event_id AND p.delivered_at IS NULL AND p.dead_at IS NULL)
    RETURNING d.id, d.tenant_id, d.endpoint, d.event_id, d.user_id, d.attempts`.execute(db)).rows[0]
  if (!row) return whyNotClaimed(db, id)

  const tenant = await lookup(row.tenant_id)
  const endpoint = tenant?.webhooks.find((w) => endpointKey(w.url) === row.endpoint)
  if (!endpoint) return finish(db, row, token, { dead: 'the endpoint is no longer configured' }, 'dead', s)
  const health = await db.selectFrom('webhook_endpoints').select(['failing_at', 'failing_config'])
    .where('tenant_id', '=', row.tenant_id).where('endpoint', '=', row.endpoint).executeTakeFirst()
  if (health?.failing_at) {
    if (health.failing_config === configHash(endpoint)) {
      await release(db, row.id, token)
      return { outcome: 'endpoint-failing', next: [] }
    }
    await reenableEndpoint(db, row.tenant_id, row.endpoint) // its config changed since it was marked
  }
  const event = await db.selectFrom('audit_events').selectAll().where('id', '=', row.event_id).executeTakeFirst()
  const name = event ? publicEventName(event.type) : null
  if (!event || !name) return finish(db, row, token, { dead: 'the event no longer exists (retention or erasure)' }, 'dead', s)

  const body = JSON.stringify({
    type: name,
    timestamp: event.created_at.toISOString(),
    data: {
      id: String(event.id),
      tenant: event.tenant_id,
      auditType: event.type,
      userId: event.user_id,
      details: event.data,
      dialect: event.dialect,
      provider: event.provider,
      clientId: event.client_id,
      requestId: event.request_id,
      clientAddress: event.client_address,
      userAgent: event.user_agent
    }
  })
  const msgId = `evt_${event.id}` // the idempotency key: the same for every attempt of this event
  const now = new Date()
  const signature = new Webhook(endpoint.secret).sign(msgId, now, body)
  const signal = AbortSignal.timeout(s.timeoutMs)
  let status: number | null = null
  let error: string | null = null
  let refused = false
  try {
    const res = await request(endpoint.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vestibule-webhooks',
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature
      },
      dispatcher: agentFor(endpoint.allowPrivateNetwork === true),
      signal
    })
    status = res.statusCode
    await res.body.dump().catch(() => { /* the status is what counts */ })
    if (status < 200 || status >= 300) error = `HTTP ${status}`
  } catch (err) {
    const np = nonPublicIn(err)
    refused = np !== null
    error = np ? np.message : signal.aborted ? `no answer within ${s.timeoutMs} ms` : String((err as { code?: string }).code ?? (err as Error).message)
  }
  if (refused) return finish(db, row, token, { dead: error!, status }, 'refused', s)
  if (error === null) return finish(db, row, token, { status }, 'delivered', s, endpoint)
  return finish(db, row, token, { failed: error, status }, 'failed', s, endpoint)
}

async function whyNotClaimed (db: Kysely<Database>, id: string): Promise<DeliveryReport> {
  const r = (await sql<{ delivered_at: Date | null, dead_at: Date | null, claimed_at: Date | null, wait_ms: number, attempts: number }>`
    SELECT delivered_at, dead_at, claimed_at, attempts, GREATEST(0, EXTRACT(EPOCH FROM next_attempt_at - now()) * 1000)::float8 AS wait_ms
    FROM webhook_deliveries WHERE id = ${id}`.execute(db)).rows[0]
  if (!r) return { outcome: 'missing', next: [] }
  if (r.delivered_at || r.dead_at) return { outcome: 'done', next: [] }
  if (r.wait_ms > 0) return { outcome: 'not-due', next: [{ id, delayMs: Math.ceil(r.wait_ms) + 10, jobId: `wh-${id}-${r.attempts}-due` }] }
  // Claimed by another attempt, or waiting for an earlier event of its user (whose end schedules this one).
  return { outcome: r.claimed_at ? 'claimed-elsewhere' : 'waiting', next: [] }
}

async function release (db: Kysely<Database>, id: string, token: string): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ claimed_at: null, claim_token: null }).where('id', '=', id).where('claim_token', '=', token).execute()
}

async function reenableEndpoint (db: Kysely<Database>, tenantId: string, endpoint: string): Promise<void> {
  await db.updateTable('webhook_endpoints').set({ failing_at: null, failing_config: null, consecutive_failures: 0, first_failure_at: null })
    .where('tenant_id', '=', tenantId).where('endpoint', '=', endpoint).execute()
}

/** Records an attempt's end (idempotent: only the claim's holder writes) and says what runs next. */
async function finish (db: Kysely<Database>, row: DeliveryRow, token: string, what: { dead?: string, failed?: string, status?: number | null }, outcome: 'delivered' | 'failed' | 'dead' | 'refused', s: WebhookSettings, endpoint?: WebhookConfig): Promise<DeliveryReport> {
  const attempts = row.attempts + (outcome === 'dead' ? 0 : 1)
  let final: DeliveryOutcome = outcome
  let delay = 0
  await db.transaction().execute(async (tx) => {
    const base = tx.updateTable('webhook_deliveries').where('id', '=', row.id).where('claim_token', '=', token).where('delivered_at', 'is', null)
    if (outcome === 'delivered') {
      await base.set({ delivered_at: sql`now()`, attempts, last_status: what.status ?? null, last_error: null, claim_token: null }).execute()
    } else if (outcome === 'failed' && attempts < s.maxAttempts) {
      delay = retryDelayMs(attempts, s)
      await base.set({ attempts, last_status: what.status ?? null, last_error: what.failed!.slice(0, 500), claimed_at: null, claim_token: null, next_attempt_at: sql`now() + make_interval(secs => ${delay / 1000})` }).execute()
    } else {
      if (outcome === 'failed') final = 'dead'
      await base.set({ attempts, dead_at: sql`now()`, last_status: what.status ?? null, last_error: (what.dead ?? `gave up after ${attempts} attempts: ${what.failed}`).slice(0, 500), claim_token: null }).execute()
    }
    if (endpoint && (outcome === 'delivered' || outcome === 'failed')) await endpointHealth(tx, row, endpoint, outcome === 'delivered', s)
  })
  webhookDeliveries.inc({ tenant: row.tenant_id, outcome: final })
  if (final === 'failed') return { outcome: final, next: [{ id: row.id, delayMs: delay, jobId: `wh-${row.id}-${attempts}` }] }
  // Delivered or dead: the same user's next event at this endpoint may go now.
  const next = row.user_id === null
    ? undefined
    : await db.selectFrom('webhook_deliveries').select(['id'])
      .where('tenant_id', '=', row.tenant_id).where('endpoint', '=', row.endpoint).where('user_id', '=', row.user_id)
      .where('delivered_at', 'is', null).where('dead_at', 'is', null).where('event_id', '>', row.event_id)
      .orderBy('event_id').limit(1).executeTakeFirst()
  return { outcome: final, next: next ? [{ id: String(next.id), delayMs: 0, jobId: `wh-${next.id}-after-${row.id}` }] : [] }
}

async function endpointHealth (tx: Transaction<Database>, row: DeliveryRow, endpoint: WebhookConfig, ok: boolean, s: WebhookSettings): Promise<void> {
  const key = { tenant_id: row.tenant_id, endpoint: row.endpoint, url: endpoint.url }
  if (ok) {
    await tx.insertInto('webhook_endpoints').values({ ...key, last_success_at: sql`now()` })
      .onConflict((oc) => oc.columns(['tenant_id', 'endpoint']).doUpdateSet({ consecutive_failures: 0, first_failure_at: null, last_success_at: sql`now()`, url: endpoint.url }))
      .execute()
    return
  }
  const h = await tx.insertInto('webhook_endpoints').values({ ...key, consecutive_failures: 1, first_failure_at: sql`now()` })
    .onConflict((oc) => oc.columns(['tenant_id', 'endpoint']).doUpdateSet({
      consecutive_failures: sql`webhook_endpoints.consecutive_failures + 1`,
      first_failure_at: sql`COALESCE(webhook_endpoints.first_failure_at, now())`,
      url: endpoint.url
    }))
    .returning(['consecutive_failures', 'first_failure_at', 'failing_at'])
    .executeTakeFirstOrThrow()
  if (!h.failing_at && h.consecutive_failures >= s.failingAfterFailures && Date.now() - h.first_failure_at!.getTime() >= s.failingAfterMs) {
    await tx.updateTable('webhook_endpoints').set({ failing_at: sql`now()`, failing_config: configHash(endpoint) })
      .where('tenant_id', '=', row.tenant_id).where('endpoint', '=', row.endpoint).execute()
    webhookEndpointsFailing.inc({ tenant: row.tenant_id })
  }
}

// ---- the sweep: rows whose job was lost, failing endpoints whose config changed ----

/** Due deliveries first in their user's line that no job has taken for `afterMs` (oldest first). */
export async function lostDeliveries (db: Kysely<Database>, afterMs: number, limit: number, leaseSeconds: number): Promise<Array<{ id: string, attempts: number }>> {
  const rows = (await sql<{ id: string, attempts: number }>`
    SELECT d.id, d.attempts FROM webhook_deliveries d
    WHERE d.delivered_at IS NULL AND d.dead_at IS NULL
      AND d.next_attempt_at < now() - make_interval(secs => ${afterMs / 1000})
      AND (d.claimed_at IS NULL OR d.claimed_at < now() - make_interval(secs => ${leaseSeconds}))
      AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = d.tenant_id AND e.endpoint = d.endpoint AND e.failing_at IS NOT NULL)
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p
        WHERE p.tenant_id = d.tenant_id AND p.endpoint = d.endpoint AND p.user_id = d.user_id
          AND p.event_id < d.event_id AND p.delivered_at IS NULL AND p.dead_at IS NULL)
    ORDER BY d.next_attempt_at LIMIT ${limit}`.execute(db)).rows
  return rows.map((r) => ({ id: String(r.id), attempts: r.attempts }))
}

/** Failing endpoints whose tenant changed their config are re-enabled; removed ones have their deliveries closed. */
export async function reviewFailingEndpoints (db: Kysely<Database>, lookup: TenantLookup): Promise<number> {
  const failing = await db.selectFrom('webhook_endpoints').select(['tenant_id', 'endpoint', 'failing_config']).where('failing_at', 'is not', null).limit(1000).execute()
  let changed = 0
  for (const f of failing) {
    const w = (await lookup(f.tenant_id))?.webhooks.find((x) => endpointKey(x.url) === f.endpoint)
    if (w && configHash(w) === f.failing_config) continue
    await reenableEndpoint(db, f.tenant_id, f.endpoint)
    changed++
  }
  return changed
}

/** Admin API: re-enables a failing endpoint (its waiting deliveries go at the next sweep, or now via the dispatcher). */
export async function enableEndpoint (db: Kysely<Database> | Transaction<Database>, tenantId: string, url: string): Promise<boolean> {
  const r = await db.updateTable('webhook_endpoints').set({ failing_at: null, failing_config: null, consecutive_failures: 0, first_failure_at: null })
    .where('tenant_id', '=', tenantId).where('endpoint', '=', endpointKey(url)).executeTakeFirst()
  await db.updateTable('webhook_deliveries').set({ next_attempt_at: sql`now() - interval '1 day'` })
    .where('tenant_id', '=', tenantId).where('endpoint', '=', endpointKey(url)).where('delivered_at', 'is', null).where('dead_at', 'is', null).execute()
  return Number(r.numUpdatedRows) > 0
}

/** Admin API: each configured endpoint with its health and what it still owes. */
export async function endpointStatus (db: Kysely<Database>, tenantId: string, webhooks: WebhookConfig[]): Promise<Array<{ url: string, events: string[], failing: boolean, failingSince: string | null, consecutiveFailures: number, lastSuccessAt: string | null, pending: number, dead: number }>> {
  const keys = webhooks.map((w) => endpointKey(w.url))
  if (keys.length === 0) return []
  const health = await db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('endpoint', 'in', keys).execute()
  const counts = await db.selectFrom('webhook_deliveries')
    .select((eb) => ['endpoint', eb.fn.countAll<string>().filterWhere('dead_at', 'is', null).as('pending'), eb.fn.countAll<string>().filterWhere('dead_at', 'is not', null).as('dead')])
    .where('tenant_id', '=', tenantId).where('endpoint', 'in', keys).where('delivered_at', 'is', null)
    .groupBy('endpoint').execute()
  return webhooks.map((w, i) => {
    const h = health.find((x) => x.endpoint === keys[i])
    const c = counts.find((x) => x.endpoint === keys[i])
    return {
      url: w.url,
      events: w.events,
      failing: Boolean(h?.failing_at),
      failingSince: h?.failing_at?.toISOString() ?? null,
      consecutiveFailures: h?.consecutive_failures ?? 0,
      lastSuccessAt: h?.last_success_at?.toISOString() ?? null,
      pending: Number(c?.pending ?? 0),
      dead: Number(c?.dead ?? 0)
    }
  })
}

// ---- the dispatcher: relay timer, BullMQ worker (or in-process timers), sweep ----

const ON_ITS_WAY = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active'])

export class WebhookDispatcher {
  readonly #db: Kysely<Database>
  readonly #lookup: TenantLookup
  readonly #s: WebhookSettings
  readonly #log: Log
  readonly #queue: Queue | null = null
  readonly #worker: Worker | null = null
  readonly #workerConnection: Redis | null = null
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #retention = new Map<string, number>()
  readonly #tick: NodeJS.Timeout
  #ticks = 0
  #running: Promise<void> | null = null
  #closed = false

  constructor (opts: { db: Kysely<Database>, lookup: TenantLookup, log: Log, settings?: Partial<WebhookSettings>, redis?: { url: string, producer: Redis, prefix: string } }) {
    this.#db = opts.db
    this.#lookup = opts.lookup
    this.#log = opts.log
    this.#s = { ...DEFAULT_WEBHOOK_SETTINGS, ...opts.settings }
    if (opts.redis) {
      // The producer fails fast (a Redis outage leaves rows in PostgreSQL for the sweep); the worker blocks.
      this.#queue = new Queue(WEBHOOK_QUEUE, { connection: opts.redis.producer, prefix: opts.redis.prefix })
      this.#queue.on('error', (err) => this.#log.warn({ err: err.message }, 'webhook queue'))
      this.#workerConnection = new Redis(opts.redis.url, { maxRetriesPerRequest: null })
      this.#workerConnection.on('error', (err) => this.#log.warn({ err: err.message }, 'webhook worker redis'))
      this.#worker = new Worker(WEBHOOK_QUEUE, async (job) => this.#run(String(job.data.deliveryId)), {
        connection: this.#workerConnection, prefix: opts.redis.prefix, concurrency: this.#s.concurrency
      })
      this.#worker.on('error', (err) => this.#log.error({ err }, 'webhook worker error'))
    }
    this.#tick = setInterval(() => { this.tick() }, this.#s.relayEveryMs)
    this.#tick.unref()
  }

  get settings (): WebhookSettings { return this.#s }

  /** One relay pass (and a sweep every `sweepEvery` passes); tests call it to skip the wait. */
  tick (): Promise<void> {
    if (this.#running || this.#closed) return this.#running ?? Promise.resolve()
    this.#running = (async () => {
      try {
        for (let i = 0; i < 20 && !this.#closed; i++) {
          const r = await relayEvents(this.#db, this.#lookup, this.#s.batchSize, this.#retention)
          if (!r) break
          for (const d of r.deliveries) await this.schedule(d.id, 0, `wh-${d.id}-0`)
          if (r.events < this.#s.batchSize) break
        }
        if (++this.#ticks % this.#s.sweepEvery === 0) await this.sweep()
      } catch (err) {
        if (!this.#closed) this.#log.warn({ err: (err as Error).message }, 'webhook relay failed; next tick retries')
      }
    })().finally(() => { this.#running = null })
    return this.#running
  }

  /** Re-enqueues due deliveries that no job holds (Redis restarted empty, a process died, an enqueue failed). */
  async sweep (): Promise<number> {
    await reviewFailingEndpoints(this.#db, this.#lookup)
    const lost = await lostDeliveries(this.#db, this.#s.redeliverAfterMs, 500, this.#s.leaseSeconds)
    let n = 0
    for (const d of lost) {
      const jobId = `wh-${d.id}-${d.attempts}`
      if (this.#queue) {
        const existing = await this.#queue.getJob(jobId)
        const state = existing ? await existing.getState() : 'missing'
        if (ON_ITS_WAY.has(state)) continue
        if (existing) await existing.remove().catch(() => { /* removed by another node first */ })
      }
      await this.schedule(d.id, 0, jobId)
      n++
    }
    if (n) this.#log.warn({ redelivered: n }, 'webhook deliveries re-enqueued')
    return n
  }

  async schedule (id: string, delayMs: number, jobId: string): Promise<void> {
    if (this.#closed) return
    if (this.#queue) {
      await this.#queue.add('deliver', { deliveryId: id }, { jobId, delay: delayMs, removeOnComplete: true, removeOnFail: { count: 1000 }, attempts: 1 })
        .catch((err: Error) => this.#log.warn({ err: err.message, delivery: id }, 'cannot enqueue a webhook delivery; the sweep will'))
      return
    }
    const t = setTimeout(() => {
      this.#timers.delete(t)
      // A failed attempt (the database, a lookup) leaves its claim to run out; the sweep takes the row again.
      this.#track(this.#run(id).catch((err: Error) => this.#log.warn({ err: err.message, delivery: id }, 'webhook delivery attempt failed; the sweep retries it')))
    }, delayMs)
    this.#timers.add(t)
  }

  async #run (id: string): Promise<DeliveryOutcome> {
    const report = await deliverWebhook(this.#db, this.#lookup, id, this.#s)
    for (const n of report.next) await this.schedule(n.id, n.delayMs, n.jobId)
    if (report.outcome === 'failed' || report.outcome === 'dead') this.#log.warn({ delivery: id, outcome: report.outcome }, 'webhook delivery failed')
    return report.outcome
  }

  #track (p: Promise<unknown>): void {
    this.#inflight.add(p)
    void p.finally(() => this.#inflight.delete(p))
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#tick)
    for (const t of this.#timers) clearTimeout(t)
    await this.#running
    // With Redis down, BullMQ's close waits for a connection that is not coming back: bound each step. Nothing
    // is lost by not waiting: every delivery is a row in PostgreSQL, and a job left active is taken again after
    // BullMQ's stall check or re-enqueued by the sweep.
    const redisUp = this.#workerConnection?.status === 'ready'
    await bounded(this.#worker?.close(!redisUp), CLOSE_STEP_MS)
    await Promise.allSettled([...this.#inflight])
    await bounded(this.#queue?.close(), CLOSE_STEP_MS)
    if (redisUp) await bounded(this.#workerConnection?.quit().catch(() => undefined), CLOSE_STEP_MS)
    this.#workerConnection?.disconnect()
  }
}

/** How long close() waits for each Redis-bound step before going on (Redis may be down). */
const CLOSE_STEP_MS = 3000

function bounded (p: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  if (!p) return Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  return Promise.race([p.catch(() => undefined), new Promise((resolve) => { timer = setTimeout(resolve, ms) })]).finally(() => clearTimeout(timer))
}
