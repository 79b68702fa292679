/**
 * Roaming clients in the plan (golden): the scenario (node-a relay, node-b public, node-c and node-d
 * NAT-ed) with a phone via node-a and a full-tunnel laptop via node-b then node-a.
 */
import {describe, expect, it} from 'vitest'

import type {ClientSpec, Fleet} from '../../../src/inventory/model.js'
import {parseRenderedConfig, planFleet} from '../../../src/plan/index.js'
import {CLIENT_KEEPALIVE, clientExitNodes, renderClientConfig} from '../../../src/plan/clients.js'
import type {FleetPlan, NodePlan} from '../../../src/plan/model.js'
import {buildNodeStatus} from '../../../src/judges/status.js'
import {allKeys, fleet, KEYS, NODE_D, SCENARIO} from './fixtures.js'

const PHONE_KEY = 'mK2PaJ6sBcBmUqOxN7DFoMPL1fBmIdN0QGvYGpS1uHk='
const LAPTOP_KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='
const PHONE: ClientSpec = {name: 'phone', line: 40, publicKey: PHONE_KEY, address: '10.0.0.50', via: ['node-a'], fullTunnel: false}
const LAPTOP: ClientSpec = {name: 'laptop', line: 45, publicKey: LAPTOP_KEY, address: '10.0.0.51', via: ['node-b', 'node-a'], fullTunnel: true}

function withClients(clients: ClientSpec[], base: Fleet = fleet([...SCENARIO, NODE_D])): Fleet {
  return {...base, clients}
}

function nodeOf(plan: FleetPlan, name: string): NodePlan {
  const found = plan.nodes.find((n) => n.name === name)
  if (!found) throw new Error(`no node ${name}`)
  return found
}

const NODE_A_PEERS_TAIL = `# phone
[Peer]
PublicKey = ${PHONE_KEY}
AllowedIPs = 10.0.0.50/32

# laptop
[Peer]
PublicKey = ${LAPTOP_KEY}
AllowedIPs = 10.0.0.51/32
`

const NODE_B_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.2/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@
PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o @WGFLEET_UPLINK@ -j MASQUERADE
PostDown = iptables -t nat -D POSTROUTING -s 10.0.0.0/24 -o @WGFLEET_UPLINK@ -j MASQUERADE

# node-a
[Peer]
PublicKey = ${KEYS['node-a']}
Endpoint = 1.1.1.1:51820
AllowedIPs = 10.0.0.1/32, 10.0.0.50/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = ${KEYS['node-c']}
AllowedIPs = 10.0.0.3/32
PersistentKeepalive = 25

# node-d
[Peer]
PublicKey = ${KEYS['node-d']}
AllowedIPs = 10.0.0.4/32
PersistentKeepalive = 25

# laptop
[Peer]
PublicKey = ${LAPTOP_KEY}
AllowedIPs = 10.0.0.51/32
`

const NODE_C_CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.3/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-a
[Peer]
PublicKey = ${KEYS['node-a']}
Endpoint = 1.1.1.1:51820
AllowedIPs = 10.0.0.1/32, 10.0.0.4/32, 10.0.0.50/32
PersistentKeepalive = 25

# node-b
[Peer]
PublicKey = ${KEYS['node-b']}
Endpoint = 2.2.2.2:51820
AllowedIPs = 10.0.0.2/32, 10.0.0.51/32
PersistentKeepalive = 25
`

describe('clients in the plan', () => {
  const plan = planFleet(withClients([PHONE, LAPTOP]), {publicKeys: allKeys()})

  it('each via node has an entry for its clients: no endpoint, no keepalive', () => {
    const a = nodeOf(plan, 'node-a')
    expect(a.config.endsWith(NODE_A_PEERS_TAIL)).toBe(true)
    expect(a.peers.filter((p) => p.client).map((p) => [p.name, p.endpoint, p.keepalive])).toEqual([['phone', null, 0], ['laptop', null, 0]])
    // node-a is laptop's second via: it has laptop's own entry, so its entry for node-b does not carry laptop.
    expect(a.peers.find((p) => p.name === 'node-b')?.allowedIps).toEqual(['10.0.0.2/32'])
  })

  it('the first via node forwards, and masquerades for a full-tunnel client (golden)', () => {
    const b = nodeOf(plan, 'node-b')
    expect(b.config).toBe(NODE_B_CONFIG)
    expect([b.forwarding, b.masquerade, b.fullTunnel]).toEqual([true, true, false])
    expect(nodeOf(plan, 'node-a').masquerade).toBe(false)
    expect(clientExitNodes(withClients([PHONE, LAPTOP]))).toEqual(new Set(['node-b']))
  })

  it('every other node routes a client through its first via node, and only that one (golden)', () => {
    const c = nodeOf(plan, 'node-c')
    expect(c.config).toBe(NODE_C_CONFIG)
    expect(c.peers.map((p) => [p.name, p.clients ?? []])).toEqual([['node-a', ['phone']], ['node-b', ['laptop']]])
    for (const node of plan.nodes) {
      const ranges = parseRenderedConfig(node.config).peers.flatMap((p) => p.AllowedIPs ?? [])
      expect(new Set(ranges).size, `${node.name}: ${ranges.join(' ')}`).toBe(ranges.length)
    }
  })

  it('a fleet without clients plans exactly as before', () => {
    const without = planFleet(fleet([...SCENARIO, NODE_D]), {publicKeys: allKeys()})
    expect(planFleet(withClients([]), {publicKeys: allKeys()})).toEqual(without)
    expect(without.nodes.find((n) => n.name === 'node-b')?.forwarding).toBe(false)
  })

  it('an exit route stays last after a client route', () => {
    const base = fleet([...SCENARIO.slice(0, 2), {name: 'node-c', host: '3.3.3.3', address: '10.0.0.3', nat: true, exitVia: 'node-a'}])
    const c = nodeOf(planFleet(withClients([PHONE], base), {publicKeys: allKeys()}), 'node-c')
    expect(c.peers.find((p) => p.name === 'node-a')?.allowedIps).toEqual(['10.0.0.1/32', '10.0.0.50/32', '0.0.0.0/0'])
  })

  it('status: an offline client is idle, not an error; a connected one is ok', () => {
    const a = nodeOf(plan, 'node-a')
    const now = 1_000_000
    const dump = a.peers.map((p) => ({publicKey: p.publicKey!, presharedKey: null, endpoint: p.endpoint, allowedIps: p.allowedIps, latestHandshake: p.name === 'laptop' ? now - 10 : p.client ? 0 : now - 5, rxBytes: 0, txBytes: 0, keepalive: p.keepalive}))
    const status = buildNodeStatus(a, dump as never, now, 180, new Map())
    expect(status.peers.map((p) => [p.name, p.state])).toEqual([['node-b', 'ok'], ['node-c', 'ok'], ['node-d', 'ok'], ['phone', 'idle'], ['laptop', 'ok']])
    const stale = buildNodeStatus(a, dump.map((d) => (d.publicKey === LAPTOP_KEY ? {...d, latestHandshake: now - 4000} : d)) as never, now, 180, new Map())
    expect(stale.peers.find((p) => p.name === 'laptop')?.state).toBe('idle')
  })
})

describe('the client config', () => {
  const PRIVATE = 'QPyV3tqTNXBb3Ypc1D4yqj8bW5F9kyF+K2UGdVhxm1o='
  const f = withClients([PHONE, LAPTOP])
  const via = (names: string[]) => names.map((name) => ({node: f.nodes.find((n) => n.name === name)!, publicKey: KEYS[name as keyof typeof KEYS]}))

  it('one via node: the overlay through it, keepalive 25, DNS when asked (golden)', () => {
    expect(renderClientConfig(f, {client: PHONE, privateKey: PRIVATE, via: via(['node-a']), dns: ['10.0.0.1']})).toBe(`# wgfleet client phone. Keep this file private: it holds the client's private key, which wgfleet does not keep.
[Interface]
PrivateKey = ${PRIVATE}
Address = 10.0.0.50/32
DNS = 10.0.0.1

# node-a
[Peer]
PublicKey = ${KEYS['node-a']}
Endpoint = 1.1.1.1:51820
AllowedIPs = 10.0.0.0/24
PersistentKeepalive = ${CLIENT_KEEPALIVE}
`)
  })

  it('full tunnel through the first via node; the second carries its own address only (golden)', () => {
    const text = renderClientConfig(f, {client: LAPTOP, privateKey: PRIVATE, via: via(['node-b', 'node-a'])})
    expect(parseRenderedConfig(text).peers.map((p) => [p.Endpoint?.[0], p.AllowedIPs])).toEqual([['2.2.2.2:51820', ['0.0.0.0/0']], ['1.1.1.1:51820', ['10.0.0.1/32']]])
    expect(text).not.toMatch(/^DNS/m)
  })

  it('refuses what is not a key, and via nodes out of order', () => {
    expect(() => renderClientConfig(f, {client: PHONE, privateKey: 'x\nPostUp = rm -rf /', via: via(['node-a'])})).toThrow(/not a WireGuard key/)
    expect(() => renderClientConfig(f, {client: LAPTOP, privateKey: PRIVATE, via: via(['node-a', 'node-b'])})).toThrow(/are not/)
  })
})

describe('clients in other topologies', () => {
  it('hub: a client via the relay is reached through the relay entry; via a public non-relay node, spokes reach it through the overlay range', () => {
    const hub = fleet([...SCENARIO, NODE_D], {topology: 'hub'})
    const plan = planFleet(withClients([PHONE, {...LAPTOP, via: ['node-b'], fullTunnel: false}], hub), {publicKeys: allKeys()})
    const c = nodeOf(plan, 'node-c')
    // node-c (a spoke) has node-a (the relay) only: its overlay range covers node-b and the laptop.
    expect(c.peers.map((p) => [p.name, p.allowedIps])).toEqual([['node-a', ['10.0.0.1/32', '10.0.0.0/24', '10.0.0.50/32']]])
    // The relay peers with node-b and routes the laptop to it.
    expect(nodeOf(plan, 'node-a').peers.find((p) => p.name === 'node-b')?.allowedIps).toEqual(['10.0.0.2/32', '10.0.0.51/32'])
    for (const node of plan.nodes) {
      const ranges = node.peers.flatMap((p) => p.allowedIps)
      expect(new Set(ranges).size, node.name).toBe(ranges.length)
    }
  })

  it('refuses a client whose key is a node\'s (a hand-written section)', () => {
    expect(() => planFleet(withClients([{...PHONE, publicKey: KEYS['node-b']}]), {publicKeys: allKeys()})).toThrow(/client phone's public_key is the public key of node node-b/)
  })
})
