// Mail bodies at rest: sealed when written to the outbox (a magic link in a backup must not log anyone
// in), opened right before the SMTP send (email.processor.ts), blanked once sent. Here, not in plugins/mail,
// so the worker reads bodies without importing a layer above its own.
import type { OutboxRow } from '../db/database.ts'
import { isSealed, open, processKeyring, seal, type SecretKeyring } from '../db/sealing.ts'

/** The context a body is sealed under: a body opens only as the body of a mail of the same tenant. */
const context = (tenantId: string, part: 'text' | 'html') => `email_outbox.${part}_body:${tenantId}`

export function sealMailBodies (tenantId: string, text: string, html: string | null, ring: SecretKeyring = processKeyring()): { text_body: string, html_body: string | null } {
  return { text_body: seal(ring, text, context(tenantId, 'text'), 'compact'), html_body: html === null ? null : seal(ring, html, context(tenantId, 'html'), 'compact') }
}

/** The row with its bodies readable (rows written before sealing pass through unchanged). */
export function openOutboxRow<R extends Pick<OutboxRow, 'tenant_id' | 'text_body' | 'html_body'>> (row: R, ring: SecretKeyring = processKeyring()): R {
  const read = (v: string, part: 'text' | 'html') => (isSealed(v, 'compact') ? open(ring, v, context(row.tenant_id, part)) : v)
  return { ...row, text_body: read(row.text_body, 'text'), html_body: row.html_body === null ? null : read(row.html_body, 'html') }
}

/** What a sent row keeps of its bodies: nothing (the recipient has the mail; the row keeps who, when, what subject). */
export const BLANK_BODIES = { text_body: '', html_body: null } as const
