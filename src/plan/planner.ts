/**
 * The planner: Fleet + what is known of the hosts → every node's peers and rendered config.
 * Pure and deterministic: output order is inventory order, no clocks, no randomness.
 */
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {isIPv4 as isStrictIPv4} from '../inventory/ipv4.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import type {ExistingPeerSection, ExistingSectionConflict, FleetPlan, HostFacts, NodePlan, PeerPlan, RelayedRoute} from './model.js'
import {clientLinks, type ClientLinks, clientPeers, forwardsForClients, masqueradesForClients, withClientRoutes} from './clients.js'
import {renderHostsBlock} from './hosts-file.js'
import {DEFAULT_ROUTE, hostRoute} from './routes.js'
import {isInterfaceName, renderNodeConfig} from './render.js'
import {dialsIn, endpointOf, exitNodeOf, type NodeLinks, type PeerLink, planLinks} from './topology.js'

/** What is known of the hosts: public keys (trusted by plan/key-trust) and probed facts. */
export interface KnownHosts {
  publicKeys: Record<string, string>
  facts?: Record<string, HostFacts>
  /**
   * node → peer → that node's own current section for the peer, for peers whose key is unknown: rendered
   * as it is instead of being left out (a peer is never dropped for want of its key), unless it would
   * clash with another peer of the node (a key or an AllowedIPs range in use).
   */
  existingPeers?: Record<string, Record<string, ExistingPeerSection>>
  /**
   * `preshared_keys = true`: node → peers whose entry goes without a preshared key for now (the pair has
   * none that both sides hold, and the peer was not reached to make one: services/preshared-keys).
   */
  withoutPresharedKey?: Record<string, ReadonlySet<string>>
}

export interface PlanOptions {
  /**
   * Leave out peers whose public key is unknown (recorded in NodePlan.skippedPeers) instead of rendering
   * UNKNOWN_KEY_PLACEHOLDER: what gets applied to a host must be a valid config.
   */
  omitPeersWithoutKey?: boolean
  /** Plan only these nodes (the others are still peers): `plan --node NAME` on a large fleet. */
  only?: ReadonlySet<string>
}

export {DEFAULT_ROUTE, hostRoute}

/** A node's own routes: its IPv4 /32, then (dual stack) its IPv6 /128. */
export function hostRoutes(node: Pick<NodeSpec, 'address' | 'address6'>): string[] {
  return node.address6 === undefined ? [hostRoute(node.address)] : [hostRoute(node.address), `${node.address6}/128`]
}

/** A node's site-to-site subnets (normalised by the inventory), none for most nodes. */
function subnetsOf(node: NodeSpec): readonly string[] {
  return node.subnets ?? []
}

/** The overlay networks a hub relay's entry carries: cidr, then cidr6 (dual stack). */
function overlayNetworks(fleet: Fleet): string[] {
  return fleet.network.cidr6 === undefined ? [fleet.network.cidr] : [fleet.network.cidr, fleet.network.cidr6]
}

export function planFleet(fleet: Fleet, known: KnownHosts, options: PlanOptions = {}): FleetPlan {
  return {interface: fleet.network.interface, cidr: fleet.network.cidr, nodes: [...planNodes(fleet, known, options)]}
}

/**
 * Every node's plan, one at a time, in inventory order: a caller that renders and drops each one (`plan`
 * on a large fleet) holds one node's peers and config at a time, not the whole mesh's O(N²) text.
 */
export function* planNodes(fleet: Fleet, known: KnownHosts, options: PlanOptions = {}): Generator<NodePlan> {
  const exitNames = new Set(fleet.nodes.map((n) => exitNodeOf(fleet, n)?.name).filter((n) => n !== undefined))
  const addresses = new Map(fleet.nodes.map((n) => [n.name, n]))
  // One block for every node (one string, shared: O(N) bytes, not O(N²)).
  const hostsBlock = renderHostsBlock(fleet)
  // This plan's own copy: knownPublicKey caches each node's key by it, and a caller may change its keys
  // before planning again.
  const keys: KnownHosts = {...known}
  const clients = clientLinks(fleet, known.publicKeys)
  for (const links of planLinks(fleet)) {
    if (options.only && !options.only.has(links.node.name)) continue
    const plan = planNode(fleet, links, keys, exitNames, addresses, options, clients)
    yield hostsBlock === undefined ? plan : {...plan, hostsBlock}
  }
}

function planNode(
  fleet: Fleet,
  links: NodeLinks,
  known: KnownHosts,
  exitNames: Set<string>,
  addresses: ReadonlyMap<string, NodeSpec>,
  options: PlanOptions,
  clients: ClientLinks,
): NodePlan {
  const {node} = links
  const facts = (known.facts && Object.hasOwn(known.facts, node.name) ? known.facts[node.name] : undefined) ?? {}
  const psk = presharedKeyOf(fleet, node, known)
  // Without preshared keys the entries are planPeer's own (a copy per entry is a million objects at N=1000).
  const planned = fleet.network.presharedKeys ? links.peers.map((link) => ({...planPeer(fleet, node, link, known), ...psk(link.peer.name)})) : links.peers.map((link) => planPeer(fleet, node, link, known))
  const {peers: allPeers, kept, refused} = keepExistingSections(node, links, known, planned)
  const skipped = options.omitPeersWithoutKey ? allPeers.filter((p) => p.publicKey === null) : []
  const nodePeers = skipped.length === 0 ? allPeers : allPeers.filter((p) => p.publicKey !== null)
  // Roaming clients: routed through their first via node, and an entry of their own on each via node.
  // A via node's entry for a client carries their pair's key too (client add stores it on the via node).
  const ownClients = clientPeers(node, clients)
  const peers = [...withClientRoutes(node, nodePeers, clients), ...(fleet.network.presharedKeys ? ownClients.map((p) => ({...p, ...psk(p.name)})) : ownClients)]
  const masquerade = exitNames.has(node.name) || masqueradesForClients(clients, node)
  // Follows the rendered config: an exit peer left out for want of its key means no full tunnel yet.
  const fullTunnel = peers.some((p) => p.exit)
  const uplink = masquerade ? uplinkFromFacts(node, facts) : undefined

  const plan: Omit<NodePlan, 'config'> = {
    name: node.name,
    address: `${node.address}/${fleet.network.prefixLength}`,
    ...address6Of(fleet, node),
    endpoint: endpointOf(node),
    listenPort: node.port,
    interface: fleet.network.interface,
    ...(fleet.network.mtu === undefined ? {} : {mtu: fleet.network.mtu}),
    ...dnsOf(fleet, node),
    // Relays forward between the peers they carry (a client's first via node too); exits forward to their uplink.
    forwarding: node.relay || masquerade || forwardsForClients(clients, node),
    ...(node.relay && !node.nat ? {relay: true} : {}),
    masquerade,
    ...(node.subnets && node.subnets.length > 0 ? {subnets: [...node.subnets], subnetSnat: node.subnetSnat ?? true} : {}),
    fullTunnel,
    peers,
    relayed: relayedRoutes(addresses, peers),
    ...overlayViaOf(peers),
    skippedPeers: skipped.map((p) => p.name),
    keptPeers: kept,
    refusedSections: refused,
    ...(uplink === undefined ? {} : {uplink}),
    uplinkAddresses: fullTunnel ? uplinkAddressesFromFacts(node, facts) : [],
  }
  assertDistinctAllowedIps(plan)
  return {...plan, config: renderNodeConfig(plan, fleet)}
}

/** Whether node's entry for a peer carries the pair's preshared key: every entry, with `preshared_keys = true`, but those known to have none yet. */
function presharedKeyOf(fleet: Fleet, node: NodeSpec, known: KnownHosts): (peer: string) => {presharedKey?: true} {
  if (!fleet.network.presharedKeys) return () => ({})
  const without = known.withoutPresharedKey && Object.hasOwn(known.withoutPresharedKey, node.name) ? known.withoutPresharedKey[node.name]! : undefined
  return (peer) => (without?.has(peer) ? {} : {presharedKey: true})
}

/**
 * A node's endpoint and own routes, worked out once per node rather than once per peer entry (N² in a
 * mesh), and the AllowedIPs of a plain entry for it (its own routes alone): one frozen list that every
 * such entry shares.
 */
interface PeerFacts {
  endpoint: string | null
  routes: string[]
  ownRoutes: string[]
}
const peerFacts = new WeakMap<NodeSpec, PeerFacts>()
function peerFactsOnce(node: NodeSpec): PeerFacts {
  let facts = peerFacts.get(node)
  if (facts === undefined) {
    const routes = hostRoutes(node)
    facts = {endpoint: endpointOf(node), routes, ownRoutes: Object.freeze([...routes]) as string[]}
    peerFacts.set(node, facts)
  }
  return facts
}
/** The relays of an entry that relays nothing (frozen: shared by most entries of a mesh). */
const NO_RELAYS = Object.freeze([]) as unknown as string[]

/** The fleet's "can A dial B?", made once per fleet (the planner asks it per peer entry). */
const dialsByFleet = new WeakMap<Fleet, (from: NodeSpec, to: NodeSpec) => boolean>()
function dialsOf(fleet: Fleet): (from: NodeSpec, to: NodeSpec) => boolean {
  let dials = dialsByFleet.get(fleet)
  if (!dials) dialsByFleet.set(fleet, (dials = dialsIn(fleet)))
  return dials
}

function planPeer(fleet: Fleet, node: NodeSpec, link: PeerLink, known: KnownHosts): PeerPlan {
  const {peer} = link
  const facts = peerFactsOnce(peer)
  // An Endpoint only where this node can dial it (its family): otherwise the peer dials this node.
  const endpoint = dialsOf(fleet)(node, peer) ? facts.endpoint : null
  // A hub: the spoke's entry for the first relay carries the overlay network, not one /32 per node —
  // O(1) per spoke instead of O(N) (O(N²) over the fleet), and a node added later is reachable at once.
  if (link.carriesRest) {
    return {
      name: peer.name,
      publicKey: knownPublicKey(known, peer.name),
      endpoint,
      allowedIps: [...facts.routes, ...overlayNetworks(fleet), ...link.subnetsOf.flatMap(subnetsOf), ...(link.exit ? [DEFAULT_ROUTE] : [])],
      keepalive: fleet.network.keepalive,
      via: 'direct',
      relays: [],
      exit: link.exit,
      overlay: true,
    }
  }
  // Most entries of a mesh relay nothing and are no exit: their lists are shared, not a million new ones
  // at N=1000 for the garbage collector to trace.
  const plain = link.relayed.length === 0 && !link.exit && link.subnetsOf.length === 0
  return {
    name: peer.name,
    publicKey: knownPublicKey(known, peer.name),
    endpoint,
    // Own /32 (and /128) first, then its subnets, then relayed nodes' (inventory order, each followed by its
    // subnets), then the default route for an exit.
    allowedIps:
      plain
        ? facts.ownRoutes
        : link.subnetsOf.length === 0
        ? [...facts.routes, ...link.relayed.flatMap((n) => peerFactsOnce(n).routes), ...(link.exit ? [DEFAULT_ROUTE] : [])]
        : [
            ...hostRoutes(peer),
            ...(link.subnetsOf.includes(peer) ? subnetsOf(peer) : []),
            ...link.relayed.flatMap((n) => (link.subnetsOf.includes(n) ? [...hostRoutes(n), ...subnetsOf(n)] : hostRoutes(n))),
            ...(link.exit ? [DEFAULT_ROUTE] : []),
          ],
    keepalive: fleet.network.keepalive,
    via: 'direct',
    relays: link.relayed.length === 0 ? NO_RELAYS : link.relayed.map((n) => n.name),
    exit: link.exit,
  }
}

/**
 * Peers of unknown key take the node's own existing section, where it has one that fits: its key is no
 * known node's and no other peer's, and none of its ranges is another peer's or the node's own.
 */
function keepExistingSections(node: NodeSpec, links: NodeLinks, known: KnownHosts, planned: PeerPlan[]) {
  const sections = known.existingPeers && Object.hasOwn(known.existingPeers, node.name) ? known.existingPeers[node.name]! : {}
  // Nothing to keep (every peer's key known, or no section of this node's): skip the O(N) sets below.
  if (Object.keys(sections).length === 0 || planned.every((p) => p.publicKey !== null)) return {peers: planned, kept: [], refused: []}
  const keys = new Set(Object.values(known.publicKeys))
  const ranges = new Set([...hostRoutes(node), ...planned.filter((p) => p.publicKey !== null).flatMap((p) => p.allowedIps)])
  const kept: string[] = []
  const refused: NodePlan['refusedSections'] = []
  const peers = planned.map((peer, i) => {
    const section = peer.publicKey === null && Object.hasOwn(sections, peer.name) ? sections[peer.name]! : undefined
    if (section === undefined) return peer
    const conflict: ExistingSectionConflict | undefined = keys.has(section.publicKey)
      ? 'key-in-use'
      : section.allowedIps.some((range) => ranges.has(range))
        ? 'allowed-ips-in-use'
        : undefined
    if (conflict) {
      refused.push({peer: peer.name, conflict})
      return peer
    }
    keys.add(section.publicKey)
    for (const range of section.allowedIps) ranges.add(range)
    kept.push(peer.name)
    return keptPeer(peer, links.peers[i]!, section)
  })
  return {peers, kept, refused}
}

function keptPeer(planned: PeerPlan, link: PeerLink, section: ExistingPeerSection): PeerPlan {
  // The section's own PresharedKey line (or none) is what it renders, whatever the plan would say.
  const {presharedKey: _planned, ...peer} = planned
  return {
    ...peer,
    publicKey: section.publicKey,
    endpoint: section.endpoint,
    allowedIps: [...section.allowedIps],
    keepalive: section.keepalive,
    relays: link.relayed.filter((n) => section.allowedIps.includes(hostRoute(n.address))).map((n) => n.name),
    exit: section.allowedIps.includes(DEFAULT_ROUTE),
    ...(section.presharedKey ? {presharedKey: true} : {}),
    verbatim: [...section.lines],
  }
}

/** Dual stack: the node's IPv6 overlay address with cidr6's prefix length. */
function address6Of(fleet: Fleet, node: NodeSpec): {address6?: string} {
  if (node.address6 === undefined || fleet.network.cidr6 === undefined) return {}
  return {address6: `${node.address6}/${fleet.network.cidr6.split('/')[1]}`}
}

function dnsOf(fleet: Fleet, node: NodeSpec): {dns?: string[]} {
  const dns = node.dns ?? fleet.network.dns
  return dns && dns.length > 0 ? {dns: [...dns]} : {}
}

function overlayViaOf(peers: PeerPlan[]): {overlayVia?: string} {
  const relay = peers.find((p) => p.overlay)
  return relay ? {overlayVia: relay.name} : {}
}

/** Nodes reached through a peer's AllowedIPs rather than their own entry. */
function relayedRoutes(nodes: ReadonlyMap<string, NodeSpec>, peers: PeerPlan[]): RelayedRoute[] {
  const route = (name: string, via: string): RelayedRoute => {
    const node = nodes.get(name)
    if (node === undefined) throw new BugError(`relayed node ${name} is not in the fleet`)
    return {name, address: node.address, ...(node.address6 === undefined ? {} : {address6: node.address6}), via}
  }
  const routes: RelayedRoute[] = []
  // A loop, not flatMap: a mesh node's peers relay nothing but one, and an array per peer adds up.
  for (const peer of peers) for (const name of peer.relays) routes.push(route(name, peer.name))
  return routes
}

/**
 * A key goes into config text. Keys come from plan/key-trust, which trusts nothing but real keys: anything
 * else here (say, with a newline) is a bug, never pasted.
 */
const checkedKeys = new WeakMap<KnownHosts, Map<string, string | null>>()

function knownPublicKey(known: KnownHosts, name: string): string | null {
  // Each node's key is looked up and checked once per plan, not once per peer entry (N² in a mesh).
  let keys = checkedKeys.get(known)
  if (!keys) checkedKeys.set(known, (keys = new Map()))
  const seen = keys.get(name)
  if (seen !== undefined) return seen
  // Own properties only: a node may be named `constructor`.
  const key = Object.hasOwn(known.publicKeys, name) ? known.publicKeys[name] : undefined
  if (key !== undefined && !isWireGuardKey(key)) throw new BugError(`the public key planned for ${name} is not a WireGuard key`)
  keys.set(name, key ?? null)
  return key ?? null
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
export function assertDistinctAllowedIps(node: Pick<NodePlan, 'name' | 'address' | 'address6' | 'peers'>): void {
  const seen = new Set<string>()
  const own = new Set([hostRoute(node.address.split('/')[0]!), ...(node.address6 === undefined ? [] : [`${node.address6.split('/')[0]!}/128`])])
  for (const peer of node.peers) {
    for (const range of peer.allowedIps) {
      if (own.has(range)) throw new BugError(`${node.name}: peer ${peer.name} carries the node's own address ${range}`)
      if (seen.has(range)) {
        const first = node.peers.find((p) => p.allowedIps.includes(range))?.name
        throw new BugError(`${node.name}: AllowedIPs ${range} is on two peers (${first} and ${peer.name})`)
      }
      seen.add(range)
    }
  }
}
