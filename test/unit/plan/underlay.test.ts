/**
 * The underlay: which family each node is dialled over and dials on (inventory/underlay.ts). A pair
 * peers directly when one side can dial the other; a pair with no family in common goes through a relay
 * both reach (a dual-stack one), and the inventory refuses it, naming the pair, when there is none.
 */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {canDial, canLink, dialFamilies, endpointFamily} from '../../../src/inventory/underlay.js'
import {planFleet} from '../../../src/plan/index.js'
import {errorsOf, expectProblem, FILE, lineOf} from '../inventory/helpers.js'
import {KEYS} from './fixtures.js'

const INVENTORY = `[network]
cidr = 10.0.0.0/24

[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true
underlay = dual

[node-b]
host = 2001:db8::2
address = 10.0.0.2
underlay = ipv6

[node-c]
host = 198.51.100.7
address = 10.0.0.3
nat = true
underlay = ipv4
`

describe('underlay: who can dial whom', () => {
  it('unset: every family (what wgfleet always assumed); written: only that one', () => {
    expect([...dialFamilies({nat: false, dialHost: '203.0.113.1'})]).toEqual(['ipv4', 'ipv6'])
    expect([...dialFamilies({nat: true, underlay: 'ipv4'})]).toEqual(['ipv4'])
    expect(endpointFamily({nat: false, dialHost: '[2001:db8::2]'})).toBe('ipv6')
    expect(endpointFamily({nat: false, dialHost: 'vpn.example.org', underlay: 'ipv6'})).toBe('ipv6')
    expect(endpointFamily({nat: false, dialHost: 'vpn.example.org'})).toBe('ipv4')
    expect(endpointFamily({nat: true})).toBeNull()
    const v6 = {nat: false, dialHost: '2001:db8::2', underlay: 'ipv6' as const}
    const natV4 = {nat: true, underlay: 'ipv4' as const}
    expect([canDial(natV4, v6), canDial(v6, natV4), canLink(natV4, v6)]).toEqual([false, false, false])
  })
})

describe('planFleet: an IPv6-only public node and an IPv4-only NAT-ed node', () => {
  const fleet = parseInventory(INVENTORY, FILE)
  const plan = planFleet(fleet, {publicKeys: {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c']}})
  const peers = (name: string) => plan.nodes.find((n) => n.name === name)!.peers.map((p) => [p.name, p.endpoint, p.allowedIps])

  it('meet through the dual-stack relay: its entry on each carries the other', () => {
    expect(peers('node-c')).toEqual([['node-a', '203.0.113.1:51820', ['10.0.0.1/32', '10.0.0.2/32']]])
    expect(peers('node-b')).toEqual([['node-a', null, ['10.0.0.1/32', '10.0.0.3/32']]])
  })

  it('an Endpoint only where the node can dial it: the relay dials node-b over IPv6, node-b cannot dial the relay\'s IPv4 endpoint', () => {
    expect(peers('node-a')).toEqual([
      ['node-b', '[2001:db8::2]:51820', ['10.0.0.2/32']],
      ['node-c', null, ['10.0.0.3/32']],
    ])
  })
})

describe('exits, hubs and aliases', () => {
  it('exit_via to a node of no common family is refused, naming both', () => {
    const text = INVENTORY.replace('nat = true\nunderlay = ipv4', 'nat = true\nunderlay = ipv4\nexit_via = node-b')
    expectProblem(errorsOf(text), {line: lineOf(text, 'exit_via = node-b'), key: 'exit_via', message: /\[node-c\] \(IPv4 only, behind NAT\) and its exit \[node-b\] \(IPv6 only\) share no underlay family/})
  })

  it('hub: a spoke must reach every relay, not only the first', () => {
    const text = `[network]
cidr = 10.0.0.0/24
topology = hub

[r1]
host = 203.0.113.1
address = 10.0.0.1
relay = true
underlay = dual

[r2]
host = 2001:db8::2
address = 10.0.0.2
relay = true
underlay = ipv6

[s]
host = 198.51.100.7
address = 10.0.0.3
nat = true
underlay = ipv4
`
    expectProblem(errorsOf(text), {line: lineOf(text, 'underlay = ipv4'), key: 'underlay', section: 's', message: /\[s\] \(IPv4 only, behind NAT\) cannot dial the hub relay \[r2\] \(IPv6 only\)/})
    // With r2 dialled over IPv4 too (and dual), the hub plans: s dials both relays.
    const ok = text.replace('host = 2001:db8::2', 'host = 203.0.113.2').replace('underlay = ipv6', 'underlay = dual')
    const plan = planFleet(parseInventory(ok, FILE), {publicKeys: {}})
    expect(plan.nodes.find((n) => n.name === 's')!.peers.map((p) => [p.name, p.endpoint])).toEqual([['r1', '203.0.113.1:51820'], ['r2', '203.0.113.2:51820']])
  })

  it('an ssh_config alias resolved to an IPv6 HostName keeps the family its name was judged by (no crash, same answer as the inventory check)', () => {
    const fleet = parseInventory(INVENTORY.replace('host = 203.0.113.1', 'host = web1').replace('underlay = dual', 'underlay = ipv4').replace(/\[node-b\][^[]*/, ''), FILE)
    // As services/fleet-loader.ts leaves it: the endpoint is the HostName ssh -G gives.
    const resolved = {...fleet, nodes: fleet.nodes.map((n) => (n.name === 'node-a' ? {...n, endpointHost: '2001:db8::1'} : n))}
    const plan = planFleet(resolved, {publicKeys: {}})
    expect(plan.nodes.find((n) => n.name === 'node-c')!.peers.map((p) => [p.name, p.endpoint])).toEqual([['node-a', '[2001:db8::1]:51820']])
  })
})

describe('with [acl]: the first relay carries the pairs that share no family', () => {
  it('node-b (IPv6 only, web) and node-c (IPv4 only, NAT-ed, db) meet through node-a, which has no group', () => {
    const text = INVENTORY.replace('underlay = ipv6', 'underlay = ipv6\ngroups = web').replace('underlay = ipv4', 'underlay = ipv4\ngroups = db') + '\n[acl]\nweb = db\n'
    const plan = planFleet(parseInventory(text, FILE), {publicKeys: {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c']}})
    const peers = (name: string) => plan.nodes.find((n) => n.name === name)!.peers.map((p) => [p.name, p.allowedIps])
    expect(peers('node-c')).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.2/32']]])
    expect(peers('node-b')).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.3/32']]])
  })

  it('refused when only a relay after the first could carry them (with [acl] the first relay relays)', () => {
    const text = `[network]
cidr = 10.0.0.0/24

[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true
underlay = ipv4

[node-b]
host = 2001:db8::2
address = 10.0.0.2
underlay = ipv6
groups = web

[node-c]
host = 198.51.100.7
address = 10.0.0.3
nat = true
underlay = ipv4
groups = db

[node-r]
host = 203.0.113.9
address = 10.0.0.9
relay = true
underlay = dual

[acl]
web = db
`
    const messages = errorsOf(text).map((e) => e.message)
    expect(messages.join('\n')).toMatch(/\[node-b\] \(IPv6 only\) and \[node-c\] \(IPv4 only, behind NAT\) share no underlay family to dial each other, and no relay reaches both/)
    // Without [acl], node-r carries them.
    expect(() => parseInventory(text.replace(/\ngroups = \w+/g, '').replace('\n[acl]\nweb = db\n', ''), FILE)).not.toThrow()
  })
})

describe('inventory: refused, naming the pair', () => {
  it('no relay reaches both', () => {
    const text = INVENTORY.replace('underlay = dual', 'underlay = ipv4')
    expectProblem(errorsOf(text), {
      line: lineOf(text, 'underlay = ipv6'),
      key: 'underlay',
      section: 'node-b',
      message: /\[node-a\] \(IPv4 only\) and \[node-b\] \(IPv6 only\) share no underlay family/,
      hint: /underlay = dual/,
    })
  })

  it('the NAT-ed node and the IPv6-only node, when the only relay is IPv6-only too', () => {
    const text = INVENTORY.replace('host = 203.0.113.1', 'host = 2001:db8::1').replace('underlay = dual', 'underlay = ipv6')
    const errors = errorsOf(text)
    expect(errors.map((e) => e.message).join('\n')).toMatch(/\[node-(a|b)\] \(IPv6 only\) and \[node-c\] \(IPv4 only, behind NAT\) share no underlay family/)
  })

  it('an underlay its own endpoint contradicts', () => {
    const text = INVENTORY.replace('underlay = ipv6', 'underlay = ipv4')
    expectProblem(errorsOf(text), {line: lineOf(text, 'host = 2001:db8::2') + 2, key: 'underlay', message: /underlay = ipv4, but the others dial it at 2001:db8::2 \(its host\), an IPv6 address/})
  })

  it('a value that is not an underlay', () => {
    const text = INVENTORY.replace('underlay = dual', 'underlay = both')
    expectProblem(errorsOf(text), {line: lineOf(text, 'underlay = both'), key: 'underlay', message: /"both" is not an underlay|`both` is not an underlay|both is not an underlay/, hint: /ipv4, ipv6 or dual/})
  })

  it('hub: a node that cannot reach the hub relay', () => {
    const text = INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ntopology = hub').replace('underlay = dual', 'underlay = ipv4')
    expect(errorsOf(text).map((e) => e.message).join('\n')).toMatch(/\[node-b\] \(IPv6 only\) cannot dial the hub relay \[node-a\] \(IPv4 only\)/)
  })

  it('without underlay keys, an IPv6 endpoint beside IPv4 ones is planned as before (everyone dials it)', () => {
    const text = INVENTORY.replace(/^underlay = .*\n/gm, '')
    const plan = planFleet(parseInventory(text, FILE), {publicKeys: {}})
    expect(plan.nodes.find((n) => n.name === 'node-c')!.peers.map((p) => [p.name, p.endpoint])).toEqual([['node-a', '203.0.113.1:51820'], ['node-b', '[2001:db8::2]:51820']])
  })
})
