/**
 * Contract of src/remote/probe.sh with its parser: the real script, run by a real bash in a host sandbox
 * (test/helpers/host-sandbox.ts) against fake wg, ip, systemctl, ufw, firewall-cmd, ...; its output read
 * by the real probeHost/parseProbeOutput. Proves the format the parser reads, that no secret leaves the
 * host (the config masked, the dump's interface line dropped, preshared keys hidden — even under an
 * inherited xtrace), that a config wgfleet wrote reads back exactly as rendered, and that the probe only
 * reads.
 */
import {readdirSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import {decideApply} from '../../../src/tasks/decide.js'
import {probeHost} from '../../../src/tasks/host-steps.js'
import {publicZone} from '../../fixtures/firewall.js'
import {DEBIAN_12} from '../../fixtures/os-release.js'
import {
  DUMP_INTERFACE_LINE,
  LEAKY_CONFIG_LINES,
  LEAKY_CONFIG_MASKED,
  LEAKY_CONFIG_SECRETS,
  NODE_CLOCK,
  PEER_B,
  PEER_C,
  PRESHARED_KEY,
  PRIVATE_KEY,
  PUBLIC_KEY,
} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {convergedNode, filled, NODE_A, withKey} from './node-fixture.js'

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
  box.write('/etc/os-release', DEBIAN_12)
})
afterEach(() => box.destroy())

describe('probe.sh → parseProbeOutput', () => {
  it('a fresh Debian host: apt, nothing of WireGuard yet, systemd, no firewall', async () => {
    box.fakes.uninstall('wg', 'wg-quick')
    box.fakes.install('apt-get')
    const probe = await probeHost(box.shell(), 'wg0')
    expect(probe).toMatchObject({
      os: {id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)'},
      now: NODE_CLOCK,
      packageManager: 'apt',
      has: {wg: false, wgQuick: false, wireguardGo: false, resolvconf: false, iptables: false, nft: false},
      kernelWireguard: false,
      systemd: true,
      epel: false,
      ufw: {state: 'absent'},
      firewalld: {state: 'absent'},
      ipForward: false,
      forwardFile: false,
      key: false,
      interfaceUp: false,
      config: false,
      managed: false,
      pending: false,
    })
    expect(probe.kernel).not.toBe('')
    expect(probe.wireguardDirMode).toBeUndefined()
    expect(probe.configText).toBeUndefined()
    expect(probe.peerDump).toBeUndefined()
  })

  it('a node wgfleet converged: every field the decisions read', async () => {
    convergedNode(box)
    box.fakes.install('ufw', 'dnf')
    box.fakes.uninstall('apt-get')
    box.fakes.set('kernel-wireguard', '')
    box.fakes.ufw('active', [
      '22/tcp                     ALLOW IN    Anywhere',
      '51820/udp                  ALLOW IN    Anywhere                   # wgfleet',
      'Anywhere on wg0            ALLOW FWD   Anywhere on wg0            # wgfleet',
    ])
    box.write('/etc/default/ufw', 'IPV6=yes\nDEFAULT_FORWARD_POLICY="DROP"\n')
    box.write('/etc/sysctl.d/99-wgfleet.conf', 'net.ipv4.ip_forward = 1\n')
    box.write('/etc/yum.repos.d/epel.repo', '[epel]\n')
    box.ipForward = '1'
    box.fakes.set('default-route', 'default via 203.0.113.254 dev eth0 proto static\n')
    const probe = await probeHost(box.shell('node-a', {SSH_CONNECTION: '198.18.0.5 40022 203.0.113.1 22'}), 'wg0')
    expect(probe).toMatchObject({
      packageManager: 'dnf',
      has: {wg: true, wgQuick: true},
      kernelWireguard: true,
      epel: true,
      ufw: {state: 'active', forwardPolicy: 'DROP'},
      ipForward: true,
      forwardFile: true,
      uplink: 'eth0',
      sshClient: '198.18.0.5',
      wireguardDirMode: '700',
      key: true,
      keyMode: '600',
      publicKey: PUBLIC_KEY,
      interfaceUp: true,
      serviceEnabled: 'enabled',
      serviceActive: 'active',
      config: true,
      configMode: '600',
      managed: true,
      pending: false,
    })
    // The running interface's peers, as wg reports them (interface line dropped on the host).
    expect(probe.peerDump!.split('\n').map((l) => l.split('\t').slice(0, 4))).toEqual([
      [PEER_B, '(none)', '198.51.100.11:51820', '10.0.0.2/32'],
      [PEER_C, '(none)', '(none)', '10.0.0.3/32'],
    ])
    // Nothing left to do: the parsed probe drives the decision to "not needed".
    expect(probe.ufw.status).toContain('51820/udp                  ALLOW IN    Anywhere                   # wgfleet')
    expect(decideApply(probe, NODE_A, 51820)).toMatchObject({writeConfig: false, action: 'none', firewall: {firewall: 'ufw', port: 'open', forward: 'allowed', actions: []}, needed: false})
  })

  it('a converged node costs one call of each tool: one `wg show` (the dump: peers and the interface\'s own key), one systemctl, one look at the link', async () => {
    convergedNode(box)
    const probe = await probeHost(box.shell(), 'wg0')
    expect(probe.interfacePublicKey).toBe(PUBLIC_KEY)
    expect(probe.configPublicKey).toBe(PUBLIC_KEY)
    expect(probe.serviceEnabled).toBe('enabled')
    const calls = box.fakes.calls()
    expect(calls.filter((c) => c.startsWith('wg show'))).toEqual(['wg show wg0 dump'])
    expect(calls.filter((c) => c.startsWith('systemctl'))).toHaveLength(1)
    // The config's PrivateKey is the key file's: its public key is computed once, not twice.
    expect(calls.filter((c) => c === 'wg pubkey')).toHaveLength(1)
    expect(calls.filter((c) => / link show dev wg0$/.test(c))).toHaveLength(1)
    expect(calls.filter((c) => c.startsWith('ip ') && c.includes('route'))).toEqual(['ip -4 -o route show table main', 'ip -6 -o route show table main'])
  })

  it('a config wgfleet wrote reads back exactly as rendered (the private key as the marker)', async () => {
    convergedNode(box)
    const probe = await probeHost(box.shell(), 'wg0')
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(NODE_A.config))
    expect(probe.configText).toBe(NODE_A.config)
  })

  it('never prints a secret: the config masked (the leaks doctor.sh had included), the dump filtered', async () => {
    withKey(box)
    box.write('/etc/wireguard/wg0.conf', [...LEAKY_CONFIG_LINES, '--- end config', 'pubkey=planted'].join('\n') + '\n', 0o600)
    box.fakes.link('wg0', 'up')
    box.fakes.dump('wg0', [DUMP_INTERFACE_LINE, [PEER_B, PRESHARED_KEY, '203.0.113.2:51820', '10.0.0.2/32', NODE_CLOCK - 5, 1, 2, 25].join('\t')])
    const shell = box.shell()
    const probe = await probeHost(shell, 'wg0')
    const {stdout, stderr} = shell.runs[0]!.result
    for (const secret of LEAKY_CONFIG_SECRETS) expect(stdout + stderr).not.toContain(secret)
    expect(probe.configText).toBe([...LEAKY_CONFIG_MASKED, '# (line starting with -- hidden)', 'pubkey=planted', ''].join('\n'))
    // A config line cannot pose as a probe value.
    expect(probe.publicKey).toBe(PUBLIC_KEY)
    expect(probe.peerDump).toBe([PEER_B, '(hidden)', '203.0.113.2:51820', '10.0.0.2/32', NODE_CLOCK - 5, 1, 2, 25].join('\t'))
    // The fakes really handed the secrets over: the script had them and dropped them.
    expect(box.fakes.calls()).toContain('wg show wg0 dump')
  })

  it('an inherited xtrace (SHELLOPTS=xtrace) prints no secret', async () => {
    convergedNode(box)
    box.fakes.dump('wg0', [DUMP_INTERFACE_LINE, [PEER_B, PRESHARED_KEY, '(none)', '10.0.0.2/32', 0, 0, 0, 'off'].join('\t')])
    const run = box.run(loadScript('probe'), ['wg0'], {env: {SHELLOPTS: 'xtrace'}})
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('+ set +xv') // xtrace was on until the script's first command
    for (const secret of [PRIVATE_KEY, PRESHARED_KEY]) expect(run.stdout + run.stderr).not.toContain(secret)
  })

  it('firewalld: its zones and policies, runtime and permanent, and the definitions of the services in use', async () => {
    box.fakes.install('firewall-cmd')
    box.fakes.firewalld('running', {
      runtime: [publicZone({interfaces: ['eth0'], ports: ['51820/udp', '22/tcp']}), {name: 'trusted', target: 'ACCEPT', interfaces: ['wg0']}],
      permanent: [publicZone({ports: ['51820/udp']}), {name: 'trusted', target: 'ACCEPT'}],
    })
    const probe = await probeHost(box.shell(), 'wg0')
    expect(probe.firewalld).toMatchObject({state: 'running', defaultZone: 'public'})
    expect(probe.firewalld.runtime.zones.map((z) => [z.name, z.interfaces, z.ports])).toEqual([
      ['public', ['eth0'], ['51820/udp', '22/tcp']],
      ['trusted', ['wg0'], []],
    ])
    expect(probe.firewalld.permanent.zones.map((z) => [z.name, z.interfaces, z.ports])).toEqual([
      ['public', [], ['51820/udp']],
      ['trusted', [], []],
    ])
    expect(probe.firewalld.permanent.policies!.map((p) => p.name)).toEqual(['allow-host-ipv6'])
    expect(probe.firewalld.services.map((s) => [s.name, s.ports])).toEqual([['dhcpv6-client', ['546/udp']], ['ssh', ['22/tcp']]])
  })

  it('an apply cut off before it updated the interface: pending', async () => {
    convergedNode(box)
    box.write('/etc/wireguard/.wg0.pending', '')
    expect((await probeHost(box.shell(), 'wg0')).pending).toBe(true)
  })

  it('route_listing: the main table\'s unicast routes, for the subnet verdict (types skipped, odd names dropped by the parser)', async () => {
    box.fakes.set(
      'route-table',
      [
        'default via 203.0.113.254 dev eth0 proto static',
        '198.19.1.0/24 dev eth1 proto kernel scope link src 198.19.1.1',
        'blackhole 198.18.0.0/16',
        'unicast 198.19.2.0/24 via 198.19.1.254 dev eth1',
        '198.19.3.0/24 dev $(id) scope link',
        '198.19.4.9 dev eth2 scope link',
      ].join('\n') + '\n',
    )
    const probe = await probeHost(box.shell(), 'wg0')
    // The fake ip prints the same table for -4 and -6: as IPv6 lines its IPv4 prefixes are dropped (its
    // `default` reads as ::/0).
    expect(probe.routes?.map((r) => [r.destination.text, r.iface])).toEqual([
      ['0.0.0.0/0', 'eth0'],
      ['198.19.1.0/24', 'eth1'],
      ['198.19.2.0/24', 'eth1'],
      ['198.19.4.9/32', 'eth2'],
      ['::/0', 'eth0'],
    ])
  })

  it('only reads, and leaves nothing behind', async () => {
    convergedNode(box)
    box.fakes.install('ufw', 'firewall-cmd')
    box.fakes.ufw('active')
    box.fakes.firewalld('running')
    const etcBefore = readdirSync(box.outside('/etc/wireguard'))
    await probeHost(box.shell(), 'wg0')
    const readOnly = [
      /^modinfo wireguard$/,
      /^ufw status verbose$/,
      /^firewall-cmd (--state|--get-default-zone|(--permanent )?--list-all-(zones|policies)|--info-service=[a-z0-9-]+)$/,
      /^ip (-4 route show default|link show dev wg0|-j -d link show dev wg0|-[46] route show default dev wg0|-[46] -o route show table main)$/,
      /^wg (pubkey|show wg0|show wg0 (dump|public-key))$/,
      /^systemctl show -p UnitFileState -p ActiveState wg-quick@wg0$/,
    ]
    expect(box.fakes.calls().filter((c) => !readOnly.some((re) => re.test(c)))).toEqual([])
    expect(readdirSync(box.outside('/etc/wireguard'))).toEqual(etcBefore)
    expect(readdirSync(box.outside('/tmp/'))).toEqual([])
  })
})
