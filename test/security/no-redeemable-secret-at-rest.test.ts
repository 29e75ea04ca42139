// Read access to the database (a replica, a backup) redeems nothing: after a full set of flows — magic
// links sent and pending, a login session, oauth-confirm states (PKCE verifier, OIDC nonce) and an unused
// confirmation, Capture OAuth1 step 1 and a Social Login token, rest-social-auth OAuth1 step 1 — a dump of
// every table of the test schema contains none of the values that would redeem them.
import t from 'tap'
import { sql } from 'kysely'
import { open, processKeyring } from '../../db/sealing.ts'
import { openTokenRow } from '../../plugins/identity/tokens.ts'
import { build, postJson } from '../helpers/build.ts'
import { startSmtpPeer } from '../peers/smtp-peer.ts'
import { client, confirmTenant, CONFIRM, CONFIRM_URL, ERROR_URL, publicUrl, roundTrip, startPeers } from '../oauth-confirm/helpers.ts'

const LINK = 'https://app.acme.test/link/{token}'
const TOKEN_URL = 'https://app.acme.test/token'
const CAPTURE_CLIENT = 'cap-client-0123456789abcdef01'

t.test('a dump of every table holds no redeemable secret', async (t) => {
  const peers = await startPeers(['acme'])
  const smtp = await startSmtpPeer()
  t.teardown(async () => { await peers.close(); await smtp.close() })
  const tenant = confirmTenant('acme', peers, undefined, {
    clients: [{ id: CAPTURE_CLIENT, features: ['login_client'], apiKey: 'cap-api-key-0123456789' }, { id: 'web-client-0123456789' }],
    rateLimits: { link: { max: 1000, timeWindow: '1 minute' } },
    dialects: {
      'oauth-confirm': { confirmUrl: CONFIRM_URL, errorUrl: ERROR_URL },
      'by-link': { linkUrl: LINK },
      capture: { tokenUrls: [TOKEN_URL] },
      'rest-social-auth': { oauth1CallbackUrls: ['https://app.acme.test/oauth1'] }
    }
  })
  const built = await build(t, { tenants: [tenant], smtpUrl: smtp.url })
  const c = client(built)
  const at = (path: string) => `${publicUrl('acme')}${path}`
  const secrets: Array<[string, string]> = []
  const keep = (what: string, value: unknown) => { if (typeof value === 'string' && value.length >= 8) secrets.push([what, value]) }

  // by-link: two links mailed; one used (a session token comes back), one still pending and redeemable.
  for (const email of ['ann@example.test', 'bob@example.test']) {
    const r = await c.call(at('/v1/auth/by-link/link/'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) })
    t.equal(r.status, 200)
  }
  const linkOf = async (email: string) => /https:\/\/app\.acme\.test\/link\/([A-Za-z0-9_-]+)/.exec((await smtp.waitForMail(email, { timeoutMs: 10_000 })).text)![1]
  const annLink = await linkOf('ann@example.test')
  const bobLink = await linkOf('bob@example.test')
  keep('pending magic-link token', annLink)
  const login = await c.call(at('/v1/auth/by-link/login/'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: bobLink, client_key: 'web-client-0123456789' }) })
  t.equal(login.status, 200)
  keep('session token', login.json().token)
  // A third link whose mail may still be in the outbox when the dump is taken.
  await c.call(at('/v1/auth/by-link/link/'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'cy@example.test' }) })

  // oauth-confirm: states with a PKCE verifier (and a nonce for OIDC), and a confirmation left unused.
  keep('oauth-confirm google state', (await c.init('google', 'en')).state)
  keep('oauth-confirm github state', (await c.init('github', 'en')).state)
  const { location } = await roundTrip(c, peers, 'github', 'alice', 'en')
  keep('oauth-confirm confirmation', CONFIRM.exec(location)?.[1])
  // A login: its JWT is not stored (its session is named by a hash), and the tenant's signing key is sealed.
  const second = await roundTrip(c, peers, 'github', 'alice', 'en')
  const jwtLogin = await c.login(CONFIRM.exec(second.location)![1])
  t.equal(jwtLogin.status, 200)
  keep('oauth-confirm JWT', jwtLogin.json().token)
  keep('oauth-confirm JWT signature', String(jwtLogin.json().token).split('.')[2])

  // Capture Social Login through the OAuth1 peer: one request token left pending, one round trip to a token.
  const start = await c.call(at(`/social/twitter/start?token_url=${encodeURIComponent(TOKEN_URL)}`))
  t.equal(start.status, 302)
  const start2 = await c.call(at(`/social/twitter/start?token_url=${encodeURIComponent(TOKEN_URL)}`))
  const rt = new URL(String(start2.headers.location)).searchParams.get('oauth_token')!
  const approved = await peers.twitter.authorize(rt, 'alice')
  // The browser that started the flow brings its binding cookie back (login CSRF protection).
  const binding = ([] as string[]).concat(start2.headers['set-cookie'] ?? []).map((v) => v.split(';')[0]).join('; ')
  const back = await c.call(at(`/social/twitter/callback${new URL(approved.redirect).search}`), { headers: { cookie: binding } })
  t.equal(back.status, 302)
  keep('Capture Social Login token', new URL(String(back.headers.location)).searchParams.get('token'))

  // rest-social-auth OAuth1 step 1: the request-token secret goes to the client, never to the database.
  const step1 = await c.call(at('/social-auth'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'twitter', redirect_uri: 'https://app.acme.test/oauth1' }) })
  t.equal(step1.status, 200)
  keep('rest-social-auth request-token secret', step1.json().oauth_token_secret)

  // What one-time token data holds that redeems (read the way the app reads it).
  const db = built.app.db.db
  const counts: Record<string, number> = {}
  for (const row of await db.selectFrom('one_time_tokens').selectAll().execute()) {
    const data = openTokenRow(row).data as Record<string, unknown>
    for (const k of ['codeVerifier', 'nonce', 'oauth1Secret']) {
      if (typeof data[k] === 'string') { keep(`${row.purpose} ${k}`, data[k]); counts[k] = (counts[k] ?? 0) + 1 }
    }
  }
  t.ok(counts.codeVerifier >= 2 && counts.nonce >= 1 && counts.oauth1Secret >= 1, `flows left verifiers, a nonce and a request-token secret: ${JSON.stringify(counts)}`)
  const signingKey = await db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', 'acme').executeTakeFirstOrThrow()
  const privateJwk = JSON.parse(open(processKeyring(), signingKey.private_sealed, `signing-key:acme:${signingKey.kid}`))
  t.equal(typeof privateJwk.d, 'string', 'the sealed key opens with the app\'s key ring')
  keep('JWT signing key (private part)', privateJwk.d)
  t.ok(secrets.length >= 12, `${secrets.length} secrets to look for`)

  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = ${built.schema} and table_type = 'BASE TABLE'`.execute(db)
  t.ok(tables.rows.length >= 6)
  let dump = ''
  for (const { table_name: name } of tables.rows) {
    const r = await sql<{ j: string }>`select row_to_json(x)::text as j from ${sql.table(`${built.schema}.${name}`)} x`.execute(db)
    dump += r.rows.map((x) => x.j).join('\n') + '\n'
  }
  t.ok(dump.includes('ann@example.test'), 'the dump is of the right schema')
  for (const [what, value] of secrets) t.notOk(dump.includes(value), `no ${what} in clear`)
  t.notOk(/app\.acme\.test\/link\//.test(dump), 'no magic link in any mail body')
})
