/**
 * The doctor's checklist (pure): a healthy 4-node relay fleet like the lab yields nothing; each test
 * breaks one thing and asserts the exact finding — node, check, severity — and that nothing else is said.
 */
import {describe, expect, it} from 'vitest'

import {CHECKS, diagnoseFleet, doctorExitCode, type Finding} from '../../../src/judges/doctor/index.js'
import {type DoctorReading} from '../../../src/remote/doctor.js'
import {hostsBlockDigest, planFleet} from '../../../src/plan/index.js'
import {firewalldReading, publicZone, ufwReading, ufwRow, ufwStatus} from '../../fixtures/firewall.js'
import {parseRoutes} from '../../../src/firewall/routes.js'
import {fleet} from '../plan/fixtures.js'
import {healthyReading, healthyReadings, KEYS, LAB_FLEET, labPlan, livePeer, NAMES, NOW, outcomes, STRANGER, UFW_ACTIVE, WRONG_KEY, type Readings} from './fixtures.js'

const plan = labPlan()

function diagnose(readings: Partial<Readings> | Map<string, unknown>, options: {staleAfterSeconds?: number} = {}): Finding[] {
  const map = readings instanceof Map ? (readings as ReturnType<typeof outcomes>) : outcomes(readings)
  return diagnoseFleet(plan, map, {names: NAMES, ...options})
}

/** node / check / severity (/ peer) of every finding, in order. */
const brief = (findings: Finding[]) => findings.map((f) => [f.node, f.check, f.severity, ...(f.peer ? [f.peer] : [])])

/** Replace a key everywhere in a config text and in the live peers (what `wg syncconf` after an edit gives). */
function replaceKey(r: DoctorReading, from: string, to: string, where: {config?: boolean; live?: boolean} = {config: true, live: true}): void {
  if (where.config) r.config = r.config!.split(from).join(to)
  if (where.live) {
    const p = livePeer(r, from)
    p.publicKey = to
    p.latestHandshake = 0
  }
}

/** Make the handshakes between two nodes fail (both sides see them as `never`). */
function breakHandshakes(r: Readings, a: keyof Readings, b: keyof Readings): void {
  livePeer(r[a], KEYS[b]).latestHandshake = 0
  livePeer(r[b], KEYS[a]).latestHandshake = 0
}

describe('diagnoseFleet: the healthy lab fleet', () => {
  it('no findings, exit 0 — with the relay case (node-c has no node-d peer on purpose) and roamed NAT endpoints', () => {
    const findings = diagnose(healthyReadings())
    expect(findings).toEqual([])
    expect(doctorExitCode(findings)).toBe(0)
  })

  it('an endpoint a NAT-ed peer roamed to is not drift', () => {
    const r = healthyReadings()
    livePeer(r['node-a'], KEYS['node-c']).endpoint = '203.0.113.77:61000'
    expect(diagnose(r)).toEqual([])
  })

  it('node clocks far apart do not matter: ages are taken on each node\'s own clock', () => {
    const r = healthyReadings()
    for (const p of r['node-b'].peers!) p.latestHandshake += 7200
    r['node-b'].now += 7200
    expect(diagnose(r)).toEqual([])
  })
})

describe('1. firewall', () => {
  it('node-b\'s firewalld port removed (runtime and permanent): firewall-port-closed on node-b, though handshakes still flow', () => {
    const r = healthyReadings()
    r['node-b'].firewalld = firewalldReading({runtime: [publicZone()]})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'firewall-port-closed', 'error']])
    // The fix is what init would run.
    expect(findings[0]!.fix).toBe('on node-b: `firewall-cmd --zone=public --add-port=51820/udp && firewall-cmd --permanent --zone=public --add-port=51820/udp` (or `wgfleet init`)')
    expect(findings[0]!.message).toMatch(/firewalld is running and its zone does not open 51820\/udp/)
    expect(doctorExitCode(findings)).toBe(1)
  })

  it('ufw without the rule and failing handshakes: the error names the blocked node (the one whose firewall blocks), not the peers', () => {
    const r = healthyReadings()
    r['node-a'].ufw = ufwReading(UFW_ACTIVE.filter((l) => !l.startsWith('51820/udp')))
    // Nobody can start a handshake with node-a any more.
    for (const peer of ['node-b', 'node-c', 'node-d'] as const) breakHandshakes(r, 'node-a', peer)
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'firewall-port-closed', 'error']])
    expect(findings[0]!.message).toBe('ufw is active and does not allow 51820/udp: no handshake with node-b, node-c, node-d')
    expect(findings[0]!.fix).toBe('on node-a: `ufw allow 51820/udp` (or `wgfleet init`)')
  })

  it('a NAT-ed node with a closed port: nothing while its handshakes are fine (it dials out), an error when they fail', () => {
    const r = healthyReadings()
    r['node-c'].ufw = ufwReading(UFW_ACTIVE.filter((l) => !l.startsWith('51820/udp')))
    expect(diagnose(r)).toEqual([])
    breakHandshakes(r, 'node-c', 'node-b')
    expect(brief(diagnose(r))).toEqual([['node-c', 'firewall-port-closed', 'error']])
  })

  it('firewalld open now but not permanently: a warning (exit 0)', () => {
    const r = healthyReadings()
    r['node-b'].firewalld = firewalldReading({runtime: [publicZone({ports: ['51820/udp']})], permanent: [publicZone()]})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'firewall-port-not-permanent', 'warning']])
    expect(findings[0]!.fix).toBe('on node-b: `firewall-cmd --permanent --zone=public --add-port=51820/udp` (or `wgfleet init`)')
    expect(doctorExitCode(findings)).toBe(0)
  })

  it('what counts as open: a port range, the wireguard service, an allow-incoming default, the trusted zone', () => {
    const r = healthyReadings()
    r['node-b'].firewalld = firewalldReading({runtime: [publicZone({ports: ['51000-52000/udp']})], permanent: [publicZone({services: ['dhcpv6-client', 'ssh', 'wireguard']})]})
    r['node-a'].ufw = ufwReading(UFW_ACTIVE.filter((l) => !l.startsWith('51820/udp')).map((l) => l.replace('deny (incoming)', 'allow (incoming)')))
    expect(diagnose(r)).toEqual([])
    r['node-b'].firewalld = firewalldReading({defaultZone: 'trusted', runtime: [publicZone(), {name: 'trusted', target: 'ACCEPT'}]})
    r['node-a'].ufw = ufwReading([...UFW_ACTIVE.filter((l) => !l.startsWith('51820/udp')), ufwRow('51000:52000/udp', 'ALLOW IN', 'Anywhere')])
    expect(diagnose(r)).toEqual([])
  })
})

describe('2. NAT-ed nodes', () => {
  it('node-c\'s entry for the public node-a without PersistentKeepalive: nat-no-keepalive on node-c', () => {
    const r = healthyReadings()
    r['node-c'].config = r['node-c'].config!.replace(/(# node-a\n[^#]*?)PersistentKeepalive = 25\n/, '$1')
    livePeer(r['node-c'], KEYS['node-a']).keepalive = 0
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-c', 'nat-no-keepalive', 'error', 'node-a']])
    expect(findings[0]!.fix).toBe('`wgfleet init`')
  })

  it('keepalive = 0 in the inventory: the fix says to set it', () => {
    const r = healthyReadings()
    const noKeepalive = labPlan()
    for (const n of noKeepalive.nodes) for (const p of n.peers) p.keepalive = 0
    livePeer(r['node-d'], KEYS['node-b']).keepalive = 0
    const findings = diagnoseFleet(noKeepalive, outcomes({'node-d': r['node-d']}), {names: NAMES}).filter((f) => f.check === 'nat-no-keepalive' && f.peer === 'node-b')
    expect(findings[0]!.fix).toBe('set `keepalive = 25` in [network] of the inventory, then `wgfleet init`')
  })

  it('node-d\'s config entry for node-b without Endpoint (the interface still remembers one): nat-no-endpoint on node-d', () => {
    const r = healthyReadings()
    r['node-d'].config = r['node-d'].config!.replace('Endpoint = 203.0.113.2:51820\n', '')
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-d', 'nat-no-endpoint', 'error', 'node-b']])
    expect(findings[0]!.message).toMatch(/in the config file has no Endpoint/)
  })
})

describe('3. pairing', () => {
  it('node-a\'s config and interface hold a wrong key for node-b: wrong-peer-key on node-a — node-b\'s stale side is explained by it', () => {
    const r = healthyReadings()
    replaceKey(r['node-a'], KEYS['node-b'], WRONG_KEY)
    livePeer(r['node-b'], KEYS['node-a']).latestHandshake = NOW - 600
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'wrong-peer-key', 'error', 'node-b']])
    expect(findings[0]!.message).toBe(
      `the running interface has public key ${WRONG_KEY} for node-b, but node-b's public key is ${KEYS['node-b']}: the tunnel node-a ↔ node-b cannot handshake`,
    )
    expect(findings[0]!.fix).toContain(`wg set wg0 peer ${WRONG_KEY} remove`)
  })

  it('an old key of the peer (known from state) is named as such', () => {
    const r = healthyReadings()
    replaceKey(r['node-a'], KEYS['node-b'], WRONG_KEY)
    const names = new Map([...NAMES, [WRONG_KEY, 'node-b']])
    const findings = diagnoseFleet(plan, outcomes(r), {names})
    expect(findings[0]!.message).toContain(`${WRONG_KEY} (an old key of node-b) for node-b`)
  })

  it('the interface is down: the config file is judged (what it will run)', () => {
    const r = healthyReadings()
    r['node-a'].link = 'down'
    r['node-a'].peers = null
    r['node-a'].unitActive = 'failed'
    replaceKey(r['node-a'], KEYS['node-b'], WRONG_KEY, {config: true})
    expect(brief(diagnose(r))).toEqual([
      ['node-a', 'interface-down', 'error'],
      ['node-a', 'wrong-peer-key', 'error', 'node-b'],
    ])
    expect(diagnose(r)[1]!.message).toMatch(/^the config file has public key/)
  })

  it('a peer the plan expects is missing from node-c\'s interface (and file): missing-peer on node-c', () => {
    const r = healthyReadings()
    r['node-c'].peers = r['node-c'].peers!.filter((p) => p.publicKey !== KEYS['node-b'])
    r['node-c'].config = r['node-c'].config!.replace(/\n# node-b\n[^#]*$/, '\n')
    livePeer(r['node-b'], KEYS['node-c']).latestHandshake = 0
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-c', 'missing-peer', 'error', 'node-b']])
    expect(findings[0]!.fix).toBe('`wgfleet init`')
  })

  it('a key no node has on node-d\'s interface: unknown-peer warning, exit 0', () => {
    const r = healthyReadings()
    r['node-d'].peers!.push({publicKey: STRANGER, presharedKey: false, endpoint: null, allowedIps: ['10.9.9.9/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 0})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([
      ['node-d', 'unknown-peer', 'warning', STRANGER],
      ['node-d', 'config-drift', 'warning'],
    ])
    expect(findings[0]!.fix).toContain(`wg set wg0 peer ${STRANGER} remove`)
    expect(doctorExitCode(findings)).toBe(0)
  })

  it('the node\'s own key file differs from the key its interface runs with: own-key-mismatch', () => {
    const r = healthyReadings()
    r['node-b'].keyFilePublicKey = WRONG_KEY
    expect(brief(diagnose(r))).toEqual([['node-b', 'own-key-mismatch', 'error']])
  })
})

describe('4. AllowedIPs', () => {
  it('node-b\'s entry for node-c does not carry node-c\'s address: allowed-ips-mismatch on node-b', () => {
    const r = healthyReadings()
    r['node-b'].config = r['node-b'].config!.replace('AllowedIPs = 10.0.0.3/32', 'AllowedIPs = 10.0.0.9/32')
    livePeer(r['node-b'], KEYS['node-c']).allowedIps = ['10.0.0.9/32']
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'allowed-ips-mismatch', 'error', 'node-c']])
    expect(findings[0]!.message).toBe(
      'the running interface\'s entry for node-c has AllowedIPs 10.0.0.9/32, the plan says 10.0.0.3/32: it lacks 10.0.0.3/32 and carries 10.0.0.9/32 besides',
    )
  })

  it('order does not matter, a bare address is a /32', () => {
    const r = healthyReadings()
    livePeer(r['node-c'], KEYS['node-a']).allowedIps = ['10.0.0.4', '10.0.0.1/32']
    r['node-c'].config = r['node-c'].config!.replace('AllowedIPs = 10.0.0.1/32, 10.0.0.4/32', 'AllowedIPs = 10.0.0.4/32, 10.0.0.1/32')
    expect(diagnose(r)).toEqual([])
  })

  it('node-d\'s config gives node-c\'s address to a direct node-c peer as well as to the relay: allowed-ips-overlap on node-d', () => {
    const r = healthyReadings()
    r['node-d'].config += `\n# node-c\n[Peer]\nPublicKey = ${KEYS['node-c']}\nAllowedIPs = 10.0.0.3/32\n`
    // WireGuard moved the range to the last peer that claimed it.
    livePeer(r['node-d'], KEYS['node-a']).allowedIps = ['10.0.0.1/32']
    r['node-d'].peers!.push({publicKey: KEYS['node-c'], presharedKey: false, endpoint: null, allowedIps: ['10.0.0.3/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 0})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([
      ['node-d', 'allowed-ips-mismatch', 'error', 'node-a'],
      ['node-d', 'allowed-ips-overlap', 'error'],
      ['node-d', 'unknown-peer', 'warning', 'node-c'],
      ['node-d', 'config-drift', 'warning'],
    ])
    const overlap = findings.find((f) => f.check === 'allowed-ips-overlap')!
    expect(overlap.message).toBe(
      'AllowedIPs 10.0.0.3/32 is on 2 peers of node-d in the config file (node-a, node-c): WireGuard keeps it on one only, so traffic to it goes to the wrong peer',
    )
  })
})

describe('5. drift', () => {
  it('the file says one thing, the interface another: config-drift warning naming the differences', () => {
    const r = healthyReadings()
    livePeer(r['node-a'], KEYS['node-b']).keepalive = 0
    r['node-a'].config = r['node-a'].config!.replace('ListenPort = 51820', 'ListenPort = 51821')
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'config-drift', 'warning']])
    expect(findings[0]!.message).toBe(
      '/etc/wireguard/wg0.conf differs from the running interface (a restart would change the tunnels): ListenPort 51821 in the file, 51820 running; peer node-b: PersistentKeepalive 25 in the file, off running',
    )
    expect(findings[0]!.fix).toContain('`wgfleet init`')
    expect(findings[0]!.fix).toContain('`systemctl reload wg-quick@wg0`')
  })

  it('a key replaced in the file only (not synced): drift, the running interface is still right', () => {
    const r = healthyReadings()
    replaceKey(r['node-a'], KEYS['node-b'], WRONG_KEY, {config: true})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'config-drift', 'warning']])
    expect(findings[0]!.message).toContain(`peer ${WRONG_KEY} is in the file but not running`)
    expect(findings[0]!.message).toContain('peer node-b is running but not in the file')
  })

  it('an endpoint of a public peer changed on the interface is drift', () => {
    const r = healthyReadings()
    livePeer(r['node-c'], KEYS['node-b']).endpoint = '203.0.113.99:51820'
    expect(brief(diagnose(r))).toEqual([['node-c', 'config-drift', 'warning']])
  })
})

describe('6. the unit and the interface', () => {
  it('wg-quick@wg0 disabled on node-c: unit-not-enabled', () => {
    const r = healthyReadings()
    r['node-c'].unitEnabled = 'disabled'
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-c', 'unit-not-enabled', 'error']])
    expect(findings[0]!.fix).toBe('on node-c: `systemctl enable wg-quick@wg0`')
  })

  it('interface down on node-d: interface-down — the other nodes\' stale entries for node-d are explained by it', () => {
    const r = healthyReadings()
    Object.assign(r['node-d'], {link: 'down', peers: null, listenPort: null, publicKey: null, unitActive: 'inactive', pings: []})
    for (const peer of ['node-a', 'node-b'] as const) livePeer(r[peer], KEYS['node-d']).latestHandshake = NOW - 900
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-d', 'interface-down', 'error']])
    expect(findings[0]!.fix).toBe('on node-d: `systemctl restart wg-quick@wg0` (see `journalctl -u wg-quick@wg0` if it fails)')
  })

  it('`wg show` fails on node-b (interface up): wg-error with the host\'s own message, and it explains node-b\'s stale tunnels', () => {
    const r = healthyReadings()
    Object.assign(r['node-b'], {peers: null, wgError: 'Unable to access interface: Operation not permitted'})
    for (const peer of ['node-a', 'node-c', 'node-d'] as const) livePeer(r[peer], KEYS['node-b']).latestHandshake = NOW - 900
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'wg-error', 'error']])
    expect(findings[0]!.message).toBe('Unable to access interface: Operation not permitted')
    expect(findings[0]!.fix).toBe('on node-b: `wg show wg0`')
    expect(doctorExitCode(findings)).toBe(1)
  })

  it('`wg show` fails without saying why: wg-error names the command', () => {
    const r = healthyReadings()
    Object.assign(r['node-a'], {peers: null})
    delete r['node-a'].wgError
    expect(diagnose(r).find((f) => f.check === 'wg-error')?.message).toBe('wg show wg0 failed')
  })

  it('up by hand, not through systemd: unit-inactive warning', () => {
    const r = healthyReadings()
    r['node-b'].unitActive = 'inactive'
    expect(brief(diagnose(r))).toEqual([['node-b', 'unit-inactive', 'warning']])
  })

  it('no config file, no wg, no systemd, a wrong address', () => {
    const r = healthyReadings()
    r['node-a'].config = null
    r['node-b'].addresses = ['10.0.0.22/24']
    Object.assign(r['node-c'], {systemd: false, unitEnabled: null, unitActive: null})
    Object.assign(r['node-d'], {wgInstalled: false, link: 'absent', peers: null, config: null, publicKey: null, keyFilePublicKey: null, unitEnabled: 'not-found', unitActive: 'inactive', pings: []})
    for (const peer of ['node-a', 'node-b'] as const) livePeer(r[peer], KEYS['node-d']).latestHandshake = 0
    expect(brief(diagnose(r))).toEqual([
      ['node-a', 'config-missing', 'error'],
      ['node-b', 'address-mismatch', 'error'],
      // The file still has the planned address: the interface drifted from it.
      ['node-b', 'config-drift', 'warning'],
      ['node-c', 'no-systemd', 'warning'],
      // No wg: one finding; no config and no enabled unit are its consequences, not findings of their own.
      ['node-d', 'wg-missing', 'error'],
    ])
  })
})

describe('7. relay forwarding', () => {
  it('dual stack: a relay without IPv6 forwarding is relay-no-forwarding; with it, nothing', () => {
    const dual = fleet(
      LAB_FLEET.nodes.map((n, i) => ({name: n.name, host: n.host, address: n.address, address6: `fd42:42::${i + 1}`, relay: n.relay, nat: n.nat})),
      {cidr6: 'fd42:42::/64'},
    )
    const dualPlan = planFleet(dual, {publicKeys: {...KEYS}}, {omitPeersWithoutKey: true})
    const r = healthyReadings(dualPlan)
    r['node-a'].ip6Forward = false
    const findings = diagnoseFleet(dualPlan, outcomes(r), {names: NAMES})
    expect(brief(findings)).toEqual([['node-a', 'relay-no-forwarding', 'error']])
    expect(findings[0]!.message).toMatch(/net\.ipv6\.conf\.all\.forwarding is 0: the IPv6 overlay/)
    r['node-a'].ip6Forward = true
    expect(diagnoseFleet(dualPlan, outcomes(r), {names: NAMES})).toEqual([])
  })

  it('dual stack: an exit that relays nothing is not asked for IPv6 forwarding (its exit traffic is IPv4)', () => {
    const dual = fleet(
      [
        {name: 'node-a', host: '203.0.113.1', address: '10.0.0.1', address6: 'fd42:42::1'},
        {name: 'node-b', host: '203.0.113.2', address: '10.0.0.2', address6: 'fd42:42::2', exitVia: 'node-a'},
      ],
      {cidr6: 'fd42:42::/64'},
    )
    const exitPlan = planFleet(dual, {publicKeys: {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b']}}, {omitPeersWithoutKey: true})
    expect(exitPlan.nodes[0]).toMatchObject({forwarding: true, masquerade: true})
    expect(exitPlan.nodes[0]!.relay).toBeUndefined()
    const r = healthyReadings(exitPlan)
    r['node-a'].ip6Forward = false
    expect(diagnoseFleet(exitPlan, outcomes(r), {names: NAMES}).filter((f) => f.check === 'relay-no-forwarding')).toEqual([])
  })

  it('a relay without wg: one finding (wg-missing), no forwarding finding on top', () => {
    const r = healthyReadings()
    Object.assign(r['node-a'], {wgInstalled: false, link: 'absent', peers: null, ipForward: false})
    expect(brief(diagnose(r)).filter((f) => f[0] === 'node-a')).toEqual([['node-a', 'wg-missing', 'error']])
  })

  it('ip_forward = 0 on the relay node-a: relay-no-forwarding', () => {
    const r = healthyReadings()
    r['node-a'].ipForward = false
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'relay-no-forwarding', 'error']])
    expect(findings[0]!.message).toBe('node-a relays for node-c, node-d, but net.ipv4.ip_forward = 0: the traffic it should pass on is dropped')
    expect(findings[0]!.fix).toBe("on node-a: `sysctl -w net.ipv4.ip_forward=1 && echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-wgfleet.conf` (or `wgfleet init`)")
  })

  it('forwarding on, but no sysctl file keeps it: a warning', () => {
    const r = healthyReadings()
    r['node-a'].forwardFiles = []
    expect(brief(diagnose(r))).toEqual([['node-a', 'relay-forwarding-not-persistent', 'warning']])
  })

  it('ufw on the relay without the route rule: relay-forward-blocked', () => {
    const r = healthyReadings()
    r['node-a'].ufw = ufwReading(UFW_ACTIVE.filter((l) => !l.includes('ALLOW FWD')))
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'relay-forward-blocked', 'error']])
    expect(findings[0]!.message).toBe('node-a relays for node-c, node-d, but ufw routes nothing in and out of wg0: that traffic is dropped')
    expect(findings[0]!.fix).toBe('on node-a: `ufw route allow in on wg0 out on wg0` (or `wgfleet init`)')
  })

  it('firewalld on the relay: wgfleet\'s zone, the trusted zone, or a bound zone with intra-zone forwarding is fine; none is an error naming the fix', () => {
    const r = healthyReadings()
    r['node-a'].ufw = {state: 'absent', status: [], forwardPolicy: null}
    const open = publicZone({ports: ['51820/udp']})
    r['node-a'].firewalld = firewalldReading({runtime: [open, {name: 'wgfleet', interfaces: ['wg0'], services: ['ssh'], forward: true}]})
    expect(diagnose(r)).toEqual([])
    r['node-a'].firewalld = firewalldReading({runtime: [open, {name: 'trusted', target: 'ACCEPT', interfaces: ['wg0']}]})
    expect(diagnose(r)).toEqual([])
    r['node-a'].firewalld = firewalldReading({runtime: [open, {name: 'internal', interfaces: ['wg0'], forward: true}]})
    expect(diagnose(r)).toEqual([])
    // wg0 in no zone: the default zone catches it, and intra-zone forwarding does not apply to it.
    r['node-a'].firewalld = firewalldReading({runtime: [open]})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-a', 'relay-forward-blocked', 'error']])
    expect(findings[0]!.fix).toBe(
      'on node-a: `firewall-cmd --permanent --new-zone=wgfleet && firewall-cmd --permanent --zone=wgfleet --add-service=ssh && firewall-cmd --permanent --zone=wgfleet --add-forward && ' +
        'firewall-cmd --permanent --zone=wgfleet --change-interface=wg0 && firewall-cmd --reload` (or `wgfleet init`)',
    )
    // Bound to a zone wgfleet did not create, which does not forward: said, with the zone's own fix.
    r['node-a'].firewalld = firewalldReading({runtime: [open, {name: 'internal', interfaces: ['wg0'], forward: false}]})
    const foreign = diagnose(r)
    expect(brief(foreign)).toEqual([['node-a', 'relay-forward-blocked', 'error']])
    expect(foreign[0]!.fix).toMatch(/firewall-cmd --zone=internal --add-forward/)
  })

  it('a non-relay node without forwarding is fine', () => {
    const r = healthyReadings()
    r['node-b'].ipForward = false
    expect(diagnose(r)).toEqual([])
  })
})

describe('8. path MTU', () => {
  it('node-c\'s full-size don\'t-fragment ping to node-a fails, a small one gets through: path-mtu warning with the MTU to set', () => {
    const r = healthyReadings()
    const ping = r['node-c'].pings.find((p) => p.kind === 'underlay' && p.host === '203.0.113.1')!
    Object.assign(ping, {big: 'fail', small: 'ok', pathMtu: 1400})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-c', 'path-mtu', 'warning', 'node-a']])
    // 1400 (path MTU) - 60 (IPv4 + UDP + WireGuard) = 1340
    expect(findings[0]!.fix).toBe('set `mtu = 1340` in [network] of the inventory, then `wgfleet init`')
    expect(doctorExitCode(findings)).toBe(0)
  })

  it('through the tunnel, without a path MTU reported: 1280 suggested; both directions in one finding', () => {
    const r = healthyReadings()
    for (const p of r['node-b'].pings.filter((x) => x.host === '10.0.0.1' || x.host === '203.0.113.1')) Object.assign(p, {big: 'fail', small: 'ok'})
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'path-mtu', 'warning', 'node-a']])
    expect(findings[0]!.message).toContain('over the underlay to 203.0.113.1 and through the tunnel to 10.0.0.1')
    expect(findings[0]!.fix).toContain('`mtu = 1280`')
  })

  it('a host that answers no ping at all says nothing about the MTU', () => {
    const r = healthyReadings()
    for (const p of r['node-b'].pings) Object.assign(p, {big: 'fail', small: 'fail'})
    expect(diagnose(r)).toEqual([])
  })
})

describe('9. unreachable, and handshakes nothing explains', () => {
  it('node-d not reached over SSH: unreachable with the classified reason; its stale tunnels are not blamed on anyone else', () => {
    const r: Record<string, unknown> = healthyReadings()
    for (const peer of ['node-a', 'node-b'] as const) livePeer(r[peer] as DoctorReading, KEYS['node-d']).latestHandshake = NOW - 900
    r['node-d'] = {ok: false, problem: {kind: 'timeout', message: 'no SSH handshake with 198.51.100.8:22 within 10s', hint: 'raise --connect-timeout'}}
    const findings = diagnose(outcomes(r as never))
    expect(brief(findings)).toEqual([['node-d', 'unreachable', 'error']])
    expect(findings[0]).toMatchObject({message: 'not reached over SSH (timeout): no SSH handshake with 198.51.100.8:22 within 10s', fix: 'raise --connect-timeout'})
  })

  it('a script failure is read-failed', () => {
    const r: Record<string, unknown> = healthyReadings()
    r['node-b'] = {ok: false, problem: {kind: 'script-failed', message: 'the doctor script failed: exit code 127'}}
    expect(brief(diagnose(outcomes(r as never)))).toEqual([['node-b', 'read-failed', 'error']])
  })

  it('node-b ↔ node-c never handshake and no check explains it: handshake-failing, once, on the first node', () => {
    const r = healthyReadings()
    breakHandshakes(r, 'node-b', 'node-c')
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'handshake-failing', 'error', 'node-c']])
    expect(findings[0]!.fix).toBe('on node-b: `tcpdump -ni any udp port 51820` while `ping -c 3 10.0.0.2` runs on node-c: no packets = blocked on the way (cloud security group, router)')
  })

  it('a node failing with more than 5 peers gets one finding, not one per pair (a mesh would print N² lines)', () => {
    const names = Array.from({length: 8}, (_, i) => `n${i}`)
    const keys = Object.fromEntries(names.map((n, i) => [n, Buffer.alloc(32, i + 1).toString('base64')]))
    const big = planFleet(fleet(names.map((name, i) => ({name, host: `198.18.0.${i + 1}`, address: `10.0.0.${i + 1}`}))), {publicKeys: keys}, {omitPeersWithoutKey: true})
    const readings = new Map(
      big.nodes.map((n) => {
        const r = healthyReading(n)
        Object.assign(r, {publicKey: keys[n.name], keyFilePublicKey: keys[n.name], ufw: {state: 'absent', status: []}, firewalld: {state: 'absent', defaultZone: '', interfaceZone: '', runtime: null, permanent: null, interfaceZoneRuntime: null}})
        // n0 has never handshaken with anyone.
        for (const p of r.peers!) if (n.name === 'n0' || p.publicKey === keys['n0']) p.latestHandshake = 0
        return [n.name, {ok: true as const, reading: r}]
      }),
    )
    const findings = diagnoseFleet(big, readings, {staleAfterSeconds: 180})
    expect(brief(findings)).toEqual([['n0', 'handshake-failing', 'error']])
    expect(findings[0]!.message).toMatch(/^no recent handshake with 7 peers \(n1, n2, n3, n4, n5, …\)/)
  })

  it('stale is judged against --stale-after; keepalive off in the plan is idle, not a failure', () => {
    const r = healthyReadings()
    livePeer(r['node-a'], KEYS['node-b']).latestHandshake = NOW - 100
    livePeer(r['node-b'], KEYS['node-a']).latestHandshake = NOW - 100
    expect(diagnose(r)).toEqual([])
    expect(brief(diagnose(r, {staleAfterSeconds: 60}))).toEqual([['node-a', 'handshake-failing', 'error', 'node-b']])
    const idle = labPlan()
    for (const n of idle.nodes) for (const p of n.peers) p.keepalive = 0
    expect(diagnoseFleet(idle, outcomes(r), {names: NAMES, staleAfterSeconds: 60}).filter((f) => f.check === 'handshake-failing')).toEqual([])
  })
})

describe('order and exit code', () => {
  it('nodes in plan order, errors before warnings, checks in checklist order', () => {
    const r = healthyReadings()
    r['node-d'].unitEnabled = 'disabled'
    r['node-a'].forwardFiles = []
    r['node-a'].unitEnabled = 'disabled'
    r['node-a'].ipForward = true
    r['node-b'].unitActive = 'inactive'
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([
      ['node-a', 'unit-not-enabled', 'error'],
      ['node-a', 'relay-forwarding-not-persistent', 'warning'],
      ['node-b', 'unit-inactive', 'warning'],
      ['node-d', 'unit-not-enabled', 'error'],
    ])
    expect(doctorExitCode(findings)).toBe(1)
    expect(doctorExitCode(findings.filter((f) => f.severity === 'warning'))).toBe(0)
  })

  it('every check id is listed once', () => {
    expect(new Set(CHECKS).size).toBe(CHECKS.length)
  })
})

describe('keys not known', () => {
  it('a peer whose key nobody knows (never converged, not reached) is left out of the plan: its entries are not judged', () => {
    const keys = {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c']}
    const partial = planFleet(LAB_FLEET, {publicKeys: keys}, {omitPeersWithoutKey: true})
    const r: Record<string, unknown> = healthyReadings()
    r['node-d'] = {ok: false, problem: {kind: 'unreachable', message: 'cannot reach 198.51.100.8:22: connection refused'}}
    const findings = diagnoseFleet(partial, outcomes(r as never), {names: new Map(Object.entries(keys).map(([n, k]) => [k, n]))})
    expect(brief(findings)).toEqual([['node-d', 'unreachable', 'error']])
  })
})

describe('9. names in /etc/hosts (hosts_file)', () => {
  const named = planFleet({...LAB_FLEET, network: {...LAB_FLEET.network, hostsFile: {domain: 'wg'}}}, {publicKeys: {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c'], 'node-d': KEYS['node-d']}}, {omitPeersWithoutKey: true})
  const block = named.nodes[0]!.hostsBlock!
  const withBlocks = (digest: (name: string) => string) => {
    const r = healthyReadings()
    for (const [name, reading] of Object.entries(r)) reading.hostsBlock = digest(name)
    return r
  }

  it('every node holds the planned block: nothing to say', () => {
    expect(diagnoseFleet(named, outcomes(withBlocks(() => hostsBlockDigest(block))), {names: NAMES})).toEqual([])
  })

  it('node-c has none, node-d an edited one: a hosts-file-drift warning each, fixed by init; exit 0', () => {
    const r = withBlocks((name) => (name === 'node-c' ? 'none' : name === 'node-d' ? hostsBlockDigest(block.replace('node-a.wg', 'node-a.lan')) : hostsBlockDigest(block)))
    const findings = diagnoseFleet(named, outcomes(r), {names: NAMES})
    expect(brief(findings)).toEqual([['node-c', 'hosts-file-drift', 'warning'], ['node-d', 'hosts-file-drift', 'warning']])
    expect(findings[0]!.message).toMatch(/no block/)
    expect(findings[1]!.message).toMatch(/differs/)
    expect(findings[0]!.fix).toMatch(/wgfleet init/)
    expect(doctorExitCode(findings)).toBe(0)
  })

  it('a block left after hosts_file was turned off is said; a host that cannot tell (no sha256sum) is not judged', () => {
    const r = withBlocks((name) => (name === 'node-b' ? hostsBlockDigest(block) : name === 'node-a' ? 'unknown' : 'none'))
    expect(brief(diagnose(r))).toEqual([['node-b', 'hosts-file-drift', 'warning']])
  })
})

describe('7b. site-to-site subnets', () => {
  const keys = {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c'], 'node-d': KEYS['node-d']}
  // node-c (NAT-ed, no firewall) routes 198.19.1.0/24: every entry for it carries the subnet.
  const subnetFleet = {...LAB_FLEET, nodes: LAB_FLEET.nodes.map((n) => (n.name === 'node-c' ? {...n, subnets: ['198.19.1.0/24'], subnetSnat: true} : n))}
  const plan = planFleet(subnetFleet, {publicKeys: keys}, {omitPeersWithoutKey: true})
  const routed = (): Readings => {
    const r = healthyReadings(plan)
    r['node-c'] = {...r['node-c'], ipForward: true, forwardFiles: ['/etc/sysctl.d/99-wgfleet.conf'], routes: parseRoutes(['4 default eth0', '4 198.19.1.0/24 eth1'])}
    return r
  }

  it('the converged fleet: nothing (AllowedIPs with the subnet are what the plan says)', () => {
    expect(plan.nodes.find((n) => n.name === 'node-a')!.peers.find((p) => p.name === 'node-c')!.allowedIps).toEqual(['10.0.0.3/32', '198.19.1.0/24'])
    expect(diagnoseFleet(plan, outcomes(routed()), {names: NAMES})).toEqual([])
  })

  it('the subnet node does not forward: subnet-no-forwarding, worded as for a relay', () => {
    const r = routed()
    r['node-c'].ipForward = false
    const findings = diagnoseFleet(plan, outcomes(r), {names: NAMES})
    expect(brief(findings)).toEqual([['node-c', 'subnet-no-forwarding', 'error']])
    expect(findings[0]!.message).toBe('node-c routes the subnets 198.19.1.0/24, but net.ipv4.ip_forward = 0: the traffic it should pass on is dropped')
  })

  it('no route for the subnet on the node: subnet-no-route', () => {
    const r = routed()
    r['node-c'].routes = parseRoutes(['4 198.51.100.0/24 eth0'])
    expect(brief(diagnoseFleet(plan, outcomes(r), {names: NAMES}))).toEqual([['node-c', 'subnet-no-route', 'error']])
  })

  it('ufw on the subnet node without the route out to the LAN: subnet-forward-blocked, with the command', () => {
    const r = routed()
    r['node-c'].ufw = ufwReading(ufwStatus([ufwRow('51820/udp', 'ALLOW IN', 'Anywhere', 'wgfleet')]))
    const findings = diagnoseFleet(plan, outcomes(r), {names: NAMES})
    expect(brief(findings)).toEqual([['node-c', 'subnet-forward-blocked', 'error']])
    expect(findings[0]!.fix).toContain('ufw route allow in on wg0 out on eth1')
  })
})
