// Shapes stored users and provider profiles into Capture's capture_user and Engage's auth_info profile.
import type { Identity, User } from '../../db/index.ts'
import type { TenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import type { NormalizedProfile } from '../../plugins/providers/types.ts'

/** Capture's timestamp format: `2016-04-20 17:02:18.649505 +0000` (UTC; microseconds from the millisecond clock). */
export function captureTime (d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}000 +0000`
}

const DOMAINS: Record<string, string> = { google: 'google.com', facebook: 'facebook.com', twitter: 'twitter.com', github: 'github.com', linkedin: 'linkedin.com' }
const ENGAGE_NAMES: Record<string, string> = { google: 'Google', facebook: 'Facebook', twitter: 'Twitter', github: 'GitHub', linkedin: 'LinkedIn', oidc: 'OpenID', demo: 'Demo' }

export function providerDomain (type: string, issuer: string | null): string {
  if (Object.hasOwn(DOMAINS, type)) return DOMAINS[type]
  try { return issuer ? new URL(issuer).host : type } catch { return type }
}

/** Engage-style identifier URL, built from the immutable subject only (never the email or username). */
export function identifierFor (type: string, subject: string, issuer: string | null): string {
  const s = encodeURIComponent(subject)
  switch (type) {
    case 'google': return `https://www.google.com/profiles/${s}`
    case 'facebook': return `http://www.facebook.com/profile.php?id=${s}`
    case 'twitter': return `http://twitter.com/account/profile?user_id=${s}`
    case 'github': return `https://github.com/?user_id=${s}`
    case 'linkedin': return `https://www.linkedin.com/profile?id=${s}`
    default: return issuer ? `${issuer.replace(/#.*$/, '')}#${s}` : `${type}:${s}`
  }
}

// Members a stored attribute may never shadow.
const CORE = new Set(['id', 'uuid', 'created', 'lastUpdated', 'lastLogin', 'email', 'emailVerified', 'displayName', 'givenName', 'familyName', 'photo', 'photos', 'profiles', 'password'])

const time = (d: Date | null | undefined): string | null => (d ? captureTime(d) : null)

/**
 * The one capture_user serializer, each member in the type Capture's standard schema gives it, as the generated
 * jump.ios model parses it (JRCaptureUser.m captureUserObjectFromDictionary): `id` integer; `uuid`, `email`,
 * `displayName`, `givenName`, `familyName` strings or null; `created`, `lastUpdated`, `lastLogin`, `emailVerified`
 * dateTimes (`2016-04-20 17:02:18.649000 +0000`, JRDateTime dateFromISO8601DateTimeString) or null; `photos` and
 * `profiles` plurals (arrays of objects with an integer `id`, JRPhotosElement.m / JRProfilesElement.m). `photo`
 * (a string) is Vestibule's own, kept for the seed's clients.
 */
/** What capture_user shows of an identity (CAPTURE_IDENTITY_COLUMNS in plugins/identity/statements.ts). */
export type CaptureIdentity = Pick<Identity, 'id' | 'provider_type' | 'provider_name' | 'subject' | 'issuer' | 'email' | 'email_verified' | 'created_at'>

export function captureUser (user: User, identities: CaptureIdentity[], lastLogin: Date | null = null): Record<string, unknown> {
  const attributes = Object.fromEntries(Object.entries(user.attributes ?? {}).filter(([k]) => !CORE.has(k)))
  return {
    ...attributes,
    id: Number(user.id),
    uuid: user.uuid,
    created: captureTime(user.created_at),
    lastUpdated: captureTime(user.updated_at),
    lastLogin: time(lastLogin),
    email: user.email,
    // When the address was verified (the users.email_verified_at trigger), null while it is not.
    emailVerified: user.email_verified ? time(user.email_verified_at ?? user.updated_at) : null,
    displayName: user.display_name,
    givenName: user.given_name,
    familyName: user.family_name,
    photo: user.photo,
    photos: user.photo ? [{ id: Number(user.id), type: 'other', value: user.photo }] : [],
    profiles: identities.map((i) => ({
      id: Number(i.id),
      domain: providerDomain(i.provider_type, i.issuer),
      identifier: identifierFor(i.provider_type, i.subject, i.issuer),
      provider: i.provider_name,
      email: i.email,
      verifiedEmail: i.email_verified ? i.email : null,
      created: captureTime(i.created_at)
    }))
  }
}

export async function loadCaptureUser (identity: TenantIdentity, user: User): Promise<Record<string, unknown>> {
  const [identities, lastLogin] = await Promise.all([identity.listIdentities(user.id), identity.lastSignIn(user.id)])
  return captureUser(user, identities, lastLogin)
}

/** Janrain Engage auth_info profile; absent values are left out, as Engage does. */
export function engageProfile (p: NormalizedProfile): Record<string, unknown> {
  const out: Record<string, unknown> = {
    providerName: (Object.hasOwn(ENGAGE_NAMES, p.providerType) ? ENGAGE_NAMES[p.providerType] : p.providerName),
    identifier: identifierFor(p.providerType, p.subject, p.issuer)
  }
  if (p.email && p.emailVerified) out.verifiedEmail = p.email
  if (p.email) out.email = p.email
  const name: Record<string, string> = {}
  if (p.givenName) name.givenName = p.givenName
  if (p.familyName) name.familyName = p.familyName
  const formatted = p.displayName ?? ([p.givenName, p.familyName].filter(Boolean).join(' ') || null)
  if (formatted) name.formatted = formatted
  out.name = name
  if (p.displayName ?? p.username) out.displayName = p.displayName ?? p.username
  if (p.username) out.preferredUsername = p.username
  if (p.photo) out.photo = p.photo
  return out
}

/** The value a profile gives a form field's attribute (prereg_fields, social registration defaults). */
export function profileValue (p: NormalizedProfile, attribute: string): string | null {
  switch (attribute) {
    case 'email': return p.email
    case 'givenName': return p.givenName
    case 'familyName': return p.familyName
    case 'displayName': return p.displayName ?? p.username
    case 'username': return p.username
    case 'photo': return p.photo
    default: return null
  }
}
