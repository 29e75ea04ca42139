// The Database type: one interface per table, as Kysely's own example app does.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
type Json = ColumnType<Record<string, unknown>, string | Record<string, unknown> | undefined, string | Record<string, unknown>>

export interface UsersTable {
  id: Generated<string> // bigserial: numeric ids for dialects that show them (syncano)
  uuid: Generated<string>
  tenant_id: string
  email: string | null
  email_verified: Generated<boolean>
  username: string | null
  given_name: string | null
  family_name: string | null
  display_name: string | null
  photo: string | null
  locale: string | null
  referral_code: Generated<string> // the user's own code (column default: 16 random hex digits, unique per tenant)
  referred_by_id: string | null // the user of the same tenant whose referral code was given at registration
  password_hash: string | null
  attributes: Json // dialect-specific profile attributes (capture form fields, …)
  created_at: Generated<Date>
  updated_at: Generated<Date>
  disabled_at: NullableTimestamp // blocked by an operator: sign-ins refused
  email_verified_at: NullableTimestamp // kept by a trigger: when email_verified last became true for this address
}

export interface IdentitiesTable {
  id: Generated<string>
  tenant_id: string
  user_id: string
  provider_type: string // the provider *type* (google, github…), so aliases share identities
  provider_name: string // the configured key the user came through, for display
  subject: string
  issuer: string | null
  email: string | null
  email_verified: Generated<boolean>
  profile: Json
  created_at: Generated<Date>
}

export interface SessionsTable {
  id: Generated<string>
  tenant_id: string
  user_id: string
  kind: string // token | access | refresh | user_key
  token_hash: string
  client_id: string | null
  source: string | null // what issued it (e.g. the hash of the authorization code), so a replay can revoke it
  created_at: Generated<Date>
  expires_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface OneTimeTokensTable {
  id: Generated<string>
  tenant_id: string
  purpose: string
  token_hash: string
  user_id: string | null
  data: Json
  /** Magic links: the normalised address mailed (not a secret), read by the one-statement login. */
  email: ColumnType<string | null, string | null | undefined, string | null>
  created_at: Generated<Date>
  expires_at: Timestamp
  consumed_at: NullableTimestamp
}

export interface EmailOutboxTable {
  id: Generated<string>
  tenant_id: string
  to_address: string
  from_address: string
  subject: string
  text_body: string
  html_body: string | null
  created_at: Generated<Date>
  /** `<uuid@vestibule>`, the same on every attempt; NULL on rows older than its migration. */
  message_id: Generated<string | null>
  claimed_at: NullableTimestamp
  /** Which claim is sending the row (a worker that outlived its lease cannot record over another's). */
  claim_token: string | null
  sent_at: NullableTimestamp
  /** The SMTP server's answer to the accepted message. */
  sent_response: string | null
  attempts: Generated<number>
  last_error: string | null
}

export interface AuditEventsTable {
  id: Generated<string>
  tenant_id: string
  user_id: string | null
  type: string
  data: Json
  created_at: Generated<Date>
  // Where the event came from (plugins/events/context.ts); null when not known (a worker, the CLI).
  dialect: string | null
  provider: string | null
  client_id: string | null
  request_id: string | null
  client_address: string | null // truncated per the tenant's events.clientAddress
  user_agent: string | null
  /** The writing transaction (xid8, as text); the webhook relay's order. Null on rows older than webhooks. */
  tx: ColumnType<string | null, never, never>
}

export interface WebhookRelayTable {
  id: number
  cursor_tx: string
  cursor_id: string
  updated_at: Generated<Date>
}

export interface WebhookDeliveriesTable {
  id: Generated<string>
  tenant_id: string
  endpoint: string // the endpoint's key (plugins/events/webhooks.ts endpointKey)
  event_id: string
  user_id: string | null
  created_at: Generated<Date>
  attempts: Generated<number>
  next_attempt_at: Generated<Date>
  claimed_at: NullableTimestamp
  claim_token: string | null
  delivered_at: NullableTimestamp
  dead_at: NullableTimestamp
  last_status: number | null
  last_error: string | null
}

export interface WebhookEndpointsTable {
  tenant_id: string
  endpoint: string
  url: string
  consecutive_failures: Generated<number>
  first_failure_at: NullableTimestamp
  last_success_at: NullableTimestamp
  failing_at: NullableTimestamp
  failing_config: string | null
}

export interface EventSettingsTable {
  tenant_id: string
  retention_days: number
  updated_at: Generated<Date>
}

export interface AdminTokensTable {
  id: Generated<string>
  token_hash: string
  name: string | null
  scopes: string[]
  tenant_id: string | null // null: every tenant
  created_at: Generated<Date>
  expires_at: NullableTimestamp
  last_used_at: NullableTimestamp
  revoked_at: NullableTimestamp
}

export interface TenantConfigsTable {
  id: string
  version: number
  doc: Json // as given, secrets sealed
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface TenantConfigVersionsTable {
  tenant_id: string
  version: number
  action: string // create | update | restore | delete
  doc: ColumnType<Record<string, unknown> | null, string | null, string | null>
  actor: string | null
  created_at: Generated<Date>
}

export interface TenantHostsTable {
  host: string
  tenant_id: string
}

export interface SigningKeysTable {
  id: Generated<string>
  tenant_id: string
  kid: string
  alg: string // ES256 | RS256
  public_jwk: ColumnType<Record<string, unknown>, string, string>
  private_sealed: string
  created_at: Generated<Date>
  rotated_at: NullableTimestamp // a newer key signs; this one still verifies
  retired_at: NullableTimestamp // no longer verifies
}

export interface Database {
  users: UsersTable
  identities: IdentitiesTable
  sessions: SessionsTable
  one_time_tokens: OneTimeTokensTable
  email_outbox: EmailOutboxTable
  audit_events: AuditEventsTable
  webhook_relay: WebhookRelayTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_endpoints: WebhookEndpointsTable
  event_settings: EventSettingsTable
  admin_tokens: AdminTokensTable
  tenant_configs: TenantConfigsTable
  tenant_config_versions: TenantConfigVersionsTable
  tenant_hosts: TenantHostsTable
  signing_keys: SigningKeysTable
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type Identity = Selectable<IdentitiesTable>
export type Session = Selectable<SessionsTable>
export type OneTimeToken = Selectable<OneTimeTokensTable>
export type OutboxRow = Selectable<EmailOutboxTable>
export type AdminToken = Selectable<AdminTokensTable>
export type SigningKey = Selectable<SigningKeysTable>
