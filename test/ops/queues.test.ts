// The queue dashboard: only with admin credentials, and it lists the deployment's queues.
import t from 'tap'
import { build, TEST_REDIS_URL } from '../helpers/build.ts'

t.test('Bull Board behind HTTP Basic admin credentials', async (t) => {
  const { api } = await build(t, { tenants: [], redisUrl: TEST_REDIS_URL, admin: { user: 'ops', password: 'correct horse battery' } })
  const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') })
  const anon = await api('/admin/queues')
  t.equal(anon.status, 401)
  t.match(anon.headers.get('www-authenticate'), /^Basic /)
  t.equal((await api('/admin/queues', { headers: basic('ops', 'wrong') })).status, 401)
  t.equal((await api('/admin/queues', { headers: basic('root', 'correct horse battery') })).status, 401)
  t.equal((await api('/admin/queues/api/queues', { headers: basic('ops', 'wrong') })).status, 401, 'the API too')
  const page = await api('/admin/queues', { headers: basic('ops', 'correct horse battery') })
  t.equal(page.status, 200)
  t.match(await page.text(), /<html/i)
  const list = await api('/admin/queues/api/queues', { headers: basic('ops', 'correct horse battery') })
  t.equal(list.status, 200)
  const names = ((await list.json()) as any).queues.map((q: any) => q.name).sort()
  t.same(names, ['vestibule-email', 'vestibule-maintenance', 'vestibule-webhooks'])
})

t.test('no dashboard without admin credentials', async (t) => {
  const { api } = await build(t, { tenants: [], redisUrl: TEST_REDIS_URL })
  t.equal((await api('/admin/queues')).status, 404)
})
