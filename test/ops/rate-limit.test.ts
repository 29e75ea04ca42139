// Per-tenant rate limits: a tenant-wide limit keyed by client and address, answered with Retry-After in
// each dialect's own envelope; a per-address limit on password sign-in; counters shared by the nodes of
// a deployment through Redis; and requests still served when Redis is down.
import t from 'tap'
import { build, rawRequest, tenantDoc, TEST_REDIS_URL } from '../helpers/build.ts'
import { Redis } from 'ioredis'
import { LocalWindows } from '../../plugins/rate-limit.ts'
import { privateRedis } from '../helpers/redis.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_CT = { 'content-type': 'application/json' }
const CLIENT = 'cap-client-0123456789abcdef'

function limited (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return tenantDoc(id, {
    clients: [{ id: CLIENT, secret: 'cap-secret', features: ['login_client'], defaultFlow: 'standard', defaultFlowVersion: '1' }],
    instances: [{ name: 'inst', apiKeys: ['syncano-api-key-1234'] }],
    flows: [{ name: 'standard', versions: [{ version: '1', locales: ['en-US'], forms: {} }] }],
    providers: { github: { type: 'github', allowPrivateNetwork: true, clientId: 'x', clientSecret: 'y', endpoints: { authorize: 'http://127.0.0.1:9/a', token: 'http://127.0.0.1:9/t', userinfo: 'http://127.0.0.1:9/u', emails: 'http://127.0.0.1:9/e' } } },
    dialects: { 'rest-social-auth': {}, syncano: {}, 'oauth-confirm': { confirmUrl: 'https://app.test/c/{confirmation}' }, capture: {} },
    ...extra
  })
}

t.test('the tenant-wide limit: 429 with Retry-After in each dialect\'s envelope, per tenant and per address', async (t) => {
  const { url } = await build(t, { tenants: [limited('tight', { rateLimits: { default: { max: 3, timeWindow: '1 minute' } } }), limited('roomy')] })
  const get = (tenant: string, localAddress = '127.0.0.1') => rawRequest(`${url}/t/${tenant}/user`, { localAddress })
  for (let i = 0; i < 3; i++) t.equal((await get('tight')).status, 401, `request ${i + 1} is served`)
  const over = await get('tight')
  t.equal(over.status, 429)
  t.match(over.headers['retry-after'], /^\d+$/)
  t.same(over.json(), { detail: `Request was throttled. Expected available in ${over.headers['retry-after']} seconds.` }, 'rest-social-auth: DRF throttling body')

  // A request with an instance's API key speaks for that client: it has its own counter.
  const syncanoUser = () => rawRequest(`${url}/t/tight/v1.1/instances/inst/user/`, { headers: { 'x-api-key': 'syncano-api-key-1234' } })
  for (let i = 0; i < 3; i++) t.equal((await syncanoUser()).status, 403, 'the API-key client is counted apart')
  const syncano = await syncanoUser()
  t.equal(syncano.status, 429)
  t.match(syncano.json(), { detail: /^Request was throttled\. Expected available in \d+ seconds?\.$/ }, 'syncano: DRF throttling body')
  const init = await rawRequest(`${url}/t/tight/oauth/init`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ provider: 'github', language: 'en' }) })
  t.same([init.status, init.text], [429, ''], 'oauth-confirm: a bare 429')
  const native = await rawRequest(`${url}/t/tight/oauth/auth_native`, { method: 'POST', headers: FORM, body: new URLSearchParams({ client_id: CLIENT }).toString() })
  t.equal(native.status, 200, 'capture: HTTP 200 like every Capture API error')
  t.match(native.json(), { stat: 'error', code: 510, error: 'rate_limit_exceeded', error_description: /^too many requests; try again in \d+ seconds$/, request_id: /^[a-z0-9]{16}$/ })
  const token = await rawRequest(`${url}/t/tight/oauth/token`, { method: 'POST', headers: FORM, body: 'grant_type=authorization_code' })
  t.same([token.status, token.json().error], [429, 'rate_limited'], 'capture /oauth/token: OAuth-style 429')

  t.equal((await get('roomy')).status, 401, 'another tenant has its own counters')
  t.equal((await get('tight', '127.0.0.2')).status, 401, 'another client address has its own counter')
})

t.test('password sign-in is limited per address, from any client address', async (t) => {
  const { url } = await build(t, { tenants: [limited('signin', { rateLimits: { login: { max: 2, timeWindow: '1 minute' } } })] })
  const signIn = (email: string, localAddress: string) => rawRequest(`${url}/t/signin/oauth/auth_native_traditional`, {
    method: 'POST', headers: FORM, localAddress,
    body: new URLSearchParams({ client_id: CLIENT, flow: 'standard', flow_version: '1', locale: 'en-US', redirect_uri: 'https://app.test/', signInEmailAddress: email, currentPassword: 'guess' }).toString()
  })
  t.equal((await signIn('victim@x.test', '127.0.0.1')).json().code, 210)
  t.equal((await signIn('victim@x.test', '127.0.0.2')).json().code, 210)
  const third = await signIn('victim@x.test', '127.0.0.3')
  t.equal(third.json().code, 510, 'the third guess at one address is refused, whatever the source address')
  t.match(third.headers['retry-after'], /^\d+$/)
  t.equal((await signIn('someone-else@x.test', '127.0.0.1')).json().code, 210, 'other addresses are not affected')
})

t.test('the nodes of a deployment share the tenant-wide budget out by the node count in Redis', async (t) => {
  const doc = limited('shared', { rateLimits: { default: { max: 4, timeWindow: '1 minute' } } })
  const a = await build(t, { tenants: [doc], redisUrl: TEST_REDIS_URL, nodeHeartbeatMs: 200 })
  const b = await build(t, { tenants: [doc], redisUrl: TEST_REDIS_URL, nodeOf: a, nodeHeartbeatMs: 200 })
  // The heartbeat, not a timer in the test: each node reads the set after the other joined it.
  t.same([await a.app.census.refresh(), await b.app.census.refresh()], [2, 2], 'each node counts both')
  const statuses = []
  for (const node of [a, b, a, b, a, b]) statuses.push((await rawRequest(`${node.url}/t/shared/user`)).status)
  t.same(statuses, [401, 401, 401, 401, 429, 429], 'four served in all, whichever node took them; then both refuse')

  // Requests that all land on one node get that node's share only (documented: ceil(max / nodes)).
  const one = []
  for (let i = 0; i < 3; i++) one.push((await rawRequest(`${a.url}/t/shared/user`, { localAddress: '127.0.0.2' })).status)
  t.same(one, [401, 401, 429], 'one node alone allows its half of the budget')

  // A node that leaves the set gives its share back to the others at their next heartbeat.
  await b.app.census.close()
  t.equal(await a.app.census.refresh(), 1, 'the remaining node counts itself alone')
  t.equal((await rawRequest(`${a.url}/t/shared/user`, { localAddress: '127.0.0.2' })).status, 401, 'and allows the whole budget again')
})

t.test('the tenant-wide limit sends nothing to Redis per request', async (t) => {
  const redis = await privateRedis(t)
  // The webhook relay's own background traffic (its BullMQ worker polls Redis) is not per request: off here.
  const { url } = await build(t, { tenants: [limited('quiet', { rateLimits: { default: { max: 1000, timeWindow: '1 minute' } } })], redisUrl: redis.url, webhooks: { run: false } })
  const probe = new Redis(redis.url)
  t.teardown(() => probe.quit())
  await rawRequest(`${url}/t/quiet/user`) // the tenant's instance is built on its first request
  const stat = async () => {
    const info = await probe.info('stats')
    return Number(/total_commands_processed:(\d+)/.exec(info)![1])
  }
  const before = await stat()
  for (let i = 0; i < 50; i++) t.equal((await rawRequest(`${url}/t/quiet/user`)).status, 401)
  const after = await stat()
  // The probe's own INFO is one command; a node heartbeat (every 5 s) is one MULTI of six.
  t.ok(after - before < 10, `50 requests made ${after - before - 1} Redis commands`)
})

t.test('credential limits stay exact across nodes (Redis counters)', async (t) => {
  const doc = limited('exact', { rateLimits: { login: { max: 3, timeWindow: '1 minute' } } })
  const a = await build(t, { tenants: [doc], redisUrl: TEST_REDIS_URL })
  const b = await build(t, { tenants: [doc], redisUrl: TEST_REDIS_URL, nodeOf: a })
  const signIn = (node: { url: string }) => rawRequest(`${node.url}/t/exact/oauth/auth_native_traditional`, {
    method: 'POST', headers: FORM,
    body: new URLSearchParams({ client_id: CLIENT, flow: 'standard', flow_version: '1', locale: 'en-US', redirect_uri: 'https://app.test/', signInEmailAddress: 'victim@x.test', currentPassword: 'guess' }).toString()
  })
  const codes = []
  for (const node of [a, a, b, b]) codes.push((await signIn(node)).json().code)
  t.same(codes, [210, 210, 210, 510], 'the fourth guess is refused although two nodes took them and each saw two')
})

t.test('Redis down: credential limits fail open, the tenant-wide limit still counts in memory', async (t) => {
  const redis = await privateRedis(t)
  const { url } = await build(t, { tenants: [limited('open', { rateLimits: { default: { max: 4, timeWindow: '1 minute' }, login: { max: 1, timeWindow: '1 minute' } } })], redisUrl: redis.url })
  await redis.stop()
  const signIn = () => rawRequest(`${url}/t/open/oauth/auth_native_traditional`, {
    method: 'POST', headers: FORM,
    body: new URLSearchParams({ client_id: CLIENT, flow: 'standard', flow_version: '1', locale: 'en-US', redirect_uri: 'https://app.test/', signInEmailAddress: 'victim@x.test', currentPassword: 'guess' }).toString()
  })
  for (let i = 0; i < 3; i++) t.equal((await signIn()).json().code, 210, 'sign-in served, not refused')
  t.equal((await rawRequest(`${url}/t/open/user`)).status, 401, 'the fourth request is within the tenant-wide budget')
  t.equal((await rawRequest(`${url}/t/open/user`)).status, 429, 'the fifth is over it, Redis or not')
})

t.test('X-Forwarded-For counts only from a trusted proxy', async (t) => {
  const doc = limited('xff', { rateLimits: { default: { max: 2, timeWindow: '1 minute' } } })
  const spoof = (base: string, ip: string) => rawRequest(`${base}/t/xff/user`, { headers: { 'x-forwarded-for': ip } })

  const direct = await build(t, { tenants: [doc] })
  const untrusted = [await spoof(direct.url, '198.51.100.1'), await spoof(direct.url, '198.51.100.2'), await spoof(direct.url, '198.51.100.3')]
  t.same(untrusted.map((r) => r.status), [401, 401, 429], 'without TRUST_PROXY a forged header does not buy a fresh counter')

  const proxied = await build(t, { tenants: [doc], trustProxy: '127.0.0.1' })
  const trusted = [await spoof(proxied.url, '198.51.100.1'), await spoof(proxied.url, '198.51.100.1'), await spoof(proxied.url, '198.51.100.1'), await spoof(proxied.url, '198.51.100.2')]
  t.same(trusted.map((r) => r.status), [401, 401, 429, 401], 'behind a trusted proxy each client address has its own counter')
})

t.test('the in-memory windows: budget read per hit, window end, bounded keys', async (t) => {
  let budget = 2
  const w = new LocalWindows(60_000, () => budget, 100)
  const now = 1_000_000
  t.same([w.hit('k', now), w.hit('k', now), w.hit('k', now + 1500)], [null, null, 59], 'over the budget: the seconds left in the window')
  budget = 3 // the node count fell: a larger share applies at once
  t.equal(w.hit('k', now + 2000), null)
  t.equal(w.hit('k', now + 60_000), null, 'a new window starts when the last one ended')
  for (let i = 0; i < 500; i++) w.hit(`flood-${i}`, now + 60_000)
  t.ok(w.size <= 100, `at most 100 keys kept (${w.size})`)
  for (let i = 0; i < 200; i++) w.hit(`later-${i}`, now + 200_000)
  t.ok(w.size <= 100, 'ended windows are swept first')
})
