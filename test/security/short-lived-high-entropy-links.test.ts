// Checklist limits: a magic link lives 10 minutes unless the tenant says otherwise, and oauth-confirm's
// states and confirmations carry at least 128 random bits (32 lowercase hex characters, up from 24).
import t from 'tap'
import { build, postJson, tenantDoc } from '../helpers/build.ts'
import { client, confirmTenant, CONFIRM, signIn, startPeers } from '../oauth-confirm/helpers.ts'

t.test('a magic link expires 10 minutes after it is issued by default', async (t) => {
  const { api, app } = await build(t, {
    tenants: [tenantDoc('ttl', { dialects: { 'by-link': { linkUrl: 'https://app.test/l/{token}' } }, clients: [{ id: 'c' }] })]
  })
  const r = await api('/t/ttl/v1/auth/by-link/link/', postJson({ email: 'ann@example.test' }))
  t.equal(r.status, 200)
  const row = await app.db.db.selectFrom('one_time_tokens').select(['created_at', 'expires_at'])
    .where('tenant_id', '=', 'ttl').where('purpose', '=', 'magic-link').executeTakeFirstOrThrow()
  t.equal(Math.round((row.expires_at.getTime() - row.created_at.getTime()) / 1000), 600)
})

t.test('oauth-confirm states and confirmations are 128-bit lowercase hex', async (t) => {
  const peers = await startPeers(['acme'])
  t.teardown(() => peers.close())
  const c = client(await build(t, { tenants: [confirmTenant('acme', peers)] }))
  const states = new Set<string>()
  for (let i = 0; i < 5; i++) states.add((await c.init('github', 'en')).state)
  for (const s of states) t.match(s, /^[0-9a-f]{32}$/, 'state has 128 bits')
  t.equal(states.size, 5)
  const { confirmation } = await signIn(c, peers, 'github', 'alice')
  t.match(confirmation, /^[0-9a-f]{32}$/, 'confirmation has 128 bits')
  t.match(CONFIRM.source, /\{32\}/)
})
