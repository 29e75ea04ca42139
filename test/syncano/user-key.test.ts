// syncano: X-USER-KEY endpoints (user details, reset_key), key isolation across instances and tenants, OpenAPI.
import t from 'tap'
import { build, postJson } from '../helpers/build.ts'
import { DEV_KEY, expectedUser, PROD_KEY, startPeers, syncanoTenant, TIMESTAMP, USER_KEY } from './helpers.ts'
import { requestBodyOf } from '../helpers/openapi.ts'

// DRF PermissionDenied: the platform's HasUser fails for a missing or unknown user key alike.
const DENIED = { detail: 'You do not have permission to perform this action.' }

const peers = await startPeers()
t.teardown(() => peers.close())

async function setup (t: { teardown (fn: () => unknown): void }) {
  const built = await build(t, { tenants: [syncanoTenant('acme', peers), syncanoTenant('beta', peers)] })
  const login = async (user: string, tenant = 'acme', instance = 'acme-prod', key = PROD_KEY) => {
    // Twitter, in the platform's one field: every peer user logs in, with or without an email.
    const pair = peers.twitter.accessTokenFor(user)
    const res = await built.api(`/t/${tenant}/v1.1/instances/${instance}/user/auth/twitter/`, postJson({ access_token: `${pair.accessToken}:${pair.accessTokenSecret}` }, { 'x-api-key': key }))
    if (res.status !== 200) throw new Error(`login answered ${res.status}`)
    return res.json() as Promise<any>
  }
  const me = (userKey: string | null, o: { tenant?: string, instance?: string, apiKey?: string | null } = {}) => {
    const headers: Record<string, string> = {}
    if (o.apiKey !== null) headers['x-api-key'] = o.apiKey ?? PROD_KEY
    if (userKey !== null) headers['x-user-key'] = userKey
    return built.api(`/t/${o.tenant ?? 'acme'}/v1.1/instances/${o.instance ?? 'acme-prod'}/user/`, { headers })
  }
  const reset = (id: number | string, userKey: string, init: RequestInit = {}) =>
    built.api(`/t/acme/v1.1/instances/acme-prod/users/${id}/reset_key/`, { method: 'POST', ...init, headers: { 'x-api-key': PROD_KEY, 'x-user-key': userKey, ...(init.headers as Record<string, string> ?? {}) } })
  return { ...built, login, me, reset }
}

t.test('user details with the user key', async (t) => {
  const { login, me } = await setup(t)
  const alice = await login('alice')
  const res = await me(alice.user_key)
  t.equal(res.status, 200)
  const body = await res.json() as any
  t.match(body, { profile: { created_at: TIMESTAMP, updated_at: TIMESTAMP } })
  t.same(body, expectedUser(body, alice.id, 'acme-prod', alice.username))
  t.equal(body.user_key, alice.user_key)
})

t.test('missing or invalid keys are 403; unknown instance 404', async (t) => {
  const { login, me } = await setup(t)
  const alice = await login('alice')
  const cases: Array<[string, Response, number, unknown]> = [
    ['no user key', await me(null), 403, DENIED],
    ['malformed user key', await me('not-a-key'), 403, DENIED],
    ['unknown user key', await me('0'.repeat(40)), 403, DENIED],
    ['no API key', await me(alice.user_key, { apiKey: null }), 403, DENIED],
    ['wrong API key', await me(alice.user_key, { apiKey: 'wrong-key-1234' }), 403, { detail: 'No such API Key.' }],
    ['unknown instance', await me(alice.user_key, { instance: 'ghost' }), 404, { detail: 'Instance was not found.' }]
  ]
  for (const [name, res, status, body] of cases) {
    t.equal(res.status, status, name)
    t.same(await res.json(), body, name)
  }
})

t.test('a user key works only in its own instance and tenant', async (t) => {
  const { login, me } = await setup(t)
  const alice = await login('alice')
  const otherInstance = await me(alice.user_key, { instance: 'acme-dev', apiKey: DEV_KEY })
  t.equal(otherInstance.status, 403, 'acme-prod key refused on acme-dev')
  t.same(await otherInstance.json(), DENIED)

  // beta has an instance of the same name with the same API key: only the tenant differs.
  const otherTenant = await me(alice.user_key, { tenant: 'beta' })
  t.equal(otherTenant.status, 403, 'acme key refused in tenant beta')
  t.same(await otherTenant.json(), DENIED)

  const betaAlice = await login('alice', 'beta')
  const own = await me(betaAlice.user_key, { tenant: 'beta' })
  t.equal(own.status, 200, 'control: beta\'s own key works there')
  const crossBack = await me(betaAlice.user_key)
  t.equal(crossBack.status, 403, 'and not in acme')

  const dev = await login('alice', 'acme', 'acme-dev', DEV_KEY)
  t.equal(dev.id, alice.id, 'one user per tenant across instances')
  t.equal((await me(dev.user_key, { instance: 'acme-dev', apiKey: DEV_KEY })).status, 200)
})

t.test('reset_key: the old keys stop working, the new one works', async (t) => {
  const { login, me, reset } = await setup(t)
  const first = await login('bob')
  const second = await login('bob')
  const dev = await login('bob', 'acme', 'acme-dev', DEV_KEY)

  const res = await reset(first.id, first.user_key, { headers: { 'content-type': 'application/json' } })
  t.equal(res.status, 200, 'an empty JSON body is no body')
  const body = await res.json() as any
  t.match(body, { user_key: USER_KEY, profile: { created_at: TIMESTAMP, updated_at: TIMESTAMP } })
  t.same(body, expectedUser(body, first.id, 'acme-prod', first.username))
  t.not(body.user_key, first.user_key)

  for (const [name, key, instance, apiKey] of [['the key used', first.user_key, 'acme-prod', PROD_KEY], ['another login\'s key', second.user_key, 'acme-prod', PROD_KEY], ['the key in another instance', dev.user_key, 'acme-dev', DEV_KEY]]) {
    const old = await me(key, { instance, apiKey })
    t.equal(old.status, 403, `${name} is revoked`)
    t.same(await old.json(), DENIED)
  }
  const fresh = await me(body.user_key)
  t.equal(fresh.status, 200, 'the new key works')
  t.equal(((await fresh.json()) as any).user_key, body.user_key)

  const again = await reset(first.id, first.user_key)
  t.equal(again.status, 403, 'a revoked key cannot reset again')
  t.same(await again.json(), DENIED)
})

t.test('reset_key for another user or a malformed id is 404', async (t) => {
  const { login, me, reset } = await setup(t)
  const alice = await login('alice')
  const carol = await login('carol')
  for (const id of [carol.id, 999999, 'abc', '1e3']) {
    const res = await reset(id, alice.user_key)
    t.equal(res.status, 404, `id ${id}`)
    t.same(await res.json(), { detail: 'Not found.' })
  }
  t.equal((await me(carol.user_key)).status, 200, 'carol\'s key untouched')
  t.equal((await me(alice.user_key)).status, 200, 'alice\'s key untouched')
})

t.test('concurrent resets with one key: exactly one succeeds', async (t) => {
  const { login, me, reset } = await setup(t)
  const alice = await login('alice')
  const results = await Promise.all([0, 1, 2, 3].map(() => reset(alice.id, alice.user_key)))
  const statuses = results.map((r) => r.status).sort()
  t.same(statuses, [200, 403, 403, 403])
  const winner = await results.find((r) => r.status === 200)!.json() as any
  t.equal((await me(winner.user_key)).status, 200)
})

t.test('OpenAPI: routes, operation ids and the X-API-KEY / X-USER-KEY schemes', async (t) => {
  const { api } = await setup(t)
  const doc = await (await api('/t/acme/openapi.json')).json() as any
  t.match(doc.components.securitySchemes, {
    SyncanoApiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: /^An API key of the instance named in the path\. With @hey-api\/openapi-ts one callback fills both keys/ },
    SyncanoUserKey: { type: 'apiKey', in: 'header', name: 'X-USER-KEY', description: 'The `user_key` a social login returned (sent with the API key; see SyncanoApiKey for generated clients).' }
  })
  t.same(Object.keys(doc.components.securitySchemes), ['SyncanoApiKey', 'SyncanoUserKey'])
  const auth = doc.paths['/v1.1/instances/{instance}/user/auth/{backend}/'].post
  t.equal(auth.operationId, 'syncanoUserSocialLogin')
  t.same(auth.tags, ['syncano'])
  t.same(auth.security, [{ SyncanoApiKey: [] }])
  t.same(Object.keys(requestBodyOf(doc, auth).content).sort(), ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'])
  t.same(Object.keys(auth.responses).sort(), ['200', '400', '401', '403', '404', '405', '413', '415', '500', '503'])
  // The published document names shared schemas as components: follow the reference.
  const deref = (s: any) => s.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s
  t.same(deref(auth.responses['401'].content['application/json'].schema).properties, { detail: { type: 'string' } })
  const me = doc.paths['/v1.1/instances/{instance}/user/'].get
  t.equal(me.operationId, 'syncanoUserDetails')
  t.same(me.security, [{ SyncanoApiKey: [], SyncanoUserKey: [] }])
  const reset = doc.paths['/v1.1/instances/{instance}/users/{id}/reset_key/'].post
  t.equal(reset.operationId, 'syncanoUserResetKey')
  t.same(reset.security, [{ SyncanoApiKey: [], SyncanoUserKey: [] }])
  const user = doc.paths['/v1.1/instances/{instance}/user/']
  t.same(Object.keys(user).sort(), ['get', 'patch', 'put'], 'the refusing routes are hidden')
  t.same([user.patch.operationId, user.put.operationId], ['syncanoUserUpdate', 'syncanoUserReplace'])
  const byId = doc.paths['/v1.1/instances/{instance}/users/{id}/']
  t.same(Object.keys(byId).sort(), ['get', 'patch', 'put'])
})
