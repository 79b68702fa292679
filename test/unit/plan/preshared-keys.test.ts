/**
 * The planner with `preshared_keys = true` (golden): every WireGuard peer entry that exists carries its
 * pair's PresharedKey marker — under [acl] only the allowed pairs, and a relayed pair through its relay
 * (one key per hop: the NAT-ed nodes have no entry for each other) — and an entry known to have no key yet
 * renders without one.
 */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {existingPeerSections, planFleet, PRESHARED_KEY_MARKER} from '../../../src/plan/index.js'
import type {FleetPlan} from '../../../src/plan/model.js'
import {ACL_INVENTORY} from '../../fixtures/acl-fleet.js'
import {LAB_KEYS} from '../../fixtures/lab-fleet.js'

const WITH_PSK = ACL_INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = true')
const plan = (text: string, withoutPresharedKey?: Record<string, ReadonlySet<string>>): FleetPlan =>
  planFleet(parseInventory(text, '/srv/wg/inventory.ini'), {publicKeys: {...LAB_KEYS}, ...(withoutPresharedKey ? {withoutPresharedKey} : {})})
const pskPeers = (p: FleetPlan) => Object.fromEntries(p.nodes.map((n) => [n.name, n.peers.filter((peer) => peer.presharedKey).map((peer) => peer.name)]))

const NODE_C_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.3/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = ${LAB_KEYS['node-a']}
PresharedKey = @WGFLEET_PRESHARED_KEY@
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.0.0.1/32, 10.0.0.4/32
PersistentKeepalive = 25

# node-b
[Peer]
PublicKey = ${LAB_KEYS['node-b']}
PresharedKey = @WGFLEET_PRESHARED_KEY@
Endpoint = 203.0.113.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25
`

describe('planFleet with preshared_keys = true', () => {
  it('gives every existing entry its marker, [acl] and the relay respected (node-c and node-d: a key with node-a on each hop)', () => {
    const p = plan(WITH_PSK)
    expect(pskPeers(p)).toEqual({
      'node-a': ['node-b', 'node-c', 'node-d'],
      'node-b': ['node-a', 'node-c'],
      'node-c': ['node-a', 'node-b'],
      'node-d': ['node-a'],
    })
    expect(p.nodes.find((n) => n.name === 'node-c')!.config).toBe(NODE_C_CONFIG)
    expect(PRESHARED_KEY_MARKER).toBe('@WGFLEET_PRESHARED_KEY@')
  })

  it('off (the default): no PresharedKey line anywhere', () => {
    const p = plan(ACL_INVENTORY)
    expect(Object.values(pskPeers(p)).flat()).toEqual([])
    expect(p.nodes.map((n) => n.config).join('')).not.toContain('PresharedKey')
  })

  it('an entry the converge found without a key on both sides renders without one (that entry only)', () => {
    const p = plan(WITH_PSK, {'node-b': new Set(['node-c'])})
    expect(pskPeers(p)['node-b']).toEqual(['node-a'])
    expect(pskPeers(p)['node-c']).toEqual(['node-a', 'node-b'])
  })

  it('a kept section (peer of unknown key) keeps its own PresharedKey line, as the marker', () => {
    const sections = existingPeerSections(NODE_C_CONFIG)
    const found = sections.get('node-b')
    expect(found?.kind).toBe('found')
    if (found?.kind !== 'found') return
    expect(found.section.presharedKey).toBe(true)
    const {['node-b']: _unknown, ...keys} = LAB_KEYS
    const p = planFleet(parseInventory(ACL_INVENTORY, '/srv/wg/inventory.ini'), {publicKeys: keys, existingPeers: {'node-c': {'node-b': found.section}}})
    const nodeC = p.nodes.find((n) => n.name === 'node-c')!
    expect(nodeC.keptPeers).toEqual(['node-b'])
    expect(nodeC.peers.find((peer) => peer.name === 'node-b')!.presharedKey).toBe(true)
    expect(nodeC.config).toContain(`PublicKey = ${LAB_KEYS['node-b']}\nPresharedKey = @WGFLEET_PRESHARED_KEY@\n`)
  })

  it('a kept section with a PresharedKey that is not the marker (a hidden value) is unusable', () => {
    const text = NODE_C_CONFIG.replace(/PresharedKey = @WGFLEET_PRESHARED_KEY@\nEndpoint = 203\.0\.113\.2/, 'PresharedKey = (hidden key)\nEndpoint = 203.0.113.2')
    expect(existingPeerSections(text).get('node-b')).toEqual({kind: 'unusable'})
  })
})
