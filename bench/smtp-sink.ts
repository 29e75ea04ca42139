// The mail bench's SMTP server: smtp-server on 127.0.0.1:0 that counts each accepted message's envelope
// recipients and Message-ID without parsing the MIME (test/peers/smtp-peer.ts runs mailparser on every
// message, which on a shared 2-core machine costs the bench more CPU than the workers under test).
import { SMTPServer } from 'smtp-server'
import type { AddressInfo } from 'node:net'
// The same Node 20 fix as the test peer (smtp-server's parser assigns a getter-only `closed`).
import '../test/peers/smtp-peer.ts'

export interface SinkMessage { envelopeTo: string[], messageId: string, /** performance.now() when accepted */ at: number }

export async function startSmtpSink (): Promise<{ url: string, messages: SinkMessage[], close (): Promise<void> }> {
  const messages: SinkMessage[] = []
  const server = new SMTPServer({
    authOptional: true,
    // A relay that takes mail without AUTH, as a local MTA does: smtp-server's default drops such a session
    // after 10 commands (421), about two mails, which would cut every pooled connection short.
    ...({ maxAllowedUnauthenticatedCommands: Infinity } as object), // an option @types/smtp-server does not list
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData (stream, session, cb) {
      let head = ''
      stream.on('data', (chunk: Buffer) => { if (head.length < 4096) head += chunk.toString('latin1') })
      stream.on('end', () => {
        const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? ''
        messages.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), messageId: id, at: performance.now() })
        cb()
      })
    }
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()) })
  server.on('error', () => {})
  const port = (server.server.address() as AddressInfo).port
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
