// The SMTP transport: its connections are pooled (SMTP_MAX_CONNECTIONS), and every step of a send is bounded
// (SMTP_TIMEOUTS), so a server that hangs fails the send well inside the claim's lease instead of holding it.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import type { OutboxRow } from '../../db/index.ts'
import { createMailTransport } from '../../workers/mail-transport.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

const row = (i: number) => ({ id: i, tenant_id: 'a', message_id: null, from_address: 'A <no-reply@a.test>', to_address: `u${i}@x.test`, subject: 'Your link', text_body: `hello ${i}`, html_body: null }) as unknown as OutboxRow

t.test('40 mails sent at once travel over at most maxConnections pooled connections', async (t) => {
  const smtp = await startSmtpPeer()
  t.teardown(() => smtp.close())
  const transport = createMailTransport({ smtpUrl: `${smtp.url}?ignoreTLS=true`, maxConnections: 2 })
  t.teardown(() => transport.close())
  const receipts = await Promise.all(Array.from({ length: 40 }, (_, i) => transport.send(row(i + 1))))
  t.equal(receipts.length, 40)
  for (let i = 1; i <= 40; i++) await smtp.waitForMail(`u${i}@x.test`)
  t.equal(smtp.messages.length, 40, 'each mail once')
  t.ok(smtp.connections >= 1 && smtp.connections <= 2, `connections opened: ${smtp.connections} (one per mail when the pool is ignored)`)
})

t.test('a server that accepts the connection and never greets fails the send at the greeting bound', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createServer((s) => { sockets.add(s); s.on('error', () => {}) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); silent.close() })
  const port = (silent.address() as { port: number }).port
  const transport = createMailTransport({ smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, timeouts: { greeting: 300 } })
  t.teardown(() => transport.close())
  // nodemailer's own greeting bound is 30 s: the guard below fires first if ours is not applied.
  const outcome = await Promise.race([
    transport.send(row(1)).then(() => 'sent', (err: Error & { code?: string }) => err.code ?? err.message),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref())
  ])
  t.equal(outcome, 'ETIMEDOUT')
})
