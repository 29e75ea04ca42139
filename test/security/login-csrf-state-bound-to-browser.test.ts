// Login CSRF: an attacker starts a social login, signs in at the provider as himself and sends his unused callback
// URL to a victim. Capture's hosted Social Login (always) and oauth-confirm (with bindStateToBrowser) bind the state
// to the browser that started the flow with a cookie, so the victim's browser (no cookie, or its own other one)
// is not signed into the attacker's account; the browser that started the flow still completes it.
import t from 'tap'
import { build, cookiesFrom, rawRequest } from '../helpers/build.ts'
import { startSocialPeer } from '../peers/social-peer.ts'
import { captureTenant, PEER_CLIENT, TOKEN_URL } from '../capture/fixtures/capture.ts'
import { callbackUrl, CONFIRM, confirmTenant, ERROR_URL, jsonInit, publicUrl, startPeers } from '../oauth-confirm/helpers.ts'

const COOKIE = /^vst-flow-[0-9a-f]{20}=[A-Za-z0-9_-]{43}$/

t.test('capture Social Login: the callback completes only in the browser that opened start', async (t) => {
  const peer = await startSocialPeer({ clients: [PEER_CLIENT] })
  t.teardown(() => peer.close())
  const built = await build(t, { tenants: [captureTenant('csrf', peer), captureTenant('https-csrf', peer, { publicUrl: 'https://id.example.test' })] })
  PEER_CLIENT.redirectUris.push(`${built.url}/t/csrf/social/github/callback`)
  const db = built.app.db.db
  const socialTokens = async () => Number((await db.selectFrom('one_time_tokens').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', 'csrf').where('purpose', '=', 'social-login').executeTakeFirstOrThrow()).n)
  const start = () => built.api(`/t/csrf/social/github/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  const callback = (redirect: string, cookie?: string) => {
    const u = new URL(redirect)
    return built.api(u.pathname + u.search, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } })
  }

  // The attacker's browser: start sets the binding cookie, the attacker signs in at the provider as himself.
  const attackerStart = await start()
  t.equal(attackerStart.status, 302)
  const [setCookie] = attackerStart.headers.getSetCookie()
  t.match(setCookie, /^vst-flow-[0-9a-f]{20}=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/t\/csrf\/social\/github\/callback; HttpOnly; SameSite=Lax$/, 'HttpOnly, SameSite=Lax, scoped to the callback, as long-lived as the state; not Secure on http')
  t.match(cookiesFrom(attackerStart), COOKIE)
  const attacker = await peer.authorize(attackerStart.headers.get('location')!, 'alice')
  const before = await socialTokens()

  const noCookie = await callback(attacker.redirect)
  t.equal(noCookie.status, 400, 'the victim\'s browser without the cookie is refused')
  t.same(await noCookie.json(), { stat: 'fail', err: { code: 1, msg: 'Invalid parameter: state' } })
  t.equal(noCookie.headers.get('location'), null, 'never sent to token_url')
  t.equal(await socialTokens(), before, 'no Social Login token minted')

  // A victim who started a flow of her own carries her own binding: still not the attacker's.
  const attacker2 = await peer.authorize((await start()).headers.get('location')!, 'alice')
  const victimStart = await start()
  const otherCookie = await callback(attacker2.redirect, cookiesFrom(victimStart))
  t.equal(otherCookie.status, 400, 'another flow\'s cookie does not bind this state')
  // A cookie of the right name with a value of the attacker's choosing does not either.
  const attacker3Start = await start()
  const attacker3 = await peer.authorize(attacker3Start.headers.get('location')!, 'alice')
  const forged = cookiesFrom(attacker3Start).replace(/=.*/, '=' + 'A'.repeat(43))
  t.equal((await callback(attacker3.redirect, forged)).status, 400, 'a forged value is refused')
  t.equal(await socialTokens(), before, 'still no token')

  // The browser that started the flow completes it, and the binding cookie is removed.
  const own = await start()
  const mine = await peer.authorize(own.headers.get('location')!, 'alice')
  const ok = await callback(mine.redirect, cookiesFrom(own))
  t.equal(ok.status, 302)
  t.match(new URL(ok.headers.get('location')!).searchParams.get('token'), /^[a-z0-9]{40}$/)
  t.match(ok.headers.getSetCookie()[0], /^vst-flow-[0-9a-f]{20}=; Max-Age=0; Path=\/t\/csrf\/social\/github\/callback; HttpOnly; SameSite=Lax$/)

  // On an https public URL the cookie is Secure and __Secure- prefixed (no plain-http page of the host can plant one).
  const secure = await built.api(`/t/https-csrf/social/github/start?token_url=${encodeURIComponent(TOKEN_URL)}`, { redirect: 'manual' })
  t.match(secure.headers.getSetCookie()[0], /^__Secure-vst-flow-[0-9a-f]{20}=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/social\/github\/callback; HttpOnly; SameSite=Lax; Secure$/)
})

t.test('oauth-confirm with bindStateToBrowser: an attacker\'s callback URL does not sign the victim in', async (t) => {
  const peers = await startPeers(['bound', 'open'])
  t.teardown(() => peers.close())
  const built = await build(t, {
    tenants: [
      confirmTenant('bound', peers, { confirmUrl: 'https://app.acme.test/login/callback/{confirmation}', errorUrl: ERROR_URL, bindStateToBrowser: true }),
      confirmTenant('open', peers)
    ]
  })
  const call = (tenantUrl: string, init: { method?: string, headers?: Record<string, string>, body?: string } = {}) => {
    const u = new URL(tenantUrl)
    return rawRequest(built.url + u.pathname + u.search, { ...init, headers: { host: u.host, ...init.headers } })
  }
  const init = async (tenant: string) => {
    const r = await call(`${publicUrl(tenant)}/oauth/init`, jsonInit({ provider: 'github', language: 'en' }))
    t.equal(r.status, 200)
    const setCookie = ([] as string[]).concat(r.headers['set-cookie'] ?? [])
    return { body: r.json() as { state: string, url: string }, setCookie, cookie: setCookie.map((c) => c.split(';')[0]).join('; ') }
  }
  const confirmations = () => built.app.db.db.selectFrom('one_time_tokens').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', 'bound').where('purpose', '=', 'oauth-confirm:confirmation').executeTakeFirstOrThrow().then((r) => Number(r.n))

  const attacker = await init('bound')
  t.match(attacker.setCookie[0], /^vst-flow-[0-9a-f]{20}=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/oauth\/callback\/from\/github; HttpOnly; SameSite=Lax$/)
  t.same(Object.keys(attacker.body).sort(), ['state', 'url'], 'the body is unchanged')
  const { redirect } = await peers.social.authorize(attacker.body.url, 'alice')
  t.ok(redirect.startsWith(callbackUrl('bound', 'github') + '?'))

  const victim = await call(redirect)
  t.equal(victim.status, 302)
  t.equal(victim.headers.location, `${ERROR_URL}?error=invalid_state`, 'the victim\'s browser without the cookie gets invalid_state')
  t.equal(await confirmations(), 0, 'no confirmation minted')

  const attacker2 = await init('bound')
  const second = await peers.social.authorize(attacker2.body.url, 'alice')
  const victimOwn = await init('bound')
  const withOther = await call(second.redirect, { headers: { cookie: victimOwn.cookie } })
  t.equal(withOther.headers.location, `${ERROR_URL}?error=invalid_state`, 'another flow\'s cookie does not bind this state')
  t.equal(await confirmations(), 0)

  const own = await init('bound')
  const mine = await peers.social.authorize(own.body.url, 'alice')
  const ok = await call(mine.redirect, { headers: { cookie: own.cookie } })
  t.match(String(ok.headers.location), CONFIRM, 'the browser that called init completes the flow')
  t.match(([] as string[]).concat(ok.headers['set-cookie'] ?? [])[0], /; Max-Age=0; Path=\/oauth\/callback\/from\/github; /, 'and its binding is removed')

  // Without the option (the default, for frontends on another site) init sets no cookie: the documented trade-off.
  const open = await init('open')
  t.same(open.setCookie, [])
  const openTrip = await peers.social.authorize(open.body.url, 'bob')
  t.match(String((await call(openTrip.redirect)).headers.location), /^https:\/\/app\.acme\.test\/login\/callback\//, 'an unbound tenant still completes from any browser')
})
