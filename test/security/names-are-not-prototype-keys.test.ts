// A client-supplied name (form, flow, version, locale, provider, backend, instance, client, grant, asset…)
// never reaches Object.prototype: `constructor`, `__proto__`, `toString` and friends get each dialect's
// own "unknown name" answer, never a 500. Names are looked up in Maps or with Object.hasOwn.
import t from 'tap'
import { loadTenantFile } from '../../tenants/loader.ts'
import { build, rawRequest } from '../helpers/build.ts'

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__']
// Capture arguments that pass the earlier checks, so each hostile name reaches the lookup it targets.
const CAPTURE: Record<string, string> = {
  client_id: 'demo-client-key', flow: 'standard', flow_version: '1', locale: 'en-US', redirect_uri: 'http://127.0.0.1/cb',
  response_type: 'token', form: 'registrationForm', emailAddress: 'a@b.test', newPassword: 'password123',
  newPasswordConfirm: 'password123', signInEmailAddress: 'a@b.test', currentPassword: 'password123',
  token: 'x', provider: 'demo', grant_type: 'authorization_code', code: 'x'
}
const hostile = (s: string) => NAMES.find((n) => s.includes(n)) ?? ''
const FIELDS = ['form', 'flow', 'flow_version', 'locale', 'client_id', 'provider', 'backend', 'grant_type', 'response_type', 'email', 'code', 'token']

t.test('hostile names answer below 500 on every dialect path that takes a name', async (t) => {
  const { config } = await loadTenantFile('tenants/demo.json')
  const unlimited = { max: 1_000_000_000, timeWindow: '1 minute' }
  const { url, api } = await build(t, { tenants: [{ ...config, rateLimits: { default: unlimited, login: unlimited, link: unlimited } }] })
  const doc = await (await api('/t/demo/openapi.json')).json() as any
  const failures: string[] = []
  let requests = 0
  const send = async (method: string, path: string, type: string | null, body?: string, headers: Record<string, string> = {}) => {
    const res = await rawRequest(url + path, { method, headers: type ? { ...headers, 'content-type': type } : headers, body })
    requests++
    // 503 is the provider-unavailable answer (no identity provider runs here), not a crash.
    // Capture answers HTTP 200 with its own envelope: a crash there is code 500 with the generic description.
    let generic = false
    try { const b = JSON.parse(res.text); generic = b?.stat === 'error' && /^(unexpected error|erreur inattendue)$/.test(b.error_description) } catch {}
    if ((res.status >= 500 && res.status !== 503) || generic) failures.push(`${method} ${path.split('?')[0]} ${hostile(body ?? path)} → ${res.status} ${res.text.slice(0, 120)}`)
  }
  const headers = { 'x-api-key': 'demo-syncano-api-key', authorization: 'Basic ' + Buffer.from('demo-client-key:demo-client-secret-for-local-use-only').toString('base64') }
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const method of ['get', 'post', 'patch']) {
      if (!item[method]) continue
      const params = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
      // Each path parameter hostile in turn (the others set to the demo tenant's real names).
      for (const name of NAMES) {
        for (const p of params) {
          const path = template.replace(/\{([^}]+)\}/g, (_: string, q: string) => q === p ? encodeURIComponent(name) : 'demo')
          await send(method.toUpperCase(), `/t/demo${path}?provider=${name}&locale=${name}&form=${name}`, null, undefined, headers)
        }
        if (method === 'get') {
          const path = template.replace(/\{[^}]+\}/g, 'demo')
          await send('GET', `/t/demo${path}?provider=${name}&locale=${name}&state=${name}&code=${name}`, null, undefined, headers)
          continue
        }
        const path = template.replace(/\{[^}]+\}/g, 'demo')
        for (const field of FIELDS) {
          const values = { ...CAPTURE, [field]: name }
          await send(method.toUpperCase(), `/t/demo${path}`, 'application/x-www-form-urlencoded', new URLSearchParams(values).toString(), headers)
          await send(method.toUpperCase(), `/t/demo${path}`, 'application/json', JSON.stringify(values), headers)
        }
      }
    }
  }
  for (const name of NAMES) await send('GET', `/_vestibule/docs/${encodeURIComponent(name)}`, null)
  t.same(failures, [], `${requests} requests with hostile names, none answered 5xx`)
  t.ok(requests > 500)
})
