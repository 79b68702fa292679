/**
 * The node doctor.sh examines in these tests, in a host sandbox (test/helpers/host-sandbox.ts) with the
 * shared fake programs: wg0 up with two peers (one with a preshared key), its unit enabled and active,
 * forwarding on by a sysctl file, ufw active with wgfleet's rules, firewalld running (wg0 in trusted, the
 * WireGuard port open in public at runtime but not in the permanent configuration),
 * and a config file holding the real private key (and, carelessly, a copy of it in a comment).
 * `wg show wg0 dump` prints the interface line first — with PRIVATE_KEY — as wg does.
 */
import {publicZone} from '../../fixtures/firewall.js'
import {DUMP_INTERFACE_LINE, NODE_CLOCK, PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'

export {BASH, NODE_CLOCK, PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY, PUBLIC_KEY} from '../../helpers/host-fakes.js'

/** The config file as wg-quick reads it: the real private key inside (and, carelessly, in a comment). */
export const CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.1/24
ListenPort = 51820
PrivateKey = ${PRIVATE_KEY}
# old key, kept by hand: ${PRIVATE_KEY}

# node-b
[Peer]
PublicKey = ${PEER_B}
PresharedKey = ${PRESHARED_KEY}
Endpoint = 203.0.113.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25
--- end config
end=ok

# node-c
[Peer]
PublicKey = ${PEER_C}
AllowedIPs = 10.0.0.3/32, 10.0.0.4/32
PersistentKeepalive = 25
`

export const UFW_RULES = [
  '22/tcp                     ALLOW IN    Anywhere',
  '51820/udp                  ALLOW IN    Anywhere                   # wgfleet',
  '22/tcp (v6)                ALLOW IN    Anywhere (v6)',
  '51820/udp (v6)             ALLOW IN    Anywhere (v6)              # wgfleet',
  'Anywhere on wg0            ALLOW FWD   Anywhere on wg0            # wgfleet',
  'Anywhere (v6) on wg0       ALLOW FWD   Anywhere (v6) on wg0       # wgfleet',
]

export function doctorHost(): HostSandbox {
  const box = new HostSandbox({installed: ['wg', 'wg-quick', 'ufw', 'firewall-cmd', 'ping']})
  box.write('/etc/wireguard/wg0.conf', CONFIG, 0o600)
  box.write('/etc/wireguard/wg0.key', `${PRIVATE_KEY}\n`, 0o600)
  box.write('/etc/sysctl.d/99-wgfleet.conf', 'net.ipv4.ip_forward = 1\n')
  box.ipForward = '1'
  const host = box.fakes
  host.link('wg0', 'up')
  host.set('default-route', 'default via 203.0.113.254 dev eth0 onlink\n')
  host.set('addr/wg0', '10.0.0.1/24')
  host.dump('wg0', [
    DUMP_INTERFACE_LINE,
    [PEER_B, PRESHARED_KEY, '203.0.113.2:51820', '10.0.0.2/32', NODE_CLOCK - 12, 1234, 5678, 25].join('\t'),
    [PEER_C, '(none)', '198.51.100.1:40000', '10.0.0.3/32,10.0.0.4/32', NODE_CLOCK - 30, 10, 92, 25].join('\t'),
  ])
  host.unit('wg-quick@wg0', {enabled: 'enabled', active: 'active'})
  host.ufw('active', UFW_RULES)
  host.firewalld('running', {
    runtime: [publicZone({interfaces: ['eth0'], ports: ['51820/udp']}), {name: 'trusted', target: 'ACCEPT', interfaces: ['wg0']}],
    permanent: [publicZone(), {name: 'trusted', target: 'ACCEPT'}],
  })
  return box
}
