// Provider profiles for identity-core tests (the shape the provider layer produces).
import type { NormalizedProfile } from '../../plugins/providers/types.ts'

export function profile (subject: string, extra: Partial<NormalizedProfile> = {}): NormalizedProfile {
  return {
    providerType: 'github', providerName: 'github', subject, issuer: null,
    email: null, emailVerified: false, givenName: null, familyName: null, displayName: null,
    username: null, photo: null, raw: { id: subject }, ...extra
  }
}
