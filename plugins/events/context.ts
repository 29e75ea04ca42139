// Where an audit event comes from: the request that caused it (request id, client address, user agent, the
// dialect whose route it hit), kept in an AsyncLocalStorage for the request's lifetime so the identity core
// stamps every event it records without each dialect passing it along. Outside a request (a worker, the CLI)
// there is no context and those columns stay null.
import { AsyncLocalStorage } from 'node:async_hooks'
import net from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

export interface EventContext {
  requestId: string | null
  clientAddress: string | null
  userAgent: string | null
  dialect: string | null
}

/** How much of the client address an event keeps (tenant `events.clientAddress`). */
export type AddressMode = 'full' | 'truncated' | 'none'

const storage = new AsyncLocalStorage<EventContext>()

export function currentEventContext (): EventContext | undefined {
  return storage.getStore()
}

/** Runs fn with this context (tests, and callers outside Fastify). */
export function withEventContext<T> (ctx: EventContext, fn: () => T): T {
  return storage.run(ctx, fn)
}

/**
 * `truncated` (the default) keeps IPv4 to its /24 (203.0.113.0) and IPv6 to its /48 (2001:db8:1::), enough to
 * tell networks apart and too little to name a subscriber; `none` keeps nothing.
 */
export function truncateAddress (ip: string | undefined, mode: AddressMode): string | null {
  if (!ip || mode === 'none') return null
  const v4 = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip
  if (mode === 'full') return v4
  if (net.isIPv4(v4)) return v4.split('.').slice(0, 3).join('.') + '.0'
  if (!net.isIPv6(v4)) return null
  const [head, tail] = v4.split('%')[0].split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : []
  const groups = [...h, ...(tail !== undefined ? Array(8 - h.length - t.length).fill('0') : []), ...t]
  return groups.slice(0, 3).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':') + '::'
}

/** At most this much of a User-Agent is kept. */
const UA_MAX = 256

/**
 * A request's context, read when an event is recorded (most requests record none): the address, agent and
 * dialect are worked out on first read, not on every request.
 */
class RequestEventContext implements EventContext {
  readonly #req: FastifyRequest
  readonly #mode: AddressMode
  /** Read now: an event recorded after the response (a background write) may find the socket gone. */
  readonly #ip: string | undefined
  #address: string | null | undefined
  #dialect: string | null | undefined
  constructor (req: FastifyRequest, mode: AddressMode) { this.#req = req; this.#mode = mode; this.#ip = req.ip }
  get requestId (): string { return String(this.#req.id) }
  get clientAddress (): string | null {
    if (this.#address === undefined) this.#address = truncateAddress(this.#ip, this.#mode)
    return this.#address
  }
  get userAgent (): string | null {
    const ua = this.#req.headers['user-agent']
    return typeof ua === 'string' && ua ? ua.slice(0, UA_MAX) : null
  }
  get dialect (): string | null {
    if (this.#dialect === undefined) this.#dialect = (this.#req.routeOptions.schema as { tags?: string[] } | undefined)?.tags?.[0] ?? null
    return this.#dialect
  }
}

/** Opens the context on every request of this scope (a tenant's instance, the admin API). */
export default fp(async function eventContext (app: FastifyInstance, opts: { clientAddress?: AddressMode }) {
  const mode = opts.clientAddress ?? 'truncated'
  // Callback style: the rest of the request's hooks and its handler run inside run().
  app.addHook('onRequest', (req, _reply, done) => {
    storage.run(new RequestEventContext(req, mode), done)
  })
}, { name: 'vestibule-event-context', fastify: '5.x' })
