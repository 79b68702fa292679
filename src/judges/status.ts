/**
 * The status model (pure): what status.sh read on a node, judged against that node's plan, gives a state
 * for every peer (docs/design.md §6) and the fleet's health.
 *
 * - Expected peers come from the plan (planFleet with omitPeersWithoutKey), not the inventory: with a
 *   relay, a NAT-ed node has no peer entry for another NAT-ed node, on purpose.
 * - Ages are computed against the node's own clock (`now`, read in the same exec as the dump), never
 *   the operator's, so a skewed operator clock does not make live links look stale.
 */
import type {KeyAge} from './key-age.js'
import type {NodePlan} from '../plan/model.js'
import type {WgDumpPeer} from '../wireguard/dump.js'
import {handshakeAge, handshakeState} from '../wireguard/handshake.js'
import {type NodeReading} from '../remote/status.js'

export type PeerState = 'ok' | 'stale' | 'never' | 'idle' | 'unknown-peer' | 'missing-peer' | 'down' | 'unreachable'

/** States that are not a problem; everything else makes the fleet unhealthy. */
export const HEALTHY_PEER_STATES: ReadonlySet<PeerState> = new Set<PeerState>(['ok', 'idle'])

export interface PeerStatus {
  /** Inventory name; null for a key no known node has. */
  name: string | null
  publicKey: string
  /** False for a key on the interface that the plan does not expect (unknown-peer). */
  expected: boolean
  /** Endpoint WireGuard last saw ("host:port"), or null (none, or no reading). */
  endpoint: string | null
  /** Unix seconds on the node's clock; null when never (or no reading). */
  latestHandshake: number | null
  /** Seconds since the latest handshake, against the node's clock; null when never (or no reading). */
  ageSeconds: number | null
  rxBytes: number | null
  txBytes: number | null
  /** PersistentKeepalive seconds, 0 = off: as on the interface, else as planned. */
  keepalive: number
  state: PeerState
}

/** Why a node could not be read, or why its interface is not up. */
export interface NodeProblem {
  /** SshErrorKind for connection/exec failures; else 'interface-absent', 'interface-down', 'wg-missing', 'wg-error', 'bad-output', 'error'. */
  kind: string
  message: string
  hint?: string
}

export interface NodeStatus {
  name: string
  reachable: boolean
  interfaceUp: boolean
  /** Set when the node is unreachable or its interface is not up. */
  problem?: NodeProblem
  /** The node's clock (unix seconds) ages were computed against; null when not reached. */
  nodeTime: number | null
  listenPort: number | null
  /** The interface's public key as the node reports it; null when not read. */
  publicKey: string | null
  /** Expected peers in plan (inventory) order, then unknown keys in the order the interface lists them. */
  peers: PeerStatus[]
  /** The age of the key state pins for the node (judges/key-age); null when state records no creation time. */
  keyAge?: KeyAge | null
}

export interface FleetStatus {
  healthy: boolean
  /** Unreachable or down nodes count once each; on the other nodes, every peer not ok or idle. */
  problems: number
  staleAfterSeconds: number
  /** Operator's clock (unix seconds) when the status was taken: for staleness of a written file only. */
  checkedAt: number
  nodes: NodeStatus[]
}

/** public key → inventory (or state) node name. */
export type KeyNames = ReadonlyMap<string, string>

/**
 * State of a peer that is on the interface and expected. Keepalive off (in the plan) and no recent
 * handshake is `idle`: such a link only handshakes when traffic flows, so silence is not a fault.
 */
export function judgePeer(latestHandshake: number, now: number, staleAfterSeconds: number, plannedKeepalive: number): PeerState {
  const state = handshakeState(latestHandshake, now, staleAfterSeconds)
  if (state !== 'ok' && plannedKeepalive === 0) return 'idle'
  return state
}

/** A node reached, with its interface up: every peer judged against the node's plan and clock. */
export function buildNodeStatus(
  nodePlan: NodePlan,
  dumpPeers: readonly WgDumpPeer[],
  now: number,
  staleAfterSeconds: number,
  names: KeyNames,
  extra: {listenPort?: number | null; publicKey?: string | null} = {},
): NodeStatus {
  const onInterface = new Map(dumpPeers.map((p) => [p.publicKey, p]))
  const expectedKeys = new Set<string>()
  const peers: PeerStatus[] = []

  for (const planned of nodePlan.peers) {
    // omitPeersWithoutKey guarantees a key; a keyless peer cannot be judged, so it is skipped, not guessed.
    if (planned.publicKey === null) continue
    expectedKeys.add(planned.publicKey)
    const live = onInterface.get(planned.publicKey)
    if (live) {
      peers.push(livePeer(live, planned.name, true, judgePeer(live.latestHandshake, now, staleAfterSeconds, planned.keepalive), now))
    } else {
      peers.push(absentPeer(planned.name, planned.publicKey, planned.keepalive, 'missing-peer'))
    }
  }
  for (const live of dumpPeers) {
    if (expectedKeys.has(live.publicKey)) continue
    peers.push(livePeer(live, names.get(live.publicKey) ?? null, false, 'unknown-peer', now))
  }

  return {
    name: nodePlan.name,
    reachable: true,
    interfaceUp: true,
    nodeTime: now,
    listenPort: extra.listenPort ?? null,
    publicKey: extra.publicKey ?? null,
    peers,
  }
}

/** A node reached whose interface is not up (or cannot be read): its expected peers are all `down`. */
export function downNodeStatus(nodePlan: NodePlan, problem: NodeProblem, now: number | null): NodeStatus {
  return {
    name: nodePlan.name,
    reachable: true,
    interfaceUp: false,
    problem,
    nodeTime: now,
    listenPort: null,
    publicKey: null,
    peers: plannedPeers(nodePlan, 'down'),
  }
}

/**
 * A node not reached (connection failed, or its one exec did not give a reading): its expected peers
 * are listed as `unreachable`, so that a consumer walking peers alone still sees them.
 */
export function unreachableNodeStatus(nodePlan: NodePlan, problem: NodeProblem): NodeStatus {
  return {
    name: nodePlan.name,
    reachable: false,
    interfaceUp: false,
    problem,
    nodeTime: null,
    listenPort: null,
    publicKey: null,
    peers: plannedPeers(nodePlan, 'unreachable'),
  }
}

/**
 * A node reached with no wireguard-tools: not converged yet, or refused by init (e.g. a kernel without the
 * module on a release that packages no wireguard-go). One wording for status and doctor: `init` is the fix
 * when the host can run WireGuard; when it cannot, init's own failure says why, and taking the node out is
 * the other way — never a unit to enable or start.
 */
export const WG_MISSING = {
  message: 'WireGuard is not installed (wg not found)',
  hint: (node: string) => `run \`wgfleet init\` (it installs WireGuard); if init fails on ${node}, its message says why and what the host needs — or take the node out: \`wgfleet remove-node ${node}\``,
}

/** What status.sh read on a node → its NodeStatus. */
export function nodeStatusFromReading(nodePlan: NodePlan, reading: NodeReading, staleAfterSeconds: number, names: KeyNames): NodeStatus {
  const iface = nodePlan.interface
  if (!reading.wgInstalled) {
    return downNodeStatus(nodePlan, {kind: 'wg-missing', message: WG_MISSING.message, hint: WG_MISSING.hint(nodePlan.name)}, reading.now)
  }
  if (reading.link === 'absent') {
    return downNodeStatus(nodePlan, {kind: 'interface-absent', message: `interface ${iface} does not exist`, hint: `start it: \`systemctl start wg-quick@${iface}\` on the node, or run \`wgfleet init\``}, reading.now)
  }
  if (reading.link === 'down') {
    return downNodeStatus(nodePlan, {kind: 'interface-down', message: `interface ${iface} is down`, hint: `on the node: \`systemctl restart wg-quick@${iface}\``}, reading.now)
  }
  if (reading.peers === null) {
    return downNodeStatus(nodePlan, {kind: 'wg-error', message: reading.wgError ?? `wg show ${iface} failed`, hint: `on the node: \`wg show ${iface}\``}, reading.now)
  }
  return buildNodeStatus(nodePlan, reading.peers, reading.now, staleAfterSeconds, names, {listenPort: reading.listenPort, publicKey: reading.publicKey})
}

/** Problems on one node: 1 when unreachable or down, else its peers that are neither ok nor idle. */
export function nodeProblemCount(node: NodeStatus): number {
  if (!node.reachable || !node.interfaceUp) return 1
  return node.peers.filter((p) => !HEALTHY_PEER_STATES.has(p.state)).length
}

/** Healthy: every node reachable with its interface up, every peer ok or idle. */
export function buildFleetStatus(nodes: NodeStatus[], options: {staleAfterSeconds: number; checkedAt: number}): FleetStatus {
  const problems = nodes.reduce((sum, n) => sum + nodeProblemCount(n), 0)
  return {healthy: problems === 0, problems, staleAfterSeconds: options.staleAfterSeconds, checkedAt: options.checkedAt, nodes}
}

/** Exit code of `wgfleet status`: 0 healthy, 1 not (so `wgfleet status || alert` works). */
export function statusExitCode(status: FleetStatus): 0 | 1 {
  return status.healthy ? 0 : 1
}

function livePeer(live: WgDumpPeer, name: string | null, expected: boolean, state: PeerState, now: number): PeerStatus {
  return {
    name,
    publicKey: live.publicKey,
    expected,
    endpoint: live.endpoint,
    latestHandshake: live.latestHandshake > 0 ? live.latestHandshake : null,
    ageSeconds: handshakeAge(live.latestHandshake, now),
    rxBytes: live.rxBytes,
    txBytes: live.txBytes,
    keepalive: live.keepalive,
    state,
  }
}

function absentPeer(name: string, publicKey: string, keepalive: number, state: PeerState): PeerStatus {
  return {name, publicKey, expected: true, endpoint: null, latestHandshake: null, ageSeconds: null, rxBytes: null, txBytes: null, keepalive, state}
}

function plannedPeers(nodePlan: NodePlan, state: PeerState): PeerStatus[] {
  return nodePlan.peers.flatMap((p) => (p.publicKey === null ? [] : [absentPeer(p.name, p.publicKey, p.keepalive, state)]))
}
