/**
 * Contract of probe.sh's real output on each Debian release the lab runs (test/fixtures/releases/,
 * captured by test/lab/capture-release-fixtures from `lab up --scenario mixed`: before `init` and after
 * it) with parseProbeOutput and decideInstall: what each release reports (os-release, package manager,
 * systemd or not, ufw / firewalld listings) parses into the facts wgfleet decides from, and the versions
 * files hold the package versions the README's release table names.
 */
import {firewallNeedsOf, firewallVerdict} from '../../../src/firewall/verdict.js'
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

import {parseProbeOutput} from '../../../src/remote/probe.js'
import {decideInstall, osFamily} from '../../../src/tasks/decide.js'

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/releases')
type Host = 'debian-11' | 'debian-12-ufw' | 'debian-13-firewalld' | 'debian-13-nat' | 'debian-13-no-systemd'
const HOSTS: readonly Host[] = ['debian-11', 'debian-12-ufw', 'debian-13-firewalld', 'debian-13-nat', 'debian-13-no-systemd']

function probe(host: Host, stage: 'fresh' | 'converged') {
  return parseProbeOutput(readFileSync(join(DIR, `${host}.probe.${stage}.txt`), 'utf8'))
}

/** `dpkg-query -W` lines of a versions file: package → version ('' when not installed). */
function packages(host: Host, stage: 'fresh' | 'converged'): Record<string, string> {
  const text = readFileSync(join(DIR, `${host}.versions.${stage}.txt`), 'utf8')
  const section = text.split('=== dpkg-query\n')[1]!.split('\n=== ')[0]!
  return Object.fromEntries(
    section
      .split('\n')
      .filter((l) => /^[a-z0-9][a-z0-9+.-]* ?/.test(l) && !l.startsWith('dpkg-query:'))
      .map((l) => [l.split(' ')[0]!, l.split(' ')[1] ?? '']),
  )
}

const RELEASE: Record<Host, {versionId: string; codename: string}> = {
  'debian-11': {versionId: '11', codename: 'bullseye'},
  'debian-12-ufw': {versionId: '12', codename: 'bookworm'},
  'debian-13-firewalld': {versionId: '13', codename: 'trixie'},
  'debian-13-nat': {versionId: '13', codename: 'trixie'},
  'debian-13-no-systemd': {versionId: '13', codename: 'trixie'},
}

/** What the relay (relay-12) and a public node (fw-13) of the mixed lab need from their firewalls. */
const RELAY = firewallNeedsOf({interface: 'wg0', forwarding: true, masquerade: false, endpoint: '203.0.113.1:51820'}, 51820, 'eth0')
const PUBLIC = firewallNeedsOf({interface: 'wg0', forwarding: false, masquerade: false, endpoint: '203.0.113.2:51820'}, 51820, 'eth0')

describe('each release, fresh (no WireGuard): the probe parses into what init decides from', () => {
  it.each(HOSTS)('%s: Debian of its release, apt, no WireGuard module, nothing of WireGuard yet', (host) => {
    const p = probe(host, 'fresh')
    expect(p.os).toMatchObject({id: 'debian', versionId: RELEASE[host].versionId})
    expect(p.os.prettyName).toContain(`(${RELEASE[host].codename})`)
    expect(osFamily(p)).toBe('debian')
    expect(p.packageManager).toBe('apt')
    expect(p.kernelWireguard).toBe(false)
    expect(p.has).toMatchObject({wg: false, wgQuick: false, wireguardGo: false})
    expect(p.systemd).toBe(host !== 'debian-13-no-systemd')
    expect({key: p.key, config: p.config, interfaceUp: p.interfaceUp}).toEqual({key: false, config: false, interfaceUp: false})
    // Every release gets the same two packages asked for; Debian 11 lacks wireguard-go (prepare.sh refuses it).
    expect(decideInstall(p, {dns: false, firewallTools: false}).packages).toEqual(['wireguard-tools', 'wireguard-go'])
  })

  it('the firewalls as the lab sets them up: ufw active with SSH only (Debian 12), firewalld running in zone public (Debian 13) — the verdict: the port closed, forwarding blocked', () => {
    const ufw = probe('debian-12-ufw', 'fresh')
    expect({ufw: ufw.ufw.state, firewalld: ufw.firewalld.state}).toEqual({ufw: 'active', firewalld: 'absent'})
    expect(firewallVerdict(ufw, RELAY)).toMatchObject({firewall: 'ufw', port: 'closed', forward: 'blocked', blocker: null})
    const fw = probe('debian-13-firewalld', 'fresh')
    expect({ufw: fw.ufw.state, firewalld: fw.firewalld.state}).toEqual({ufw: 'absent', firewalld: 'running'})
    expect(firewallVerdict(fw, PUBLIC)).toMatchObject({firewall: 'firewalld', port: 'closed', blocker: null})
  })
})

describe('each release, converged by init', () => {
  it.each(HOSTS.filter((h) => h !== 'debian-11'))('%s: wireguard-go running from its config, nothing left to install', (host) => {
    const p = probe(host, 'converged')
    expect(p.has).toMatchObject({wg: true, wgQuick: true, wireguardGo: true})
    expect(p).toMatchObject({key: true, keyMode: '600', config: true, configMode: '600', managed: true, pending: false, interfaceUp: true})
    expect(p.interfaceLink).toEqual({kind: 'tun', wireguard: true, defaultRoute: false})
    expect(p.interfacePublicKey).toBe(p.publicKey)
    expect(p.configPublicKey).toBe(p.publicKey)
    expect(p.configText).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    expect(p.peerDump?.split('\n')).toHaveLength(3)
    expect(decideInstall(p, {dns: false, firewallTools: false}).packages).toEqual([])
  })

  it('systemd hosts report wg-quick@wg0 enabled and active; the host without systemd reports no unit at all', () => {
    for (const host of ['debian-12-ufw', 'debian-13-firewalld', 'debian-13-nat'] as const) {
      expect(probe(host, 'converged'), host).toMatchObject({systemd: true, serviceEnabled: 'enabled', serviceActive: 'active'})
    }
    const bare = probe('debian-13-no-systemd', 'converged')
    expect(bare.systemd).toBe(false)
    expect(bare.serviceEnabled).toBeUndefined()
    expect(bare.serviceActive).toBeUndefined()
  })

  it('after init, the verdict on the real listings: ufw (Debian 12) lets the port in and forwards for the relay; firewalld 2.3 (Debian 13) has the port open, runtime and permanent; nothing left to do', () => {
    const ufw = probe('debian-12-ufw', 'converged')
    expect(ufw).toMatchObject({ipForward: true, forwardFile: true})
    expect(firewallVerdict(ufw, RELAY)).toMatchObject({firewall: 'ufw', port: 'open', forward: 'allowed', actions: [], blocker: null})
    expect(firewallVerdict(probe('debian-13-firewalld', 'converged'), PUBLIC)).toMatchObject({firewall: 'firewalld', port: 'open', actions: [], blocker: null})
  })

  it('Debian 11 was refused before anything was installed: converged is fresh', () => {
    const p = probe('debian-11', 'converged')
    expect(p.has).toMatchObject({wg: false, wgQuick: false, wireguardGo: false})
    expect({key: p.key, config: p.config}).toEqual({key: false, config: false})
  })
})

describe('the versions each release ships (the README release table)', () => {
  it('wireguard-tools, wireguard-go, systemd, firewalld and OpenSSH per release', () => {
    expect(packages('debian-11', 'converged')).toMatchObject({systemd: '247.3-7+deb11u8', 'openssh-server': '1:8.4p1-5+deb11u7'})
    expect(packages('debian-11', 'converged')['wireguard-tools']).toBeUndefined()
    expect(packages('debian-12-ufw', 'converged')).toMatchObject({'wireguard-tools': '1.0.20210914-1+b1', 'wireguard-go': '0.0.20220316-1+b4', ufw: '0.36.2-1'})
    expect(packages('debian-13-firewalld', 'converged')).toMatchObject({
      'wireguard-tools': '1.0.20210914-3',
      'wireguard-go': '0.0.20231211-1+b9',
      firewalld: '2.3.1-1+deb13u1',
      'openssh-server': '1:10.0p1-7+deb13u4',
    })
    expect(packages('debian-13-firewalld', 'converged').systemd).toMatch(/^257\./)
  })
})
