// Where mail goes: SMTP through nodemailer when SMTP_URL is set; otherwise each message is logged and
// written to .data/outbox/ as an .eml file so a newcomer can open the magic link.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import nodemailer from 'nodemailer'
import type { OutboxRow } from '../db/index.ts'

export interface MailTransport {
  send (row: OutboxRow): Promise<void>
  close (): void
  readonly kind: 'smtp' | 'file'
}

export function createMailTransport (opts: { smtpUrl?: string, outboxDir?: string, log?: { info: (o: object, m: string) => void } }): MailTransport {
  if (opts.smtpUrl) {
    const t = nodemailer.createTransport(opts.smtpUrl, { pool: true, maxConnections: 4, connectionTimeout: 10_000, socketTimeout: 20_000 } as object)
    return {
      kind: 'smtp',
      async send (row) {
        await t.sendMail({
          from: row.from_address,
          to: row.to_address,
          subject: row.subject,
          text: row.text_body,
          html: row.html_body ?? undefined,
          messageId: `<outbox-${row.id}-${row.tenant_id}@vestibule>`
        })
      },
      close () { t.close() }
    }
  }
  const dir = opts.outboxDir ?? '.data/outbox'
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    kind: 'file',
    async send (row) {
      const info = await stream.sendMail({ from: row.from_address, to: row.to_address, subject: row.subject, text: row.text_body, html: row.html_body ?? undefined })
      await fs.mkdir(dir, { recursive: true })
      const file = path.join(dir, `${row.tenant_id}-${row.id}.eml`)
      // Written whole, then renamed: whoever watches the folder never sees half a message.
      await fs.writeFile(`${file}.partial`, info.message as Buffer)
      await fs.rename(`${file}.partial`, file)
      opts.log?.info({ to: row.to_address, file, tenant: row.tenant_id }, 'mail written to the local outbox (no SMTP_URL set)')
    },
    close () { stream.close() }
  }
}
