/** Dual stack ([network] cidr6): one Address line with both families, every peer entry /32 and /128. */
import {describe, expect, it} from 'vitest'

import {planFleet} from '../../../src/plan/index.js'
import {fleet, KEYS} from './fixtures.js'

const DUAL = {cidr6: 'fd42:42::/64'}
const nodes = [
  {name: 'node-a', address: '10.0.0.1', address6: 'fd42:42::1', relay: true, host: '203.0.113.1'},
  {name: 'node-b', address: '10.0.0.2', address6: 'fd42:42::2', host: '203.0.113.2'},
  {name: 'node-c', address: '10.0.0.3', address6: 'fd42:42::3', nat: true},
  {name: 'node-d', address: '10.0.0.4', address6: 'fd42:42::4', nat: true},
]

describe('planFleet, dual stack', () => {
  it('golden: the relay carries both families of the NAT-ed nodes; the Address line has both', () => {
    const plan = planFleet(fleet(nodes, DUAL), {publicKeys: KEYS})
    const c = plan.nodes.find((n) => n.name === 'node-c')!
    expect(c.address6).toBe('fd42:42::3/64')
    expect(c.config).toBe(`# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.3/24, fd42:42::3/64
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = ${KEYS['node-a']}
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.0.0.1/32, fd42:42::1/128, 10.0.0.4/32, fd42:42::4/128
PersistentKeepalive = 25

# node-b
[Peer]
PublicKey = ${KEYS['node-b']}
Endpoint = 203.0.113.2:51820
AllowedIPs = 10.0.0.2/32, fd42:42::2/128
PersistentKeepalive = 25
`)
    expect(c.relayed).toEqual([{name: 'node-d', address: '10.0.0.4', address6: 'fd42:42::4', via: 'node-a'}])
    const a = plan.nodes.find((n) => n.name === 'node-a')!
    expect(a.forwarding).toBe(true)
    expect(a.peers.map((p) => p.allowedIps)).toEqual([['10.0.0.2/32', 'fd42:42::2/128'], ['10.0.0.3/32', 'fd42:42::3/128'], ['10.0.0.4/32', 'fd42:42::4/128']])
  })

  it('hub: the spoke\'s relay entry carries both overlay networks', () => {
    const plan = planFleet(fleet(nodes.slice(0, 3), {...DUAL, topology: 'hub'}), {publicKeys: KEYS})
    const b = plan.nodes.find((n) => n.name === 'node-b')!
    expect(b.peers.map((p) => [p.name, p.allowedIps])).toEqual([['node-a', ['10.0.0.1/32', 'fd42:42::1/128', '10.0.0.0/24', 'fd42:42::/64']]])
  })

  it('no cidr6: nothing changes (one family)', () => {
    const plan = planFleet(fleet(nodes.map(({address6: _, ...n}) => n)), {publicKeys: KEYS})
    expect(plan.nodes[0]!.config).toContain('Address = 10.0.0.1/24\n')
    expect(plan.nodes.flatMap((n) => n.peers.flatMap((p) => p.allowedIps)).some((r) => r.includes(':'))).toBe(false)
  })
})
