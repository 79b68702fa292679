/**
 * A healthy 4-node relay fleet like the lab, as doctor.sh would read it: node-a relay (public,
 * 203.0.113.1, ufw), node-b public (203.0.113.2, firewalld), node-c and node-d behind one NAT router
 * (198.51.100.x), reaching each other through node-a. Every reading is built from the plan, so the
 * healthy fleet is exactly what `wgfleet init` leaves behind; tests break one thing at a time.
 */
import {planFleet} from '../../../src/plan/index.js'
import type {FleetPlan, NodePlan} from '../../../src/plan/model.js'
import type {DoctorOutcome} from '../../../src/judges/doctor/index.js'
import type {DoctorReading} from '../../../src/remote/doctor.js'
import type {FirewalldReading} from '../../../src/firewall/listings.js'
import {firewalldReading, publicZone, ufwReading, ufwStatus, UFW_RELAY_ROWS} from '../../fixtures/firewall.js'
import type {WgDumpPeer} from '../../../src/wireguard/dump.js'
import {fleet, KEYS} from '../plan/fixtures.js'

export {KEYS}
export const NOW = 1_700_000_000
export const STRANGER = 'QJ9FHO+QUoYQVz4CiRit4RcieNiIYauTJRG1EjU40vc='
/** A key node-a's config might wrongly carry for node-b. */
export const WRONG_KEY = 'oBOwpYBVVRyZXaSBGXFIuNSsJ0DMAYXWGRhqyYt3LH4='
/** Where the NAT router maps node-c and node-d (what public peers see as their endpoint). */
export const NAT_ROUTER = '203.0.113.50'

export const LAB_FLEET = fleet([
  {name: 'node-a', host: '203.0.113.1', address: '10.0.0.1', relay: true},
  {name: 'node-b', host: '203.0.113.2', address: '10.0.0.2'},
  {name: 'node-c', host: '198.51.100.7', address: '10.0.0.3', nat: true},
  {name: 'node-d', host: '198.51.100.8', address: '10.0.0.4', nat: true},
])

export const NAMES: ReadonlyMap<string, string> = new Map(Object.entries(KEYS).map(([name, key]) => [key as string, name]))

export function labPlan(): FleetPlan {
  const keys = {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c'], 'node-d': KEYS['node-d']}
  return planFleet(LAB_FLEET, {publicKeys: keys}, {omitPeersWithoutKey: true})
}

/** `ufw status verbose` on the converged relay (node-a). */
export const UFW_ACTIVE = ufwStatus(UFW_RELAY_ROWS)

/** node-b's firewalld after init: Debian 12's public zone (the default) with the WireGuard port, runtime and permanent. */
export const NODE_B_FIREWALLD = {runtime: [publicZone({ports: ['51820/udp']})]}

function livePeers(node: NodePlan): WgDumpPeer[] {
  return node.peers.map((p, i) => ({
    publicKey: p.publicKey!,
    presharedKey: Boolean(p.presharedKey),
    // NAT-ed peers are seen at the router's address, on a port the router picked.
    endpoint: p.endpoint ?? `${NAT_ROUTER}:${40000 + i}`,
    allowedIps: [...p.allowedIps],
    latestHandshake: NOW - 20 - i,
    rxBytes: 10_000,
    txBytes: 20_000,
    keepalive: p.keepalive,
  }))
}

/** What doctor.sh reads on a converged node of the lab fleet. */
export function healthyReading(node: NodePlan): DoctorReading {
  const relay = node.name === 'node-a'
  return {
    link: 'up',
    mtu: 1420,
    addresses: [node.address],
    wgInstalled: true,
    now: NOW,
    listenPort: node.listenPort,
    publicKey: KEYS[node.name as keyof typeof KEYS],
    keyFilePublicKey: KEYS[node.name as keyof typeof KEYS],
    peers: livePeers(node),
    // As the host masks it: the PrivateKey value replaced by the same marker the plan renders.
    config: node.config,
    systemd: true,
    unitEnabled: 'enabled',
    unitActive: 'active',
    ipForward: relay,
    ip6Forward: false,
    forwardFiles: relay ? ['/etc/sysctl.d/99-wgfleet.conf'] : [],
    ufw: relay ? ufwReading(UFW_ACTIVE) : {state: 'absent', status: [], forwardPolicy: null},
    firewalld: node.name === 'node-b' ? firewalldReading(NODE_B_FIREWALLD) : noFirewalld(),
    uplink: 'eth0',
    pingTool: 'yes',
    pingsUnprobed: 0,
    // preshared_keys = true: every keyed entry's file, the same digest on both ends of a pair.
    presharedKeys: new Map(node.peers.filter((p) => p.presharedKey).map((p) => [p.name, {peer: p.name, digest: pairDigest(node.name, p.name), config: 'same' as const, live: 'same' as const}])),
    pings: [
      ...node.peers.filter((p) => p.endpoint !== null).map((p) => ({kind: 'underlay' as const, host: p.endpoint!.split(':')[0]!, size: 1452, big: 'ok' as const, small: null, pathMtu: null})),
      ...node.peers.map((p) => ({kind: 'overlay' as const, host: p.allowedIps[0]!.replace('/32', ''), size: 1392, big: 'ok' as const, small: null, pathMtu: null})),
    ],
  }
}

/** A pair's preshared key digest as both its ends report it (16 hex digits, the same for a and b). */
export function pairDigest(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a]
  return Buffer.from(`${x}${y}`).toString('hex').padEnd(16, '0').slice(0, 16)
}

export function noFirewalld(): FirewalldReading {
  return {state: 'absent', defaultZone: '', runtime: {zones: [], policies: null}, permanent: {zones: [], policies: null}, services: []}
}

export type Readings = Record<'node-a' | 'node-b' | 'node-c' | 'node-d', DoctorReading>

export function healthyReadings(plan = labPlan()): Readings {
  return Object.fromEntries(plan.nodes.map((n) => [n.name, healthyReading(n)])) as Readings
}

export function outcomes(readings: Partial<Record<string, DoctorReading | DoctorOutcome>>): Map<string, DoctorOutcome> {
  return new Map(
    Object.entries(readings).map(([name, r]) => [name, r && 'ok' in r ? r : {ok: true as const, reading: r as DoctorReading}]),
  )
}

/** The peer entry of `reading` for `key` (live). */
export function livePeer(reading: DoctorReading, key: string): WgDumpPeer {
  const p = reading.peers!.find((e) => e.publicKey === key)
  if (!p) throw new Error(`no live peer ${key}`)
  return p
}
