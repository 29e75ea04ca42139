// The tenant-wide rate limit gives a client its own budget only when the request proves it is that client
// (HTTP Basic with the right secret, a valid Syncano API key); a wrong secret, an unknown client id or a wrong key
// counts against the per-address budget like any unauthenticated request.
import t from 'tap'
import { build, rawRequest, tenantDoc } from '../helpers/build.ts'

const CLIENT = 'cap-client-0123456789abcdef'
const SECRET = 'cap-secret-right'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')

const doc = (id: string) => tenantDoc(id, {
  clients: [{ id: CLIENT, secret: SECRET, features: ['login_client'] }, { id: 'public-client-000000000', features: ['login_client'] }],
  instances: [{ name: 'inst', apiKeys: ['syncano-api-key-1234'] }],
  dialects: { capture: {}, syncano: {} },
  rateLimits: { default: { max: 3, timeWindow: '1 minute' } }
})
const { url } = await build(t, { tenants: [doc('rl1'), doc('rl2')] })
const token = (tenant: string, authorization?: string, localAddress = '127.0.0.1') => rawRequest(`${url}/t/${tenant}/oauth/token`, {
  method: 'POST', localAddress, headers: { ...FORM, ...(authorization ? { authorization } : {}) }, body: 'grant_type=refresh_token&refresh_token=x'
})

t.test('a wrong secret, an unknown id or a secret-less client does not open a fresh budget', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await token('rl1')).status, 401, `anonymous request ${i + 1} is served`)
  t.equal((await token('rl1')).status, 429, 'the address has spent its budget')
  t.equal((await token('rl1', basic(CLIENT, 'wrong-secret'))).status, 429, 'the client id with a wrong secret is the same anonymous caller')
  t.equal((await token('rl1', basic(CLIENT, `guess-${Math.random()}`))).status, 429, 'and so is every other guess')
  t.equal((await token('rl1', basic('no-such-client', 'x'))).status, 429, 'an unknown client id too')
  t.equal((await token('rl1', basic('public-client-000000000', ''))).status, 429, 'a client without a secret cannot authenticate')
  const syncano = await rawRequest(`${url}/t/rl1/v1.1/instances/inst/user/`, { headers: { 'x-api-key': 'wrong-api-key-0000' } })
  t.equal(syncano.status, 429, 'a wrong Syncano API key is anonymous too')
})

t.test('the right credentials are that client\'s own budget', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await token('rl2')).status, 401)
  t.equal((await token('rl2')).status, 429)
  const authed = await token('rl2', basic(CLIENT, SECRET))
  t.equal(authed.status, 400, 'the authenticated client is served (invalid_grant: the refresh token is made up)')
  t.equal(authed.json().error, 'invalid_grant')
  const syncano = await rawRequest(`${url}/t/rl2/v1.1/instances/inst/user/`, { headers: { 'x-api-key': 'syncano-api-key-1234' } })
  t.not(syncano.status, 429, 'a valid Syncano API key is its instance\'s own budget')
})

