// by-link debugLinks: an unsafe switch, so building a tenant with it on logs a warning once.
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { build, postJson, tenantDoc } from '../helpers/build.ts'

t.test('a warning when debugLinks is on, none when off', async (t) => {
  const lines: any[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb() } })
  const logger = pino({ level: 'warn' }, sink) as unknown as FastifyBaseLogger
  const byLink = (debugLinks: boolean) => ({ 'by-link': { linkUrl: 'https://f.app/l/{token}', debugLinks } })
  const { api } = await build(t, { logger, runWorkers: false, tenants: [tenantDoc('on', { clients: [{ id: 'k' }], dialects: byLink(true) }), tenantDoc('off', { clients: [{ id: 'k' }], dialects: byLink(false) })] })
  t.equal((await api('/t/off/v1/auth/by-link/link/', postJson({ email: 'a@b.test' }))).status, 200)
  t.equal((await api('/t/on/v1/auth/by-link/link/', postJson({ email: 'a@b.test' }))).status, 200)
  t.equal((await api('/t/on/v1/auth/by-link/link/', postJson({ email: 'a@b.test' }))).status, 200)
  const warnings = lines.filter((l) => /debugLinks/.test(l.msg ?? ''))
  t.equal(warnings.length, 1, 'once, for the tenant that turned it on')
  t.equal(warnings[0].tenant, 'on')
  t.equal(warnings[0].level, 40)
})
