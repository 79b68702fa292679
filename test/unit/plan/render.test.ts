import {BugError} from '../../../src/lib/errors.js'
import {describe, expect, it} from 'vitest'

import {
  interfaceHooks,
  MANAGED_MARKER,
  planFleet,
  type RenderableNode,
  renderNodeConfig,
  renderPeerSection,
  UNKNOWN_KEY_PLACEHOLDER,
} from '../../../src/plan/index.js'
import {allKeys, fleet, SCENARIO} from './fixtures.js'

const NETWORK = {network: {cidr: '10.0.0.0/24'}}

function bareNode(overrides: Partial<RenderableNode> = {}): RenderableNode {
  return {
    name: 'node-x',
    address: '10.0.0.9/24',
    endpoint: null,
    listenPort: 51820,
    interface: 'wg0',
    forwarding: false,
    masquerade: false,
    fullTunnel: false,
    peers: [],
    relayed: [],
    skippedPeers: [],
    keptPeers: [],
    refusedSections: [],
    uplinkAddresses: [],
    ...overrides,
  }
}

describe('renderNodeConfig', () => {
  it('a node without peers: marker, interface, one trailing newline', () => {
    expect(renderNodeConfig(bareNode(), NETWORK)).toBe(
      `${MANAGED_MARKER}\n[Interface]\nAddress = 10.0.0.9/24\nListenPort = 51820\nPrivateKey = @WGFLEET_PRIVATE_KEY@\n`,
    )
  })

  it('every rendered config starts with the marker and ends with exactly one newline', () => {
    for (const n of planFleet(fleet(SCENARIO), {publicKeys: {}}).nodes) {
      expect(n.config.split('\n')[0]).toBe(MANAGED_MARKER)
      expect(n.config.endsWith('\n')).toBe(true)
      expect(n.config.endsWith('\n\n')).toBe(false)
    }
  })

  it('golden: an exit node and the node exiting through it', () => {
    const nodes = SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-b'} : n))
    const plan = planFleet(fleet(nodes, {mtu: 1420, dns: ['10.0.0.1']}), {
      publicKeys: allKeys(),
      facts: {'node-b': {uplink: 'enp1s0'}, 'node-c': {uplink: 'eth0', uplinkAddresses: ['198.51.100.7']}},
    })
    expect(plan.nodes[1]!.config).toBe(`# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.2/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@
MTU = 1420
DNS = 10.0.0.1
PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o enp1s0 -j MASQUERADE
PostDown = iptables -t nat -D POSTROUTING -s 10.0.0.0/24 -o enp1s0 -j MASQUERADE

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
`)
    expect(plan.nodes[2]!.config).toBe(`# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.3/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@
MTU = 1420
DNS = 10.0.0.1
FwMark = 51820
PostUp = ip -4 rule add from 198.51.100.7/32 lookup main
PostDown = ip -4 rule del from 198.51.100.7/32 lookup main || true

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
AllowedIPs = 10.0.0.2/32, 0.0.0.0/0
PersistentKeepalive = 25
`)
  })
})

describe('renderPeerSection', () => {
  it('renders the placeholder for an unknown key, no Endpoint for null, no keepalive for 0', () => {
    expect(
      renderPeerSection({
        name: 'node-y',
        publicKey: null,
        endpoint: null,
        allowedIps: ['10.0.0.7/32'],
        keepalive: 0,
        via: 'direct',
        relays: [],
        exit: false,
      }),
    ).toEqual(['# node-y', '[Peer]', `PublicKey = ${UNKNOWN_KEY_PLACEHOLDER}`, 'AllowedIPs = 10.0.0.7/32'])
  })
})

describe('interfaceHooks', () => {
  it('re-checks values that wg-quick would run through bash', () => {
    expect(() => interfaceHooks(bareNode({masquerade: true, uplink: 'eth0 && reboot'}), '10.0.0.0/24')).toThrow(BugError)
    expect(() => interfaceHooks(bareNode({fullTunnel: true, uplinkAddresses: ['1.2.3.4; id']}), '10.0.0.0/24')).toThrow(
      BugError,
    )
  })

  it('ignores uplink addresses without a full tunnel', () => {
    expect(interfaceHooks(bareNode({uplinkAddresses: ['198.51.100.7']}), '10.0.0.0/24')).toEqual({postUp: [], postDown: []})
  })
})
