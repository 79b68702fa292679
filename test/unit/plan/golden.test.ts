/**
 * Golden tests: the foundation scenario (node-a relay, node-b public, node-c NAT-ed) and its relay
 * extension (node-d, NAT-ed too). The literal texts below are the golden files.
 */
import {describe, expect, it} from 'vitest'

import {parseRenderedConfig, planFleet} from '../../../src/plan/index.js'
import type {FleetPlan, NodePlan} from '../../../src/plan/model.js'
import {allKeys, fleet, KEYS, NODE_D, SCENARIO} from './fixtures.js'

function nodeOf(plan: FleetPlan, name: string): NodePlan {
  const found = plan.nodes.find((n) => n.name === name)
  if (!found) throw new Error(`no node ${name}`)
  return found
}

/** name → {endpoint, allowedIps, keepalive} as read back from the rendered text (not from the plan). */
function renderedPeers(config: string): Record<string, {endpoint: string | null; allowedIps: string[]; keepalive: string[]}> {
  const names = [...config.matchAll(/^# (node-[a-z])\n\[Peer\]$/gm)].map((m) => m[1]!)
  const peers = parseRenderedConfig(config).peers
  expect(peers).toHaveLength(names.length)
  return Object.fromEntries(
    peers.map((p, i) => [
      names[i]!,
      {endpoint: p.Endpoint?.[0] ?? null, allowedIps: p.AllowedIPs ?? [], keepalive: p.PersistentKeepalive ?? []},
    ]),
  )
}

function assertNoRangeOnTwoPeers(node: NodePlan): void {
  const ranges = parseRenderedConfig(node.config).peers.flatMap((p) => p.AllowedIPs ?? [])
  expect(new Set(ranges).size, `${node.name}: ${ranges.join(' ')}`).toBe(ranges.length)
}

const NODE_A_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.1/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-b
[Peer]
PublicKey = 1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0=
Endpoint = 2.2.2.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = /Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk=
AllowedIPs = 10.0.0.3/32
PersistentKeepalive = 25
`

const NODE_B_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.2/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig=
Endpoint = 1.1.1.1:51820
AllowedIPs = 10.0.0.1/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = /Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk=
AllowedIPs = 10.0.0.3/32
PersistentKeepalive = 25
`

const NODE_C_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.3/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig=
Endpoint = 1.1.1.1:51820
AllowedIPs = 10.0.0.1/32
PersistentKeepalive = 25

# node-b
[Peer]
PublicKey = 1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0=
Endpoint = 2.2.2.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25
`

describe('golden: node-a relay, node-b public, node-c NAT-ed', () => {
  const plan = planFleet(fleet(SCENARIO), {publicKeys: allKeys()})

  it('keeps inventory order and the network settings', () => {
    expect(plan.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c'])
    expect(plan.interface).toBe('wg0')
    expect(plan.cidr).toBe('10.0.0.0/24')
  })

  it('node-a: Address, ListenPort, node-b with endpoint, node-c without', () => {
    const a = nodeOf(plan, 'node-a')
    const iface = parseRenderedConfig(a.config).interface
    expect(iface.Address).toEqual(['10.0.0.1/24'])
    expect(iface.ListenPort).toEqual(['51820'])
    expect(renderedPeers(a.config)).toEqual({
      'node-b': {endpoint: '2.2.2.2:51820', allowedIps: ['10.0.0.2/32'], keepalive: ['25']},
      'node-c': {endpoint: null, allowedIps: ['10.0.0.3/32'], keepalive: ['25']},
    })
  })

  it('node-a forwards, and nothing in its config turns forwarding off', () => {
    const a = nodeOf(plan, 'node-a')
    expect(a.forwarding).toBe(true)
    expect(a.config).not.toMatch(/PostDown|PreDown|ip_forward|forwarding/i)
    expect(nodeOf(plan, 'node-b').forwarding).toBe(false)
    expect(nodeOf(plan, 'node-c').forwarding).toBe(false)
  })

  it('node-b: node-a with endpoint, node-c without', () => {
    expect(renderedPeers(nodeOf(plan, 'node-b').config)).toEqual({
      'node-a': {endpoint: '1.1.1.1:51820', allowedIps: ['10.0.0.1/32'], keepalive: ['25']},
      'node-c': {endpoint: null, allowedIps: ['10.0.0.3/32'], keepalive: ['25']},
    })
  })

  it('node-c: dials node-a and node-b', () => {
    const c = nodeOf(plan, 'node-c')
    expect(renderedPeers(c.config)).toEqual({
      'node-a': {endpoint: '1.1.1.1:51820', allowedIps: ['10.0.0.1/32'], keepalive: ['25']},
      'node-b': {endpoint: '2.2.2.2:51820', allowedIps: ['10.0.0.2/32'], keepalive: ['25']},
    })
    expect(c.endpoint).toBeNull()
    expect(c.relayed).toEqual([])
  })

  it('every peer entry carries PersistentKeepalive = 25', () => {
    for (const n of plan.nodes) for (const p of n.peers) expect(p.keepalive).toBe(25)
  })

  it('renders exactly the golden texts', () => {
    expect(nodeOf(plan, 'node-a').config).toBe(NODE_A_CONFIG)
    expect(nodeOf(plan, 'node-b').config).toBe(NODE_B_CONFIG)
    expect(nodeOf(plan, 'node-c').config).toBe(NODE_C_CONFIG)
  })

  it('no AllowedIPs range on two peers of any node', () => {
    for (const n of plan.nodes) assertNoRangeOnTwoPeers(n)
  })
})

describe('golden: two NAT-ed nodes reach each other through the relay', () => {
  const plan = planFleet(fleet([...SCENARIO, NODE_D]), {publicKeys: allKeys()})

  it("node-c's peer node-a carries node-d, and node-d's carries node-c", () => {
    expect(renderedPeers(nodeOf(plan, 'node-c').config)).toEqual({
      'node-a': {endpoint: '1.1.1.1:51820', allowedIps: ['10.0.0.1/32', '10.0.0.4/32'], keepalive: ['25']},
      'node-b': {endpoint: '2.2.2.2:51820', allowedIps: ['10.0.0.2/32'], keepalive: ['25']},
    })
    expect(renderedPeers(nodeOf(plan, 'node-d').config)).toEqual({
      'node-a': {endpoint: '1.1.1.1:51820', allowedIps: ['10.0.0.1/32', '10.0.0.3/32'], keepalive: ['25']},
      'node-b': {endpoint: '2.2.2.2:51820', allowedIps: ['10.0.0.2/32'], keepalive: ['25']},
    })
  })

  it('node-c and node-d have no peer entry for each other; relayed names the relay', () => {
    const c = nodeOf(plan, 'node-c')
    const d = nodeOf(plan, 'node-d')
    expect(c.peers.map((p) => p.name)).toEqual(['node-a', 'node-b'])
    expect(d.peers.map((p) => p.name)).toEqual(['node-a', 'node-b'])
    expect(c.relayed).toEqual([{name: 'node-d', address: '10.0.0.4', via: 'node-a'}])
    expect(d.relayed).toEqual([{name: 'node-c', address: '10.0.0.3', via: 'node-a'}])
    expect(c.peers[0]!.relays).toEqual(['node-d'])
  })

  it('the relay and node-b peer with everyone directly', () => {
    expect(nodeOf(plan, 'node-a').peers.map((p) => p.name)).toEqual(['node-b', 'node-c', 'node-d'])
    expect(nodeOf(plan, 'node-b').peers.map((p) => p.name)).toEqual(['node-a', 'node-c', 'node-d'])
    expect(nodeOf(plan, 'node-a').peers.every((p) => p.allowedIps.length === 1)).toBe(true)
  })

  it('no AllowedIPs range on two peers of any node', () => {
    for (const n of plan.nodes) assertNoRangeOnTwoPeers(n)
  })
})

/**
 * node-d's key is unknown (not in state, not reached) and the configs disagree about it: node-a's own
 * config has node-d under its old key, node-b's under another key and keepalive. Each keeps its own
 * section as it is; neither config decides the other's, and node-d is dropped from neither.
 */
describe('golden: a peer of unknown key keeps each node\'s own existing section', () => {
  const NODE_A_SECTION = ['# node-d', '[Peer]', `PublicKey = ${KEYS['node-d']}`, 'AllowedIPs = 10.0.0.4/32', 'PersistentKeepalive = 25']
  const NODE_B_SECTION = ['# node-d', '[Peer]', `PublicKey = ${KEYS['node-e']}`, 'AllowedIPs = 10.0.0.4/32', 'PersistentKeepalive = 21']
  const section = (lines: string[]) => ({lines, publicKey: lines[2]!.slice('PublicKey = '.length), endpoint: null, allowedIps: ['10.0.0.4/32'], keepalive: Number(lines[4]!.split(' = ')[1])})
  const {'node-d': _unknown, 'node-e': _unused, ...publicKeys} = allKeys()
  const plan = planFleet(
    fleet([...SCENARIO, NODE_D]),
    {publicKeys, existingPeers: {'node-a': {'node-d': section(NODE_A_SECTION)}, 'node-b': {'node-d': section(NODE_B_SECTION)}}},
    {omitPeersWithoutKey: true},
  )

  it('renders node-a with its own section for node-d, exactly', () => {
    expect(nodeOf(plan, 'node-a').config).toBe(`# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.1/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-b
[Peer]
PublicKey = 1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0=
Endpoint = 2.2.2.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = /Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk=
AllowedIPs = 10.0.0.3/32
PersistentKeepalive = 25

# node-d
[Peer]
PublicKey = CUVmuCqSMnAIGcynv1bFuM8gOzOCnUK3CWLQB9S7sFs=
AllowedIPs = 10.0.0.4/32
PersistentKeepalive = 25
`)
  })

  it('renders node-b with its own, different section (verbatim: its keepalive of 21 stays)', () => {
    expect(nodeOf(plan, 'node-b').config).toBe(`# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.2/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig=
Endpoint = 1.1.1.1:51820
AllowedIPs = 10.0.0.1/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = /Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk=
AllowedIPs = 10.0.0.3/32
PersistentKeepalive = 25

# node-d
[Peer]
PublicKey = jYRtAF6z5QvNBfSkmvkF4r0zUxC/btb8/lFv9tFQ5w8=
AllowedIPs = 10.0.0.4/32
PersistentKeepalive = 21
`)
  })

  it('says which peers were kept; none skipped', () => {
    expect(nodeOf(plan, 'node-a')).toMatchObject({keptPeers: ['node-d'], skippedPeers: [], refusedSections: []})
    expect(nodeOf(plan, 'node-b')).toMatchObject({keptPeers: ['node-d'], skippedPeers: []})
    expect(nodeOf(plan, 'node-a').peers.at(-1)).toMatchObject({name: 'node-d', publicKey: KEYS['node-d'], keepalive: 25, verbatim: NODE_A_SECTION})
  })

  it('no AllowedIPs range on two peers of any node', () => {
    for (const n of plan.nodes) assertNoRangeOnTwoPeers(n)
  })
})
