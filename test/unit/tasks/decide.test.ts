import {describe, expect, it} from 'vitest'

import type {NodePlan} from '../../../src/plan/model.js'
import {parseProbeOutput} from '../../../src/remote/probe.js'
import {decideApply, decideInstall, osFamily} from '../../../src/tasks/decide.js'
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

function nodePlan(config = CONFIG, over: Partial<NodePlan> = {}): NodePlan {
  return {
    name: 'node-b', address: '10.0.0.2/24', endpoint: '203.0.113.2:51820', listenPort: 51820, interface: 'wg0',
    forwarding: false, masquerade: false, fullTunnel: false, peers: [], relayed: [], config, ...over,
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
