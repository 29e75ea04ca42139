// Where mail goes: SMTP through nodemailer when SMTP_URL is set; otherwise each message is logged and
// written to .data/outbox/ as an .eml file so a newcomer can open the magic link.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import nodemailer from 'nodemailer'
import type { OutboxRow } from '../db/index.ts'

/** What the mail server said when it accepted a message. */
export interface SendReceipt { response?: string }

export interface MailTransport {
  /** Resolves once the server accepted the message; rejects when it refused it or could not be reached. */
  send (row: OutboxRow): Promise<SendReceipt | void>
  close (): void
  readonly kind: 'smtp' | 'file'
}

/** The row's Message-ID, the same on every attempt (rows older than the message_id column: derived, as then). */
export function messageIdOf (row: Pick<OutboxRow, 'id' | 'tenant_id' | 'message_id'>): string {
  return row.message_id ?? `<outbox-${row.id}-${row.tenant_id}@vestibule>`
}

/**
 * A text-only message with its body as written (8bit, lines as long as they are) instead of
 * quoted-printable, so a link read with `cat` or copied from the file is whole (QP breaks long lines
 * with `=` mid-token). The headers stay as nodemailer encoded them; lines stay far below RFC 5322's 998.
 */
function readableBody (message: Buffer, text: string): Buffer {
  const raw = message.toString('utf8')
  const end = raw.indexOf('\n\n')
  if (end < 0 || !/^Content-Transfer-Encoding: quoted-printable$/im.test(raw.slice(0, end)) || text.split('\n').some((l) => l.length > 998)) return message
  const headers = raw.slice(0, end).replace(/^Content-Transfer-Encoding: quoted-printable$/im, 'Content-Transfer-Encoding: 8bit')
  return Buffer.from(`${headers}\n\n${text.replace(/\r\n/g, '\n')}`, 'utf8')
}

/** SMTP connections a process keeps open to its mail server (SMTP_MAX_CONNECTIONS). A connection carries one SMTP
 *  transaction at a time, so this, not WORKER_CONCURRENCY, bounds the mails in flight to the server: keep it within
 *  the relay's limit per client (Postfix's smtpd_client_connection_count_limit is 50 for clients outside mynetworks). */
export const SMTP_MAX_CONNECTIONS = 64

/** How long each step of an SMTP send may take (ms): connecting, the server's greeting, any silence on the socket.
 *  Together far inside a claim's lease (120 s), so a send that hangs fails before another worker may claim the row. */
export const SMTP_TIMEOUTS = { connection: 10_000, greeting: 10_000, socket: 20_000 }

export function createMailTransport (opts: { smtpUrl?: string, outboxDir?: string, log?: { info: (o: object, m: string) => void }, /** Development: log the links of outbox mail (never in production). */ logLinks?: boolean, maxConnections?: number, timeouts?: Partial<typeof SMTP_TIMEOUTS> }): MailTransport {
  if (opts.smtpUrl) {
    // Pooled: each connection carries up to 1,000 messages (one SMTP transaction each) before it is
    // renewed. Every step of a send is bounded (SMTP_TIMEOUTS). The URL goes in as the `url` of one options
    // object: nodemailer reads createTransport(url, x)'s second argument as message defaults, not as transport
    // options, so written that way the pool and the timeouts would be silently ignored (query parameters of the
    // URL, e.g. ?ignoreTLS=true, still win over these keys).
    const timeouts = { ...SMTP_TIMEOUTS, ...opts.timeouts }
    const t = nodemailer.createTransport({ url: opts.smtpUrl, pool: true, maxConnections: opts.maxConnections ?? SMTP_MAX_CONNECTIONS, maxMessages: 1000, connectionTimeout: timeouts.connection, greetingTimeout: timeouts.greeting, socketTimeout: timeouts.socket } as object)
    return {
      kind: 'smtp',
      async send (row) {
        const info = await t.sendMail({
          from: row.from_address,
          to: row.to_address,
          subject: row.subject,
          text: row.text_body,
          html: row.html_body ?? undefined,
          messageId: messageIdOf(row)
        })
        return { response: typeof info.response === 'string' ? info.response : undefined }
      },
      close () { t.close() }
    }
  }
  const dir = opts.outboxDir ?? '.data/outbox'
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    kind: 'file',
    async send (row) {
      const info = await stream.sendMail({ from: row.from_address, to: row.to_address, subject: row.subject, text: row.text_body, html: row.html_body ?? undefined, messageId: messageIdOf(row) })
      await fs.mkdir(dir, { recursive: true })
      const file = path.join(dir, `${row.tenant_id}-${row.id}.eml`)
      // Written whole, then renamed: whoever watches the folder never sees half a message.
      await fs.writeFile(`${file}.partial`, row.html_body ? info.message as Buffer : readableBody(info.message as Buffer, row.text_body))
      await fs.rename(`${file}.partial`, file)
      const links = opts.logLinks ? row.text_body.match(/https?:\/\/[^\s<>"]+/g) ?? [] : []
      opts.log?.info({ to: row.to_address, file, tenant: row.tenant_id, ...(links.length ? { links } : {}) },
        `mail written to the local outbox (no SMTP_URL set)${links.length ? `; its link: ${links[0]}` : ''}`)
    },
    close () { stream.close() }
  }
}
