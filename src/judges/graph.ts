/**
 * The live mesh (pure): each edge of the graph judged by the handshake states that `status` gives its two
 * ends (judges/status.ts), so the picture and `status` never disagree.
 *
 * A direct edge is as good as the worse of its two ends: a node whose interface was stopped a minute ago
 * still shows a fresh handshake on its peers' side, but the link is down. A relayed edge is as good as
 * the worse of its two legs (each end to the relay).
 */
import {BugError} from '../lib/errors.js'
import type {GraphEdge, MeshGraph} from '../plan/graph.js'
import type {FleetStatus, PeerState} from './status.js'

/** Worst last: an edge takes the worst of its ends. */
export const EDGE_STATES = ['up', 'idle', 'stale', 'unknown', 'down'] as const
export type EdgeState = (typeof EDGE_STATES)[number]

/** One end's view: `node`'s peer entry for `peer`, as status judged it (null: no such entry to judge). */
export interface EdgeEnd {
  node: string
  peer: string
  state: PeerState | null
}

export interface LiveEdge extends GraphEdge {
  state: EdgeState
  /** direct: both ends; relayed: both ends of both legs (to and from the relay). */
  ends: EdgeEnd[]
}

export interface LiveGraph extends Omit<MeshGraph, 'edges'> {
  edges: LiveEdge[]
  healthy: boolean
  staleAfterSeconds: number
  checkedAt: number
}

/** What one end's peer state says of the link. `null`: the end has no judged entry (key not known yet). */
export function edgeStateOfEnd(state: PeerState | null): EdgeState {
  switch (state) {
    case 'ok':
      return 'up'
    case 'idle':
      return 'idle'
    case 'stale':
      return 'stale'
    case 'unreachable':
    case 'unknown-peer':
    case null:
      return 'unknown'
    case 'never':
    case 'missing-peer':
    case 'down':
      return 'down'
  }
}

function worst(states: EdgeState[]): EdgeState {
  return states.reduce((a, b) => (EDGE_STATES.indexOf(b) > EDGE_STATES.indexOf(a) ? b : a), 'up')
}

export function judgeGraph(graph: MeshGraph, status: FleetStatus): LiveGraph {
  // node → peer → state: one pass over the readings (O(N²) entries at most).
  const states = new Map<string, Map<string, PeerState>>()
  for (const node of status.nodes) {
    const peers = new Map<string, PeerState>()
    for (const peer of node.peers) if (peer.expected && peer.name !== null) peers.set(peer.name, peer.state)
    states.set(node.name, peers)
  }
  const end = (node: string, peer: string): EdgeEnd => {
    const peers = states.get(node)
    if (!peers) throw new BugError(`status has no reading for ${node}, a node of the graph`)
    return {node, peer, state: peers.get(peer) ?? null}
  }
  const pair = (a: string, b: string) => [end(a, b), end(b, a)]
  const edges = graph.edges.map((edge): LiveEdge => {
    const ends = edge.kind === 'direct' ? pair(edge.from, edge.to) : [...pair(edge.from, relayOf(edge)), ...pair(edge.to, relayOf(edge))]
    return {...edge, state: worst(ends.map((e) => edgeStateOfEnd(e.state))), ends}
  })
  return {...graph, edges, healthy: status.healthy, staleAfterSeconds: status.staleAfterSeconds, checkedAt: status.checkedAt}
}

function relayOf(edge: GraphEdge): string {
  if (edge.via === undefined) throw new BugError(`relayed edge ${edge.from}–${edge.to} has no relay`)
  return edge.via
}
