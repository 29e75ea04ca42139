// The one place an audit event row is built (SQL.insertEvent's parameters): the event itself, who and
// through what (provider, client), and the request it came from (plugins/events/context.ts).
// No secret belongs in `data`: ids, reasons, counts and versions only, never a token, code, key or password.
import { currentEventContext } from './context.ts'

export interface EventMeta {
  /** The configured provider name the user came through. */
  provider?: string | null
  /** The API client the request spoke for. */
  client?: string | null
}

/** $1 tenant, $2 user, $3 type, $4 data, $5 dialect, $6 provider, $7 client, $8 request id, $9 address, $10 user agent. */
export function eventParams (tenantId: string, type: string, userId: string | null, data: Record<string, unknown>, meta: EventMeta = {}): unknown[] {
  const ctx = currentEventContext()
  return [
    tenantId, userId, type, JSON.stringify(data),
    ctx?.dialect ?? null, meta.provider ?? null, meta.client ?? null,
    ctx?.requestId ?? null, ctx?.clientAddress ?? null, ctx?.userAgent ?? null
  ]
}
