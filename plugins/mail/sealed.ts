// Mail bodies at rest: sealed when written to the outbox (a magic link in a backup must not log anyone
// in), opened right before the SMTP send, blanked once sent.
import type { OutboxRow } from '../../db/database.ts'
import { isSealed, secretKeys, type KeyRing } from '../crypto.ts'

/** The context a body is sealed under: a body opens only as the body of a mail of the same tenant. */
const context = (tenantId: string, part: 'text' | 'html') => `email_outbox.${part}_body:${tenantId}`

export function sealMailBodies (tenantId: string, text: string, html: string | null, keys: KeyRing = secretKeys()): { text_body: string, html_body: string | null } {
  return { text_body: keys.seal(text, context(tenantId, 'text')), html_body: html === null ? null : keys.seal(html, context(tenantId, 'html')) }
}

/** The row with its bodies readable (rows written before sealing pass through unchanged). */
export function openOutboxRow<R extends Pick<OutboxRow, 'tenant_id' | 'text_body' | 'html_body'>> (row: R, keys: KeyRing = secretKeys()): R {
  const open = (v: string, part: 'text' | 'html') => (isSealed(v) ? keys.open(v, context(row.tenant_id, part)) : v)
  return { ...row, text_body: open(row.text_body, 'text'), html_body: row.html_body === null ? null : open(row.html_body, 'html') }
}

/** What a sent row keeps of its bodies: nothing (the recipient has the mail; the row keeps who, when, what subject). */
export const BLANK_BODIES = { text_body: '', html_body: null } as const
