/** Site-to-site subnets in the plan: every peer entry for the subnet node carries them, relays for NAT-ed pairs, never one range twice. */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import type {Fleet} from '../../../src/inventory/model.js'
import {planFleet} from '../../../src/plan/index.js'
import {interfaceHooks} from '../../../src/plan/render.js'
import {BugError} from '../../../src/lib/errors.js'
import {fleet, KEYS} from './fixtures.js'

const SEED = [
  {name: 'node-a', address: '10.0.0.1', relay: true, host: '203.0.113.1'},
  {name: 'node-b', address: '10.0.0.2', host: '203.0.113.2'},
  {name: 'node-c', address: '10.0.0.3', nat: true},
  {name: 'node-d', address: '10.0.0.4', nat: true},
]

function withSubnets(f: Fleet, subnets: Record<string, string[]>, snat = true): Fleet {
  return {...f, nodes: f.nodes.map((n) => (subnets[n.name] ? {...n, subnets: subnets[n.name], subnetSnat: snat} : n))}
}

const ranges = (plan: ReturnType<typeof planFleet>, name: string) => plan.nodes.find((n) => n.name === name)!.peers.map((p) => [p.name, p.allowedIps])

describe('planFleet, subnets', () => {
  it('golden: a subnet on the relay: every entry for it carries the subnet after its /32; the relay forwards and masquerades towards it', () => {
    const plan = planFleet(withSubnets(fleet(SEED), {'node-a': ['198.19.1.0/24']}), {publicKeys: KEYS})
    expect(ranges(plan, 'node-b')).toEqual([['node-a', ['10.0.0.1/32', '198.19.1.0/24']], ['node-c', ['10.0.0.3/32']], ['node-d', ['10.0.0.4/32']]])
    expect(ranges(plan, 'node-c')).toEqual([['node-a', ['10.0.0.1/32', '198.19.1.0/24', '10.0.0.4/32']], ['node-b', ['10.0.0.2/32']]])
    const a = plan.nodes[0]!
    expect(a.subnets).toEqual(['198.19.1.0/24'])
    expect(a.subnetSnat).toBe(true)
    expect(a.peers.flatMap((p) => p.allowedIps)).not.toContain('198.19.1.0/24')
    expect(a.config).toContain(`PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -d 198.19.1.0/24 -j MASQUERADE
PostDown = iptables -t nat -D POSTROUTING -s 10.0.0.0/24 -d 198.19.1.0/24 -j MASQUERADE || true
`)
    // Nodes without subnets render as before.
    expect(plan.nodes[1]!.subnets).toBeUndefined()
    expect(plan.nodes[1]!.config).not.toContain('PostUp')
  })

  it('a subnet on a NAT-ed node: the other NAT-ed node reaches it through the relay, whose own entry carries it', () => {
    const plan = planFleet(withSubnets(fleet(SEED), {'node-d': ['198.19.2.0/24']}), {publicKeys: KEYS})
    expect(ranges(plan, 'node-c')).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.4/32', '198.19.2.0/24']], ['node-b', ['10.0.0.2/32']]])
    expect(ranges(plan, 'node-a')).toEqual([['node-b', ['10.0.0.2/32']], ['node-c', ['10.0.0.3/32']], ['node-d', ['10.0.0.4/32', '198.19.2.0/24']]])
    expect(ranges(plan, 'node-b')).toEqual([['node-a', ['10.0.0.1/32']], ['node-c', ['10.0.0.3/32']], ['node-d', ['10.0.0.4/32', '198.19.2.0/24']]])
    expect(plan.nodes[3]!.forwarding).toBe(false) // not a relay: forwards only to its subnet (decide.ts)
  })

  it('subnet_snat = false: no masquerade; IPv6 subnets with ip6tables from cidr6', () => {
    const f = withSubnets(fleet(SEED.map((n, i) => ({...n, address6: `fd42:42::${i + 1}`})), {cidr6: 'fd42:42::/64'}), {'node-b': ['198.19.1.0/24', 'fd10:1::/64']})
    const b = planFleet(f, {publicKeys: KEYS}).nodes[1]!
    expect(b.config).toContain('PostUp = ip6tables -t nat -A POSTROUTING -s fd42:42::/64 -d fd10:1::/64 -j MASQUERADE')
    expect(ranges(planFleet(f, {publicKeys: KEYS}), 'node-a')[0]).toEqual(['node-b', ['10.0.0.2/32', 'fd42:42::2/128', '198.19.1.0/24', 'fd10:1::/64']])
    const off = planFleet(withSubnets(fleet(SEED), {'node-b': ['198.19.1.0/24']}, false), {publicKeys: KEYS}).nodes[1]!
    expect(off.subnetSnat).toBe(false)
    expect(off.config).not.toContain('MASQUERADE')
  })

  it('hub: the spoke\'s relay entry carries the subnets of nodes it has no entry for, once', () => {
    const f = withSubnets(fleet(SEED.slice(0, 3), {topology: 'hub'}), {'node-b': ['198.19.1.0/24'], 'node-a': ['198.19.9.0/24']})
    const plan = planFleet(f, {publicKeys: KEYS})
    expect(ranges(plan, 'node-c')).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.0/24', '198.19.9.0/24', '198.19.1.0/24']]])
    expect(ranges(plan, 'node-a')).toEqual([['node-b', ['10.0.0.2/32', '198.19.1.0/24']], ['node-c', ['10.0.0.3/32']]])
    expect(ranges(plan, 'node-b')).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.0/24', '198.19.9.0/24']]])
  })

  it('[acl]: a node not allowed to peer with the subnet node gets no route to its subnets; the relay still carries them for the nodes allowed', () => {
    const text = `[network]
cidr = 10.0.0.0/24

[acl]
web = db

[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true
groups = ops

[node-b]
host = 203.0.113.2
address = 10.0.0.2
groups = web

[node-c]
host = 198.51.100.3
address = 10.0.0.3
nat = true
groups = web

[node-d]
host = 198.51.100.4
address = 10.0.0.4
nat = true
groups = db
subnets = 198.19.1.0/24

[node-e]
host = 203.0.113.5
address = 10.0.0.5
groups = web
`
    const plan = planFleet(parseInventory(text.replace('[acl]\nweb = db', '[acl]\nweb = db\nops = web'), '/srv/inventory.ini'), {publicKeys: KEYS})
    // node-c (web, NAT-ed) reaches node-d's subnet through the relay; the relay (ops, not allowed with db) carries it for that.
    expect(ranges(plan, 'node-c')).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.4/32', '198.19.1.0/24']]])
    expect(ranges(plan, 'node-a').find(([n]) => n === 'node-d')).toEqual(['node-d', ['10.0.0.4/32', '198.19.1.0/24']])
    expect(ranges(plan, 'node-b').find(([n]) => n === 'node-d')).toEqual(['node-d', ['10.0.0.4/32', '198.19.1.0/24']])
    // Without web = db, no one but the relay may reach node-d: no entry carries its subnet but the relay's own.
    const closed = planFleet(parseInventory(text.replace('web = db', 'web = web\nops = db'), '/srv/inventory.ini'), {publicKeys: KEYS})
    for (const n of closed.nodes.filter((x) => x.name !== 'node-a')) expect(n.peers.flatMap((p) => p.allowedIps)).not.toContain('198.19.1.0/24')
    expect(ranges(closed, 'node-a').find(([n]) => n === 'node-d')).toEqual(['node-d', ['10.0.0.4/32', '198.19.1.0/24']])
  })

  it('never one range on two peers of a node, whatever has subnets', () => {
    const f = withSubnets(fleet(SEED), {'node-a': ['198.19.1.0/24'], 'node-b': ['198.19.2.0/24'], 'node-c': ['198.19.3.0/24'], 'node-d': ['198.19.4.0/24', '198.19.5.0/24']})
    const plan = planFleet(f, {publicKeys: KEYS})
    for (const n of plan.nodes) {
      const all = n.peers.flatMap((p) => p.allowedIps)
      expect(new Set(all).size).toBe(all.length)
      // Every other node's subnets are reachable from every node, once.
      for (const other of f.nodes.filter((o) => o.name !== n.name)) for (const s of other.subnets!) expect(all.filter((r) => r === s)).toHaveLength(1)
    }
  })

  it('the renderer checks a subnet again (it reaches bash through PostUp)', () => {
    const node = planFleet(withSubnets(fleet(SEED), {'node-a': ['198.19.1.0/24']}), {publicKeys: KEYS}).nodes[0]!
    expect(() => interfaceHooks({...node, subnets: ['198.19.1.0/24; reboot']}, '10.0.0.0/24')).toThrow(BugError)
    expect(() => interfaceHooks({...node, subnets: ['fd10::/64']}, '10.0.0.0/24')).toThrow(BugError)
  })
})
