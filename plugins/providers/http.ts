// Provider HTTP: keep-alive undici Agents for every provider call, per-call timeouts, failures as values,
// and no calls to non-public addresses unless the provider opted in (allowPrivateNetwork).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import { Agent, buildConnector, request } from 'undici'
import type { ProviderFailure, ProviderResult } from './types.ts'
import { NonPublicAddressError, nonPublicRange } from './address-policy.ts'

const POOL = { keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: 64 }

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

// Every address a name resolves to must be public: a name that also resolves to 127.0.0.1 (or rebinds
// to it later) is refused whole, not connected to its "good" half. Node calls this at connect time, for
// every new connection, so a pooled socket is always to an address that passed.
function publicOnlyLookup (hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, [])
    for (const a of addresses) {
      const range = nonPublicRange(a.address)
      if (range !== null) return callback(new NonPublicAddressError(hostname, a.address, range), [])
    }
    if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname}: no addresses`), { code: 'ENOTFOUND' }), [])
    if (options.all === true) return callback(null, addresses)
    callback(null, addresses[0].address, addresses[0].family)
  })
}

const publicConnector = buildConnector({ lookup: publicOnlyLookup as never })

// net.connect skips the lookup for an IP literal, so literals are checked here.
const publicOnlyConnect: buildConnector.connector = (options, callback) => {
  const range = isIP(options.hostname) !== 0 ? nonPublicRange(options.hostname) : null
  if (range !== null) {
    const err = new NonPublicAddressError(options.hostname, options.hostname, range)
    process.nextTick(() => callback(err, null))
    return
  }
  publicConnector(options, callback)
}

// One pool per origin for the whole process: 10,000 tenants pointing at Google share its sockets.
/** For providers that may reach public addresses only (the default). */
export const providerAgent = new Agent({ ...POOL, connect: publicOnlyConnect })
/** For providers configured with allowPrivateNetwork: true (self-hosted IdPs on the operator's network, tests). */
export const privateNetworkAgent = new Agent(POOL)

export const agentFor = (allowPrivateNetwork: boolean): Agent => (allowPrivateNetwork ? privateNetworkAgent : providerAgent)

export const DEFAULT_TIMEOUT_MS = 10_000

export interface HttpCall {
  method?: 'GET' | 'POST'
  url: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
  /** Short name for the endpoint, used in `detail` (never the URL's query, which may hold a token). */
  what: string
  /** The provider's allowPrivateNetwork: whether loopback, private, link-local and unique-local addresses may be reached. */
  allowPrivateNetwork: boolean
}

export interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

export const invalid = (detail: string): ProviderFailure => ({ ok: false, error: 'invalid_credentials', detail })
export const unavailable = (detail: string): ProviderFailure => ({ ok: false, error: 'unavailable', detail })

/** Any HTTP answer is ok here; only transport failures (refused, reset, timeout) are failures. */
export async function send (call: HttpCall): Promise<ProviderResult<HttpReply>> {
  const signal = AbortSignal.timeout(call.timeoutMs)
  try {
    const res = await request(call.url, {
      method: call.method ?? 'GET',
      headers: { 'user-agent': 'vestibule', ...call.headers },
      body: call.body,
      dispatcher: agentFor(call.allowPrivateNetwork),
      signal
    })
    // The body read is bounded by the same signal: a peer that sends headers then stalls still times out.
    const text = await res.body.text()
    return { ok: true, value: { status: res.statusCode, headers: res.headers, text } }
  } catch (err) {
    if (signal.aborted) return unavailable(`${call.what}: no answer within ${call.timeoutMs} ms`)
    const refused = nonPublicIn(err)
    if (refused !== null) return unavailable(`${call.what}: refused: ${refused.message}`)
    const code = (err as { code?: string }).code
    return unavailable(`${call.what}: ${code ?? (err as Error).name ?? 'network error'}`)
  }
}

/** The NonPublicAddressError behind a failed request, if that is why it failed (undici may wrap it in `cause`). */
export function nonPublicIn (err: unknown): NonPublicAddressError | null {
  for (let e = err, i = 0; e !== null && e !== undefined && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof NonPublicAddressError) return e
  }
  return null
}

/**
 * Provider said no (4xx) → invalid_credentials; 5xx, 408, 429 or an unparseable body → unavailable.
 * `errorField` names a provider error code that is safe to echo into detail (e.g. OAuth's `error`).
 */
export async function sendJson (call: HttpCall): Promise<ProviderResult<{ status: number, body: Record<string, unknown> }>> {
  const sent = await send(call)
  if (!sent.ok) return sent
  const { status, text } = sent.value
  if (status === 408 || status === 429 || status >= 500) return unavailable(`${call.what}: HTTP ${status}`)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body)
  if (status >= 400) {
    return invalid(`${call.what}: HTTP ${status}${isObject ? safeErrorCode(body as Record<string, unknown>) : ''}`)
  }
  if (status < 200 || status >= 300) return unavailable(`${call.what}: unexpected HTTP ${status}`)
  if (!isObject && !Array.isArray(body)) return unavailable(`${call.what}: response is not JSON`)
  return { ok: true, value: { status, body: body as Record<string, unknown> } }
}

// OAuth error codes are a closed vocabulary of [a-z_]; anything else is left out so a body can't leak secrets.
export function safeErrorCode (body: Record<string, unknown>): string {
  const e = body.error
  const code = typeof e === 'string' ? e : (typeof e === 'object' && e !== null ? (e as Record<string, unknown>).type : undefined)
  return typeof code === 'string' && /^[A-Za-z_]{1,64}$/.test(code) ? ` ${code}` : ''
}

export const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null)
