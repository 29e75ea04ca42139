// /metrics: per-tenant request counters with dialect and route labels, queue depth, and the optional token.
import t from 'tap'
import { build, tenantDoc } from '../helpers/build.ts'

t.test('request counters by tenant, route and status; queue depth', async (t) => {
  const { api } = await build(t, { tenants: [tenantDoc('metered')] })
  await api('/t/metered/openapi.json')
  await api('/t/metered/openapi.json')
  await api('/t/metered/no-such-route')
  const res = await api('/metrics')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain/)
  const body = await res.text()
  t.match(body, /vestibule_http_requests_total\{tenant="metered",dialect="none",route="\/openapi\.json",status="200"\} 2/)
  t.match(body, /vestibule_http_requests_total\{tenant="metered",dialect="none",route="unmatched",status="404"\} 1/)
  t.match(body, /vestibule_queue_jobs\{queue="outbox",state="pending"\} 0/)
  t.match(body, /vestibule_process_resident_memory_bytes/)
})

t.test('METRICS_TOKEN protects /metrics', async (t) => {
  const { api } = await build(t, { tenants: [], metricsToken: 'scrape-secret-123' })
  const none = await api('/metrics')
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Bearer')
  t.equal((await api('/metrics', { headers: { authorization: 'Bearer wrong' } })).status, 401)
  t.equal((await api('/metrics', { headers: { authorization: 'Bearer scrape-secret-123' } })).status, 200)
})
