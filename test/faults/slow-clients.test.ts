// Slow clients are cut off within the HTTP server's bounds: a client that stalls its headers, one that
// stalls its body, an idle keep-alive connection, and connections beyond the cap (small bounds here;
// plugins/http-server.ts has the production defaults and docs/operations.md the variables).
import net from 'node:net'
import t from 'tap'
import { build, tenantDoc } from '../helpers/build.ts'

const tenant = tenantDoc('slow', { clients: [{ id: 'slow-client' }], dialects: { 'by-link': { linkUrl: 'https://slow.app/l/{token}' } } })

/** Opens a raw connection, writes `data`, and resolves when the server closes it, with what it answered. */
async function stall (url: string, data: string, giveUpMs: number): Promise<{ closedAfterMs: number | null, answer: string }> {
  const { port } = new URL(url)
  const sock = net.connect(Number(port), '127.0.0.1')
  await new Promise((resolve) => sock.once('connect', resolve))
  let answer = ''
  sock.on('data', (c) => { answer += c })
  sock.on('error', () => {})
  const started = Date.now()
  if (data) sock.write(data)
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), giveUpMs)
    sock.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  sock.destroy()
  return { closedAfterMs: closed ? Date.now() - started : null, answer }
}

t.test('a client stalling its headers is cut off after headersTimeoutMs', async (t) => {
  const { url } = await build(t, { tenants: [tenant], http: { headersTimeoutMs: 500, requestTimeoutMs: 1000 } })
  const r = await stall(url, 'POST /t/slow/v1/auth/by-link/link/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl', 5000)
  t.ok(r.closedAfterMs !== null, 'the connection is closed')
  t.ok(r.closedAfterMs! >= 450 && r.closedAfterMs! < 2000, `within the bound (${r.closedAfterMs} ms)`)
  t.match(r.answer, /^HTTP\/1\.1 408 /, 'with 408 Request Timeout')
})

t.test('a client stalling its body is cut off after requestTimeoutMs', async (t) => {
  const { url } = await build(t, { tenants: [tenant], http: { headersTimeoutMs: 500, requestTimeoutMs: 1000 } })
  const head = 'POST /t/slow/v1/auth/by-link/link/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":'
  const r = await stall(url, head, 5000)
  t.ok(r.closedAfterMs !== null, 'the connection is closed')
  t.ok(r.closedAfterMs! >= 950 && r.closedAfterMs! < 2500, `within the bound (${r.closedAfterMs} ms)`)
  t.notMatch(r.answer, /^HTTP\/1\.1 [25]/, 'and the request is not served')
})

t.test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async (t) => {
  const { url } = await build(t, { tenants: [tenant], http: { keepAliveTimeoutMs: 300 } })
  const r = await stall(url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 5000)
  t.match(r.answer, /^HTTP\/1\.1 200 /, 'answered')
  t.ok(r.closedAfterMs !== null && r.closedAfterMs < 1500, `then closed when idle (${r.closedAfterMs} ms)`)
})

t.test('connections beyond maxConnections are closed as they arrive', async (t) => {
  const { url } = await build(t, { tenants: [tenant], http: { maxConnections: 3 } })
  const { port } = new URL(url)
  const open: net.Socket[] = []
  t.teardown(() => { for (const s of open) s.destroy() })
  for (let i = 0; i < 3; i++) {
    const s = net.connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    await new Promise((resolve) => s.once('connect', resolve))
    open.push(s)
  }
  await new Promise((r) => setTimeout(r, 100))
  const r = await stall(url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 3000)
  t.ok(r.closedAfterMs !== null, 'the fourth connection is closed')
  t.equal(r.answer, '', 'unanswered')
  for (const s of open) s.destroy()
  await new Promise((r) => setTimeout(r, 200))
  const ok = await fetch(`${url}/healthz`)
  t.equal(ok.status, 200, 'a connection is accepted again once others closed')
})

t.test('bad bounds stop the start with the option named', async (t) => {
  await t.rejects(build(t, { tenants: [], http: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }), /http\.headersTimeoutMs \(5000\) must not exceed http\.requestTimeoutMs \(1000\)/)
  await t.rejects(build(t, { tenants: [], http: { maxConnections: -1 } }), /http\.maxConnections must be a non-negative integer/)
})
