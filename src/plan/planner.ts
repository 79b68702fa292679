/**
 * The planner: Fleet + what is known of the hosts → every node's peers and rendered config.
 * Pure and deterministic: output order is inventory order, no clocks, no randomness.
 */
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {isIPv4 as isStrictIPv4} from '../inventory/ipv4.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import type {FleetPlan, HostFacts, NodePlan, PeerPlan, RelayedRoute} from './model.js'
import {isInterfaceName, renderNodeConfig} from './render.js'
import {endpointOf, exitNodeOf, type NodeLinks, type PeerLink, planLinks} from './topology.js'

/** What is known of the hosts: public keys (state or this run) and probed facts. */
export interface KnownHosts {
  publicKeys: Record<string, string>
  facts?: Record<string, HostFacts>
}

export interface PlanOptions {
  /**
   * Leave out peers whose public key is unknown (recorded in NodePlan.skippedPeers) instead of rendering
   * UNKNOWN_KEY_PLACEHOLDER: what gets applied to a host must be a valid config.
   */
  omitPeersWithoutKey?: boolean
}

/** The full-tunnel route every exit peer carries. */
export const DEFAULT_ROUTE = '0.0.0.0/0'

export function hostRoute(address: string): string {
  return `${address}/32`
}

export function planFleet(fleet: Fleet, known: KnownHosts, options: PlanOptions = {}): FleetPlan {
  const exitNames = new Set(fleet.nodes.map((n) => exitNodeOf(fleet, n)?.name).filter((n) => n !== undefined))
  const nodes = planLinks(fleet).map((links) => planNode(fleet, links, known, exitNames, options))
  return {interface: fleet.network.interface, cidr: fleet.network.cidr, nodes}
}

function planNode(
  fleet: Fleet,
  links: NodeLinks,
  known: KnownHosts,
  exitNames: Set<string>,
  options: PlanOptions,
): NodePlan {
  const {node} = links
  const facts = (known.facts && Object.hasOwn(known.facts, node.name) ? known.facts[node.name] : undefined) ?? {}
  const allPeers = links.peers.map((link) => planPeer(fleet, link, known))
  const skipped = options.omitPeersWithoutKey ? allPeers.filter((p) => p.publicKey === null) : []
  const peers = allPeers.filter((p) => !skipped.includes(p))
  const masquerade = exitNames.has(node.name)
  // Follows the rendered config: an exit peer left out for want of its key means no full tunnel yet.
  const fullTunnel = peers.some((p) => p.exit)
  const uplink = masquerade ? uplinkFromFacts(node, facts) : undefined

  const plan: Omit<NodePlan, 'config'> = {
    name: node.name,
    address: `${node.address}/${fleet.network.prefixLength}`,
    endpoint: endpointOf(node),
    listenPort: node.port,
    interface: fleet.network.interface,
    ...(fleet.network.mtu === undefined ? {} : {mtu: fleet.network.mtu}),
    ...dnsOf(fleet, node),
    // Relays forward between the peers they carry; exits forward to their uplink.
    forwarding: node.relay || masquerade,
    masquerade,
    fullTunnel,
    peers,
    relayed: relayedRoutes(fleet, peers),
    skippedPeers: skipped.map((p) => p.name),
    ...(uplink === undefined ? {} : {uplink}),
    uplinkAddresses: fullTunnel ? uplinkAddressesFromFacts(node, facts) : [],
  }
  assertDistinctAllowedIps(plan)
  return {...plan, config: renderNodeConfig(plan, fleet)}
}

function planPeer(fleet: Fleet, link: PeerLink, known: KnownHosts): PeerPlan {
  const {peer} = link
  return {
    name: peer.name,
    publicKey: knownPublicKey(known, peer.name),
    endpoint: endpointOf(peer),
    // Own /32 first, then relayed /32s (inventory order), then the default route for an exit.
    allowedIps: [
      hostRoute(peer.address),
      ...link.relayed.map((n) => hostRoute(n.address)),
      ...(link.exit ? [DEFAULT_ROUTE] : []),
    ],
    keepalive: fleet.network.keepalive,
    via: 'direct',
    relays: link.relayed.map((n) => n.name),
    exit: link.exit,
  }
}

function dnsOf(fleet: Fleet, node: NodeSpec): {dns?: string[]} {
  const dns = node.dns ?? fleet.network.dns
  return dns && dns.length > 0 ? {dns: [...dns]} : {}
}

/** Nodes reached through a peer's AllowedIPs rather than their own entry. */
function relayedRoutes(fleet: Fleet, peers: PeerPlan[]): RelayedRoute[] {
  const addressOf = (name: string): string => fleet.nodes.find((n) => n.name === name)!.address
  return peers.flatMap((peer) => peer.relays.map((name) => ({name, address: addressOf(name), via: peer.name})))
}

/** A key from state goes into config text: anything but a real key (say, with a newline) is refused. */
function knownPublicKey(known: KnownHosts, name: string): string | null {
  // Own properties only: a node may be named `constructor`.
  const key = Object.hasOwn(known.publicKeys, name) ? known.publicKeys[name] : undefined
  if (key === undefined) return null
  if (!isWireGuardKey(key)) {
    throw new WgfleetError(`the known public key of ${name} is not a WireGuard key`, {
      hint: 'remove it from the state in .wgfleet/ and run init again to read it back from the host',
    })
  }
  return key
}

function uplinkFromFacts(node: NodeSpec, facts: HostFacts): string | undefined {
  if (facts.uplink === undefined) return undefined
  if (!isInterfaceName(facts.uplink)) {
    throw new WgfleetError(`${node.name}: the probed uplink ${JSON.stringify(facts.uplink)} is not an interface name`, {
      hint: 'run init again to probe the node',
    })
  }
  return facts.uplink
}

/** The uplink addresses from facts (state or this run's probe), deduplicated, in the order given. */
function uplinkAddressesFromFacts(node: NodeSpec, facts: HostFacts): string[] {
  const addresses: string[] = []
  for (const address of facts.uplinkAddresses ?? []) {
    if (!isStrictIPv4(address)) {
      throw new WgfleetError(`${node.name}: the probed uplink address ${JSON.stringify(address)} is not an IPv4 address`, {
        hint: 'run init again to probe the node',
      })
    }
    if (!addresses.includes(address)) addresses.push(address)
  }
  return addresses
}

/**
 * WireGuard silently moves an AllowedIPs range to the last peer that claims it, so a range on two peers
 * of one node would break one of them without any error. Also refuses the node's own address as a peer range.
 */
export function assertDistinctAllowedIps(node: Pick<NodePlan, 'name' | 'address' | 'peers'>): void {
  const owner = new Map<string, string>()
  const own = hostRoute(node.address.split('/')[0]!)
  for (const peer of node.peers) {
    for (const range of peer.allowedIps) {
      if (range === own) throw new BugError(`${node.name}: peer ${peer.name} carries the node's own address ${range}`)
      const first = owner.get(range)
      if (first !== undefined) {
        throw new BugError(`${node.name}: AllowedIPs ${range} is on two peers (${first} and ${peer.name})`)
      }
      owner.set(range, peer.name)
    }
  }
}
