// Audit events (issue 22): admin changes recorded in the change's transaction with who, what and the versions
// before and after, stamped with the request (request id, truncated client address, user agent); a password
// sign-in failure recorded with its reason; the events API filters by type, user and time; no event holds a secret.
import t from 'tap'
import { build, tenantDoc } from '../helpers/build.ts'
import { truncateAddress } from '../../plugins/events/context.ts'
import { ALL, call, keyring, token } from '../admin/helpers.ts'

t.test('client addresses are truncated per mode', async (t) => {
  t.equal(truncateAddress('203.0.113.77', 'truncated'), '203.0.113.0')
  t.equal(truncateAddress('::ffff:203.0.113.77', 'truncated'), '203.0.113.0')
  t.equal(truncateAddress('2001:db8:1:2:3:4:5:6', 'truncated'), '2001:db8:1::')
  t.equal(truncateAddress('2001:db8::1', 'truncated'), '2001:db8:0::')
  t.equal(truncateAddress('203.0.113.77', 'full'), '203.0.113.77')
  t.equal(truncateAddress('203.0.113.77', 'none'), null)
})

t.test('admin changes are events with who, what and versions, stamped with the request; filters work', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  const ua = { 'user-agent': 'events-test/1.0' }
  t.equal((await call(b, tok, 'POST', '/tenants', tenantDoc('acme', { clients: [{ id: 'web', secret: 'client-secret-never-in-events' }] }), ua)).status, 201)
  t.equal((await call(b, tok, 'PATCH', '/tenants/acme', { frontendUrl: 'https://acme.test' }, { ...ua, 'content-type': 'application/merge-patch+json' })).status, 200)
  const tokenId = (await b.app.db.db.selectFrom('admin_tokens').select('id').executeTakeFirstOrThrow()).id

  const list = await call(b, tok, 'GET', '/tenants/acme/events')
  t.equal(list.status, 200)
  t.match(list.body.items, [
    { type: 'tenant-updated', userId: null, data: { by: `token:${tokenId}`, what: 'patchTenant', beforeVersion: 1, afterVersion: 2 }, clientAddress: '127.0.0.0', userAgent: 'events-test/1.0', requestId: /\S+/ },
    { type: 'tenant-created', data: { by: `token:${tokenId}`, beforeVersion: null, afterVersion: 1 } }
  ])
  t.equal(list.body.items.length, 2)

  const only = await call(b, tok, 'GET', '/tenants/acme/events?type=tenant-created')
  t.same(only.body.items.map((e: any) => e.type), ['tenant-created'])
  const future = new Date(Date.now() + 60_000).toISOString()
  t.same((await call(b, tok, 'GET', `/tenants/acme/events?after=${encodeURIComponent(future)}`)).body.items, [])
  t.equal((await call(b, tok, 'GET', `/tenants/acme/events?before=${encodeURIComponent(future)}`)).body.items.length, 2)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/events?after=yesterday')).status, 400, 'a bad time is the API\'s 400, not a 500')

  const page1 = await call(b, tok, 'GET', '/tenants/acme/events?limit=1')
  const page2 = await call(b, tok, 'GET', `/tenants/acme/events?limit=1&cursor=${page1.body.nextCursor}`)
  t.same([page1.body.items[0].type, page2.body.items[0].type], ['tenant-updated', 'tenant-created'], 'cursor pages')

  const restricted = await token(b, ['tenants:read'])
  t.equal((await call(b, restricted, 'GET', '/tenants/acme/events')).status, 403, 'events:read is needed')

  // A refused write records nothing: the event is in the change's transaction.
  t.equal((await call(b, tok, 'PATCH', '/tenants/acme', { defaultLocale: 'xx' }, { 'content-type': 'application/merge-patch+json' })).status, 400)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/events')).body.items.length, 2)

  const dump = JSON.stringify(await b.app.db.db.selectFrom('audit_events').selectAll().execute())
  t.notOk(dump.includes('client-secret-never-in-events'), 'no secret of the document in any event')
  t.notOk(dump.includes(tok), 'no admin token in any event')
})

t.test('password sign-in failures are recorded with the reason; sessions revoked are recorded without their token', async (t) => {
  const b = await build(t, { tenants: [tenantDoc('acme')] })
  const { createTenantIdentity } = await import('../../plugins/identity/index.ts')
  const { hashPassword } = await import('../../plugins/crypto.ts')
  const { withEventContext } = await import('../../plugins/events/context.ts')
  const id = createTenantIdentity(b.app.db.db, { tenantId: 'acme', linking: 'reject', mail: b.app.mail })
  const reg = await id.registerWithPassword({ email: 'ann@acme.test', password_hash: await hashPassword('right-password') }, async () => null)
  if (reg.kind !== 'created') throw new Error('not created')
  const ctx = { requestId: 'req-1', clientAddress: '198.51.100.0', userAgent: 'ua', dialect: 'capture' }
  t.equal(await withEventContext(ctx, () => id.verifyPassword('ann@acme.test', 'wrong-password')), null)
  t.equal(await withEventContext(ctx, () => id.verifyPassword('nobody@acme.test', 'wrong-password')), null)
  const { token: session } = await id.issueSession({ userId: reg.user.id, kind: 'token', clientId: 'web' })
  t.ok(await id.revokeSession(session))
  const rows = await b.app.db.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', 'acme').orderBy('id').execute()
  t.match(rows.map((r) => [r.type, r.user_id, r.data, r.dialect, r.request_id, r.client_address]), [
    ['register', reg.user.id, { method: 'password' }, null, null, null],
    ['login-failed', reg.user.id, { method: 'password', reason: 'invalid-credentials' }, 'capture', 'req-1', '198.51.100.0'],
    ['login-failed', null, { method: 'password', reason: 'unknown-account' }, 'capture', 'req-1', '198.51.100.0'],
    ['session-revoked', reg.user.id, { kind: 'token' }, null, null, null]
  ])
  t.equal(rows[3].client_id, 'web')
  const dump = JSON.stringify(rows)
  for (const secret of [session, 'wrong-password', 'right-password', 'nobody@acme.test']) t.notOk(dump.includes(secret), `no ${secret.slice(0, 6)}… in events`)
})
