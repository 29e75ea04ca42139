// Public webhook event names (docs/events.md): the audit types an operator's app may subscribe to, by the
// dotted names the Standard Webhooks ecosystem uses. An audit type not listed here is recorded and queryable
// but never sent.
export const WEBHOOK_EVENTS: Readonly<Record<string, string>> = {
  register: 'user.registered',
  login: 'user.signed_in',
  'login-failed': 'user.sign_in_failed',
  link: 'user.linked',
  merge: 'user.merged',
  'email-released': 'user.email_released',
  'magic-link-requested': 'user.magic_link_requested',
  'code-refused': 'user.code_refused',
  'email-changed': 'user.email_changed',
  'rate-limited': 'request.rate_limited',
  'session-revoked': 'session.revoked',
  'sessions-revoked': 'sessions.revoked',
  'user-blocked': 'user.blocked',
  'user-unblocked': 'user.unblocked',
  'user-erased': 'user.erased',
  'tenant-created': 'tenant.created',
  'tenant-updated': 'tenant.updated',
  'tenant-restored': 'tenant.restored',
  'tenant-deleted': 'tenant.deleted',
  'webhook-enabled': 'webhook.enabled',
  'signing-key-rotated': 'signing_key.rotated',
  'signing-key-retired': 'signing_key.retired'
}

export const PUBLIC_EVENT_NAMES: ReadonlySet<string> = new Set(Object.values(WEBHOOK_EVENTS))

/** The public name of an audit type, or null when it is never sent. */
export function publicEventName (auditType: string): string | null {
  return Object.prototype.hasOwnProperty.call(WEBHOOK_EVENTS, auditType) ? WEBHOOK_EVENTS[auditType] : null
}

/** Standard Webhooks secrets: `whsec_` then base64 of 24 to 64 random bytes. */
export function secretProblem (secret: string): string | null {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret)
  if (!m) return 'must be "whsec_" followed by base64 (e.g. `whsec_$(openssl rand -base64 32)`)'
  const n = Buffer.from(m[1], 'base64').length
  if (n < 24 || n > 64) return `decodes to ${n} bytes; Standard Webhooks secrets are 24 to 64 bytes`
  return null
}
