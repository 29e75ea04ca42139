// Email addresses as Vestibule stores and compares them: one syntactically valid address, NFKC-stable,
// ASCII letters lower-cased, nothing else folded. Shared by the identity core and every dialect's forms.

// RFC 5321 dot-atom local part and an LDH domain with a letter TLD: what DRF's EmailField accepts.
const ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/

/**
 * The address as given (trimmed, case kept: what is stored and shown), or null when `raw` is not
 * exactly one valid address.
 * An address that NFKC would change (U+212A KELVIN SIGN for K, full-width letters, ligatures) is
 * refused rather than folded: the mailbox a provider verified is the string it sent, and folding it
 * would let `Kevin@…` written with a Kelvin sign land in kevin@…'s account. Lists (`a@x, b@y`),
 * display names (`A <a@x>`), comments and quoted local parts are refused too. Only ASCII A–Z are
 * lower-cased by normalizeEmail, so two addresses match only when those forms are equal byte for byte.
 */
export function validEmail (raw: unknown): string | null {
  if (typeof raw !== 'string') return null
  const s = raw.trim()
  if (s.length === 0 || s.length > 254 || s.normalize('NFKC') !== s) return null
  if (!ADDRESS.test(s) || s.indexOf('@') > 64) return null
  return s
}

/** The form addresses are compared in: validEmail with ASCII A–Z lower-cased, or null. */
export function normalizeEmail (raw: unknown): string | null {
  const s = validEmail(raw)
  return s === null ? null : s.replace(/[A-Z]+/g, (m) => m.toLowerCase())
}
