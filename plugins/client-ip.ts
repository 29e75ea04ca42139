// The rate-limit identity of a client address: IPv4 as is, IPv6 masked to its /64 (one subscriber's
// prefix: a host can rotate through 2^64 addresses), IPv4-mapped IPv6 back to IPv4.
import net from 'node:net'

export function clientIpKey (ip: string | undefined): string {
  if (!ip) return 'unknown'
  if (ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7))) return ip.slice(7)
  if (!net.isIPv6(ip)) return ip
  return expandIPv6(ip).slice(0, 4).join(':') + '::/64'
}

function expandIPv6 (ip: string): string[] {
  const [head, tail] = ip.split('%')[0].split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : []
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : []
  return [...h, ...fill, ...t].map((x) => x.toLowerCase().replace(/^0+(?=.)/, ''))
}
