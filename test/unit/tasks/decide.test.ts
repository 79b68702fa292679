import {describe, expect, it} from 'vitest'

import type {NodePlan} from '../../../src/plan/model.js'
import {parseProbeOutput} from '../../../src/remote/probe.js'
import {assertHostIsSafe, decideApply, decideInstall, hostRefusal, HostRefused, type HostTarget, osFamily} from '../../../src/tasks/decide.js'
import {NodeFailure} from '../../../src/lib/errors.js'
import {ALMALINUX_8, CENTOS_STREAM_9, DEBIAN_12, FEDORA_41, RHEL_8, ROCKY_9, UBUNTU_2404} from '../../fixtures/os-release.js'
import {publicZone, ufwRow} from '../../fixtures/firewall.js'
import {probeOutput, type ProbeFields} from '../../fixtures/probe.js'

const probe = (f: ProbeFields) => parseProbeOutput(probeOutput(f))
const none = {dns: false, firewallTools: false}

describe('decideInstall', () => {
  it.each([
    ['Debian 12', DEBIAN_12, 'debian'],
    ['Ubuntu 24.04', UBUNTU_2404, 'debian'],
    ['Fedora 41', FEDORA_41, 'fedora'],
    ['Rocky 9', ROCKY_9, 'el'],
    ['AlmaLinux 8', ALMALINUX_8, 'el'],
    ['CentOS Stream 9', CENTOS_STREAM_9, 'el'],
    ['RHEL 8', RHEL_8, 'el'],
  ])('%s is of the %s family', (_n, osRelease, family) => {
    expect(osFamily(probe({osRelease}))).toBe(family)
  })

  it('Debian without a kernel module: wireguard-tools and the userspace wireguard-go', () => {
    expect(decideInstall(probe({osRelease: DEBIAN_12}), none)).toEqual({packages: ['wireguard-tools', 'wireguard-go'], implementation: 'userspace'})
  })

  it('Ubuntu with the kernel module: only wireguard-tools', () => {
    expect(decideInstall(probe({osRelease: UBUNTU_2404, kernelWireguard: true}), none)).toEqual({packages: ['wireguard-tools'], implementation: 'kernel'})
  })

  it('nothing when everything is present', () => {
    expect(decideInstall(probe({wg: true, kernelWireguard: true}), none).packages).toEqual([])
    expect(decideInstall(probe({wg: true, wireguardGo: true}), none)).toEqual({packages: [], implementation: 'userspace'})
  })

  it('Fedora and EL9 install wireguard-tools with dnf', () => {
    for (const osRelease of [FEDORA_41, ROCKY_9, CENTOS_STREAM_9]) {
      expect(decideInstall(probe({osRelease, pkg: 'dnf', kernelWireguard: true}), none).packages).toEqual(['wireguard-tools'])
    }
  })

  it('EL8 without EPEL: a clear error naming EPEL', () => {
    for (const osRelease of [ALMALINUX_8, RHEL_8]) {
      expect(() => decideInstall(probe({osRelease, pkg: 'dnf', kernelWireguard: true}), none)).toThrow(/EPEL/)
    }
  })

  it('EL8 with EPEL installs wireguard-tools', () => {
    expect(decideInstall(probe({osRelease: ALMALINUX_8, pkg: 'dnf', kernelWireguard: true, epel: true}), none).packages).toEqual(['wireguard-tools'])
  })

  it('Fedora/EL without a kernel module: an error (no wireguard-go package there)', () => {
    expect(() => decideInstall(probe({osRelease: ROCKY_9, pkg: 'dnf'}), none)).toThrow(/wireguard-go/)
  })

  it('dns needs resolvconf: openresolv on Debian, systemd-resolved on dnf', () => {
    expect(decideInstall(probe({wg: true, kernelWireguard: true}), {dns: true, firewallTools: false}).packages).toEqual(['openresolv'])
    expect(decideInstall(probe({osRelease: FEDORA_41, pkg: 'dnf', wg: true, kernelWireguard: true}), {dns: true, firewallTools: false}).packages).toEqual(['systemd-resolved'])
  })

  it('exit_via needs iptables (iptables-nft on dnf, iptables on EL8)', () => {
    const needs = {dns: false, firewallTools: true}
    expect(decideInstall(probe({wg: true, kernelWireguard: true}), needs).packages).toEqual(['iptables'])
    expect(decideInstall(probe({osRelease: ROCKY_9, pkg: 'dnf', wg: true, kernelWireguard: true}), needs).packages).toEqual(['iptables-nft'])
    expect(decideInstall(probe({osRelease: ALMALINUX_8, pkg: 'dnf', wg: true, kernelWireguard: true, epel: true}), needs).packages).toEqual(['iptables'])
  })

  it('no package manager and something missing: an error', () => {
    expect(() => decideInstall(probe({pkg: 'none'}), none)).toThrow(/no apt, dnf or yum/)
  })
})

const CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.2/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.0.0.1/32
PersistentKeepalive = 25
`

/** The plan CONFIG is rendered from: one peer, node-a. */
const PEER_A = {name: 'node-a', publicKey: 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=', endpoint: '203.0.113.1:51820', allowedIps: ['10.0.0.1/32'], keepalive: 25, via: 'direct', relays: [], exit: false} as const

function nodePlan(config = CONFIG, over: Partial<NodePlan> = {}): NodePlan {
  return {
    name: 'node-b', address: '10.0.0.2/24', endpoint: '203.0.113.2:51820', listenPort: 51820, interface: 'wg0',
    forwarding: false, masquerade: false, fullTunnel: false, peers: [{...PEER_A, allowedIps: [...PEER_A.allowedIps], relays: []}], relayed: [], config, ...over,
  } as NodePlan
}

const converged: ProbeFields = {
  wg: true, wireguardGo: true, key: true, pubkey: 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=', ifaceUp: true,
  serviceEnabled: 'enabled', serviceActive: 'active', config: CONFIG,
}

describe('decideApply', () => {
  it('a converged host needs nothing', () => {
    expect(decideApply(probe(converged), nodePlan(), 51820).needed).toBe(false)
  })

  it('a fresh host: write, enable, start', () => {
    const d = decideApply(probe({wg: true, key: true, pubkey: converged.pubkey}), nodePlan(), 51820)
    expect(d).toMatchObject({writeConfig: true, configChange: 'new', action: 'start', enable: true, needed: true})
  })

  it('only a peer changed on a running interface: syncconf, no restart', () => {
    const d = decideApply(probe(converged), nodePlan(CONFIG + '\n# node-c\n[Peer]\nPublicKey = Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=\nAllowedIPs = 10.0.0.3/32\n'), 51820)
    expect(d).toMatchObject({writeConfig: true, configChange: 'peers', action: 'syncconf'})
  })

  it('the interface itself changed (port): restart', () => {
    const d = decideApply(probe(converged), nodePlan(CONFIG.replace('ListenPort = 51820', 'ListenPort = 51821')), 51821)
    expect(d).toMatchObject({configChange: 'interface', action: 'restart'})
  })

  it('the interface is down with the right config: start only', () => {
    const d = decideApply(probe({...converged, ifaceUp: false, serviceActive: 'failed'}), nodePlan(), 51820)
    expect(d).toMatchObject({writeConfig: false, action: 'start'})
  })

  it('a config holding another private key than the key file: written again from the key file, interface (re)started', () => {
    const other = 'CUVmuCqSMnAIGcynv1bFuM8gOzOCnUK3CWLQB9S7sFs='
    const stale = probe({...converged, configPubkey: other})
    expect(decideApply(stale, nodePlan(), 51820, converged.pubkey)).toMatchObject({writeConfig: true, configChange: 'interface', action: 'restart', needed: true})
    expect(decideApply(probe({...converged, configPubkey: other, ifaceUp: false}), nodePlan(), 51820, converged.pubkey)).toMatchObject({writeConfig: true, action: 'start'})
    expect(decideApply(probe({...converged, configPubkey: converged.pubkey}), nodePlan(), 51820, converged.pubkey).needed).toBe(false)
  })

  it('ufw active without the port: open it; firewalld likewise (runtime and permanent, in the default zone); inactive firewall: untouched', () => {
    expect(decideApply(probe({...converged, ufw: 'active'}), nodePlan(), 51820).firewall.actions).toEqual([{kind: 'ufw-allow', port: 51820}])
    const opened = [ufwRow('22/tcp', 'ALLOW IN', 'Anywhere'), ufwRow('51820/udp', 'ALLOW IN', 'Anywhere', 'wgfleet')]
    expect(decideApply(probe({...converged, ufw: 'active', ufwRows: opened}), nodePlan(), 51820).needed).toBe(false)
    expect(decideApply(probe({...converged, firewalld: 'running'}), nodePlan(), 51820).firewall.actions).toEqual([
      {kind: 'firewalld-port', zone: 'public', port: 51820, runtime: true, permanent: true},
    ])
    expect(decideApply(probe({...converged, ufw: 'inactive'}), nodePlan(), 51820).needed).toBe(false)
  })

  it('the port opened by hand as a ufw range, or by firewalld\'s wireguard service: nothing to do (as doctor judges it)', () => {
    const range = [ufwRow('22/tcp', 'ALLOW IN', 'Anywhere'), ufwRow('51800:51900/udp', 'ALLOW IN', 'Anywhere')]
    expect(decideApply(probe({...converged, ufw: 'active', ufwRows: range}), nodePlan(), 51820).needed).toBe(false)
    const service = {runtime: [publicZone({services: ['dhcpv6-client', 'ssh', 'wireguard']})]}
    expect(decideApply(probe({...converged, firewalld: 'running', firewalldSpec: service}), nodePlan(), 51820).needed).toBe(false)
  })

  it('a firewalld relay: its own zone (not the trusted zone), loaded by a reload', () => {
    const relay = nodePlan(CONFIG, {forwarding: true})
    const open = {runtime: [publicZone({ports: ['51820/udp']})]}
    const d = decideApply(probe({...converged, ipForward: true, forwardFile: true, firewalld: 'running', firewalldSpec: open}), relay, 51820)
    expect(d.firewall.actions.map((a) => a.kind)).toEqual(['firewalld-new-zone', 'firewalld-zone-forward', 'firewalld-interface', 'firewalld-reload'])
    expect(JSON.stringify(d.firewall.actions)).not.toContain('trusted')
  })

  it('a firewalld relay whose interface sits in a zone wgfleet did not create, which does not forward: the node fails, saying so', () => {
    const relay = nodePlan(CONFIG, {forwarding: true})
    const spec = {runtime: [publicZone({ports: ['51820/udp']}), {name: 'internal', interfaces: ['wg0'], forward: false}]}
    expect(() => decideApply(probe({...converged, ipForward: true, forwardFile: true, firewalld: 'running', firewalldSpec: spec}), relay, 51820)).toThrow(/wg0 is in firewalld zone internal/)
  })

  it('a relay needs persistent forwarding', () => {
    const relay = nodePlan(CONFIG, {forwarding: true})
    expect(decideApply(probe(converged), relay, 51820)).toMatchObject({forward: true, needed: true})
    expect(decideApply(probe({...converged, ipForward: true, forwardFile: true}), relay, 51820).needed).toBe(false)
  })

  it('wrong modes on the key or the config are fixed', () => {
    expect(decideApply(probe({...converged, modes: {key: '644'}}), nodePlan(), 51820)).toMatchObject({permissions: true, needed: true})
  })

  it('the running interface lacks a peer the config file has (an interrupted run): syncconf, no rewrite', () => {
    const dump = (keys: string[]) => keys.map((k) => `${k}\t(none)\t203.0.113.1:51820\t10.0.0.1/32\t0\t0\t0\t25`).join('\n')
    expect(decideApply(probe({...converged, peers: dump([])}), nodePlan(), 51820)).toMatchObject({writeConfig: false, action: 'syncconf'})
    expect(decideApply(probe({...converged, peers: dump(['YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE='])}), nodePlan(), 51820).needed).toBe(false)
  })

  it('an earlier apply cut off after writing the file (pending marker): restart from the file', () => {
    const out = probeOutput(converged).replace('config=yes', 'pending=yes\nconfig=yes')
    expect(decideApply(parseProbeOutput(out), nodePlan(), 51820)).toMatchObject({writeConfig: false, action: 'restart', needed: true})
  })

  it('the masked private key on the host equals the marker: no change', () => {
    // probe.sh masks the real key to the marker on the host; the rendered config carries the marker.
    expect(decideApply(probe(converged), nodePlan(), 51820).configChange).toBe('none')
  })
})

describe('hostRefusal: what wgfleet must never do to a host', () => {
  const target: HostTarget = {iface: 'wg0', overlay: '10.0.0.0/24', fullTunnel: false}
  const up = (link: ProbeFields['link'], more: ProbeFields = {}) => probe({wg: true, key: true, ifaceUp: true, link, ...more})

  it('a fresh host, and wgfleet\'s own WireGuard interface (kernel, or a wireguard-go tun wg answers for): no refusal', () => {
    expect(hostRefusal(probe({}), target)).toBeUndefined()
    expect(hostRefusal(up({kind: 'wireguard', wireguard: true}), target)).toBeUndefined()
    expect(hostRefusal(up({kind: 'tun', wireguard: true}), target)).toBeUndefined()
  })

  it.each([
    ['a bridge (interface = br0)', 'br0', 'bridge', /br0 already exists on this host and is a bridge link, not a WireGuard interface/],
    ['a VLAN', 'eth0.10', 'vlan', /is a vlan link, not a WireGuard interface/],
    ['a bond', 'bond0', 'bond', /is a bond link/],
    ['a NIC (no link kind)', 'eth0', 'device', /eth0 already exists on this host and is a network device, not a WireGuard interface/],
    ['a tun that wg does not answer for', 'tun0', 'tun', /is a tun link, not a WireGuard interface/],
    ['a link the probe could not describe', 'x0', 'unknown', /is a link of unknown kind/],
  ])('an existing link that is not WireGuard is refused: %s', (_what, iface, kind, message) => {
    const p = up({kind, wireguard: false})
    expect(hostRefusal(p, {...target, iface})).toEqual({reason: 'not-wireguard', iface, kind})
    expect(() => assertHostIsSafe(p, {...target, iface})).toThrow(message)
  })

  it('a link carrying the main table\'s default route is refused, even a WireGuard one', () => {
    expect(hostRefusal(up({kind: 'veth', wireguard: false, defaultRoute: true}), {...target, iface: 'eth0'})).toEqual({reason: 'not-wireguard', iface: 'eth0', kind: 'veth'})
    expect(hostRefusal(up({kind: 'wireguard', wireguard: true, defaultRoute: true}), target)).toEqual({reason: 'default-route', iface: 'wg0'})
  })

  it('an exit_via node\'s own wg0 (its 0.0.0.0/0 lives in wg-quick\'s table, not the main one) is not refused', () => {
    expect(hostRefusal(up({kind: 'tun', wireguard: true, defaultRoute: false}), {...target, fullTunnel: true})).toBeUndefined()
  })

  it('the refusal is a NodeFailure (that node only) with a hint to choose another interface', () => {
    let thrown: unknown
    try {
      assertHostIsSafe(up({kind: 'bridge', wireguard: false}), {...target, iface: 'br0'})
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(HostRefused)
    expect(thrown).toBeInstanceOf(NodeFailure)
    expect((thrown as HostRefused).refusal.reason).toBe('not-wireguard')
    expect((thrown as HostRefused).hint).toMatch(/choose another `interface` in \[network\]/)
  })

  it('an SSH session from inside the overlay is refused (IPv4-mapped too); from outside it, not', () => {
    expect(hostRefusal(probe({sshClient: '10.0.0.50'}), target)).toEqual({reason: 'ssh-client-in-overlay', address: '10.0.0.50', overlay: '10.0.0.0/24'})
    expect(hostRefusal(probe({sshClient: '::ffff:10.0.0.7'}), target)).toMatchObject({reason: 'ssh-client-in-overlay'})
    expect(() => assertHostIsSafe(probe({sshClient: '10.0.0.50'}), target)).toThrow(/SSH session comes from 10\.0\.0\.50, inside the overlay 10\.0\.0\.0\/24/)
    for (const sshClient of ['10.0.1.50', '203.0.113.100', '2001:db8::1', 'garbage']) expect(hostRefusal(probe({sshClient}), target)).toBeUndefined()
  })

  it('an uplink address inside the overlay is refused', () => {
    const p = probe({uplink: 'ens3', uplinkAddresses: ['203.0.113.7', '10.0.0.9']})
    expect(hostRefusal(p, target)).toEqual({reason: 'uplink-in-overlay', address: '10.0.0.9', uplink: 'ens3', overlay: '10.0.0.0/24'})
    expect(() => assertHostIsSafe(p, target)).toThrow(/own address 10\.0\.0\.9 \(on ens3\) is inside the overlay/)
    expect(hostRefusal(probe({uplink: 'ens3', uplinkAddresses: ['10.0.1.9']}), target)).toBeUndefined()
  })

  it('exit_via with an uplink that has no IPv4 address is refused (SSH replies could not be kept off the tunnel)', () => {
    const p = probe({uplink: 'ppp0', uplinkAddresses: []})
    expect(hostRefusal(p, {...target, fullTunnel: true})).toEqual({reason: 'uplink-without-address', uplink: 'ppp0'})
    expect(hostRefusal(p, target)).toBeUndefined()
  })

  it('host-printed addresses that are not IPv4 never reach a decision (or a message)', () => {
    const p = probe({uplink: 'eth0', uplinkAddresses: ['10.0.0.9;reboot', '\u001b]52;c;x\u0007', '010.0.0.9']})
    expect(p.uplinkAddresses).toEqual([])
    expect(hostRefusal(p, target)).toBeUndefined()
  })
})

describe('site-to-site subnets: forwarding, the firewall rule out to the subnet, the SSH client', () => {
  const ROUTES = ['4 default eth0', '4 198.19.1.0/24 eth1', '6 fd10:1::/64 eth1']
  const subnetNode = (over: Partial<NodePlan> = {}) => nodePlan(CONFIG, {subnets: ['198.19.1.0/24'], subnetSnat: true, ...over})

  it('a subnet node that is no relay forwards (IPv4 only), and ufw routes wg0 out to the subnet\'s interface', () => {
    const d = decideApply(probe({...converged, ufw: 'active', ufwRows: [ufwRow('51820/udp', 'ALLOW IN', 'Anywhere', 'wgfleet')], routes: ROUTES}), subnetNode(), 51820)
    expect(d).toMatchObject({forward: true, forward6: false, needed: true})
    expect(d.firewall.actions).toEqual([{kind: 'ufw-route', in: 'wg0', out: 'eth1'}])
  })

  it('dual stack with IPv4 subnets only: no IPv6 forwarding; an IPv6 subnet turns it on', () => {
    expect(decideApply(probe({...converged, routes: ROUTES}), subnetNode({address6: 'fd42:42::2/64'}), 51820).forward6).toBe(false)
    expect(decideApply(probe({...converged, routes: ROUTES}), subnetNode({address6: 'fd42:42::2/64', subnets: ['198.19.1.0/24', 'fd10:1::/64']}), 51820)).toMatchObject({forward: true, forward6: true})
  })

  it('forwarding already on and persistent, rule there: nothing to do', () => {
    const rows = [ufwRow('51820/udp', 'ALLOW IN', 'Anywhere', 'wgfleet'), '', ufwRow('Anywhere on eth1', 'ALLOW FWD', 'Anywhere on wg0', 'wgfleet')]
    expect(decideApply(probe({...converged, ufw: 'active', ufwRows: rows, routes: ROUTES, ipForward: true, forwardFile: true}), subnetNode(), 51820).needed).toBe(false)
  })

  it('a subnet with no route on the host: the node fails, naming it', () => {
    expect(() => decideApply(probe({...converged, routes: ['4 198.19.7.0/24 eth1']}), subnetNode(), 51820)).toThrow(/subnet 198\.19\.1\.0\/24 has no route on this host/)
  })

  it('an SSH session from inside another node\'s subnet is refused (its replies would go into the tunnel); from inside the node\'s own, not', () => {
    const target: HostTarget = {iface: 'wg0', overlay: '10.0.0.0/24', fullTunnel: false, routedSubnets: [{subnet: '198.19.1.0/24', owner: 'node-a'}]}
    const refusal = hostRefusal(probe({sshClient: '198.19.1.50'}), target)
    expect(refusal).toEqual({reason: 'ssh-client-in-subnet', address: '198.19.1.50', subnet: '198.19.1.0/24', owner: 'node-a'})
    expect(() => assertHostIsSafe(probe({sshClient: '198.19.1.50'}), target)).toThrow(/inside 198\.19\.1\.0\/24, a subnet of node-a/)
    expect(hostRefusal(probe({sshClient: '198.19.2.50'}), target)).toBeUndefined()
    expect(hostRefusal(probe({sshClient: '198.19.1.50'}), {...target, routedSubnets: []})).toBeUndefined()
  })
})
