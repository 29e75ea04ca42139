// Cross-origin access is per tenant and explicit: listed origins get CORS headers and a preflight
// answer; other origins and tenants without `cors` get none.
import t from 'tap'
import { build, tenantDoc } from '../helpers/build.ts'

t.test('CORS only for the tenant\'s listed origins', async (t) => {
  const dialects = { 'by-link': { linkUrl: 'https://a.app/l/{token}' } }
  const { api } = await build(t, {
    tenants: [
      tenantDoc('open', { clients: [{ id: 'k' }], dialects, cors: { origins: ['https://frontend.app'] } }),
      tenantDoc('closed', { clients: [{ id: 'k' }], dialects })
    ]
  })
  const preflight = (tenant: string, origin: string) => api(`/t/${tenant}/v1/auth/by-link/link/`, {
    method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
  })
  const ok = await preflight('open', 'https://frontend.app')
  t.equal(ok.status, 204)
  t.equal(ok.headers.get('access-control-allow-origin'), 'https://frontend.app')
  t.match(ok.headers.get('access-control-allow-methods'), /POST/)
  t.match(ok.headers.get('access-control-allow-headers'), /Content-Type/i)
  t.equal(ok.headers.get('access-control-allow-credentials'), null, 'no credentials mode')

  const evil = await preflight('open', 'https://evil.example')
  t.equal(evil.headers.get('access-control-allow-origin'), null, 'an unlisted origin is not allowed')

  const actual = await api('/t/open/v1/auth/me/', { headers: { origin: 'https://frontend.app' } })
  t.equal(actual.status, 401)
  t.equal(actual.headers.get('access-control-allow-origin'), 'https://frontend.app', 'actual requests carry the header too')

  const closed = await api('/t/closed/v1/auth/me/', { headers: { origin: 'https://frontend.app' } })
  t.equal(closed.headers.get('access-control-allow-origin'), null, 'a tenant without cors sends none')
  t.equal((await preflight('closed', 'https://frontend.app')).status, 404)
})

t.test('cors.credentials: credentialed requests from the listed origins only (oauth-confirm\'s browser binding)', async (t) => {
  const { api } = await build(t, {
    tenants: [tenantDoc('cred', {
      providers: { github: { type: 'github', clientId: 'a', clientSecret: 'b' } },
      dialects: { 'oauth-confirm': { confirmUrl: 'https://frontend.app/cb/{confirmation}', bindStateToBrowser: true } },
      cors: { origins: ['https://frontend.app'], credentials: true }
    })]
  })
  const preflight = await api('/t/cred/oauth/init', { method: 'OPTIONS', headers: { origin: 'https://frontend.app', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
  t.equal(preflight.headers.get('access-control-allow-origin'), 'https://frontend.app')
  t.equal(preflight.headers.get('access-control-allow-credentials'), 'true')
  const init = await api('/t/cred/oauth/init', { method: 'POST', headers: { origin: 'https://frontend.app', 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'github', language: 'en' }) })
  t.equal(init.status, 200)
  t.equal(init.headers.get('access-control-allow-credentials'), 'true')
  t.match(init.headers.getSetCookie()[0], /^vst-flow-/, 'the binding cookie a credentialed fetch keeps')
  const evil = await api('/t/cred/oauth/init', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
  t.equal(evil.headers.get('access-control-allow-origin'), null)
})
