// The SMTP peer captures real SMTP deliveries (sent here with nodemailer) for dialect tests.
import t from 'tap'
import nodemailer from 'nodemailer'
import { startSmtpPeer } from '../peers/smtp-peer.ts'

const smtp = await startSmtpPeer()
t.teardown(() => smtp.close())

t.test('waitForMail returns the parsed message, already received or still to come', async (t) => {
  const transport = nodemailer.createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true })
  t.teardown(() => transport.close())
  const waiting = smtp.waitForMail('Later@Example.test', { timeoutMs: 5000 })
  await transport.sendMail({ from: 'Acme <no-reply@acme.test>', to: 'later@example.test', subject: 'Your link', text: 'Click https://acme.test/l/abc', html: '<a href="https://acme.test/l/abc">Sign in</a>' })
  const mail = await waiting
  t.match(mail, { to: ['later@example.test'], from: /Acme.*<no-reply@acme\.test>/, fromAddress: 'no-reply@acme.test', subject: 'Your link' })
  t.match(mail.text, /https:\/\/acme\.test\/l\/abc/)
  t.match(mail.html, /href="https:\/\/acme\.test\/l\/abc"/)

  await transport.sendMail({ from: 'a@acme.test', to: 'early@example.test', subject: 'Early', text: 'x' })
  t.equal((await smtp.waitForMail('early@example.test')).subject, 'Early')
  t.equal(smtp.messages.length, 2)
  await t.rejects(smtp.waitForMail('early@example.test', { timeoutMs: 200 }), /no mail for early@example.test/, 'a message is returned once')
})
