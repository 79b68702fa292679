import {describe, expect, it} from 'vitest'

import {BugError, WgfleetError} from '../../../src/lib/errors.js'
import {
  assertDistinctAllowedIps,
  parseRenderedConfig,
  planFleet,
  UNKNOWN_KEY_PLACEHOLDER,
  UPLINK_MARKER,
} from '../../../src/plan/index.js'
import type {FleetPlan, NodePlan} from '../../../src/plan/model.js'
import {allKeys, fleet, KEYS, NODE_D, type NodeInput, SCENARIO} from './fixtures.js'

function nodeOf(plan: FleetPlan, name: string): NodePlan {
  const found = plan.nodes.find((n) => n.name === name)
  if (!found) throw new Error(`no node ${name}`)
  return found
}

function peerIps(plan: FleetPlan, name: string): Record<string, string[]> {
  return Object.fromEntries(nodeOf(plan, name).peers.map((p) => [p.name, p.allowedIps]))
}

function lines(config: string, key: string): string[] {
  return config.split('\n').filter((l) => l.startsWith(`${key} = `))
}

function expectInvariantEverywhere(plan: FleetPlan): void {
  for (const n of plan.nodes) {
    const ranges = n.peers.flatMap((p) => p.allowedIps)
    expect(new Set(ranges).size, n.name).toBe(ranges.length)
    expect(ranges, n.name).not.toContain(`${n.address.split('/')[0]}/32`)
  }
}

const HUB: NodeInput[] = [
  {name: 'node-a', host: '1.1.1.1', address: '10.0.0.1', relay: true},
  {name: 'node-b', host: '2.2.2.2', address: '10.0.0.2', relay: true},
  {name: 'node-c', host: '3.3.3.3', address: '10.0.0.3'},
  {name: 'node-d', host: '4.4.4.4', address: '10.0.0.4', nat: true},
  {name: 'node-e', host: '5.5.5.5', address: '10.0.0.5'},
]

describe('topology = hub', () => {
  const plan = planFleet(fleet(HUB, {topology: 'hub'}), {publicKeys: allKeys()})

  it('non-relay nodes peer only with the relays; the first relay\'s entry carries the overlay network (one range, not a /32 per node)', () => {
    expect(peerIps(plan, 'node-c')).toEqual({
      'node-a': ['10.0.0.1/32', '10.0.0.0/24'],
      'node-b': ['10.0.0.2/32'],
    })
    expect(peerIps(plan, 'node-d')).toEqual({
      'node-a': ['10.0.0.1/32', '10.0.0.0/24'],
      'node-b': ['10.0.0.2/32'],
    })
    expect(nodeOf(plan, 'node-c').relayed).toEqual([])
    expect(nodeOf(plan, 'node-c').overlayVia).toBe('node-a')
    expect(nodeOf(plan, 'node-c').peers[0]).toMatchObject({name: 'node-a', overlay: true, relays: []})
    expect(nodeOf(plan, 'node-c').config).toContain('# node-a\n[Peer]\nPublicKey = ' + allKeys()['node-a'] + '\nEndpoint = 1.1.1.1:51820\nAllowedIPs = 10.0.0.1/32, 10.0.0.0/24\n')
  })

  it('a spoke\'s config does not grow with the fleet (O(1) per spoke, O(N) on the relays)', () => {
    const big = Array.from({length: 200}, (_, i) => ({name: `node-${i}`, host: `198.18.0.${i + 1}`, address: `10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`, relay: i === 0}))
    const hub = planFleet(fleet(big, {topology: 'hub', cidr: '10.0.0.0/16'}), {publicKeys: {}})
    expect(nodeOf(hub, 'node-150').peers.map((p) => p.allowedIps)).toEqual([['10.0.0.2/32', '10.0.0.0/16']])
    expect(nodeOf(hub, 'node-0').peers).toHaveLength(199)
  })

  it('relays peer with everyone, each with its own /32, and forward', () => {
    expect(peerIps(plan, 'node-a')).toEqual({
      'node-b': ['10.0.0.2/32'],
      'node-c': ['10.0.0.3/32'],
      'node-d': ['10.0.0.4/32'],
      'node-e': ['10.0.0.5/32'],
    })
    expect(nodeOf(plan, 'node-b').peers.map((p) => p.name)).toEqual(['node-a', 'node-c', 'node-d', 'node-e'])
    expect(plan.nodes.map((n) => n.forwarding)).toEqual([true, true, false, false, false])
    expect(nodeOf(plan, 'node-d').peers.find((p) => p.name === 'node-a')!.endpoint).toBe('1.1.1.1:51820')
    expect(nodeOf(plan, 'node-a').peers.find((p) => p.name === 'node-d')!.endpoint).toBeNull()
  })

  it('no AllowedIPs range on two peers of one node', () => expectInvariantEverywhere(plan))

  it('needs a public relay: a Fleet without one never passes validation, so here it is a bug', () => {
    const noRelay = HUB.map((n) => ({...n, relay: false}))
    expect(() => planFleet(fleet(noRelay, {topology: 'hub'}), {publicKeys: {}})).toThrow(BugError)
  })
})

describe('mesh without a usable relay', () => {
  it('refuses two NAT-ed nodes and no public relay as a bug (the validator refuses such an inventory)', () => {
    const nodes = [...SCENARIO.map((n) => ({...n, relay: false})), NODE_D]
    expect(() => planFleet(fleet(nodes), {publicKeys: {}})).toThrow(BugError)
    expect(() => planFleet(fleet(nodes), {publicKeys: {}})).toThrow(/node-c and node-d need a relay/)
  })

  it('one NAT-ed node needs no relay', () => {
    const nodes = SCENARIO.map((n) => ({...n, relay: false}))
    const plan = planFleet(fleet(nodes), {publicKeys: {}})
    expect(plan.nodes.every((n) => !n.forwarding)).toBe(true)
  })

  it('skips a NAT-ed relay: the first public relay carries', () => {
    const nodes: NodeInput[] = [
      {name: 'node-x', address: '10.0.0.9', nat: true, relay: true},
      ...SCENARIO.map((n) => ({...n, relay: n.name !== 'node-a'})),
      NODE_D,
    ]
    // node-a is no relay now; node-b is the first public relay.
    const plan = planFleet(fleet(nodes), {publicKeys: {}})
    expect(peerIps(plan, 'node-c')['node-b']).toEqual(['10.0.0.2/32', '10.0.0.9/32', '10.0.0.4/32'])
    expect(nodeOf(plan, 'node-x').forwarding).toBe(true) // relay = true still forwards
    expectInvariantEverywhere(plan)
  })
})

describe('exit_via', () => {
  const nodes: NodeInput[] = SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-b'} : n))
  const facts = {
    'node-b': {uplink: 'ens3'},
    'node-c': {uplinkAddresses: ['198.51.100.7', '198.51.100.9', '198.51.100.7']},
  }
  const plan = planFleet(fleet(nodes), {publicKeys: allKeys(), facts})

  it("the exiting node's peer entry for the exit carries 0.0.0.0/0 last", () => {
    const c = nodeOf(plan, 'node-c')
    expect(peerIps(plan, 'node-c')['node-b']).toEqual(['10.0.0.2/32', '0.0.0.0/0'])
    expect(c.peers.find((p) => p.name === 'node-b')!.exit).toBe(true)
    expect(c.peers.find((p) => p.name === 'node-a')!.exit).toBe(false)
    expect(c.fullTunnel).toBe(true)
    expect(parseRenderedConfig(c.config).peers[1]!.AllowedIPs).toEqual(['10.0.0.2/32', '0.0.0.0/0'])
  })

  it('the exit node forwards and masquerades on the uplink from facts', () => {
    const b = nodeOf(plan, 'node-b')
    expect(b.masquerade).toBe(true)
    expect(b.forwarding).toBe(true)
    expect(b.uplink).toBe('ens3')
    expect(lines(b.config, 'PostUp')).toEqual(['PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o ens3 -j MASQUERADE'])
    expect(lines(b.config, 'PostDown')).toEqual(['PostDown = iptables -t nat -D POSTROUTING -s 10.0.0.0/24 -o ens3 -j MASQUERADE'])
    expect(nodeOf(plan, 'node-a').masquerade).toBe(false)
  })

  it('keeps replies from the uplink addresses on the main table, whoever the client (deduplicated)', () => {
    const c = nodeOf(plan, 'node-c')
    expect(c.uplinkAddresses).toEqual(['198.51.100.7', '198.51.100.9'])
    expect(lines(c.config, 'PostUp')).toEqual([
      'PostUp = ip -4 rule add from 198.51.100.7/32 lookup main',
      'PostUp = ip -4 rule add from 198.51.100.9/32 lookup main',
    ])
    expect(lines(c.config, 'PostDown')).toEqual([
      'PostDown = ip -4 rule del from 198.51.100.7/32 lookup main || true',
      'PostDown = ip -4 rule del from 198.51.100.9/32 lookup main || true',
    ])
    // Nothing in the config depends on the SSH client: a second admin's run renders the same text.
    expect(c.config).not.toMatch(/203\.0\.113\.100|rule add to /)
    expect(lines(nodeOf(plan, 'node-a').config, 'PostUp')).toEqual([])
  })

  it('a full tunnel writes its fwmark in the config (so that wg syncconf keeps it); no other node has one', () => {
    expect(lines(nodeOf(plan, 'node-c').config, 'FwMark')).toEqual(['FwMark = 51820'])
    for (const name of ['node-a', 'node-b']) expect(lines(nodeOf(plan, name).config, 'FwMark')).toEqual([])
  })

  it('uplink addresses only matter under a full tunnel', () => {
    const b = nodeOf(planFleet(fleet(nodes), {publicKeys: allKeys(), facts: {...facts, 'node-b': {uplink: 'ens3', uplinkAddresses: ['203.0.113.2']}}}), 'node-b')
    expect(b.uplinkAddresses).toEqual([])
    expect(b.config).not.toMatch(/ip -4 rule/)
  })

  it('renders the uplink marker while the uplink is unknown', () => {
    const unknown = planFleet(fleet(nodes), {publicKeys: allKeys()})
    const b = nodeOf(unknown, 'node-b')
    expect(b.uplink).toBeUndefined()
    expect(UPLINK_MARKER).toBe('@WGFLEET_UPLINK@')
    expect(lines(b.config, 'PostUp')).toEqual([`PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o ${UPLINK_MARKER} -j MASQUERADE`])
    expect(lines(nodeOf(unknown, 'node-c').config, 'PostUp')).toEqual([])
  })

  it('through the relay: relayed /32s first, 0.0.0.0/0 last', () => {
    const relayed = planFleet(
      fleet([...SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-a'} : n)), NODE_D]),
      {publicKeys: allKeys()},
    )
    expect(peerIps(relayed, 'node-c')['node-a']).toEqual(['10.0.0.1/32', '10.0.0.4/32', '0.0.0.0/0'])
    expect(peerIps(relayed, 'node-d')['node-a']).toEqual(['10.0.0.1/32', '10.0.0.3/32'])
    expectInvariantEverywhere(relayed)
  })

  it('in hub topology adds a direct pair with a non-relay exit, on both sides, without overlap', () => {
    const hub = planFleet(
      fleet(HUB.map((n) => (n.name === 'node-d' ? {...n, exitVia: 'node-e'} : n)), {topology: 'hub'}),
      {publicKeys: allKeys(), facts: {'node-e': {uplink: 'eth1'}}},
    )
    expect(peerIps(hub, 'node-d')).toEqual({
      'node-a': ['10.0.0.1/32', '10.0.0.0/24'],
      'node-b': ['10.0.0.2/32'],
      'node-e': ['10.0.0.5/32', '0.0.0.0/0'],
    })
    expect(peerIps(hub, 'node-e')).toEqual({
      'node-a': ['10.0.0.1/32', '10.0.0.0/24'],
      'node-b': ['10.0.0.2/32'],
      'node-d': ['10.0.0.4/32'],
    })
    expect(nodeOf(hub, 'node-e').peers.find((p) => p.name === 'node-d')!.endpoint).toBeNull()
    expect(nodeOf(hub, 'node-e').masquerade).toBe(true)
    expectInvariantEverywhere(hub)
  })

  it('refuses an unknown, NAT-ed or own exit', () => {
    const withExit = (exitVia: string): NodeInput[] =>
      SCENARIO.map((n) => (n.name === 'node-b' ? {...n, exitVia} : n))
    // The inventory refuses each of these with file:line and a hint; a Fleet that has one is a bug.
    for (const exit of ['node-z', 'node-c', 'node-b']) expect(() => planFleet(fleet(withExit(exit)), {publicKeys: {}})).toThrow(BugError)
  })

  it('refuses facts that could smuggle shell syntax into PostUp', () => {
    expect(() => planFleet(fleet(nodes), {publicKeys: {}, facts: {'node-b': {uplink: 'eth0; reboot'}}})).toThrow(WgfleetError)
    expect(() => planFleet(fleet(nodes), {publicKeys: {}, facts: {'node-b': {uplink: '-j ACCEPT'}}})).toThrow(/not an interface name/)
    expect(() =>
      planFleet(fleet(nodes), {publicKeys: {}, facts: {'node-c': {uplinkAddresses: ['1.2.3.4$(id)']}}}),
    ).toThrow(/not an IPv4 address/)
    for (const bad of ['2001:db8::9', '01.2.3.4', '1.2.3.4/24']) {
      expect(() => planFleet(fleet(nodes), {publicKeys: {}, facts: {'node-c': {uplinkAddresses: [bad]}}}), bad).toThrow(WgfleetError)
    }
  })
})

describe('interface settings', () => {
  it('renders MTU and DNS (node dns replaces network dns)', () => {
    const nodes = SCENARIO.map((n) => (n.name === 'node-b' ? {...n, dns: ['10.0.0.2']} : n))
    const plan = planFleet(fleet(nodes, {mtu: 1380, dns: ['10.0.0.1', '1.1.1.1']}), {publicKeys: allKeys()})
    const a = nodeOf(plan, 'node-a').config
    expect(a).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@\nMTU = 1380\nDNS = 10.0.0.1, 1.1.1.1\n\n# node-b')
    expect(lines(nodeOf(plan, 'node-b').config, 'DNS')).toEqual(['DNS = 10.0.0.2'])
    expect(nodeOf(plan, 'node-a').mtu).toBe(1380)
  })

  it('renders neither MTU nor DNS when unset', () => {
    const config = nodeOf(planFleet(fleet(SCENARIO), {publicKeys: {}}), 'node-a').config
    expect(config).not.toMatch(/^(MTU|DNS)/m)
  })

  it('a per-node port is its ListenPort and the port others dial', () => {
    const nodes = SCENARIO.map((n) => (n.name === 'node-b' ? {...n, port: 51999} : n))
    const plan = planFleet(fleet(nodes), {publicKeys: allKeys()})
    expect(nodeOf(plan, 'node-b').listenPort).toBe(51999)
    expect(lines(nodeOf(plan, 'node-b').config, 'ListenPort')).toEqual(['ListenPort = 51999'])
    expect(nodeOf(plan, 'node-a').peers[0]!.endpoint).toBe('2.2.2.2:51999')
    expect(nodeOf(plan, 'node-c').config).toContain('Endpoint = 2.2.2.2:51999\n')
    expect(nodeOf(plan, 'node-c').config).toContain('Endpoint = 1.1.1.1:51820\n')
  })

  it('an endpoint overrides host; IPv6 endpoints are bracketed', () => {
    const nodes = SCENARIO.map((n) =>
      n.name === 'node-a' ? {...n, endpointHost: 'wg.example.net'} : n.name === 'node-b' ? {...n, endpointHost: '2001:db8::2'} : n,
    )
    const plan = planFleet(fleet(nodes), {publicKeys: allKeys()})
    expect(nodeOf(plan, 'node-a').endpoint).toBe('wg.example.net:51820')
    expect(nodeOf(plan, 'node-b').endpoint).toBe('[2001:db8::2]:51820')
    expect(lines(nodeOf(plan, 'node-c').config, 'Endpoint')).toEqual([
      'Endpoint = wg.example.net:51820',
      'Endpoint = [2001:db8::2]:51820',
    ])
  })

  it('keepalive 0 omits the PersistentKeepalive line', () => {
    const plan = planFleet(fleet(SCENARIO, {keepalive: 0}), {publicKeys: allKeys()})
    for (const n of plan.nodes) {
      expect(n.config).not.toContain('PersistentKeepalive')
      expect(n.peers.every((p) => p.keepalive === 0)).toBe(true)
    }
  })

  it('uses the interface name and prefix length of the network', () => {
    const plan = planFleet(fleet(SCENARIO, {interface: 'wgmesh', cidr: '10.0.0.0/16', prefixLength: 16}), {publicKeys: {}})
    expect(plan.interface).toBe('wgmesh')
    expect(nodeOf(plan, 'node-a').address).toBe('10.0.0.1/16')
    expect(nodeOf(plan, 'node-a').interface).toBe('wgmesh')
  })
})

describe('unknown public keys', () => {
  const publicKeys = {'node-a': KEYS['node-a'], 'node-c': KEYS['node-c']}

  it('render a placeholder by default', () => {
    const plan = planFleet(fleet(SCENARIO), {publicKeys})
    const a = nodeOf(plan, 'node-a')
    expect(a.peers.find((p) => p.name === 'node-b')!.publicKey).toBeNull()
    expect(a.config).toContain(`# node-b\n[Peer]\nPublicKey = ${UNKNOWN_KEY_PLACEHOLDER}\n`)
    expect(a.skippedPeers).toEqual([])
  })

  it('are left out and recorded with omitPeersWithoutKey', () => {
    const plan = planFleet(fleet(SCENARIO), {publicKeys}, {omitPeersWithoutKey: true})
    const a = nodeOf(plan, 'node-a')
    expect(a.peers.map((p) => p.name)).toEqual(['node-c'])
    expect(a.skippedPeers).toEqual(['node-b'])
    expect(a.config).not.toContain('node-b')
    expect(a.config).not.toContain(UNKNOWN_KEY_PLACEHOLDER)
    expect(nodeOf(plan, 'node-b').skippedPeers).toEqual([]) // its own key is not needed in its own config
  })

  it('an omitted relay takes its relayed routes with it, and an omitted exit its full tunnel', () => {
    const nodes = [...SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-a'} : n)), NODE_D]
    const plan = planFleet(fleet(nodes), {publicKeys: {'node-b': KEYS['node-b']}}, {omitPeersWithoutKey: true})
    const c = nodeOf(plan, 'node-c')
    expect(c.skippedPeers).toEqual(['node-a'])
    expect(c.relayed).toEqual([])
    expect(c.fullTunnel).toBe(false)
    expect(c.config).not.toContain('0.0.0.0/0')
  })

  it('a malformed known key is never pasted into a config: key trust lets none through, so here it is a bug', () => {
    expect(() => planFleet(fleet(SCENARIO), {publicKeys: {'node-b': 'x\nPostUp = reboot'}})).toThrow(BugError)
  })
})

describe('existing sections of peers whose key is unknown', () => {
  const known = {'node-a': KEYS['node-a'], 'node-c': KEYS['node-c']}
  const section = (publicKey: string, allowedIps: string[], endpoint: string | null = '2.2.2.2:51820') => ({
    lines: ['# node-b', '[Peer]', `PublicKey = ${publicKey}`, ...(endpoint ? [`Endpoint = ${endpoint}`] : []), `AllowedIPs = ${allowedIps.join(', ')}`],
    publicKey,
    endpoint,
    allowedIps,
    keepalive: 0,
  })
  const planWith = (sections: Record<string, Record<string, ReturnType<typeof section>>>, publicKeys: Record<string, string> = known) =>
    planFleet(fleet(SCENARIO), {publicKeys, existingPeers: sections}, {omitPeersWithoutKey: true})

  it('only the node\'s own section counts: node-a\'s section for node-b never reaches node-c', () => {
    const plan = planWith({'node-a': {'node-b': section(KEYS['node-b'], ['10.0.0.2/32'])}})
    expect(nodeOf(plan, 'node-a').keptPeers).toEqual(['node-b'])
    expect(nodeOf(plan, 'node-a').config).toContain(`# node-b\n[Peer]\nPublicKey = ${KEYS['node-b']}\nEndpoint = 2.2.2.2:51820\nAllowedIPs = 10.0.0.2/32\n`)
    expect(nodeOf(plan, 'node-c').skippedPeers).toEqual(['node-b'])
    expect(nodeOf(plan, 'node-c').config).not.toContain('node-b')
  })

  it('a section whose key is a known node\'s is not kept (it would stand for that node): left out, and said why', () => {
    const plan = planWith({'node-a': {'node-b': section(KEYS['node-c'], ['10.0.0.2/32'])}})
    const a = nodeOf(plan, 'node-a')
    expect(a.refusedSections).toEqual([{peer: 'node-b', conflict: 'key-in-use'}])
    expect(a.skippedPeers).toEqual(['node-b'])
    expect(a.keptPeers).toEqual([])
    expect(a.config.match(new RegExp(`PublicKey = ${KEYS['node-c'].replace(/[+/]/g, '\\$&')}`, 'g'))).toHaveLength(1)
  })

  it('a section with another peer\'s range, or the node\'s own address, is not kept (WireGuard would move the range)', () => {
    for (const ranges of [['10.0.0.2/32', '10.0.0.3/32'], ['10.0.0.1/32']]) {
      const a = nodeOf(planWith({'node-a': {'node-b': section(KEYS['node-b'], ranges)}}), 'node-a')
      expect(a.refusedSections).toEqual([{peer: 'node-b', conflict: 'allowed-ips-in-use'}])
      expect(a.skippedPeers).toEqual(['node-b'])
    }
  })

  it('a peer whose key is known is planned, whatever the node\'s old section says', () => {
    const plan = planWith({'node-a': {'node-b': section(KEYS['node-e'], ['10.0.0.2/32'])}}, allKeys())
    expect(nodeOf(plan, 'node-a').keptPeers).toEqual([])
    expect(nodeOf(plan, 'node-a').config).toContain(`PublicKey = ${KEYS['node-b']}`)
    expect(nodeOf(plan, 'node-a').config).not.toContain(KEYS['node-e'])
  })

  it('a kept relay keeps what it carries: its relayed routes and a full tunnel follow the section', () => {
    const nodes = [...SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-a'} : n)), NODE_D]
    const relay = {
      lines: ['# node-a', '[Peer]', `PublicKey = ${KEYS['node-a']}`, 'Endpoint = 1.1.1.1:51820', 'AllowedIPs = 10.0.0.1/32, 10.0.0.4/32, 0.0.0.0/0', 'PersistentKeepalive = 25'],
      publicKey: KEYS['node-a'],
      endpoint: '1.1.1.1:51820',
      allowedIps: ['10.0.0.1/32', '10.0.0.4/32', '0.0.0.0/0'],
      keepalive: 25,
    }
    const plan = planFleet(fleet(nodes), {publicKeys: {'node-b': KEYS['node-b']}, existingPeers: {'node-c': {'node-a': relay}}}, {omitPeersWithoutKey: true})
    const c = nodeOf(plan, 'node-c')
    expect(c.keptPeers).toEqual(['node-a'])
    expect(c.relayed).toEqual([{name: 'node-d', address: '10.0.0.4', via: 'node-a'}])
    expect(c.fullTunnel).toBe(true)
    expect(c.peers[0]).toMatchObject({name: 'node-a', exit: true, relays: ['node-d'], verbatim: relay.lines})
  })
})

describe('determinism and invariants', () => {
  it('the same input twice gives identical output', () => {
    const input = (): Parameters<typeof planFleet> => [
      fleet([...SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-b'} : n)), NODE_D], {mtu: 1420}),
      {publicKeys: allKeys(), facts: {'node-b': {uplink: 'eth0'}, 'node-c': {uplinkAddresses: ['198.51.100.7']}}},
    ]
    expect(JSON.stringify(planFleet(...input()))).toBe(JSON.stringify(planFleet(...input())))
  })

  it('assertDistinctAllowedIps throws a bug error on a range on two peers', () => {
    const plan = planFleet(fleet([...SCENARIO, NODE_D]), {publicKeys: allKeys()})
    const c = nodeOf(plan, 'node-c')
    expect(() => assertDistinctAllowedIps(c)).not.toThrow()
    const broken = {...c, peers: c.peers.map((p) => (p.name === 'node-b' ? {...p, allowedIps: [...p.allowedIps, '10.0.0.4/32']} : p))}
    expect(() => assertDistinctAllowedIps(broken)).toThrow(BugError)
    expect(() => assertDistinctAllowedIps(broken)).toThrow(/10\.0\.0\.4\/32 is on two peers \(node-a and node-b\)/)
    expect(new BugError('x')).not.toBeInstanceOf(WgfleetError)
  })

  it("assertDistinctAllowedIps refuses the node's own address on a peer", () => {
    const plan = planFleet(fleet(SCENARIO), {publicKeys: allKeys()})
    const a = nodeOf(plan, 'node-a')
    const broken = {...a, peers: [{...a.peers[0]!, allowedIps: ['10.0.0.1/32']}]}
    expect(() => assertDistinctAllowedIps(broken)).toThrow(BugError)
  })

  it('holds on a larger mixed fleet', () => {
    const nodes: NodeInput[] = Array.from({length: 12}, (_, i) => ({
      name: `n${i}`,
      address: `10.0.0.${i + 1}`,
      nat: i % 3 === 2,
      relay: i === 1 || i === 4,
    }))
    for (const topology of ['mesh', 'hub'] as const) expectInvariantEverywhere(planFleet(fleet(nodes, {topology}), {publicKeys: {}}))
  })
})
