// The queue dashboard's HTTP Basic sign-in is throttled per client address: after the allowed failures every
// attempt from that address (the right password too) is 429 with Retry-After until the window ends; other
// addresses are unaffected, and a browser's first request without credentials is not counted as a guess.
import t from 'tap'
import { build, rawRequest, TEST_REDIS_URL } from '../helpers/build.ts'

const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') })

t.test('password guessing at /admin/queues is limited per address', async (t) => {
  const { url } = await build(t, { tenants: [], redisUrl: TEST_REDIS_URL, admin: { user: 'ops', password: 'correct horse battery' }, adminFailures: { max: 3, windowMs: 60_000 } })
  const get = (headers: Record<string, string>, localAddress = '127.0.0.1') => rawRequest(`${url}/admin/queues/api/queues`, { headers, localAddress })

  for (let i = 0; i < 5; i++) t.equal((await get({})).status, 401, 'no credentials: the dialog, not a guess')
  for (let i = 0; i < 3; i++) t.equal((await get(basic('ops', `guess-${i}`))).status, 401, `guess ${i + 1}`)
  const over = await get(basic('ops', 'guess-4'))
  t.equal(over.status, 429)
  t.match(over.headers['retry-after'], /^\d+$/)
  t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60)
  t.same(over.json(), { error: 'rate_limited', message: `Too many failed sign-ins; try again in ${over.headers['retry-after']} seconds.` })
  t.equal((await get(basic('ops', 'correct horse battery'))).status, 429, 'the right password too, from that address, until the window ends')

  t.equal((await get(basic('ops', 'correct horse battery'), '127.0.0.2')).status, 200, 'another address signs in')
})
