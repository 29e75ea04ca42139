// Which addresses provider calls may reach: no loopback, private, link-local, unique-local or other
// non-public ranges unless the provider opts in (allowPrivateNetwork), so a tenant config cannot aim
// Vestibule's HTTP client at the operator's own network (SSRF). The ranges are ipaddr.js's (its
// IANA special-purpose registries); this module only names them and looks through the IPv6 forms
// that carry an IPv4 address.
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

// ipaddr.js range names that are globally reachable unicast; every other range is refused.
const PUBLIC = new Set(['unicast', 'as112', 'as112v6', 'amt', 'teredo'])

const LABELS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'shared (carrier-grade NAT)',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  benchmarking: 'benchmarking'
}

function v4Label (a: ipaddr.IPv4): string | null {
  // ipaddr.js calls only 0.0.0.0 itself unspecified; RFC 6890 reserves all of 0.0.0.0/8 ("this network").
  if (a.octets[0] === 0) return 'unspecified ("this network")'
  const range = a.range()
  return PUBLIC.has(range) ? null : (LABELS[range] ?? range)
}

/** The IPv4 address an IPv6 address carries: IPv4-mapped, IPv4-compatible, NAT64 (RFC 6052), 6to4. */
function embeddedV4 (a: ipaddr.IPv6): ipaddr.IPv4 | null {
  const b = a.toByteArray()
  const range = a.range()
  if (range === 'ipv4Mapped' || range === 'rfc6052' || range === 'rfc6145' || b.slice(0, 12).every((x) => x === 0)) {
    return new ipaddr.IPv4(b.slice(12, 16))
  }
  if (range === '6to4') return new ipaddr.IPv4(b.slice(2, 6))
  return null
}

/**
 * The name of the non-public range an IP address is in ("loopback", "private", ...), or null for a
 * public address. Anything that is not an IP address is null (names are checked once resolved).
 */
export function nonPublicRange (address: string): string | null {
  const text = address.replace(/^\[|\]$/g, '')
  // node:net decides what is an address (the canonical forms a resolver returns and the WHATWG URL
  // parser writes); ipaddr.js would also read 127.1 or 0x7f.1, which never reach this function.
  const family = isIP(text.replace(/%.*$/, ''))
  if (family === 0) return null
  let parsed: ipaddr.IPv4 | ipaddr.IPv6
  try {
    parsed = ipaddr.parse(text)
  } catch {
    return 'unparseable address'
  }
  if (parsed.kind() === 'ipv4') return v4Label(parsed as ipaddr.IPv4)
  const v6 = parsed as ipaddr.IPv6
  const range = v6.range()
  if (range === 'unspecified' || range === 'loopback') return range
  const carried = embeddedV4(v6)
  if (carried !== null) return v4Label(carried)
  return PUBLIC.has(range) ? null : (LABELS[range] ?? range)
}

/**
 * What a URL's host is known to be before any DNS lookup: a non-public IP literal, or a loopback name
 * (`localhost`, `*.localhost`, RFC 6761). Null when only resolution can tell.
 */
export function nonPublicHost (hostname: string): string | null {
  const host = hostname.replace(/\.$/, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback'
  return nonPublicRange(host)
}

/** Thrown from the connect step (as the request's error) when an address is not public. */
export class NonPublicAddressError extends Error {
  readonly code = 'VST_ERR_PRIVATE_ADDRESS'
  constructor (readonly host: string, readonly address: string, readonly range: string) {
    super(`${host === address ? host : `${host} resolves to ${address}, which`} is in the ${range} range; provider calls may not reach it unless the provider sets allowPrivateNetwork: true`)
    this.name = 'NonPublicAddressError'
  }
}
