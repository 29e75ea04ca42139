// Provider HTTP: one keep-alive undici Agent for every provider call, per-call timeouts, failures as values.
import { Agent, request } from 'undici'
import type { ProviderFailure, ProviderResult } from './types.ts'

// One pool per origin for the whole process: 10,000 tenants pointing at Google share its sockets.
export const providerAgent = new Agent({
  keepAliveTimeout: 10_000,
  keepAliveMaxTimeout: 60_000,
  connections: 64
})

export const DEFAULT_TIMEOUT_MS = 10_000

export interface HttpCall {
  method?: 'GET' | 'POST'
  url: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
  /** Short name for the endpoint, used in `detail` (never the URL's query, which may hold a token). */
  what: string
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
      dispatcher: providerAgent,
      signal
    })
    // The body read is bounded by the same signal: a peer that sends headers then stalls still times out.
    const text = await res.body.text()
    return { ok: true, value: { status: res.statusCode, headers: res.headers, text } }
  } catch (err) {
    if (signal.aborted) return unavailable(`${call.what}: no answer within ${call.timeoutMs} ms`)
    const code = (err as { code?: string }).code
    return unavailable(`${call.what}: ${code ?? (err as Error).name ?? 'network error'}`)
  }
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
