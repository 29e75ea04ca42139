// Users of a tenant through /admin/v1: found (cursor pages; email, provider + subject, created range), read with
// identities and live sessions, blocked (every session revoked, every dialect refuses the sign-in in its own
// error), unblocked, sessions revoked, exported, and erased so that no row names the address.
import pg from 'pg'
import t from 'tap'
import { createMailOutbox } from '../../plugins/mail/index.ts'
import { isSealed } from '../../db/sealing.ts'
import { openTokenRow } from '../../plugins/identity/tokens.ts'
import { openOutboxRow } from '../../workers/mail-bodies.ts'
import { build, postJson, TEST_DATABASE_URL, TEST_REDIS_URL, type Built } from '../helpers/build.ts'
import { Redis } from 'ioredis'
import { callbackUrl, client, confirmTenant, CONFIRM, ERROR_URL, roundTrip, startPeers, type Peers } from '../oauth-confirm/helpers.ts'
import { fixture, nativeArgs } from '../capture/fixtures/capture.ts'
import { ALL, call, keyring, token } from './helpers.ts'

const API_KEY = 'prod-key-0123456789abcdef'
const LINK_CLIENT = 'link-client-key'

function tenant (p: Peers): Record<string, unknown> {
  return confirmTenant('acme', p, undefined, {
    clients: [{ id: LINK_CLIENT }],
    instances: [{ name: 'prod', apiKeys: [API_KEY] }],
    dialects: {
      'oauth-confirm': { confirmUrl: 'https://app.acme.test/login/callback/{confirmation}', errorUrl: ERROR_URL },
      'rest-social-auth': { oauth1CallbackUrls: ['https://app.acme.test/oauth1'] },
      'by-link': { linkUrl: 'https://app.acme.test/link/{token}', debugLinks: true },
      syncano: {}
    }
  })
}

/** The acme tenant with four dialects, the peers, an admin token and a helper per dialect. */
async function setup (t: { teardown (fn: () => unknown): void }, opts: { redis?: boolean } = {}) {
  const peers = await startPeers(['acme'])
  t.teardown(() => peers.close())
  const b = await build(t, { tenants: [tenant(peers)], adminApi: { keyring: keyring() }, ...(opts.redis ? { redisUrl: TEST_REDIS_URL } : {}) })
  const c = client(b)
  const tok = await token(b, ALL)
  const at = (p: string, init?: RequestInit) => b.api(`/t/acme${p}`, init)
  const dialects = {
    async restSocialAuth (user: string) {
      const redirect = callbackUrl('acme', 'github')
      const code = peers.social.codeFor('github', { userKey: user, clientId: 'social-client', redirectUri: redirect })
      const res = await at('/social-auth', postJson({ provider: 'github', code, redirect_uri: redirect }))
      return { status: res.status, body: await res.json() as any }
    },
    async syncano (user: string) {
      const res = await at('/v1.1/instances/prod/user/auth/github/', postJson({ access_token: peers.social.accessTokenFor('github', user, 'social-client') }, { 'x-api-key': API_KEY }))
      return { status: res.status, body: await res.json() as any }
    },
    async magicLink (email: string) {
      const link = await (await at('/v1/auth/by-link/link/', postJson({ email }))).json() as any
      const linkToken = String(link._debug_auth_link).split('/').pop()!
      const res = await at('/v1/auth/by-link/login/', postJson({ token: linkToken, client_key: LINK_CLIENT }))
      return { status: res.status, body: await res.json() as any }
    },
    async oauthConfirm (user: string) {
      const { location } = await roundTrip(c, peers, 'github', user, 'en')
      return location
    },
    login: (confirmation: string) => c.login(confirmation)
  }
  return { b, peers, tok, at, dialects }
}

t.test('find, read, block (every dialect refuses, in its own words), unblock', async (t) => {
  const { b, tok, at, dialects: d } = await setup(t)
  const rsa = await d.restSocialAuth('alice')
  t.equal(rsa.status, 200)
  const syn = await d.syncano('alice')
  t.equal(syn.status, 200)
  const ml = await d.magicLink('alice@example.test')
  t.equal(ml.status, 200)
  const confirmed = CONFIRM.exec(await d.oauthConfirm('alice'))![1]
  t.equal((await d.login(confirmed)).status, 200)
  const pending = CONFIRM.exec(await d.oauthConfirm('alice'))![1] // a confirmation issued before the block

  const found = await call(b, tok, 'GET', '/tenants/acme/users?provider=github&subject=1001')
  t.equal(found.body.items.length, 1)
  const alice = found.body.items[0]
  t.match(alice, { email: 'alice@example.test', emailVerified: true, blocked: false, blockedAt: null, hasPassword: false })
  t.same((await call(b, tok, 'GET', '/tenants/acme/users?email=ALICE@example.test')).body.items.map((u: any) => u.id), [alice.id], 'email is matched in any case')
  t.same((await call(b, tok, 'GET', '/tenants/acme/users?provider=facebook')).body.items, [])
  const detail = await call(b, tok, 'GET', `/tenants/acme/users/${alice.uuid}`)
  t.equal(detail.status, 200, 'by uuid too')
  t.match(detail.body.identities, [{ provider: 'github', providerName: 'github', subject: '1001', email: 'alice@example.test' }])
  t.equal(detail.body.sessions.length, 4, 'one live session per sign-in: rest-social-auth, syncano, by-link, oauth-confirm')
  t.notMatch(JSON.stringify(detail.body), /token_hash|password_hash/)

  const blocked = await call(b, tok, 'POST', `/tenants/acme/users/${alice.id}/block`)
  t.equal(blocked.status, 200)
  t.equal(blocked.body.revokedSessions, 4)
  t.equal(blocked.body.user.blocked, true)
  t.same((await call(b, tok, 'GET', `/tenants/acme/users/${alice.id}`)).body.sessions, [], 'no live session')

  const me = await at('/user', { headers: { authorization: `Token ${rsa.body.token}` } })
  t.equal(me.status, 401, 'a token issued before the block is dead')
  t.same(await d.restSocialAuth('alice'), { status: 403, body: { detail: 'User inactive or deleted.' } }, 'rest-social-auth: DRF\'s inactive-user answer')
  t.same(await d.syncano('alice'), { status: 403, body: { detail: 'User inactive or deleted.' } }, 'syncano: the same (a DRF app)')
  t.same(await d.magicLink('alice@example.test'), { status: 403, body: { detail: 'User inactive or deleted.' } }, 'by-link: the same')
  t.equal(await d.oauthConfirm('alice'), `${ERROR_URL}?error=account_disabled`, 'oauth-confirm callback: errorUrl with account_disabled')
  const late = await d.login(pending)
  t.equal(late.status, 403, 'oauth-confirm login with a confirmation from before the block: 403 Forbidden (Express sendStatus)')
  t.equal(late.text, 'Forbidden')
  t.same((await call(b, tok, 'GET', `/tenants/acme/users/${alice.id}`)).body.sessions, [], 'and nothing was issued')
  t.same((await call(b, tok, 'GET', '/tenants/acme/users?blocked=true')).body.items.map((u: any) => u.id), [alice.id])

  const unblocked = await call(b, tok, 'POST', `/tenants/acme/users/${alice.id}/unblock`)
  t.equal(unblocked.body.user.blocked, false)
  t.equal((await d.restSocialAuth('alice')).status, 200, 'signs in again')
  t.equal((await d.magicLink('alice@example.test')).status, 200)

  const sessions = (await call(b, tok, 'GET', `/tenants/acme/users/${alice.id}`)).body.sessions
  t.equal(sessions.length, 2)
  t.same((await call(b, tok, 'DELETE', `/tenants/acme/users/${alice.id}/sessions/${sessions[0].id}`)).body, { revokedSessions: 1 })
  t.equal((await call(b, tok, 'DELETE', `/tenants/acme/users/${alice.id}/sessions/${sessions[0].id}`)).status, 404)
  t.same((await call(b, tok, 'DELETE', `/tenants/acme/users/${alice.id}/sessions`)).body, { revokedSessions: 1 })

  const events = await call(b, tok, 'GET', `/tenants/acme/events?userId=${alice.id}`)
  t.match(events.body.items.map((e: any) => e.type).slice(0, 5), ['sessions-revoked', 'session-revoked', 'login', 'login', 'user-unblocked'])
  t.equal((await call(b, await token(b, ['users:read']), 'GET', '/tenants/acme/events')).status, 403, 'events need events:read')
  t.equal((await call(b, await token(b, ['users:read']), 'POST', `/tenants/acme/users/${alice.id}/block`)).status, 403, 'blocking needs users:write')
  t.equal((await call(b, tok, 'GET', '/tenants/nope/users')).status, 404)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/users/999999')).status, 404)
})

t.test('capture refuses a blocked account after the password proves it, not before', async (t) => {
  const f = await fixture(t)
  const tok = await token(f, ALL)
  const gina = { form: 'registrationForm', emailAddress: 'gina@example.test', newPassword: 'correct horse battery', newPasswordConfirm: 'correct horse battery' }
  t.equal((await f.form('/t/cap/oauth/register_native_traditional', nativeArgs(gina))).body.stat, 'ok')
  const [user] = (await call(f, tok, 'GET', '/tenants/cap/users?email=gina@example.test')).body.items
  t.equal((await call(f, tok, 'POST', `/tenants/cap/users/${user.id}/block`)).status, 200)
  const signIn = (password: string) => f.form('/t/cap/oauth/auth_native_traditional', nativeArgs({ signInEmailAddress: 'gina@example.test', currentPassword: password }))
  const wrong = await signIn('wrong password!')
  t.equal(wrong.body.code, 210, 'a wrong password says only that: the block is not revealed')
  const right = await signIn('correct horse battery')
  t.same(right.body, { stat: 'error', code: 403, error: 'permission_error', error_description: 'This account is disabled.', request_id: right.body.request_id })
  const fr = await f.form('/t/cap/oauth/auth_native_traditional', nativeArgs({ locale: 'fr-FR', signInEmailAddress: 'gina@example.test', currentPassword: 'correct horse battery' }))
  t.equal(fr.body.error_description, 'Ce compte est désactivé.')
  await call(f, tok, 'POST', `/tenants/cap/users/${user.id}/unblock`)
  t.equal((await signIn('correct horse battery')).body.stat, 'ok')
})

t.test('pages: a cursor walks every user once; created ranges filter', async (t) => {
  const { b, tok, dialects: d } = await setup(t)
  for (const n of [1, 2, 3, 4, 5]) t.equal((await d.magicLink(`user${n}@example.test`)).status, 200)
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page: any = await call(b, tok, 'GET', `/tenants/acme/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.ok(page.body.items.length <= 2)
    seen.push(...page.body.items.map((u: any) => u.email))
    cursor = page.body.nextCursor
  } while (cursor)
  t.same(seen, [1, 2, 3, 4, 5].map((n) => `user${n}@example.test`))
  const all = (await call(b, tok, 'GET', '/tenants/acme/users')).body.items
  const third = all[2].createdAt
  t.same((await call(b, tok, 'GET', `/tenants/acme/users?createdAfter=${encodeURIComponent(third)}`)).body.items.map((u: any) => u.email), ['user3@example.test', 'user4@example.test', 'user5@example.test'])
  t.same((await call(b, tok, 'GET', `/tenants/acme/users?createdBefore=${encodeURIComponent(third)}`)).body.items.length, 2)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/users?createdAfter=yesterday')).status, 400)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/users?cursor=!!')).status, 400)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/users?subject=1001')).status, 400, 'a subject needs its provider')
})

/**
 * Every row of every table of the app's schema naming `needle` (any case), read with the sealed columns
 * opened (one-time token data, mail bodies): a value still sealed after that fails the test, so a column
 * sealed later cannot hide an address from this search.
 */
async function rowsNaming (t: { ok (v: unknown, m: string): unknown, fail (m: string): unknown }, b: Built, needle: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await c.connect()
  try {
    const tables = (await c.query(`select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'`, [b.schema])).rows.map((r) => r.table_name as string)
    t.ok(tables.includes('one_time_tokens') && tables.includes('email_outbox'), 'the search reads the app\'s tables')
    const readable: Record<string, (row: any) => any> = { one_time_tokens: openTokenRow, email_outbox: openOutboxRow }
    const found: string[] = []
    for (const tbl of tables) {
      const rows = (await c.query(`select * from "${b.schema}"."${tbl}"`)).rows
      const named = rows.filter((row) => {
        const text = JSON.stringify((readable[tbl] ?? ((r: any) => r))(row))
        if (isSealed(text.match(/vst1\.[A-Za-z0-9_.-]+/)?.[0])) t.fail(`${tbl}: a sealed value the search could not open`)
        return text.toLowerCase().includes(needle.toLowerCase())
      })
      if (named.length) found.push(`${tbl}: ${named.length}`)
    }
    return found
  } finally { await c.end() }
}

t.test('export holds everything stored about a user; erase leaves no row naming the address', async (t) => {
  const { b, tok, at, dialects: d } = await setup(t, { redis: true })
  const ADDRESS = 'Mia.Erased@example.test'
  const first = await d.magicLink(ADDRESS)
  t.equal(first.status, 200)
  t.equal((await at('/v1/auth/by-link/link/', postJson({ email: ADDRESS }))).status, 200, 'a pending link: a live token and a mail naming the address')
  t.equal((await d.magicLink('bystander@example.test')).status, 200)
  t.equal((await d.restSocialAuth('alice')).status, 200)
  // A mail to someone else that names the address only in its (sealed) body.
  await createMailOutbox({ log: { warn: () => {} } }).write(b.app.db.db, { tenantId: 'acme', to: 'support@acme.test', from: 'app@acme.test', subject: 'A question', text: `Reply to ${ADDRESS.toLowerCase()}`, html: `<p>Reply to ${ADDRESS}</p>` })
  const mia = (await call(b, tok, 'GET', `/tenants/acme/users?email=${encodeURIComponent(ADDRESS)}`)).body.items[0]
  await call(b, tok, 'POST', `/tenants/acme/users/${mia.id}/block`)
  await call(b, tok, 'POST', `/tenants/acme/users/${mia.id}/unblock`)
  t.ok((await rowsNaming(t, b, ADDRESS)).length >= 3, 'before: users, one-time tokens and mail name the address')
  const redis = new Redis(TEST_REDIS_URL)
  t.teardown(() => redis.quit())
  const counters = async () => (await redis.keys(`${b.redisPrefix}:rl:*acme|*`)).filter((k) => k.toLowerCase().includes(ADDRESS.toLowerCase()))
  t.ok((await counters()).length > 0, 'and a rate-limit counter is keyed by it')

  const exported = await b.api(`/admin/v1/tenants/acme/users/${mia.id}/export`, { headers: { authorization: `Bearer ${tok}` } })
  t.equal(exported.status, 200)
  t.match(exported.headers.get('content-disposition'), /attachment; filename="user-[0-9a-f-]{36}\.json"/)
  const x = await exported.json() as any
  t.match(x, { tenant: 'acme', user: { email: ADDRESS, uuid: mia.uuid }, identities: [], sessions: [{ kind: 'token' }] })
  t.equal(x.mail.length, 3, 'both mails to the address, and the one naming it in its body')
  t.match(x.mail[0], { to: ADDRESS, text: /\[link removed\]/ })
  t.notMatch(JSON.stringify(x), /https:\/\/app\.acme\.test\/link\//, 'no working link leaves in an export')
  t.equal(x.oneTimeTokens.length, 2)
  t.notMatch(JSON.stringify(x.oneTimeTokens), /token_hash/)
  t.match(x.auditEvents.map((e: any) => e.type), ['register', 'user-blocked', 'user-unblocked'])

  const erased = await call(b, tok, 'DELETE', `/tenants/acme/users/${mia.id}`)
  t.equal(erased.status, 200)
  t.match(erased.body, { erased: true, pseudonym: /^erased-[0-9a-f]{12}$/, deleted: { users: 1, sessions: 1, oneTimeTokens: 2, mail: 3, auditEventsPseudonymised: 3 } })
  t.same(await rowsNaming(t, b, ADDRESS), [], 'no row in any table names the address')
  t.same(await rowsNaming(t, b, mia.uuid), [], 'nor the account\'s uuid')
  t.same(await counters(), [], 'its rate-limit counters are gone too')
  const kept = (await call(b, tok, 'GET', '/tenants/acme/events?limit=100')).body.items.filter((e: any) => e.data.erasedUser === erased.body.pseudonym)
  t.same(kept.map((e: any) => [e.type, e.userId]), [['user-erased', null], ['user-unblocked', null], ['user-blocked', null], ['register', null]], 'audit events kept, under a pseudonym')
  t.equal((await call(b, tok, 'GET', `/tenants/acme/users/${mia.id}`)).status, 404)
  t.equal((await call(b, tok, 'GET', '/tenants/acme/users')).body.items.length, 2, 'the other users stay')
  t.equal((await d.magicLink('bystander@example.test')).status, 200)
  t.equal((await at('/v1/auth/by-link/login/', postJson({ token: 'whatever', client_key: LINK_CLIENT }))).status, 400)
})
