// Logs: one pino line per request with the tenant and the request id; query strings (codes, states,
// tokens) and credentials never reach the log.
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { REDACT } from '../../app.ts'
import { build, postJson, tenantDoc } from '../helpers/build.ts'

t.test('one line per request, with tenant and request id, and no secrets', async (t) => {
  const lines: any[] = []
  const sink = new Writable({ write (chunk, _enc, done) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); done() } })
  const logger = pino({ level: 'info', redact: REDACT }, sink)
  const { api } = await build(t, {
    logger: logger as never,
    tenants: [tenantDoc('logged', { clients: [{ id: 'log-client' }], dialects: { 'by-link': { linkUrl: 'https://l.test/{token}' } } })]
  })
  const SECRET_TOKEN = 'super-secret-token-value-123'
  await api(`/t/logged/v1/auth/me/?code=secret-code-456&state=secret-state-789`, { headers: { authorization: `Token ${SECRET_TOKEN}` } })
  await api('/t/logged/v1/auth/by-link/login/', postJson({ token: 'secret-magic-link-000', client_key: 'log-client' }))
  await new Promise((r) => setTimeout(r, 50))

  const requests = lines.filter((l) => l.msg === 'request')
  t.equal(requests.length, 2, 'one line per request')
  t.match(requests[0], { tenant: 'logged', reqId: /^[0-9a-f-]{36}$/, method: 'GET', path: '/v1/auth/me/', route: '/v1/auth/me/', status: 401 })
  t.match(requests[1], { tenant: 'logged', method: 'POST', path: '/v1/auth/by-link/login/', status: 400 })
  t.not(requests[0].reqId, requests[1].reqId)
  const all = JSON.stringify(lines)
  for (const secret of [SECRET_TOKEN, 'secret-code-456', 'secret-state-789', 'secret-magic-link-000']) t.notOk(all.includes(secret), `${secret} is not logged`)
})
