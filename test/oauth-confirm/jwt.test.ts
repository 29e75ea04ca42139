// oauth-confirm tokens are JWTs signed with per-tenant keys: an app verifies them with the tenant's JWKS URL only;
// keys rotate (old tokens still verify) and retire (old tokens die); every token dies with its session; tenants
// never accept each other's tokens; forged, downgraded and tampered tokens are refused.
import { execFile } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose'
import t from 'tap'
import { ALL, call, keyring, token } from '../admin/helpers.ts'
import { createKeyring, open } from '../../db/sealing.ts'
import { build, TEST_DATABASE_URL, type Built, type Engine } from '../helpers/build.ts'
import { client, type Client, confirmTenant, CONFIRM_URL, ERROR_URL, publicUrl, signIn, startPeers } from './helpers.ts'

const peers = await startPeers()
t.teardown(() => peers.close())

const run = promisify(execFile)
const JWT = /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

async function setup (t: { teardown (fn: () => unknown): void }, acme: Record<string, unknown> = {}, beta: Record<string, unknown> = {}, engine: Engine = 'postgres'): Promise<{ b: Built, c: Client, admin: string }> {
  const base = { confirmUrl: CONFIRM_URL, errorUrl: ERROR_URL }
  const b = await build(t, {
    engine,
    tenants: [confirmTenant('acme', peers, { ...base, ...acme }), confirmTenant('beta', peers, { ...base, ...beta })],
    adminApi: { keyring: keyring() }
  })
  return { b, c: client(b), admin: await token(b, ALL) }
}

/** What an app does: fetch the tenant's JWKS from its URL and verify (jose's remote key set, refetching on a new kid). */
function appVerifier (b: Built, tenant: string, opts: { audience?: string } = {}) {
  const jwks = createRemoteJWKSet(new URL(`${b.url}/t/${tenant}/.well-known/jwks.json`), { cooldownDuration: 0, cacheMaxAge: 0 })
  return (jwt: string) => jwtVerify(jwt, jwks, { issuer: publicUrl(tenant), ...(opts.audience ? { audience: opts.audience } : {}) })
}

const account = (c: Client, jwt: string | null, tenant = 'acme', scheme = 'Bearer') =>
  c.call(`${publicUrl(tenant)}/account`, { headers: jwt === null ? {} : { authorization: `${scheme} ${jwt}` } })

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

t.test('the login token is a JWT an app verifies with the JWKS URL alone; freesewing\'s claims plus sub, iat, exp, jti', async (t) => {
  const { b, c } = await setup(t, { sessionTtlSeconds: 3600, jwt: { audience: 'freesewing.org' } })
  const { body } = await signIn(c, peers, 'github', 'alice')
  t.match(body.token, JWT)

  const jwksRes = await c.call(`${publicUrl('acme')}/.well-known/jwks.json`)
  t.equal(jwksRes.status, 200)
  t.equal(jwksRes.headers['cache-control'], 'public, max-age=300')
  const jwks = jwksRes.json()
  t.equal(jwks.keys.length, 1)
  t.match(jwks.keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: /^[A-Za-z0-9_-]{43}$/ })
  t.notOk('d' in jwks.keys[0], 'no private part published')

  const { payload, protectedHeader } = await appVerifier(b, 'acme', { audience: 'freesewing.org' })(body.token)
  t.same(protectedHeader, { alg: 'ES256', kid: jwks.keys[0].kid, typ: 'JWT' })
  t.equal(payload.iss, publicUrl('acme'))
  t.equal(payload.sub, body.account.id)
  t.equal(payload._id, body.account._id, 'freesewing\'s _id')
  t.equal(payload.handle, body.account.handle, 'freesewing\'s handle')
  t.equal(payload.aud, 'freesewing.org')
  t.match(payload.jti, /^[0-9a-f]{64}$/)
  t.ok(Math.abs(payload.iat! - Date.now() / 1000) < 60)
  t.ok(Math.abs(payload.exp! - payload.iat! - 3600) <= 2, 'exp: sessionTtlSeconds after iat')
  const row = await b.app.db.db.selectFrom('sessions').select(['token_hash', 'kind']).where('tenant_id', '=', 'acme').executeTakeFirstOrThrow()
  t.same(row, { token_hash: payload.jti, kind: 'oauth-confirm' }, 'jti names the session')

  // The key is stored sealed: its private part is nowhere in the clear.
  const key = await b.app.db.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', 'acme').executeTakeFirstOrThrow()
  t.match(key.private_sealed, /^vst1\./)
  t.notOk('d' in key.public_jwk)

  // freesewing.org sends it back as Authorization: Bearer.
  const me = await account(c, body.token)
  t.equal(me.status, 200)
  t.equal(me.headers['cache-control'], 'no-store')
  t.match(me.json(), { account: { id: body.account.id, email: 'alice@example.test', provider: 'github', social: { github: 'alice' } }, people: {}, patterns: {} })
  t.equal((await account(c, body.token, 'acme', 'bearer')).status, 200, 'the scheme is case-insensitive')

  for (const [why, res] of [
    ['no header', await account(c, null)],
    ['another scheme', await account(c, body.token, 'acme', 'Token')],
    ['not a JWT', await account(c, 'x'.repeat(43))]
  ] as const) {
    t.equal(res.status, 401, why)
    t.equal(res.text, 'Unauthorized', why)
    t.match(res.headers['content-type'], /^text\/plain/, why)
  }

  // aud is checked: a tenant that expects another audience refuses the token an app would verify for freesewing.org.
  await t.rejects(appVerifier(b, 'acme', { audience: 'other.example' })(body.token), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' })
})

t.test('without sessionTtlSeconds: no exp (as freesewing), no aud; RS256 when the tenant asks for it', async (t) => {
  const { b, c } = await setup(t, {}, { jwt: { algorithm: 'RS256' } })
  const a = await signIn(c, peers, 'github', 'alice')
  const { payload } = await appVerifier(b, 'acme')(a.body.token)
  t.equal(payload.exp, undefined)
  t.equal(payload.aud, undefined)

  const beta = await signIn(c, peers, 'github', 'bob', 'fr', 'beta')
  t.equal(decodeProtectedHeader(beta.body.token).alg, 'RS256')
  const { protectedHeader } = await appVerifier(b, 'beta')(beta.body.token)
  t.equal(protectedHeader.alg, 'RS256')
  const jwks = (await c.call(`${publicUrl('beta')}/.well-known/jwks.json`)).json()
  t.match(jwks.keys, [{ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' }])
  t.equal((await account(c, beta.body.token, 'beta')).status, 200)
})

t.test('rotation: new tokens carry the new kid, old ones still verify; retiring the old key kills them', async (t) => {
  const { b, c, admin } = await setup(t)
  const verify = appVerifier(b, 'acme')
  const old = (await signIn(c, peers, 'github', 'alice')).body.token
  const oldKid = decodeProtectedHeader(old).kid

  const rotated = await call(b, admin, 'POST', '/tenants/acme/signing-keys/rotate', {})
  t.equal(rotated.status, 200)
  t.equal(rotated.body.previous.kid, oldKid)
  t.equal(rotated.body.previous.state, 'previous')
  t.equal(rotated.body.current.state, 'current')
  const newKid = rotated.body.current.kid
  t.not(newKid, oldKid)

  const fresh = (await signIn(c, peers, 'github', 'bob')).body.token
  t.equal(decodeProtectedHeader(fresh).kid, newKid, 'the new key signs')
  const jwks = (await c.call(`${publicUrl('acme')}/.well-known/jwks.json`)).json()
  t.same(jwks.keys.map((k: { kid: string }) => k.kid), [newKid, oldKid], 'both published, the signing key first')
  await verify(old)
  await verify(fresh)
  t.equal((await account(c, old)).status, 200, 'the old token still works on the dialect')
  t.equal((await account(c, fresh)).status, 200)

  t.equal((await call(b, admin, 'POST', `/tenants/acme/signing-keys/${newKid}/retire`)).status, 409, 'the signing key cannot be retired')
  t.equal((await call(b, admin, 'POST', `/tenants/acme/signing-keys/${'A'.repeat(43)}/retire`)).status, 404)
  t.equal((await call(b, admin, 'POST', `/tenants/beta/signing-keys/${oldKid}/retire`)).status, 404, 'another tenant\'s key is not found')
  const retired = await call(b, admin, 'POST', `/tenants/acme/signing-keys/${oldKid}/retire`)
  t.equal(retired.status, 200)
  t.equal(retired.body.state, 'retired')

  t.equal((await account(c, old)).status, 401, 'a token of the retired key is refused')
  t.equal((await account(c, fresh)).status, 200)
  await t.rejects(verify(old), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'gone from the JWKS')
  await verify(fresh)
  const list = await call(b, admin, 'GET', '/tenants/acme/signing-keys')
  t.same(list.body.items.map((k: { kid: string, state: string }) => [k.kid, k.state]), [[newKid, 'current'], [oldKid, 'retired']])

  // Rotating into RS256, and the audit trail.
  const rsa = await call(b, admin, 'POST', '/tenants/acme/signing-keys/rotate', { algorithm: 'RS256' })
  t.equal(rsa.body.current.alg, 'RS256')
  t.equal((await call(b, admin, 'POST', '/tenants/acme/signing-keys/rotate', { algorithm: 'HS256' })).status, 400)
  t.equal((await call(b, admin, 'POST', '/tenants/nope/signing-keys/rotate', {})).status, 404)
  const rsaToken = (await signIn(c, peers, 'github', 'carol')).body.token
  t.equal(decodeProtectedHeader(rsaToken).alg, 'RS256')
  await verify(rsaToken)
  await verify(fresh)
  const events = await b.app.db.db.selectFrom('audit_events').select(['type']).where('tenant_id', '=', 'acme').where('type', 'like', 'signing-key-%').orderBy('id').execute()
  t.same(events.map((e) => e.type), ['signing-key-rotated', 'signing-key-retired', 'signing-key-rotated'])
  const reader = await token(b, ['tenants:read'])
  t.equal((await call(b, reader, 'POST', '/tenants/acme/signing-keys/rotate', {})).status, 403, 'rotation needs tenants:write')
  t.equal((await call(b, reader, 'GET', '/tenants/acme/signing-keys')).status, 200)
})

t.test('revocable: logout, block, revoke-sessions and erase kill the JWT on the dialect\'s routes', async (t) => {
  const { b, c, admin } = await setup(t)
  const logout = (jwt: string) => c.call(`${publicUrl('acme')}/oauth/logout`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` } })

  const one = (await signIn(c, peers, 'github', 'alice')).body
  const two = (await signIn(c, peers, 'github', 'alice')).body
  const out = await logout(one.token)
  t.equal(out.status, 204)
  t.equal((await account(c, one.token)).status, 401, 'logged out')
  t.equal((await logout(one.token)).status, 401, 'twice: refused')
  t.equal((await account(c, two.token)).status, 200, 'the other session lives')
  await appVerifier(b, 'acme')(one.token) // the signature still verifies offline: only the session says it is dead (docs)

  t.equal((await call(b, admin, 'DELETE', `/tenants/acme/users/${two.account.id}/sessions`)).status, 200)
  t.equal((await account(c, two.token)).status, 401, 'revoke-sessions')

  const three = (await signIn(c, peers, 'github', 'alice')).body
  t.equal((await call(b, admin, 'POST', `/tenants/acme/users/${three.account.id}/block`)).status, 200)
  t.equal((await account(c, three.token)).status, 401, 'blocked')
  t.equal((await call(b, admin, 'POST', `/tenants/acme/users/${three.account.id}/unblock`)).status, 200)
  t.equal((await account(c, three.token)).status, 401, 'unblocking does not bring revoked sessions back')

  const four = (await signIn(c, peers, 'github', 'bob')).body
  t.equal((await account(c, four.token)).status, 200)
  t.equal((await call(b, admin, 'DELETE', `/tenants/acme/users/${four.account.id}`)).status, 200)
  t.equal((await account(c, four.token)).status, 401, 'erased')

  // A session that expired in the database is dead even if the JWT has no exp.
  const five = (await signIn(c, peers, 'github', 'carol')).body
  await b.app.db.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', String(decodeJwt(five.token).jti)).execute()
  t.equal((await account(c, five.token)).status, 401, 'expired session')
})

t.test('tenant A\'s JWT is refused by tenant B: other keys, other issuer', async (t) => {
  const { b, c } = await setup(t)
  const a = (await signIn(c, peers, 'github', 'alice')).body.token
  const bt = (await signIn(c, peers, 'github', 'alice', 'fr', 'beta')).body.token
  t.equal((await account(c, a, 'beta')).status, 401)
  t.equal((await account(c, bt, 'acme')).status, 401)
  t.equal((await account(c, bt, 'beta')).status, 200)
  t.not(decodeProtectedHeader(a).kid, decodeProtectedHeader(bt).kid)
  await t.rejects(appVerifier(b, 'beta')(a), 'beta\'s JWKS does not verify acme\'s token')

  // Even a token signed with acme's key and claiming beta's session is refused by beta (the kid is not beta's).
  const betaJti = decodeJwt(bt).jti
  const [h, , s] = a.split('.')
  const swapped = `${h}.${b64({ ...decodeJwt(a), jti: betaJti, iss: publicUrl('beta') })}.${s}`
  t.equal((await account(c, swapped, 'beta')).status, 401)
})

t.test('forgeries: alg none, HS256 with the public key, another key under our kid, tampered claims, stolen jti', async (t) => {
  const { b, c } = await setup(t)
  const { body } = await signIn(c, peers, 'github', 'alice')
  const victim = (await signIn(c, peers, 'github', 'bob')).body
  const good = body.token as string
  const [h, p, s] = good.split('.')
  const header = decodeProtectedHeader(good)
  const claims = decodeJwt(good) as JWTPayload & Record<string, unknown>
  t.equal((await account(c, good)).status, 200, 'the genuine token works')

  const none = `${b64({ alg: 'none', kid: header.kid, typ: 'JWT' })}.${p}.`
  t.equal((await account(c, none)).status, 401, 'alg none')
  t.equal((await account(c, `${b64({ alg: 'none', kid: header.kid })}.${p}.${s}`)).status, 401, 'alg none with a signature')

  // The classic confusion: an HMAC keyed with the public key (as JWK JSON and as its x coordinate).
  const jwk = (await (await c.call(`${publicUrl('acme')}/.well-known/jwks.json`)).json()).keys[0]
  for (const secret of [JSON.stringify(jwk), jwk.x, Buffer.from(jwk.x, 'base64url')]) {
    const hsHeader = b64({ alg: 'HS256', kid: header.kid, typ: 'JWT' })
    const mac = createHmac('sha256', secret).update(`${hsHeader}.${p}`).digest('base64url')
    t.equal((await account(c, `${hsHeader}.${p}.${mac}`)).status, 401, 'HS256 keyed with the public key')
  }

  // An attacker's own key, presented under our kid.
  const attacker = await generateKeyPair('ES256', { extractable: true })
  const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'JWT' }).sign(attacker.privateKey)
  t.equal((await account(c, forged)).status, 401, 'signed by another key')
  t.ok(await exportJWK(attacker.publicKey))

  // Tampered payloads with the original signature: another subject, another session, a later exp.
  for (const [why, change] of [
    ['sub', { sub: victim.account.id, _id: victim.account.id, handle: victim.account.id }],
    ['jti', { jti: decodeJwt(victim.token).jti }],
    ['exp', { exp: Math.floor(Date.now() / 1000) + 1e6 }],
    ['iss', { iss: publicUrl('beta') }]
  ] as const) {
    t.equal((await account(c, `${h}.${b64({ ...claims, ...change })}.${s}`)).status, 401, `tampered ${why}`)
  }
  const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1)
  t.equal((await account(c, `${h}.${p}.${flipped}`)).status, 401, 'tampered signature')

  // A validly signed token (our key) whose session claim is someone else's: sub and the session's account must agree.
  // Only Vestibule can sign, so this is what a bug in issuing would look like; simulate it by pointing our session at bob.
  const bobUser = await b.app.db.db.selectFrom('users').select('id').where('uuid', '=', victim.account.id).executeTakeFirstOrThrow()
  await b.app.db.db.updateTable('sessions').set({ user_id: bobUser.id }).where('token_hash', '=', String(claims.jti)).execute()
  t.equal((await account(c, good)).status, 401, 'sub must be the session\'s account')

  t.equal((await account(c, `${h}.${p}.${s}.${s}`)).status, 401, 'four parts')
  t.equal((await account(c, 'eyJ' + 'a'.repeat(5000) + '.e.e')).status, 401, 'oversized')
})

t.test('the OpenAPI document lists the JWKS, the Bearer routes and their scheme', async (t) => {
  const { c } = await setup(t)
  const doc = (await c.call(`${publicUrl('acme')}/openapi.json`)).json()
  t.ok(doc.paths['/.well-known/jwks.json']?.get, 'JWKS')
  t.same(doc.paths['/account']?.get?.security, [{ OAuthConfirmBearer: [] }])
  t.same(doc.paths['/oauth/logout']?.post?.security, [{ OAuthConfirmBearer: [] }])
  t.match(doc.components.securitySchemes.OAuthConfirmBearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
})

t.test('the CLI lists, rotates, retires and re-seals signing keys', async (t) => {
  const { b, c } = await setup(t)
  const env = { ...process.env, DATABASE_URL: `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${b.schema}`)}` }
  const cli = (args: string[], extra: Record<string, string> = {}) => run('npx', ['tsx', 'tenants/admin/cli.ts', 'signing-keys', ...args], { env: { ...env, ...extra } })
  const old = (await signIn(c, peers, 'github', 'alice')).body.token
  const oldKid = String(decodeProtectedHeader(old).kid)

  t.match((await cli(['list', '--tenant', 'acme'])).stdout, new RegExp(`^${oldKid}\\tES256\\tcurrent\\t`, 'm'))
  const rotated = await cli(['rotate', '--tenant', 'acme', '--alg', 'RS256'])
  const newKid = /RS256 key ([A-Za-z0-9_-]{43}) signs now/.exec(rotated.stdout)?.[1]
  t.ok(newKid, rotated.stdout)
  t.match(rotated.stdout, `${oldKid} still verifies`)
  const fresh = (await signIn(c, peers, 'github', 'bob')).body.token
  t.same(decodeProtectedHeader(fresh), { alg: 'RS256', kid: newKid, typ: 'JWT' })
  t.equal((await account(c, old)).status, 200)

  await t.rejects(cli(['retire', '--tenant', 'acme', newKid!]), { stderr: /is the current key.*rotate first/ } as any)
  await t.rejects(cli(['retire', '--tenant', 'acme', 'nope']), { stderr: /has no signing key "nope"/ } as any)
  await t.rejects(cli(['retire', '--tenant', 'acme', '-YWaqFIAFozc2uSpgQhiyXv3q5SivhLkxlu43R_9mgY']), { stderr: /has no signing key "-YWaqFIAFozc2uSpgQhiyXv3q5SivhLkxlu43R_9mgY"/ } as any, 'a kid may begin with a dash')
  await t.rejects(cli(['rotate', '--tenant', 'acme', '--alg', 'HS256']), { stderr: /--alg must be ES256 or RS256/ } as any)
  await t.rejects(cli(['rotate']), { stderr: /--tenant <id>/ } as any)
  t.match((await cli(['retire', '--tenant', 'acme', oldKid])).stdout, 'retired')
  t.equal((await account(c, old)).status, 401, 'the retired key\'s token is refused')
  t.equal((await account(c, fresh)).status, 200)

  // After a rotation of VESTIBULE_SECRET_KEY, reseal moves the live signing keys to the new key.
  const before = await b.app.db.db.selectFrom('signing_keys').select(['kid', 'private_sealed']).where('tenant_id', '=', 'acme').where('kid', '=', newKid!).executeTakeFirstOrThrow()
  const currentKey = process.env.VESTIBULE_SECRET_KEY || readFileSync(path.join(process.env.DATA_DIR || '.data', 'secret.key'), 'utf8').trim()
  const next = randomBytes(32).toString('base64')
  t.match((await cli(['reseal'], { VESTIBULE_SECRET_KEY: next, VESTIBULE_OLD_SECRET_KEYS: currentKey })).stdout, /re-sealed 1 signing key/)
  const after = await b.app.db.db.selectFrom('signing_keys').select(['private_sealed']).where('tenant_id', '=', 'acme').where('kid', '=', newKid!).executeTakeFirstOrThrow()
  t.not(after.private_sealed, before.private_sealed)
  const opened = JSON.parse(open(createKeyring({ current: next }), after.private_sealed, `signing-key:acme:${newKid}`))
  t.equal(opened.kty, 'RSA', 'the new key alone opens it')
  t.throws(() => open(createKeyring({ current: next }), after.private_sealed, `signing-key:beta:${newKid}`), 'bound to its tenant')
})

t.test('a tenant\'s first key: made once under concurrent first uses; a beta-only admin token cannot touch acme\'s keys', async (t) => {
  const { b, c } = await setup(t)
  const firsts = await Promise.all([
    ...Array.from({ length: 4 }, () => c.call(`${publicUrl('acme')}/.well-known/jwks.json`).then((r) => r.json())),
    ...['alice', 'bob', 'carol'].map((u) => signIn(c, peers, 'github', u).then((r) => ({ keys: [{ kid: decodeProtectedHeader(r.body.token).kid }] })))
  ])
  const kids = new Set(firsts.map((j) => j.keys[0].kid))
  t.equal(kids.size, 1, 'every first use saw the same key')
  const rows = await b.app.db.db.selectFrom('signing_keys').select('kid').where('tenant_id', '=', 'acme').execute()
  t.equal(rows.length, 1, 'one key stored')

  const betaOnly = await token(b, ['tenants:read', 'tenants:write'], 'beta')
  t.equal((await call(b, betaOnly, 'POST', '/tenants/acme/signing-keys/rotate', {})).status, 404)
  t.equal((await call(b, betaOnly, 'GET', '/tenants/acme/signing-keys')).status, 404)
  t.equal((await call(b, betaOnly, 'POST', '/tenants/beta/signing-keys/rotate', {})).status, 200)
  t.equal((await b.app.db.db.selectFrom('signing_keys').select('kid').where('tenant_id', '=', 'acme').execute()).length, 1, 'acme untouched')
})

t.test('on PGlite too: sign, verify with the JWKS, rotate, retire, revoke', async (t) => {
  const { b, c, admin } = await setup(t, { sessionTtlSeconds: 600 }, {}, 'pglite')
  const old = (await signIn(c, peers, 'github', 'alice')).body.token
  await appVerifier(b, 'acme')(old)
  t.equal((await account(c, old)).status, 200)
  const rotated = await call(b, admin, 'POST', '/tenants/acme/signing-keys/rotate', {})
  t.equal(rotated.status, 200)
  const fresh = (await signIn(c, peers, 'github', 'bob')).body.token
  t.equal(decodeProtectedHeader(fresh).kid, rotated.body.current.kid)
  t.equal((await account(c, old)).status, 200)
  t.equal((await call(b, admin, 'POST', `/tenants/acme/signing-keys/${rotated.body.previous.kid}/retire`)).status, 200)
  t.equal((await account(c, old)).status, 401)
  t.equal((await c.call(`${publicUrl('acme')}/oauth/logout`, { method: 'POST', headers: { authorization: `Bearer ${fresh}` } })).status, 204)
  t.equal((await account(c, fresh)).status, 401)
})
