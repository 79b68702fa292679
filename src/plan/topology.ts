/**
 * Topology: who peers with whom, and which nodes are reached through a relay rather than directly.
 * Pure; works on node names and inventory order only (keys and rendering come later).
 */
import {isIPv6} from 'node:net'

import {aclAllows} from '../inventory/acl.js'
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {dialProfile, profileDials, type UnderlayNode} from '../inventory/underlay.js'
import {BugError} from '../lib/errors.js'

/** One peer entry of a node, before keys and rendering. */
export interface PeerLink {
  peer: NodeSpec
  /** Nodes this peer carries for us (we reach them through it), in inventory order (mesh). */
  relayed: NodeSpec[]
  /** Hub: this relay carries every node we have no entry for (its entry gets the overlay network). */
  carriesRest?: boolean
  /** This peer is our exit: its entry carries 0.0.0.0/0. */
  exit: boolean
  /**
   * Nodes whose site-to-site subnets this entry carries (the peer itself, nodes relayed through it; in a
   * hub, on the first relay's entry, every node with subnets we have no entry for), in inventory order.
   * Only nodes that have subnets: empty in a fleet without any.
   */
  subnetsOf: NodeSpec[]
}

/** A node's links, in inventory order. */
export interface NodeLinks {
  node: NodeSpec
  peers: PeerLink[]
}

/** A node others can dial: not behind NAT. */
export function hasEndpoint(node: NodeSpec): boolean {
  return !node.nat
}

/**
 * "Can FROM dial TO?" for one fleet (inventory/underlay.ts answers it). A fleet where no node says its
 * `underlay` dials every family everywhere, so there it is exactly "TO has an endpoint" — kept as its own
 * branch because the planner asks it for every pair (4 million at N=2,000), and the general answer costs
 * about a third of a plan's time.
 */
export function dialsIn(fleet: Fleet): (from: NodeSpec, to: NodeSpec) => boolean {
  if (!fleet.nodes.some((n) => n.underlay !== undefined)) return (_from, to) => hasEndpoint(to)
  const profiles = new Map(fleet.nodes.map((n) => [n, dialProfile(underlayOf(n))]))
  const of = (n: NodeSpec) => profiles.get(n) ?? dialProfile(underlayOf(n))
  return (from, to) => profileDials(of(from), of(to))
}

/** The two can make a tunnel: one of them dials the other. */
export function linkableIn(fleet: Fleet): (a: NodeSpec, b: NodeSpec) => boolean {
  const dials = dialsIn(fleet)
  return (a, b) => dials(a, b) || dials(b, a)
}

/**
 * A node as inventory/underlay.ts sees it: its endpoint or host *as written* — as the inventory's checks
 * saw it (an ssh_config alias resolved to its HostName later must not change the answer they gave).
 */
function underlayOf(node: NodeSpec): UnderlayNode {
  const written = node.endpointFromHost ? node.host : (node.endpointHost ?? node.host)
  return {nat: node.nat, ...(node.nat ? {} : {dialHost: written}), ...(node.underlay === undefined ? {} : {underlay: node.underlay})}
}

/** "host:port" others dial ("[v6]:port"), or null for a NAT-ed node. */
export function endpointOf(node: NodeSpec): string | null {
  if (!hasEndpoint(node)) return null
  // The parser defaults endpointHost to host; fall back the same way for hand-built fleets.
  const host = node.endpointHost ?? node.host
  return formatEndpoint(host, node.endpointPort ?? node.port)
}

export function formatEndpoint(host: string, port: number): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return isIPv6(bare) ? `[${bare}]:${port}` : `${bare}:${port}`
}

/** Relays that can actually relay: relay = true and reachable (not NAT-ed), in inventory order. */
export function publicRelays(nodes: NodeSpec[]): NodeSpec[] {
  return nodes.filter((n) => n.relay && hasEndpoint(n))
}

/**
 * Whether two nodes peer directly (symmetric). mesh: at least one of the two has an endpoint. hub: at
 * least one of the two is a public relay. exit_via always adds a direct pair: a node can only send
 * 0.0.0.0/0 to a peer it talks to. A predicate, not a table: a mesh's pairs are O(N²), its rule is not.
 */
export function directLinks(fleet: Fleet): (a: NodeSpec, b: NodeSpec) => boolean {
  const hubs = new Set(publicRelays(fleet.nodes))
  const exits = new Map(fleet.nodes.map((n) => [n, exitNodeOf(fleet, n)]))
  const hub = fleet.network.topology === 'hub'
  if (hub && fleet.acl) throw new BugError('a hub with [acl] passed validation (fleet-checks.ts refuses it)')
  const allowed = allowedPairs(fleet)
  const linkable = linkableIn(fleet)
  // [acl]: the relay peers with every node it relays for, whatever the rules say of the two of them.
  const relay = fleet.acl ? publicRelays(fleet.nodes)[0] : undefined
  // The nodes it relays for: those with an allowed partner neither can dial (two NAT-ed nodes, or no
  // underlay family in common).
  const relayedFor = relay ? new Set(fleet.nodes.filter((n) => fleet.nodes.some((o) => o !== n && allowed(n, o) && !linkable(n, o)))) : new Set<NodeSpec>()
  // A pair peers directly only if one side can dial the other: an endpoint, of a family the other has.
  return (a, b) =>
    ((hub ? hubs.has(a) || hubs.has(b) : allowed(a, b)) && linkable(a, b)) ||
    exits.get(a) === b ||
    exits.get(b) === a ||
    (a === relay && relayedFor.has(b) && linkable(a, b)) ||
    (b === relay && relayedFor.has(a) && linkable(a, b))
}

/**
 * Whether [acl] lets two nodes peer (symmetric; inventory/acl.ts answers it). No [acl]: every pair. A pair
 * that may not peer gets no entry either way, nor a route through a relay.
 */
export function allowedPairs(fleet: Fleet): (a: NodeSpec, b: NodeSpec) => boolean {
  const rules = fleet.acl
  if (rules === undefined) return () => true
  return (a, b) => aclAllows(rules, a.groups, b.groups)
}

/** The direct pairs as "name → set of peer names" (small fleets and tests; the planner uses directLinks). */
export function directPeers(fleet: Fleet): Map<string, Set<string>> {
  const linked = directLinks(fleet)
  return new Map(fleet.nodes.map((a) => [a.name, new Set(fleet.nodes.filter((b) => b !== a && linked(a, b)).map((b) => b.name))]))
}

/**
 * The node `node` exits through. The inventory's validation (fleet-checks.ts) refuses every bad exit_via
 * with file, line and a hint; here a bad one can only be a bug (a Fleet built around the validator).
 */
export function exitNodeOf(fleet: Fleet, node: NodeSpec): NodeSpec | undefined {
  if (node.exitVia === undefined) return undefined
  const exit = fleet.nodes.find((n) => n.name === node.exitVia)
  if (!exit || exit === node || !hasEndpoint(exit)) throw new BugError(`${node.name}: exit_via ${JSON.stringify(node.exitVia)} passed validation but is not a public node`)
  return exit
}

/**
 * The relay that carries traffic between nodes that do not peer directly: in mesh, the first public
 * relay both can make a tunnel with (NAT-ed pairs; pairs with no underlay family in common, through a
 * dual-stack relay); in hub, the first public relay (for every pair of non-relay nodes).
 */
function relayFor(relays: NodeSpec[], node: NodeSpec, other: NodeSpec | undefined, linked: (a: NodeSpec, b: NodeSpec) => boolean): NodeSpec {
  const relay = relays.find((r) => r !== node && r !== other && linked(node, r) && (other === undefined || linked(other, r)))
  if (relay) return relay
  // fleet-checks.ts refuses a hub without a public relay, and a pair no relay reaches (exit 2, with a hint).
  throw new BugError(`${[node, ...(other ? [other] : [])].map((n) => n.name).join(' and ')} need a relay, and validation let a fleet without one through`)
}

/**
 * Every node's peer entries, in inventory order, with relayed nodes attached to the relay's entry. One
 * node at a time: the caller renders and drops each (a mesh's links are O(N²)).
 */
export function* planLinks(fleet: Fleet): Generator<NodeLinks> {
  if (fleet.network.topology === 'hub') {
    yield* hubLinks(fleet)
    return
  }
  const linked = directLinks(fleet)
  const allowed = allowedPairs(fleet)
  const relays = publicRelays(fleet.nodes)
  const exits = new Map(fleet.nodes.map((n) => [n.name, exitNodeOf(fleet, n)]))
  // [acl]: the relay forwards to the nodes it relays for, their subnets included (see directLinks).
  const aclRelay = fleet.acl ? relays[0] : undefined
  const hasSubnets = (n: NodeSpec) => (n.subnets?.length ?? 0) > 0
  const none: NodeSpec[] = []
  for (const node of fleet.nodes) {
    const direct: NodeSpec[] = []
    // Each node this one does not peer with goes through one relay (never one range on two peers).
    const throughRelay = new Map<NodeSpec, NodeSpec[]>()
    for (const other of fleet.nodes) {
      if (other === node) continue
      if (linked(node, other)) direct.push(other)
      else if (allowed(node, other)) {
        const relay = relayFor(relays, node, other, linked)
        const carried = throughRelay.get(relay)
        if (carried) carried.push(other)
        else throughRelay.set(relay, [other])
      }
    }
    const exit = exits.get(node.name)
    yield {
      node,
      peers: direct.map((peer) => {
        const relayed = throughRelay.get(peer) ?? none
        // A node not allowed to peer with a subnet node gets no route to its subnets.
        const own = hasSubnets(peer) && (allowed(node, peer) || node === aclRelay) ? [peer] : none
        const carried = relayed.length > 0 ? relayed.filter(hasSubnets) : none
        return {peer, relayed, exit: peer === exit, subnetsOf: carried.length === 0 ? own : [...own, ...carried]}
      }),
    }
  }
}

/**
 * A hub: relays peer with everyone; every other node peers with the relays (and its exit, and the nodes
 * that exit through it), and reaches the rest through the first relay. O(N) per relay and O(relays) per
 * other node, so a 5,000-node hub plans in about a second.
 */
function* hubLinks(fleet: Fleet): Generator<NodeLinks> {
  const relays = publicRelays(fleet.nodes)
  const isRelay = new Set(relays)
  const exits = new Map(fleet.nodes.map((n) => [n, exitNodeOf(fleet, n)]))
  const exitedBy = new Map<NodeSpec, NodeSpec[]>()
  for (const [node, exit] of exits) if (exit) exitedBy.set(exit, [...(exitedBy.get(exit) ?? []), node])
  const order = new Map(fleet.nodes.map((n, i) => [n, i]))
  const none: NodeSpec[] = []
  // Few nodes have subnets: the first relay's entry on a spoke carries those of the nodes it has no entry
  // for (O(subnet nodes) per spoke, not O(N)).
  const withSubnets = fleet.nodes.filter((n) => (n.subnets?.length ?? 0) > 0)
  const ownSubnets = (peer: NodeSpec) => ((peer.subnets?.length ?? 0) > 0 ? [peer] : none)
  for (const node of fleet.nodes) {
    const exit = exits.get(node)
    if (isRelay.has(node)) {
      yield {node, peers: fleet.nodes.filter((n) => n !== node).map((peer) => ({peer, relayed: none, exit: peer === exit, subnetsOf: ownSubnets(peer)}))}
      continue
    }
    const direct = new Set([...relays, ...(exit ? [exit] : []), ...(exitedBy.get(node) ?? [])])
    direct.delete(node)
    const peers = [...direct].sort((a, b) => order.get(a)! - order.get(b)!)
    // Everyone else goes through the first relay (a hub without one never passes validation).
    const rest = fleet.nodes.length - 1 > peers.length
    const first = rest ? relayFor(relays, node, undefined, () => true) : undefined
    const restSubnets = withSubnets.filter((n) => n !== node && !direct.has(n))
    yield {
      node,
      peers: peers.map((peer) =>
        peer === first
          ? {peer, relayed: none, exit: peer === exit, carriesRest: true, subnetsOf: [...ownSubnets(peer), ...restSubnets].sort((a, b) => order.get(a)! - order.get(b)!)}
          : {peer, relayed: none, exit: peer === exit, subnetsOf: ownSubnets(peer)},
      ),
    }
  }
}
