// Parses `Authorization: <Scheme> <credentials>` headers (Token, Bearer, Basic) case-insensitively on the scheme.

/** The credentials after `scheme`, or null when the header is absent, of another scheme, or malformed. */
export function credentialsFor (header: string | string[] | undefined, scheme: string): string | null {
  if (typeof header !== 'string') return null
  const space = header.indexOf(' ')
  if (space <= 0) return null
  if (header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return null
  const value = header.slice(space + 1).trim()
  return value.length > 0 && value.length <= 512 && !/\s/.test(value) ? value : null
}

/** HTTP Basic client credentials (RFC 6749 2.3.1: both parts form-urlencoded), or null. */
export function basicCredentials (header: string | string[] | undefined): { id: string, secret: string } | null {
  const b64 = credentialsFor(header, 'Basic')
  if (!b64) return null
  const text = Buffer.from(b64, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) return null
  try {
    return { id: decodeURIComponent(text.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(text.slice(colon + 1).replace(/\+/g, ' ')) }
  } catch { return null }
}
