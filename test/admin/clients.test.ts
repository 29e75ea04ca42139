// Clients and keys of a stored tenant through the admin API, checked against the dialects that use them:
// a new client's secret authenticates at Capture's /oauth/token, a rotated secret overlaps with the old one
// until retired, Syncano API keys are added and revoked; other tenants are untouched.
import t from 'tap'
import { build, postForm, TEST_REDIS_URL, tenantDoc, type Built } from '../helpers/build.ts'
import { ALL, call, keyring, token } from './helpers.ts'

const captureDoc = (id: string) => tenantDoc(id, { clients: [{ id: 'seed-client', features: ['login_client'] }], dialects: { capture: {} } })
const syncanoDoc = (id: string, key: string) => tenantDoc(id, {
  providers: { github: { type: 'github', clientId: 'gh', clientSecret: 'gh-secret' } },
  instances: [{ name: 'prod', apiKeys: [key] }],
  dialects: { syncano: {} }
})

/** Does /oauth/token accept these client credentials? (A bogus refresh token: invalid_grant when it does, invalid_client when not.) */
async function clientAccepted (b: Built, tenant: string, id: string, secret: string): Promise<boolean> {
  const res = await b.api(`/t/${tenant}/oauth/token`, postForm({ grant_type: 'refresh_token', refresh_token: 'bogus' }, { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') }))
  const body = await res.json() as { error: string }
  if (body.error !== 'invalid_grant' && body.error !== 'invalid_client') throw new Error(`unexpected ${res.status} ${JSON.stringify(body)}`)
  return body.error === 'invalid_grant'
}

/** Does the syncano dialect accept this X-API-KEY? (No body: 401 when it does, 403 when not.) */
async function keyAccepted (b: Built, tenant: string, key: string): Promise<boolean> {
  const res = await b.api(`/t/${tenant}/v1.1/instances/prod/user/auth/github/`, { method: 'POST', headers: { 'x-api-key': key } })
  // A known key and no body: 401 "Invalid authorization token."; an unknown key: 403.
  if (res.status !== 401 && res.status !== 403) throw new Error(`unexpected ${res.status}`)
  return res.status === 401
}

t.test('create a client (secret shown once), rotate with overlap, retire, remove', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  t.equal((await call(b, tok, 'POST', '/tenants', captureDoc('cap'))).status, 201)
  t.equal((await call(b, tok, 'POST', '/tenants', captureDoc('bystander'))).status, 201)

  const created = await call(b, tok, 'POST', '/tenants/cap/clients', { name: 'mobile', features: ['login_client'], redirectUris: ['https://cap.app/cb'] })
  t.equal(created.status, 201)
  t.match(created.body, { client: { id: /^[a-z0-9]{32}$/, name: 'mobile', secret: /^vst-secret:[0-9a-f]{12}$/ }, secret: /^[A-Za-z0-9_-]{43}$/, version: 2 })
  const { id } = created.body.client
  const first = created.body.secret as string
  t.ok(await clientAccepted(b, 'cap', id, first), 'the new secret authenticates at once')
  t.notOk(JSON.stringify((await call(b, tok, 'GET', '/tenants/cap')).body).includes(first), 'and is never shown again')
  t.equal((await call(b, tok, 'POST', '/tenants/cap/clients', { id, name: 'dup' })).status, 409)
  t.equal((await call(b, tok, 'POST', '/tenants/cap/clients', { name: 'x', secret: 'mine' })).status, 400, 'secrets are generated, not given')
  const pub = await call(b, tok, 'POST', '/tenants/cap/clients', { id: 'public-app', confidential: false })
  t.same([pub.status, pub.body.secret, pub.body.client], [201, undefined, { id: 'public-app' }], 'a public client has no secret')

  const rotated = await call(b, tok, 'POST', `/tenants/cap/clients/${id}/rotate-secret`)
  t.equal(rotated.status, 200)
  const second = rotated.body.secret as string
  t.not(second, first)
  t.equal(rotated.body.previous.length, 1)
  t.equal((await call(b, tok, 'GET', '/tenants/cap')).body.config.clients[1].previousSecrets[0], `vst-secret:${rotated.body.previous[0]}`, 'the old secret is listed by its fingerprint')
  t.ok(await clientAccepted(b, 'cap', id, second), 'the new secret works')
  t.ok(await clientAccepted(b, 'cap', id, first), 'and the old one still does, until retired')
  t.notOk(await clientAccepted(b, 'cap', id, 'not-a-secret'))

  t.equal((await call(b, tok, 'DELETE', `/tenants/cap/clients/${id}/previous-secrets`)).status, 200)
  t.notOk(await clientAccepted(b, 'cap', id, first), 'retired: the old secret is refused')
  t.ok(await clientAccepted(b, 'cap', id, second))

  t.equal((await call(b, tok, 'DELETE', `/tenants/cap/clients/${id}`)).status, 200)
  t.notOk(await clientAccepted(b, 'cap', id, second), 'a removed client is refused')
  t.equal((await call(b, tok, 'DELETE', `/tenants/cap/clients/${id}`)).status, 404)
  t.equal((await call(b, tok, 'POST', '/tenants/cap/clients/nope/rotate-secret')).status, 404)

  const versions = (await call(b, tok, 'GET', '/tenants/cap/versions')).body.items.map((v: any) => v.version)
  t.same(versions, [6, 5, 4, 3, 2, 1], 'every change is a version')
  t.equal((await call(b, tok, 'GET', '/tenants/bystander')).body.version, 1, 'the other tenant is untouched')
})

t.test('a rotation made on one node holds on every node', async (t) => {
  const a = await build(t, { redisUrl: TEST_REDIS_URL, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const b = await build(t, { redisUrl: TEST_REDIS_URL, nodeOf: a, adminApi: { keyring: keyring(), pollSeconds: 0 } })
  const tok = await token(a, ALL)
  await call(a, tok, 'POST', '/tenants', captureDoc('cap2'))
  const created = await call(a, tok, 'POST', '/tenants/cap2/clients', { name: 'web' })
  const rotated = await call(a, tok, 'POST', `/tenants/cap2/clients/${created.body.client.id}/rotate-secret`)
  let ok = false
  for (let i = 0; i < 50 && !ok; i++) { ok = await clientAccepted(b, 'cap2', created.body.client.id, rotated.body.secret); if (!ok) await new Promise((r) => setTimeout(r, 20)) }
  t.ok(ok, 'node B accepts the new secret')
  t.ok(await clientAccepted(b, 'cap2', created.body.client.id, created.body.secret), 'and the old one during the overlap')
})

t.test('API keys: add one (shown once), revoke one by its fingerprint', async (t) => {
  const b = await build(t, { adminApi: { keyring: keyring() } })
  const tok = await token(b, ALL)
  t.equal((await call(b, tok, 'POST', '/tenants', syncanoDoc('syn', 'original-key-0001'))).status, 201)
  t.equal((await call(b, tok, 'POST', '/tenants', syncanoDoc('syn-other', 'other-key-0001'))).status, 201)
  t.ok(await keyAccepted(b, 'syn', 'original-key-0001'))

  const added = await call(b, tok, 'POST', '/tenants/syn/instances/prod/keys', {})
  t.match(added.body, { key: /^[0-9a-f]{40}$/, fingerprint: /^[0-9a-f]{12}$/, version: 2 })
  t.ok(await keyAccepted(b, 'syn', added.body.key), 'the new key works')
  t.ok(await keyAccepted(b, 'syn', 'original-key-0001'), 'next to the old one')
  const given = await call(b, tok, 'POST', '/tenants/syn/instances/prod/keys', { key: 'chosen-key-0002' })
  t.equal(given.body.key, 'chosen-key-0002')
  t.equal((await call(b, tok, 'POST', '/tenants/syn/instances/prod/keys', { key: 'chosen-key-0002' })).status, 409)
  t.equal((await call(b, tok, 'POST', '/tenants/syn/instances/dev/keys', {})).status, 404)
  t.equal((await call(b, tok, 'POST', '/tenants/syn/instances/prod/keys', { key: 'short' })).status, 400)

  const keys: string[] = (await call(b, tok, 'GET', '/tenants/syn')).body.config.instances[0].apiKeys
  t.equal(keys.length, 3)
  const originalFp = keys[0].slice('vst-secret:'.length)
  t.equal((await call(b, tok, 'DELETE', `/tenants/syn/instances/prod/keys/${originalFp}`)).status, 200)
  t.notOk(await keyAccepted(b, 'syn', 'original-key-0001'), 'a revoked key is refused')
  t.ok(await keyAccepted(b, 'syn', added.body.key))
  t.equal((await call(b, tok, 'DELETE', `/tenants/syn/instances/prod/keys/${originalFp}`)).status, 404)
  for (const fp of [added.body.fingerprint]) t.equal((await call(b, tok, 'DELETE', `/tenants/syn/instances/prod/keys/${fp}`)).status, 200)
  const last = (await call(b, tok, 'GET', '/tenants/syn')).body.config.instances[0].apiKeys[0].slice('vst-secret:'.length)
  const refused = await call(b, tok, 'DELETE', `/tenants/syn/instances/prod/keys/${last}`)
  t.equal(refused.status, 400, 'the last key of an instance cannot go: the schema needs one')
  t.match(refused.body.errors, [/^\/instances\/0\/apiKeys: /])
  t.ok(await keyAccepted(b, 'syn-other', 'other-key-0001'), 'the other tenant keeps its key')
  t.equal((await call(b, tok, 'GET', '/tenants/syn-other')).body.version, 1)
})
