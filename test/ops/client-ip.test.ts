// Rate-limit keys per client address: IPv6 masked to /64, IPv4-mapped addresses folded to IPv4.
import t from 'tap'
import { clientIpKey } from '../../plugins/client-ip.ts'

t.equal(clientIpKey('203.0.113.7'), '203.0.113.7')
t.equal(clientIpKey('::ffff:203.0.113.7'), '203.0.113.7')
t.equal(clientIpKey('2001:db8:abcd:12:1:2:3:4'), '2001:db8:abcd:12::/64')
t.equal(clientIpKey('2001:db8:abcd:12::99'), '2001:db8:abcd:12::/64', 'same /64, same key')
t.equal(clientIpKey('2001:0DB8:ABCD:0012:ffff::1'), '2001:db8:abcd:12::/64', 'case and leading zeros folded')
t.not(clientIpKey('2001:db8:abcd:13::1'), clientIpKey('2001:db8:abcd:12::1'), 'another /64, another key')
t.equal(clientIpKey('::1'), '0:0:0:0::/64')
t.equal(clientIpKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
t.equal(clientIpKey(undefined), 'unknown')
