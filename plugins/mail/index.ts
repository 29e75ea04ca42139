// The mail outbox: rows written in the caller's transaction, then handed to BullMQ (Redis mode)
// or to the in-process runner. If Redis refuses, the row stays pending and the relay delivers it later.
import type { Queue } from 'bullmq'
import type { Executor } from '../identity/executor.ts'
import { emailJob, type InProcessMailRunner } from '../../workers/email.worker.ts'
import { sealMailBodies } from '../../workers/mail-bodies.ts'
import type { MailOutbox, OutgoingMail } from './types.ts'

export type { MailOutbox, OutgoingMail } from './types.ts'

interface Log { warn: (o: object, m?: string) => void }

export function createMailOutbox (opts: { queue?: Queue | null, runner?: InProcessMailRunner | null, log: Log }): MailOutbox {
  return {
    async write (trx: Executor, mail: OutgoingMail): Promise<string> {
      const row = await trx.insertInto('email_outbox').values({
        tenant_id: mail.tenantId,
        to_address: mail.to,
        from_address: mail.from,
        subject: mail.subject,
        ...sealMailBodies(mail.tenantId, mail.text, mail.html ?? null)
      }).returning('id').executeTakeFirstOrThrow()
      return row.id
    },
    async dispatch (ids: string[]): Promise<void> {
      if (ids.length === 0) return
      if (opts.queue) {
        try {
          await opts.queue.addBulk(ids.map(emailJob))
        } catch (err) {
          opts.log.warn({ err: (err as Error).message, outboxIds: ids }, 'could not enqueue mail; the outbox relay will deliver it')
        }
        return
      }
      opts.runner?.enqueue(ids)
    }
  }
}
