// "A sixth dialect is one folder": a fixture dialect registered through the same manifest mechanism gets
// its options and section into the tenant schema and the loader's checks, its operations into the
// tenant's OpenAPI document, its header into CORS and log redaction, and its envelope answers 415/413/429.
import t from 'tap'
import { redactPaths } from '../../app.ts'
import { registerDialect } from '../../tenants/dialects.ts'
import { parseTenant } from '../../tenants/loader.ts'
import { tenantSchema } from '../../tenants/schema.ts'
import echo from '../fixtures/dialects/echo/index.ts'
import { build, postJson, tenantDoc } from '../helpers/build.ts'

registerDialect(echo) // the one registry line

const doc = (extra: Record<string, unknown> = {}) => tenantDoc('sixth', { widgets: ['w1'], dialects: { echo: { greeting: 'hello' } }, cors: { origins: ['https://app.test'] }, rateLimits: { default: { max: 20, timeWindow: '1 minute' } }, ...extra })

t.test('its options and section are in the tenant schema and checked by the loader', async (t) => {
  const schema = tenantSchema() as any
  t.ok(schema.properties.dialects.properties.echo, 'dialects.echo is a property')
  t.equal(schema.properties.widgets.description, 'Widget names (the echo dialect owns this section).')
  t.same(parseTenant('sixth.json', JSON.stringify(doc())).errors, [])
  t.same(parseTenant('sixth.json', JSON.stringify(doc({ dialects: { echo: {} } }))).errors.map((e) => e.path), ['/dialects/echo/greeting'])
  t.same(parseTenant('sixth.json', JSON.stringify(doc({ widgets: [] }))).errors, [{ file: 'sixth.json', path: '/widgets', message: 'the echo dialect needs at least one widget' }])
})

t.test('its secret header is redacted from logs', async (t) => {
  t.ok(redactPaths().includes('req.headers["x-echo-key"]'))
})

t.test('it serves, documents itself and answers in its own envelope', async (t) => {
  const { api } = await build(t, { tenants: [doc()] })
  const ok = await api('/t/sixth/echo/', postJson({ name: 'ada' }))
  t.same([ok.status, await ok.json()], [200, { greeting: 'hello', name: 'ada', widgets: ['w1'] }])

  const openapi = await (await api('/t/sixth/openapi.json')).json() as any
  t.equal(openapi.paths['/echo/'].post.operationId, 'echoSay')
  t.ok(openapi.components.securitySchemes.EchoKey, 'its security scheme')

  const preflight = await api('/t/sixth/echo/', { method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-echo-key' } })
  t.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-ECHO-KEY/, 'its header is allowed in CORS preflights')

  const text = await api('/t/sixth/echo/', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' })
  t.same([text.status, await text.json()], [415, { echo_error: 'no text/csv' }])
  const big = await api('/t/sixth/echo/', postJson({ name: 'x'.repeat(100_000) }))
  t.same([big.status, await big.json()], [413, { echo_error: 'too large' }])
  let limited = await api('/t/sixth/echo/', postJson({ name: 'ada' }))
  for (let i = 0; i < 20 && limited.status !== 429; i++) limited = await api('/t/sixth/echo/', postJson({ name: 'ada' }))
  t.same([limited.status, await limited.json()], [429, { echo_error: `slow down for ${limited.headers.get('retry-after')}s` }])
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After is set')
})
