/**
 * planPeerAdd: the one judgement of add-node's fast path — which existing nodes' changes are exactly "an
 * entry for the newcomer added" (and a relay's AllowedIPs grown by the newcomer's routes), with every value
 * peer-add.sh needs; everything else takes the full path. Configs rendered by the real planner.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import type {Fleet} from '../../../src/inventory/model.js'
import {hostRoutes, planFleet} from '../../../src/plan/planner.js'
import {planPeerAdd, type PeerAddDecision} from '../../../src/plan/peer-add.js'
import {fleet, KEYS, type NodeInput} from './fixtures.js'

const MESH: NodeInput[] = [
  {name: 'node-a', host: '1.1.1.1', address: '10.0.0.1', relay: true},
  {name: 'node-b', host: '2.2.2.2', address: '10.0.0.2'},
  {name: 'node-c', address: '10.0.0.3', nat: true},
]
const PUBLIC_NEWCOMER: NodeInput = {name: 'node-e', host: '5.5.5.5', address: '10.0.0.5'}
const NAT_NEWCOMER: NodeInput = {name: 'node-e', address: '10.0.0.5', nat: true}

const configs = (f: Fleet): Record<string, string> => Object.fromEntries(planFleet(f, {publicKeys: {...KEYS}}).nodes.map((n) => [n.name, n.config]))

function decide(nodes: NodeInput[], newcomer: NodeInput, network: Parameters<typeof fleet>[1] = {}, edit: (grown: Fleet) => Fleet = (g) => g): Record<string, PeerAddDecision> {
  const before = configs(fleet(nodes, network))
  const grown = edit(fleet([...nodes, newcomer], network))
  const after = configs(grown)
  const spec = grown.nodes.at(-1)!
  return Object.fromEntries(nodes.map((n) => [n.name, planPeerAdd(before[n.name]!, after[n.name]!, {publicKey: KEYS['node-e'], routes: hostRoutes(spec)})]))
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

describe('planPeerAdd: accepted shapes', () => {
  it('a public newcomer in a mesh: one entry added on every node, with its endpoint, /32 and keepalive; the digest of the old file', () => {
    const before = configs(fleet(MESH))
    const decisions = decide(MESH, PUBLIC_NEWCOMER)
    for (const name of ['node-a', 'node-b', 'node-c']) {
      const d = decisions[name]!
      expect(d.kind).toBe('peer-add')
      if (d.kind !== 'peer-add') continue
      expect(d.plan.add).toEqual([{publicKey: KEYS['node-e'], endpoint: '5.5.5.5:51820', allowedIps: ['10.0.0.5/32'], keepalive: 25}])
      expect(d.plan.setAllowedIps).toEqual([])
      expect(d.plan.expectedDigest).toBe(sha256(before[name]!))
      expect(d.plan.config).toContain(`PublicKey = ${KEYS['node-e']}`)
    }
  })

  it('a NAT-ed newcomer: no endpoint on the public nodes; the NAT-ed node reaches it through the relay, whose entry gains its /32', () => {
    const decisions = decide(MESH, NAT_NEWCOMER)
    const b = decisions['node-b']!
    expect(b.kind === 'peer-add' && b.plan.add).toEqual([{publicKey: KEYS['node-e'], endpoint: null, allowedIps: ['10.0.0.5/32'], keepalive: 25}])
    const c = decisions['node-c']!
    expect(c.kind).toBe('peer-add')
    if (c.kind !== 'peer-add') return
    expect(c.plan.add).toEqual([])
    expect(c.plan.setAllowedIps).toEqual([{publicKey: KEYS['node-a'], allowedIps: ['10.0.0.1/32', '10.0.0.5/32']}])
  })

  it('dual stack: the entry carries the /32 and the /128', () => {
    const nodes = MESH.map((n, i) => ({...n, address6: `fd42::${i + 1}`}))
    const decisions = decide(nodes, {...PUBLIC_NEWCOMER, address6: 'fd42::5'}, {cidr6: 'fd42::/64'})
    const b = decisions['node-b']!
    expect(b.kind === 'peer-add' && b.plan.add[0]!.allowedIps).toEqual(['10.0.0.5/32', 'fd42::5/128'])
  })

  it('a node whose file does not change is unchanged (nothing to run)', () => {
    const text = configs(fleet(MESH))['node-a']!
    expect(planPeerAdd(text, text, {publicKey: KEYS['node-e'], routes: ['10.0.0.5/32']})).toEqual({kind: 'unchanged'})
  })
})

describe('planPeerAdd: every other change takes the full path', () => {
  const newcomer = {publicKey: KEYS['node-e'], routes: ['10.0.0.5/32']}
  const before = configs(fleet(MESH))['node-b']!
  const after = configs(fleet([...MESH, PUBLIC_NEWCOMER]))['node-b']!
  const reason = (d: PeerAddDecision) => (d.kind === 'full' ? d.reason : d.kind)

  it('no config on record', () => {
    expect(reason(planPeerAdd(null, after, newcomer))).toBe('no-applied-config')
  })
  it('a keepalive change on the existing peers', () => {
    expect(reason(decide(MESH, PUBLIC_NEWCOMER, {}, (g) => ({...g, network: {...g.network, keepalive: 15}}))['node-b']!)).toBe('peer-changed')
  })
  it('an [Interface] change (MTU)', () => {
    expect(reason(decide(MESH, PUBLIC_NEWCOMER, {}, (g) => ({...g, network: {...g.network, mtu: 1380}}))['node-b']!)).toBe('interface-changed')
  })
  it('preshared keys', () => {
    const withPsk = after.replace(`PublicKey = ${KEYS['node-e']}`, `PublicKey = ${KEYS['node-e']}\nPresharedKey = @WGFLEET_PRESHARED_KEY@`)
    expect(reason(planPeerAdd(before, withPsk, newcomer))).toBe('preshared-key')
  })
  it('a subnet of the newcomer (its entry carries more than its own routes)', () => {
    const withSubnet = after.replace('AllowedIPs = 10.0.0.5/32', 'AllowedIPs = 10.0.0.5/32, 198.19.7.0/24')
    expect(reason(planPeerAdd(before, withSubnet, newcomer))).toBe('newcomer-routes')
  })
  it('a newcomer route outside the node\'s interface prefix (peer-add.sh adds no routes)', () => {
    const narrow = (text: string) => text.replace(/^Address = (\S+)\/24$/m, 'Address = $1/32')
    expect(reason(planPeerAdd(narrow(before), narrow(after), newcomer))).toBe('route-needed')
    // The same change inside the prefix is the fast path.
    expect(planPeerAdd(before, after, newcomer).kind).toBe('peer-add')
  })
  it('an entry for some other key', () => {
    expect(reason(planPeerAdd(before, after, {...newcomer, publicKey: KEYS['node-d'] ?? 'ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ='}))).toBe('unexpected-peer')
  })
  it('an existing peer removed', () => {
    const withoutA = after.replace(/# node-a\n\[Peer\][^]*?(?=\n\n)/, '').replace(/\n\n\n/, '\n\n')
    expect(reason(planPeerAdd(before, withoutA, newcomer))).toBe('peer-removed')
  })
  it('an existing peer changed otherwise (an endpoint)', () => {
    expect(reason(planPeerAdd(before, after.replace('1.1.1.1:51820', '1.1.1.9:51820'), newcomer))).toBe('peer-changed')
  })
  it('a relay entry that gains a route that is not the newcomer\'s', () => {
    const grown = after.replace('AllowedIPs = 10.0.0.1/32', 'AllowedIPs = 10.0.0.1/32, 10.0.0.9/32')
    expect(reason(planPeerAdd(before, grown, newcomer))).toBe('peer-changed')
  })
  it('only a comment differs', () => {
    expect(reason(planPeerAdd(before, before.replace('# node-a', '# node-a (relay)'), newcomer))).toBe('other-change')
  })
  it('the newcomer\'s entry with a key peer-add does not set', () => {
    const odd = after.replace('AllowedIPs = 10.0.0.5/32', 'AllowedIPs = 10.0.0.5/32\nFooBar = 1')
    expect(reason(planPeerAdd(before, odd, newcomer))).toBe('newcomer-routes')
  })
})
