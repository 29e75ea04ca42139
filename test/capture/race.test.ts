// Concurrent first logins of one identity through /oauth/auth_native (thin registration): one account, one is_new.
import t from 'tap'
import { fixture, nativeArgs } from './fixtures/capture.ts'

t.test('10 parallel first logins of one identity make one user and exactly one is_new', async (t) => {
  const f = await fixture(t)
  // Each login brings its own Social Login token for the same provider profile.
  const tokens: string[] = []
  for (let i = 0; i < 10; i++) tokens.push(await f.socialToken('github', 'dave'))
  const results = await Promise.all(tokens.map((token) => f.form('/t/cap/oauth/auth_native', nativeArgs({ token, thin_registration: 'true' }))))
  for (const r of results) t.equal(r.body.stat, 'ok', `stat ok: ${JSON.stringify(r.body).slice(0, 200)}`)
  t.equal(results.filter((r) => r.body.is_new === true).length, 1, 'exactly one is_new: true')
  t.equal(results.filter((r) => r.body.is_new === false).length, 9, 'all others is_new: false')
  const ids = new Set(results.map((r) => r.body.capture_user?.id))
  t.equal(ids.size, 1, 'one user row for that identity')
  t.equal(results[0].body.capture_user?.profiles?.length, 1, 'with the identity once')
})

// The race the advisory lock cannot cover: two different identities (GitHub, verified; Facebook, unverified)
// carrying one address, first-logging-in at once. Both try to create an account with that email; the loser of
// the unique index must decide again (link, or 380 email_address_in_use), never answer a 5xx.
t.test('parallel first logins of two identities with one email: one account, each answer a Capture answer', async (t) => {
  const f = await fixture(t)
  for (let round = 0; round < 4; round++) {
    const person = (['erin', 'frank', 'gina', 'hank'] as const)[round]
    const tokens = [await f.socialToken('github', person), await f.socialToken('facebook', person)]
    const results = await Promise.all(tokens.map((token) => f.form('/t/cap/oauth/auth_native', nativeArgs({ token, thin_registration: 'true' }))))
    for (const r of results) {
      t.equal(r.status, 200, `${person}: Capture answers 200 (${JSON.stringify(r.body).slice(0, 160)})`)
      t.ok(r.body.stat === 'ok' || (r.body.stat === 'error' && r.body.code === 380), `${person}: ok or email_address_in_use`)
    }
    t.ok(results.some((r) => r.body.stat === 'ok'), `${person}: one of them signed in`)
    const users = await f.app.db.db.selectFrom('users').select('id').where('tenant_id', '=', 'cap').where('email', '=', `${person}@example.test`).execute()
    t.equal(users.length, 1, `${person}: one account for the address`)
  }
})
