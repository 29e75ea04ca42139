// An SMTP server on 127.0.0.1:0 (smtp-server + mailparser) that captures every message for assertions.
//
//   const smtp = await startSmtpPeer()               // smtp.url = 'smtp://127.0.0.1:<port>' (SMTP_URL)
//   const mail = await smtp.waitForMail('a@b.test', { timeoutMs: 5000 })  // { to, from, fromAddress, subject, text, html }
//   smtp.messages                                     // everything received so far, in order
//   await smtp.close()
//
// No TLS and no auth (any credentials are accepted), so nodemailer needs `ignoreTLS: true` or an
// smtp:// URL without STARTTLS. waitForMail resolves with the first message (already received or
// future) whose envelope or To/Cc holds `to` (case-insensitive) and that no earlier wait returned;
// it rejects after timeoutMs (default 5000). Options hook the conversation for fault tests: onMailFrom
// (hold or refuse a transaction before anything is accepted), beforeAccept (hold the 250 answer to a
// message already received), acceptDelayMs, onDataStart.
import { SMTPServer } from 'smtp-server'
import { simpleParser, type AddressObject } from 'mailparser'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'

// smtp-server 3.7 assigns `this.closed` on its Writable parser, which newer Node 20 releases define as a
// getter only ("Cannot set property closed"). Give the parser its own accessor; nothing else changes.
const { SMTPStream } = createRequire(import.meta.url)('smtp-server/lib/smtp-stream.js') as { SMTPStream: { prototype: object } }
if (!Object.prototype.hasOwnProperty.call(SMTPStream.prototype, 'closed')) {
  const flag = Symbol('smtpStreamClosed')
  Object.defineProperty(SMTPStream.prototype, 'closed', {
    configurable: true,
    get (this: Record<symbol, boolean>) { return this[flag] ?? false },
    set (this: Record<symbol, boolean>, v: boolean) { this[flag] = v }
  })
}

export interface CapturedMail {
  to: string[]
  /** The From header as text, e.g. '"Acme" <no-reply@acme.app>'. */
  from: string
  /** Just the From address. */
  fromAddress: string
  subject: string
  text: string
  html: string
  /** Envelope recipients (RCPT TO). */
  envelopeTo: string[]
  headers: Record<string, string>
  /** The Message-ID header, e.g. '<…@vestibule>'. */
  messageId: string
}

export interface SmtpPeer {
  url: string
  host: string
  port: number
  messages: CapturedMail[]
  /** TCP connections the server has accepted so far. */
  readonly connections: number
  waitForMail (to: string, opts?: { timeoutMs?: number }): Promise<CapturedMail>
  close (): Promise<void>
}

export interface SmtpPeerOptions {
  /** Called when a message's DATA starts arriving (a delivery is in flight). */
  onDataStart?: () => void
  /** Hold each message this long before accepting it (a slow mail server, for shutdown tests). */
  acceptDelayMs?: number
  /** Awaited before MAIL FROM is answered: the sender is mid-transaction and nothing is accepted yet.
   *  A rejection refuses the command. */
  onMailFrom?: (address: string) => Promise<void> | void
  /** Awaited after a message is received and recorded, before the server answers 250: the message is
   *  accepted here (as by a real server that queued it) even if the client never reads the answer. */
  beforeAccept?: (mail: CapturedMail) => Promise<void> | void
}

export async function startSmtpPeer (opts: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const messages: CapturedMail[] = []
  const claimed = new Set<CapturedMail>()
  const waiters: Array<{ to: string, resolve: (m: CapturedMail) => void }> = []

  const matches = (m: CapturedMail, to: string) => [...m.to, ...m.envelopeTo].some((a) => a.toLowerCase() === to.toLowerCase())

  function deliver (mail: CapturedMail) {
    messages.push(mail)
    const i = waiters.findIndex((w) => matches(mail, w.to))
    if (i !== -1) {
      claimed.add(mail)
      waiters.splice(i, 1)[0].resolve(mail)
    }
  }

  let connections = 0
  const server = new SMTPServer({
    authOptional: true,
    onConnect (_session, cb) { connections++; cb() },
    // A relay that takes mail without AUTH, as a local MTA does: smtp-server's default drops such a session
    // after 10 commands (421), about two mails, which would cut every pooled connection short.
    ...({ maxAllowedUnauthenticatedCommands: Infinity } as object), // an option @types/smtp-server does not list
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth (_auth, _session, cb) { cb(null, { user: 'peer' }) },
    onMailFrom (address, _session, cb) {
      if (!opts.onMailFrom) { cb(); return }
      Promise.resolve(opts.onMailFrom(address.address)).then(() => cb(), (err: Error) => cb(err))
    },
    onData (stream, session, cb) {
      opts.onDataStart?.()
      simpleParser(stream).then(async (parsed) => {
        if (opts.acceptDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.acceptDelayMs))
        const addrs = (v: AddressObject | AddressObject[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).flatMap((a) => a.value.map((x) => x.address ?? '')).filter(Boolean)
        const mail: CapturedMail = {
          to: [...addrs(parsed.to), ...addrs(parsed.cc)],
          from: parsed.from?.text ?? '',
          fromAddress: parsed.from?.value[0]?.address ?? '',
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          headers: Object.fromEntries([...parsed.headers].map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
          messageId: parsed.messageId ?? ''
        }
        deliver(mail)
        await opts.beforeAccept?.(mail)
        cb()
      }, (err: Error) => cb(err))
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  server.on('error', () => {})
  const port = (server.server.address() as AddressInfo).port

  return {
    url: `smtp://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    messages,
    get connections () { return connections },
    waitForMail (to, opts = {}) {
      const found = messages.find((m) => !claimed.has(m) && matches(m, to))
      if (found !== undefined) {
        claimed.add(found)
        return Promise.resolve(found)
      }
      return new Promise((resolve, reject) => {
        const waiter = { to, resolve: (m: CapturedMail) => { clearTimeout(timer); resolve(m) } }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no mail for ${to} within ${opts.timeoutMs ?? 5000} ms (${messages.length} received)`))
        }, opts.timeoutMs ?? 5000)
        waiters.push(waiter)
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
