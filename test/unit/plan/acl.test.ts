/**
 * The planner under [acl] (golden): a pair peers only when the rules allow it (both ways: neither has an
 * entry for the other, nor a route through the relay); the relay carries only allowed pairs and peers with
 * every node it relays for, whatever its own groups; status judges against that partial plan, so a
 * disallowed pair is not missing-peer.
 */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {diagnoseFleet} from '../../../src/judges/doctor/index.js'
import {buildNodeStatus} from '../../../src/judges/status.js'
import {buildMeshGraph, planFleet} from '../../../src/plan/index.js'
import type {FleetPlan} from '../../../src/plan/model.js'
import {ACL_INVENTORY} from '../../fixtures/acl-fleet.js'
import {LAB_KEYS} from '../../fixtures/lab-fleet.js'
import {healthyReadings, NAMES, outcomes} from '../doctor/fixtures.js'

const plan = (text: string): FleetPlan => planFleet(parseInventory(text, '/srv/wg/inventory.ini'), {publicKeys: {...LAB_KEYS}})

/** name → its peers, each with the AllowedIPs of its entry. */
const peersOf = (p: FleetPlan) => Object.fromEntries(p.nodes.map((n) => [n.name, n.peers.map((peer) => `${peer.name} ${peer.allowedIps.join(',')}`)]))

const NODE_C_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.3/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = ${LAB_KEYS['node-a']}
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.0.0.1/32, 10.0.0.4/32
PersistentKeepalive = 25

# node-b
[Peer]
PublicKey = ${LAB_KEYS['node-b']}
Endpoint = 203.0.113.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25
`

describe('planFleet with [acl]', () => {
  it('web = db, ops = web, db: node-b (web) and node-d (web) do not peer, node-c and node-d meet through the relay', () => {
    const p = plan(ACL_INVENTORY)
    expect(peersOf(p)).toEqual({
      'node-a': ['node-b 10.0.0.2/32', 'node-c 10.0.0.3/32', 'node-d 10.0.0.4/32'],
      'node-b': ['node-a 10.0.0.1/32', 'node-c 10.0.0.3/32'],
      'node-c': ['node-a 10.0.0.1/32,10.0.0.4/32', 'node-b 10.0.0.2/32'],
      'node-d': ['node-a 10.0.0.1/32,10.0.0.3/32'],
    })
    expect(p.nodes.find((n) => n.name === 'node-c')!.config).toBe(NODE_C_CONFIG)
    // The relay still forwards for the pair it carries.
    expect(p.nodes.find((n) => n.name === 'node-a')!.forwarding).toBe(true)
  })

  it('no [acl]: the full mesh, as before', () => {
    const p = plan(ACL_INVENTORY.slice(0, ACL_INVENTORY.indexOf('[acl]')))
    expect(peersOf(p)['node-b']).toEqual(['node-a 10.0.0.1/32', 'node-c 10.0.0.3/32', 'node-d 10.0.0.4/32'])
    expect(peersOf(p)['node-c']).toEqual(['node-a 10.0.0.1/32,10.0.0.4/32', 'node-b 10.0.0.2/32'])
  })

  it('a relay outside every rule peers with the nodes it relays for, and with no one else', () => {
    const p = plan(ACL_INVENTORY.replace('groups = ops\n', 'groups = infra\n').replace('ops = web, db\n', ''))
    expect(peersOf(p)).toEqual({
      'node-a': ['node-c 10.0.0.3/32', 'node-d 10.0.0.4/32'],
      'node-b': ['node-c 10.0.0.3/32'],
      // The relay's own address comes with its entry (as with every peer).
      'node-c': ['node-a 10.0.0.1/32,10.0.0.4/32', 'node-b 10.0.0.2/32'],
      'node-d': ['node-a 10.0.0.1/32,10.0.0.3/32'],
    })
  })

  it('a NAT-ed pair that may not peer: no route through the relay either way', () => {
    const p = plan(ACL_INVENTORY.replace('web = db\n', 'web = web\n'))
    // node-c (db) and node-d (web) may not peer; node-b and node-d (both web) now may.
    expect(peersOf(p)['node-c']).toEqual(['node-a 10.0.0.1/32'])
    expect(peersOf(p)['node-d']).toEqual(['node-a 10.0.0.1/32', 'node-b 10.0.0.2/32'])
    expect(p.nodes.flatMap((n) => n.relayed)).toEqual([])
  })

  it('every entry has its entry back (symmetric), and every node pair the rules allow talks', () => {
    const p = plan(ACL_INVENTORY)
    const entries = new Set(p.nodes.flatMap((n) => n.peers.map((peer) => `${n.name}→${peer.name}`)))
    for (const entry of entries) expect(entries.has(entry.split('→').reverse().join('→')), entry).toBe(true)
    const graph = buildMeshGraph(parseInventory(ACL_INVENTORY, '/srv/wg/inventory.ini'))
    expect(graph.edges.map((e) => `${e.from}–${e.to} ${e.kind}`)).toEqual([
      'node-a–node-b direct',
      'node-a–node-c direct',
      'node-a–node-d direct',
      'node-b–node-c direct',
      'node-c–node-d relayed',
    ])
  })

  it('status judges against the partial plan: node-b without a node-d entry is healthy, not missing-peer', () => {
    const nodeB = planFleet(parseInventory(ACL_INVENTORY, '/srv/wg/inventory.ini'), {publicKeys: {...LAB_KEYS}}, {omitPeersWithoutKey: true}).nodes.find((n) => n.name === 'node-b')!
    const now = 1_700_000_000
    const dump = nodeB.peers.map((peer) => ({publicKey: peer.publicKey!, presharedKey: false, endpoint: null, allowedIps: peer.allowedIps, latestHandshake: now - 5, rxBytes: 1, txBytes: 1, keepalive: 25}))
    const status = buildNodeStatus(nodeB, dump, now, 180, new Map(Object.entries(LAB_KEYS).map(([n, k]) => [k as string, n])))
    expect(status.peers.map((peer) => `${peer.name}:${peer.state}`)).toEqual(['node-a:ok', 'node-c:ok'])
  })

  it('doctor judges against the partial plan: a converged [acl] fleet has no finding; a disallowed peer left on an interface is unknown-peer', () => {
    const p = planFleet(parseInventory(ACL_INVENTORY, '/srv/wg/inventory.ini'), {publicKeys: {...LAB_KEYS}}, {omitPeersWithoutKey: true})
    expect(diagnoseFleet(p, outcomes(healthyReadings(p)), {names: NAMES})).toEqual([])
    const readings = healthyReadings(p)
    // node-b still has node-d from before the rules (a full-mesh config).
    readings['node-b'].peers!.push({publicKey: LAB_KEYS['node-d'], presharedKey: false, endpoint: null, allowedIps: ['10.0.0.4/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 25})
    const findings = diagnoseFleet(p, outcomes(readings), {names: NAMES})
    expect(findings.map((f) => [f.node, f.check, f.severity])).toContainEqual(['node-b', 'unknown-peer', 'warning'])
    expect(findings.some((f) => f.check === 'missing-peer')).toBe(false)
  })
})
