// Which addresses provider calls may reach: no loopback, private, link-local, unique-local or other
// non-public ranges unless the provider opts in (allowPrivateNetwork), so a tenant config cannot aim
// Vestibule's HTTP client at the operator's own network (SSRF).
import { isIP } from 'node:net'

type Range = readonly [prefix: bigint, bits: number, width: 32 | 128, label: string]

function v4 (s: string): bigint | null {
  const parts = s.split('.')
  if (parts.length !== 4) return null
  let n = 0n
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null
    n = (n << 8n) | BigInt(Number(p))
  }
  return n
}

function v6 (s: string): bigint | null {
  let text = s.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase()
  // A trailing dotted quad (::ffff:127.0.0.1) is two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const n = v4(dotted[1])
    if (n === null) return null
    text = text.slice(0, -dotted[1].length) + ((n >> 16n).toString(16)) + ':' + ((n & 0xffffn).toString(16))
  }
  const halves = text.split('::')
  if (halves.length > 2) return null
  const head = halves[0] === '' ? [] : halves[0].split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  let n = 0n
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return null
    n = (n << 16n) | BigInt(parseInt(g, 16))
  }
  return n
}

const r4 = (ip: string, bits: number, label: string): Range => [v4(ip)!, bits, 32, label]
const r6 = (ip: string, bits: number, label: string): Range => [v6(ip)!, bits, 128, label]

// RFC 6890 special-purpose ranges that are not globally reachable unicast.
const V4_RANGES: Range[] = [
  r4('0.0.0.0', 8, 'unspecified ("this network")'),
  r4('10.0.0.0', 8, 'private'),
  r4('100.64.0.0', 10, 'shared (carrier-grade NAT)'),
  r4('127.0.0.0', 8, 'loopback'),
  r4('169.254.0.0', 16, 'link-local'),
  r4('172.16.0.0', 12, 'private'),
  r4('192.0.0.0', 24, 'IETF special-purpose'),
  r4('192.168.0.0', 16, 'private'),
  r4('198.18.0.0', 15, 'benchmarking'),
  r4('224.0.0.0', 4, 'multicast'),
  r4('240.0.0.0', 4, 'reserved')
]
const V6_RANGES: Range[] = [
  r6('::', 128, 'unspecified'),
  r6('::1', 128, 'loopback'),
  r6('fc00::', 7, 'unique-local'),
  r6('fe80::', 10, 'link-local'),
  r6('fec0::', 10, 'site-local'),
  r6('ff00::', 8, 'multicast')
]
// IPv6 forms that carry an IPv4 address: the IPv4 address decides.
const EMBEDDED_V4: Array<{ prefix: bigint, bits: number, shift: bigint }> = [
  { prefix: v6('::ffff:0:0')!, bits: 96, shift: 0n }, // IPv4-mapped
  { prefix: v6('::')!, bits: 96, shift: 0n }, // IPv4-compatible (deprecated)
  { prefix: v6('64:ff9b::')!, bits: 96, shift: 0n }, // NAT64
  { prefix: v6('2002::')!, bits: 16, shift: 80n } // 6to4
]

const inRange = (n: bigint, [prefix, bits, width]: Range) => (n >> BigInt(width - bits)) === (prefix >> BigInt(width - bits))

/**
 * The name of the non-public range an IP address is in ("loopback", "private", ...), or null for a
 * public address. Anything that is not an IP address is null (names are checked once resolved).
 */
export function nonPublicRange (address: string): string | null {
  const ip = address.replace(/^\[|\]$/g, '')
  const family = isIP(ip.replace(/%.*$/, ''))
  if (family === 4) {
    const n = v4(ip)!
    return V4_RANGES.find((r) => inRange(n, r))?.[3] ?? null
  }
  if (family !== 6) return null
  const n = v6(ip)
  if (n === null) return 'unparseable IPv6'
  const own = V6_RANGES.find((r) => inRange(n, r))
  if (own !== undefined) return own[3]
  for (const e of EMBEDDED_V4) {
    if ((n >> BigInt(128 - e.bits)) !== (e.prefix >> BigInt(128 - e.bits))) continue
    const embedded = (n >> e.shift) & 0xffffffffn
    const label = V4_RANGES.find((r) => inRange(embedded, r))?.[3]
    if (label !== undefined) return label
  }
  return null
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
