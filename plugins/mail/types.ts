// The mail contract dialects use: write the message to the outbox inside the caller's transaction,
// then dispatch after commit. Delivery (BullMQ or in-process) is behind it.
import type { Executor } from '../identity/executor.ts'

export interface OutgoingMail {
  tenantId: string
  to: string
  from: string
  subject: string
  text: string
  html?: string | null
}

export interface MailOutbox {
  /** Inserts the rendered message into email_outbox within `trx`; returns the outbox row id. */
  write (trx: Executor, mail: OutgoingMail): Promise<string>
  /** After commit: hands the rows to delivery. Never throws; rows Redis never got are picked up by the relay. */
  dispatch (outboxIds: string[]): Promise<void>
}
