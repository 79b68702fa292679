/**
 * The mesh as a graph (pure): one vertex per node, one edge per pair of nodes that can talk — direct (they
 * have peer entries for each other) or through a relay (neither has an entry for the other; a relay's
 * AllowedIPs carry them). Built from the planner's own links (topology.ts `planLinks`), so the picture can
 * never disagree with the configs about who is direct and who is relayed.
 *
 * O(N²) in a mesh (the edges are the pairs); in a hub the relayed pairs are O(N²) too, so the hub's
 * "everyone else through the first relay" is listed pair by pair, as the picture needs.
 */
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {BugError} from '../lib/errors.js'
import {exitNodeOf, planLinks, publicRelays} from './topology.js'

/**
 * What a node is in the mesh: `relay` (carries traffic between nodes that cannot reach each other),
 * `nat` (behind NAT: no endpoint others dial), `exit` (others send their internet traffic through it).
 */
export type GraphRole = 'relay' | 'nat' | 'exit'

export interface GraphNode {
  name: string
  /** Overlay address with the network's prefix, e.g. "10.0.0.1/24". */
  address: string
  /** In the order relay, nat, exit. */
  roles: GraphRole[]
  /** The node it sends its internet traffic through (exit_via). */
  exitVia?: string
}

export interface GraphEdge {
  /** The pair in inventory order: `from` comes first. */
  from: string
  to: string
  /** direct: each has a peer entry for the other; relayed: traffic goes through `via`. */
  kind: 'direct' | 'relayed'
  /** The relay (relayed edges only). */
  via?: string
  /** One of the two exits through the other (direct edges only). */
  exit: boolean
}

export interface MeshGraph {
  interface: string
  cidr: string
  topology: Fleet['network']['topology']
  /** Inventory order. */
  nodes: GraphNode[]
  /** By `from` in inventory order; each node's in the order the planner lists its peers (each direct one, then those it relays). */
  edges: GraphEdge[]
}

export function buildMeshGraph(fleet: Fleet): MeshGraph {
  const order = new Map(fleet.nodes.map((n, i) => [n, i]))
  const relays = new Set(publicRelays(fleet.nodes))
  const exits = new Map(fleet.nodes.map((n) => [n, exitNodeOf(fleet, n)]))
  const exitNodes = new Set([...exits.values()].filter((n) => n !== undefined))
  const nodes = fleet.nodes.map((node): GraphNode => {
    const roles: GraphRole[] = []
    if (relays.has(node)) roles.push('relay')
    if (node.nat) roles.push('nat')
    if (exitNodes.has(node)) roles.push('exit')
    const exit = exits.get(node)
    return {name: node.name, address: `${node.address}/${fleet.network.prefixLength}`, roles, ...(exit ? {exitVia: exit.name} : {})}
  })

  const edges: GraphEdge[] = []
  // Each pair is seen from both ends; it is listed once, from the end that comes first in the inventory.
  const later = (a: NodeSpec, b: NodeSpec) => indexOf(order, b) > indexOf(order, a)
  for (const {node, peers} of planLinks(fleet)) {
    const entries = new Set(peers.map((link) => link.peer))
    for (const link of peers) {
      if (later(node, link.peer)) {
        edges.push({from: node.name, to: link.peer.name, kind: 'direct', exit: exits.get(node) === link.peer || exits.get(link.peer) === node})
      }
      // Mesh: the relay's entry names the nodes it carries for us. Hub: the first relay's entry carries
      // everyone we have no entry of our own for.
      const carried = link.carriesRest ? fleet.nodes.filter((n) => n !== node && !entries.has(n)) : link.relayed
      for (const other of carried) {
        if (later(node, other)) edges.push({from: node.name, to: other.name, kind: 'relayed', via: link.peer.name, exit: false})
      }
    }
  }
  return {interface: fleet.network.interface, cidr: fleet.network.cidr, topology: fleet.network.topology, nodes, edges}
}

function indexOf(order: ReadonlyMap<NodeSpec, number>, node: NodeSpec): number {
  const index = order.get(node)
  if (index === undefined) throw new BugError(`the planner linked ${node.name}, which is not in the fleet`)
  return index
}
