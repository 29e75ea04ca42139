// The platform's own user tests (Syncano/syncano-platform apps/users/tests/test_user_api.py:
// UserAccountViewTestMixin, UserResetKeyViewTestMixin) ported as black-box tests, then the rest of
// RetrieveUpdateAPIView and UserViewSet as a user key sees them: PUT/PATCH validation as DRF's
// UserSerializer answers it, /users/<id>/ (syncano-android's updateUser), and the methods it refuses.
import t from 'tap'
import { verifyPassword } from '../../plugins/crypto.ts'
import { build, postForm, postJson } from '../helpers/build.ts'
import { expectedUser, PROD_KEY, startPeers, syncanoTenant, TIMESTAMP, USER_KEY } from './helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const DENIED = { detail: 'You do not have permission to perform this action.' }

async function setup (t: { teardown (fn: () => unknown): void }) {
  const built = await build(t, { tenants: [syncanoTenant('acme', peers)] })
  const login = async (who: string) => {
    const pair = peers.twitter.accessTokenFor(who)
    const res = await built.api('/t/acme/v1.1/instances/acme-prod/user/auth/twitter/', postJson({ access_token: `${pair.accessToken}:${pair.accessTokenSecret}` }, { 'x-api-key': PROD_KEY }))
    if (res.status !== 200) throw new Error(`login answered ${res.status}`)
    return res.json() as Promise<any>
  }
  // init_data: self.client.defaults HTTP_X_API_KEY and HTTP_X_USER_KEY
  const as = (userKey: string) => (path: string, init: RequestInit = {}) =>
    built.api(`/t/acme/v1.1/instances/acme-prod/${path}`, { ...init, headers: { 'x-api-key': PROD_KEY, 'x-user-key': userKey, ...(init.headers as Record<string, string> ?? {}) } })
  const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const row = async (id: number) => built.app.db.db.selectFrom('users').selectAll().where('tenant_id', '=', 'acme').where('id', '=', String(id)).executeTakeFirstOrThrow()
  return { ...built, login, as, json, row }
}

t.test('UserAccountViewTestMixin', async (t) => {
  const { login, as, json, row } = await setup(t)
  const user = await login('alice')
  const client = as(user.user_key)

  // test_getting_own_data
  const own = await client('user/')
  t.equal(own.status, 200, 'test_getting_own_data')
  t.equal((await own.json() as any).id, user.id)

  // test_getting_with_incorrect_credentials: HTTP_X_USER_KEY = 'a' * len(user.key)
  const wrong = await as('a'.repeat(user.user_key.length))('user/')
  t.equal(wrong.status, 403, 'test_getting_with_incorrect_credentials')
  t.same(await wrong.json(), DENIED)

  // test_changing_data: PUT {'username': 'john23@doe.com', 'password': 'test23'}
  const put = await client('user/', json('PUT', { username: 'john23@doe.com', password: 'test23' }))
  t.equal(put.status, 200, 'test_changing_data')
  const body = await put.json() as any
  t.match(body, { user_key: USER_KEY, profile: { created_at: TIMESTAMP, updated_at: TIMESTAMP } })
  t.same(body, expectedUser(body, user.id, 'acme-prod', 'john23@doe.com'), 'the user object, with the new username')
  t.equal(body.user_key, user.user_key, 'the key used stays the key')
  const stored = await row(user.id)
  t.equal(stored.username, 'john23@doe.com', 'user.username == credentials["username"]')
  t.ok(await verifyPassword('test23', stored.password_hash), 'user.check_password(credentials["password"])')
  t.notOk(JSON.stringify(stored).includes('test23'), 'the password is stored hashed only')

  // test_if_deletion_is_not_allowed
  const del = await client('user/', { method: 'DELETE' })
  t.equal(del.status, 405, 'test_if_deletion_is_not_allowed')
  t.equal(del.headers.get('allow'), 'GET, PUT, PATCH, HEAD')
  t.same(await del.json(), { detail: 'Method "DELETE" not allowed.' })
  t.equal((await client('user/')).status, 200, 'the user is still there')
})

t.test('UserResetKeyViewTestMixin: test_resetting_is_successful', async (t) => {
  const { login, as } = await setup(t)
  const user = await login('alice')
  const res = await as(user.user_key)(`users/${user.id}/reset_key/`, { method: 'POST' })
  t.equal(res.status, 200)
  t.not((await res.json() as any).user_key, user.user_key)
})

t.test('PATCH is partial; usernames are lowercased, unique in the tenant, and the email is left alone', async (t) => {
  const { login, as, json, row } = await setup(t)
  const alice = await login('alice')
  const bob = await login('bob')
  const client = as(alice.user_key)
  const before = await row(alice.id)

  const patched = await client('user/', json('PATCH', { username: 'Alice.New@Example.TEST', email: 'evil@attacker.test' }))
  t.equal(patched.status, 200)
  t.equal((await patched.json() as any).username, 'alice.new@example.test', 'LowercaseCharField')
  const after = await row(alice.id)
  t.equal(after.email, before.email, 'Syncano\'s user has no email field: a PATCH never changes the account email')
  t.equal(after.password_hash, before.password_hash, 'fields not sent are kept')
  t.equal(((await (await client('user/')).json()) as any).username, 'alice.new@example.test', 'GET shows it')

  const empty = await client('user/', json('PATCH', {}))
  t.equal(empty.status, 200, 'an empty PATCH changes nothing')

  const same = await client('user/', json('PATCH', { username: 'ALICE.NEW@example.test' }))
  t.equal(same.status, 200, 'one\'s own username (any case) is not taken')

  const taken = await as(bob.user_key)('user/', json('PATCH', { username: 'Alice.new@example.test' }))
  t.equal(taken.status, 400)
  t.same(await taken.json(), { username: ['This field must be unique.'] }, 'UniqueValidator, case-insensitively')
  t.equal((await row(bob.id)).username, 'bob', 'bob keeps his')

  const form = await as(bob.user_key)('user/', { method: 'PATCH', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=bob2' })
  t.equal(form.status, 200, 'form bodies')
  t.equal((await form.json() as any).username, 'bob2')

  const fd = new FormData()
  fd.set('username', 'bob3')
  const multipart = await as(bob.user_key)('user/', { method: 'PATCH', body: fd })
  t.equal(multipart.status, 200, 'multipart bodies')
  t.equal((await multipart.json() as any).username, 'bob3')
})

t.test('two users racing for one username: one gets it', async (t) => {
  const { login, as, json } = await setup(t)
  const users = await Promise.all(['alice', 'bob', 'carol'].map(login))
  const results = await Promise.all(users.map((u) => as(u.user_key)('user/', json('PATCH', { username: 'the-one' }))))
  t.same(results.map((r) => r.status).sort(), [200, 400, 400])
  for (const r of results.filter((r) => r.status === 400)) t.same(await r.json(), { username: ['This field must be unique.'] })
})

t.test('PUT and PATCH validation: DRF field errors, all at once', async (t) => {
  const { login, as, json } = await setup(t)
  const user = await login('alice')
  const client = as(user.user_key)
  const cases: Array<[string, RequestInit, unknown]> = [
    ['PUT with nothing', json('PUT', {}), { username: ['This field is required.'], password: ['This field is required.'] }],
    ['PUT without password', json('PUT', { username: 'x' }), { password: ['This field is required.'] }],
    ['PATCH blank username', json('PATCH', { username: '' }), { username: ['This field may not be blank.'] }],
    ['PATCH null password', json('PATCH', { password: null }), { password: ['This field may not be null.'] }],
    ['PATCH username too long', json('PATCH', { username: 'u'.repeat(65) }), { username: ['Ensure this field has no more than 64 characters.'] }],
    ['PATCH password too long', json('PATCH', { password: 'p'.repeat(129) }), { password: ['Ensure this field has no more than 128 characters.'] }],
    ['PATCH username not a string', json('PATCH', { username: ['a'] }), { username: ['Not a valid string.'] }],
    ['PATCH NUL byte', json('PATCH', { username: 'a\u0000b' }), { username: ['Null characters are not allowed.'] }],
    ['PATCH a list', json('PATCH', [1]), { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
    ['PATCH profile not an object', json('PATCH', { profile: 'x' }), { profile: { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] } }],
    ['PATCH profile null', json('PATCH', { profile: null }), { profile: ['This field may not be null.'] }]
  ]
  for (const [name, init, body] of cases) {
    const res = await client('user/', init)
    t.equal(res.status, 400, name)
    t.same(await res.json(), body, name)
  }
  const profile = await client('user/', json('PATCH', { profile: { avatar: null, nickname: 'al' } }))
  t.equal(profile.status, 200, 'profile fields are accepted and ignored (no user profile class here)')
  t.equal((await profile.json() as any).profile.avatar, null)
  const broken = await client('user/', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{' })
  t.equal(broken.status, 400)
  t.same(await broken.json(), { detail: 'JSON parse error - the body is not valid JSON.' })
})

t.test('/users/<id>/ for the user key\'s own user (UserViewSet, as syncano-android\'s updateUser calls it)', async (t) => {
  const { login, as, json, row } = await setup(t)
  const alice = await login('alice')
  const bob = await login('bob')
  const client = as(alice.user_key)

  const get = await client(`users/${alice.id}/`)
  t.equal(get.status, 200)
  const got = await get.json() as any
  t.same(got, expectedUser(got, alice.id, 'acme-prod', 'alice'))

  const patch = await client(`users/${alice.id}/`, json('PATCH', { password: 'n3w-secret' }))
  t.equal(patch.status, 200)
  t.ok(await verifyPassword('n3w-secret', (await row(alice.id)).password_hash))
  const put = await client(`users/${alice.id}/`, json('PUT', { username: 'alice2', password: 'x' }))
  t.equal(put.status, 200)
  t.equal((await put.json() as any).username, 'alice2')

  for (const [method, path] of [['GET', `users/${bob.id}/`], ['PATCH', `users/${bob.id}/`], ['GET', 'users/999999/'], ['GET', 'users/abc/']]) {
    const res = await client(path, method === 'PATCH' ? json('PATCH', { username: 'stolen' }) : {})
    t.equal(res.status, 404, `${method} ${path}: the queryset holds only the key's own user`)
    t.same(await res.json(), { detail: 'Not found.' })
  }
  t.equal((await row(bob.id)).username, 'bob', 'bob untouched')

  const del = await client(`users/${alice.id}/`, { method: 'DELETE' })
  t.equal(del.status, 403, 'an API key may read and update users, not delete them (User.PERMISSION_CONFIG)')
  t.same(await del.json(), DENIED)
  const post = await client(`users/${alice.id}/`, { method: 'POST' })
  t.equal(post.status, 405)
  t.equal(post.headers.get('allow'), 'GET, PUT, PATCH, HEAD')
  t.same(await post.json(), { detail: 'Method "POST" not allowed.' })
  const resetGet = await client(`users/${alice.id}/reset_key/`)
  t.equal(resetGet.status, 405)
  t.equal(resetGet.headers.get('allow'), 'POST')
})

t.test('every method authenticates first: no keys is 403 whatever the method', async (t) => {
  const { api, login, as } = await setup(t)
  const user = await login('alice')
  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'POST']) {
    const anonymous = await api('/t/acme/v1.1/instances/acme-prod/user/', { method, headers: { 'x-api-key': PROD_KEY } })
    t.equal(anonymous.status, 403, `${method} without a user key`)
    t.same(await anonymous.json(), DENIED)
  }
  const head = await as(user.user_key)('user/', { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD is GET without a body')
  const reset = await api(`/t/acme/v1.1/instances/acme-prod/users/${user.id}/reset_key/`, postForm({}, { 'x-api-key': PROD_KEY }))
  t.equal(reset.status, 403)
})
