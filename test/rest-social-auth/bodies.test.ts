// Both social dialects read the bodies DRF reads by default (JSONParser, FormParser, MultiPartParser): each content
// type reaches the same serializer and gets the same answers; an oversized multipart body is the dialect's 413, a
// malformed one its 400, never a 500, and a file part is no field.
import t from 'tap'
import { build, postForm, postJson, rawRequest, tenantDoc } from '../helpers/build.ts'
import { startSocialPeer } from '../peers/social-peer.ts'

const REDIRECT = 'http://127.0.0.1:1/callback'
const social = await startSocialPeer({ clients: [{ clientId: 'app', clientSecret: 'app-secret', redirectUris: [REDIRECT] }] })
t.teardown(() => social.close())
const providers = {
  github: { type: 'github', allowPrivateNetwork: true, clientId: 'app', clientSecret: 'app-secret', endpoints: { authorize: social.github.authorize, token: social.github.token, userinfo: social.github.user, emails: social.github.emails } }
}
const CLIENT = 'web-client'
const { api, url } = await build(t, {
  tenants: [tenantDoc('mp', {
    providers,
    clients: [{ id: CLIENT, name: 'web', redirectUris: [REDIRECT] }],
    dialects: { 'rest-social-auth': {}, 'by-link': { linkUrl: 'https://frontend.test/link/{token}' } }
  })]
})
const ghCode = (user: string) => social.codeFor('github', { userKey: user, clientId: 'app', redirectUri: REDIRECT })
const fd = (fields: Record<string, string | Blob>) => { const f = new FormData(); for (const [k, v] of Object.entries(fields)) f.set(k, v); return f }
const multipart = (fields: Record<string, string | Blob>, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers, body: fd(fields) })
const BODIES: Array<[string, (b: Record<string, string>) => RequestInit]> = [['JSON', (b) => postJson(b)], ['form', (b) => postForm(b)], ['multipart', (b) => multipart(b)]]
const PARSE_ERROR = { detail: 'Multipart form parse error - the body is not valid multipart/form-data.' }
const TOO_LARGE = { detail: 'Request body is too large.' }

interface Endpoint { name: string, path: string, ok: () => Record<string, string>, missing: Record<string, string>, missingAnswer: unknown }
const ENDPOINTS: Endpoint[] = [
  { name: 'rest-social-auth POST /social-auth', path: '/t/mp/social-auth', ok: () => ({ provider: 'github', code: ghCode('alice'), redirect_uri: REDIRECT }), missing: { provider: 'github', redirect_uri: REDIRECT }, missingAnswer: { code: ['This field is required.'] } },
  { name: 'by-link POST social/login/', path: '/t/mp/v1/auth/social/login/', ok: () => ({ provider: 'github', code: ghCode('alice'), client_key: CLIENT, redirect_uri: REDIRECT }), missing: { provider: 'github', client_key: CLIENT, redirect_uri: REDIRECT }, missingAnswer: { code: ['This field is required.'] } },
  { name: 'by-link POST by-link/link/', path: '/t/mp/v1/auth/by-link/link/', ok: () => ({ email: 'someone@example.test' }), missing: {}, missingAnswer: { email: ['This field is required.'] } }
]

for (const e of ENDPOINTS) {
  t.test(`${e.name}: JSON, form and multipart bodies answer alike`, async (t) => {
    for (const [kind, init] of BODIES) {
      const r = await api(e.path, init(e.ok()))
      t.equal(r.status, 200, `${kind}: accepted`)
      const missing = await api(e.path, init(e.missing))
      t.same([missing.status, await missing.json()], [400, e.missingAnswer], `${kind}: the serializer's field errors`)
    }
    const withFile = await api(e.path, multipart({ ...e.missing, code: new Blob(['a file is not a field']), email: new Blob(['x']) } as Record<string, string | Blob>))
    t.same([withFile.status, await withFile.json()], [400, e.missingAnswer], 'a file part is not a field')
  })

  t.test(`${e.name}: oversized multipart is 413, malformed is 400, never 500`, async (t) => {
    for (const [what, f] of [
      ['a file over 64 KiB', { ...e.ok(), big: new Blob(['x'.repeat(70 * 1024)]) }],
      ['a field over 64 KiB', { ...e.ok(), code: 'x'.repeat(70 * 1024) }],
      ['fields adding up to over 64 KiB', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, 'x'.repeat(4 * 1024)]))],
      ['too many fields', Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, 'x']))]
    ] as Array<[string, Record<string, string | Blob>]>) {
      const r = await api(e.path, multipart(f))
      t.same([r.status, await r.json()], [413, TOO_LARGE], what)
    }
    const truncated = await rawRequest(`${url}${e.path}`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=XYZ' }, body: '--XYZ\r\nContent-Disposition: form-data; name="provider"\r\n\r\ngithub' })
    t.same([truncated.status, truncated.json()], [400, PARSE_ERROR], 'a truncated multipart body')
    const noBoundary = await rawRequest(`${url}${e.path}`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'provider=github' })
    t.same([noBoundary.status, noBoundary.json()], [400, PARSE_ERROR], 'no boundary')
  })
}

t.test('multipart reaches the dialects\' own early answers too', async (t) => {
  let r = await api('/t/mp/social-auth', multipart({ code: 'x' }))
  t.same([r.status, await r.text()], [400, ''], 'rest-social-auth: no provider, a bare 400')
  r = await api('/t/mp/v1/auth/social/login/', multipart({ code: 'x' }))
  t.same([r.status, await r.json()], [400, 'Provider is not specified'], 'by-link: no provider')
  r = await api('/t/mp/social-auth', multipart({ provider: 'github', code: ghCode('alice'), redirect_uri: REDIRECT, referral_code: 'NOPE' }))
  t.same([r.status, await r.json()], [400, { referral_code: ['Invalid referral code.'] }])
  // Authentication runs before the body is read (DRF): a bad token with a malformed multipart body is the 401.
  const bad = await rawRequest(`${url}/t/mp/user`, { method: 'PATCH', headers: { authorization: 'Token nope', 'content-type': 'multipart/form-data; boundary=XYZ' }, body: '--XYZ\r\n' })
  t.equal(bad.status, 401)
  // PATCH /user with a multipart body.
  const { token } = await (await api('/t/mp/social-auth', postJson({ provider: 'github', code: ghCode('bob'), redirect_uri: REDIRECT }))).json() as any
  r = await api('/t/mp/user', { method: 'PATCH', headers: { authorization: `Token ${token}` }, body: fd({ first_name: 'Multi', last_name: 'Part' }) })
  t.match([r.status, await r.json()], [200, { first_name: 'Multi', last_name: 'Part' }])
})
