// capture_user in the types of Capture's standard schema, checked by a parser that reads it as the generated jump.ios
// model does (JRCaptureUser.m captureUserObjectFromDictionary, JRProfilesElement.m, JRPhotosElement.m): NSNull is
// nil, dateTimes go through JRDateTime dateFromISO8601DateTimeString ("yyyy-MM-dd HH:mm:ss.SSSSSS ZZZ" first),
// plurals are cast to NSArray, `id` to NSNumber. A member of the wrong type raises there; here it fails the test.
import t from 'tap'
import { fixture, nativeArgs } from './fixtures/capture.ts'

const f = await fixture(t)
const NATIVE = '/t/cap/oauth/auth_native'

const DATETIME = ['created', 'lastUpdated', 'lastLogin', 'emailVerified', 'deactivateAccount']
const DATE = ['birthday']
const STRING = ['aboutMe', 'currentLocation', 'display', 'displayName', 'email', 'externalId', 'familyName', 'gender', 'givenName', 'middleName', 'uuid']
const PLURAL = ['clients', 'photos', 'profiles', 'statuses']
const OBJECT = ['janrain', 'optIn', 'primaryAddress']

/** JRDateTime dateFromISO8601DateTimeString's first format, `yyyy-MM-dd HH:mm:ss.SSSSSS ZZZ` → a Date, or a throw. */
function parseDateTime (v: unknown): Date {
  if (typeof v !== 'string') throw new Error(`dateTime is a ${typeof v}`)
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6}) ([+-])(\d{2})(\d{2})$/.exec(v)
  if (!m) throw new Error(`not a Capture dateTime: ${v}`)
  const [, y, mo, d, h, mi, s, us, sign, oh, om] = m
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000
  return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Math.floor(+us / 1000)) - offset)
}

/** The model object, or a throw naming the member whose type is wrong. */
function parseCaptureUser (json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const nil = (k: string) => json[k] === null || json[k] === undefined
  for (const k of DATETIME) out[k] = nil(k) ? null : parseDateTime(json[k])
  for (const k of DATE) if (!nil(k) && !/^\d{4}-\d{2}-\d{2}$/.test(String(json[k]))) throw new Error(`${k}: not a date`)
  for (const k of STRING) { if (!nil(k) && typeof json[k] !== 'string') throw new Error(`${k}: not a string`); out[k] = json[k] ?? null }
  for (const k of OBJECT) if (!nil(k) && (typeof json[k] !== 'object' || Array.isArray(json[k]))) throw new Error(`${k}: not an object`)
  for (const k of PLURAL) {
    if (nil(k)) continue
    if (!Array.isArray(json[k])) throw new Error(`${k}: not an array`)
    for (const el of json[k] as unknown[]) {
      if (el === null || typeof el !== 'object' || Array.isArray(el)) throw new Error(`${k}: element not an object`)
      const e = el as Record<string, unknown>
      if (e.id !== undefined && !Number.isInteger(e.id)) throw new Error(`${k}: element id not an integer`)
      for (const s of ['domain', 'identifier', 'provider', 'type', 'value']) if (e[s] !== undefined && e[s] !== null && typeof e[s] !== 'string') throw new Error(`${k}.${s}: not a string`)
      if (e.profile !== undefined && (typeof e.profile !== 'object' || Array.isArray(e.profile))) throw new Error(`${k}.profile: not an object`)
    }
    out[k] = json[k]
  }
  if (!Number.isInteger(json.id)) throw new Error('id: not an integer')
  return out
}

t.test('a verified social sign-up: emailVerified, lastLogin and the plurals parse as the jump.ios model does', async (t) => {
  const before = Date.now() - 1000
  const token = await f.socialToken('github', 'alice')
  const r = await f.form(NATIVE, nativeArgs({ token, thin_registration: 'true' }))
  t.equal(r.body.stat, 'ok', JSON.stringify(r.body))
  const u = parseCaptureUser(r.body.capture_user)
  t.ok(u.emailVerified instanceof Date, 'emailVerified is a dateTime')
  t.ok((u.emailVerified as Date).getTime() >= before && (u.emailVerified as Date).getTime() <= Date.now() + 1000, 'verified now')
  t.ok(u.lastLogin instanceof Date && (u.lastLogin as Date).getTime() >= before, 'lastLogin is this sign-up')
  t.type(r.body.capture_user.emailVerified, 'string', 'not a JSON boolean (JRCaptureUser.m would raise on one)')
  t.ok(Array.isArray(r.body.capture_user.photos))
  t.equal(r.body.capture_user.profiles.length, 1)

  // The same serializer behind /entity.
  const entity = await f.form('/t/cap/entity', { access_token: r.body.access_token })
  t.same(entity.body.result, r.body.capture_user)

  // A later sign-in moves lastLogin; emailVerified keeps its time.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const again = await f.form(NATIVE, nativeArgs({ token: await f.socialToken('github', 'alice') }))
  const u2 = parseCaptureUser(again.body.capture_user)
  t.ok((u2.lastLogin as Date).getTime() > (u.lastLogin as Date).getTime(), 'lastLogin moved')
  t.equal(again.body.capture_user.emailVerified, r.body.capture_user.emailVerified, 'emailVerified unchanged')

  // A photo is the `photos` plural too.
  await f.app.db.db.updateTable('users').set({ photo: 'https://img.test/a.png' }).where('uuid', '=', r.body.capture_user.uuid).execute()
  const withPhoto = (await f.form('/t/cap/entity', { access_token: again.body.access_token })).body.result
  parseCaptureUser(withPhoto)
  t.same(withPhoto.photos, [{ id: withPhoto.id, type: 'other', value: 'https://img.test/a.png' }])

  // The database keeps the time: unverified → null, verified again → a new time, address change → a new time.
  await f.app.db.db.updateTable('users').set({ email_verified: false }).where('uuid', '=', r.body.capture_user.uuid).execute()
  t.equal((await f.form('/t/cap/entity', { access_token: again.body.access_token })).body.result.emailVerified, null)
  await f.app.db.db.updateTable('users').set({ email_verified: true }).where('uuid', '=', r.body.capture_user.uuid).execute()
  const reverified = (await f.form('/t/cap/entity', { access_token: again.body.access_token })).body.result.emailVerified
  t.ok(parseDateTime(reverified).getTime() >= (u.emailVerified as Date).getTime())
})

t.test('an unverified password registration: emailVerified null, every other member typed', async (t) => {
  const r = await f.form('/t/cap/oauth/register_native_traditional', nativeArgs({ form: 'registrationForm', emailAddress: 'types@example.test', newPassword: 'correct horse', newPasswordConfirm: 'correct horse', favoriteColor: 'teal' }))
  t.equal(r.body.stat, 'ok', JSON.stringify(r.body))
  const u = parseCaptureUser(r.body.capture_user)
  t.equal(u.emailVerified, null)
  t.ok(u.lastLogin instanceof Date, 'registration counts as the last sign-in')
  t.same(r.body.capture_user.photos, [])
  t.same(r.body.capture_user.profiles, [])
  t.equal(r.body.capture_user.favoriteColor, 'teal', 'custom attributes pass through as strings')
  t.notOk('password' in r.body.capture_user)
})
