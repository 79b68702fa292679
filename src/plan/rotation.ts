/**
 * The key rotation planner (pure): from what state pins, what the rotated node reports of its three keys
 * (key file, new key file, running interface) and the fleet's plan, decide what `rotate-key` does next —
 * generate a new key, roll a stale pending rotation back, or the rotation's steps (see RotationPlan).
 * Whether a key is trusted is asked of plan/key-trust (judgeKeys) only: every key the node reports must be
 * its pinned key or the one pending key of this rotation, and held by no other node.
 *
 * The sequence it plans (docs/design.md, "Key rotation"), built so that only the pairs of the rotated
 * node lose packets, and only between the switch and the move (one exec per peer, all peers at once):
 *   1. state records the new public key as pending (before anything can use it);
 *   2. every peer adds it as an extra entry without AllowedIPs (same endpoint, keepalive, preshared key);
 *   3. the node's interface switches to the new private key (`wg set IFACE private-key`);
 *   4. every peer, in one `wg set`: AllowedIPs to the new entry, the old entry removed;
 *   5. the node's config and key file become the new key; state pins it and clears pending;
 *   6. a converge writes every peer's config to match (the live interfaces already do).
 */
import {judgeKeys, type KeyRefusal, type PinnedKey} from './key-trust.js'
import type {FleetPlan} from './model.js'

/** What the rotated node reports (public keys; undefined or "" when absent). */
export interface RotationReport {
  keyFile?: string
  /** Public key of IFACE.key.new, the new key kept until the rotation is complete. */
  newKey?: string
  /** The running interface's public key (absent when the interface is down). */
  interface?: string
}

/** One peer's part: its entry for the rotated node as the plan has it, moved to the new key. */
export interface PeerMove {
  peer: string
  /** The rotated node's endpoint as this peer dials it, or null (NAT-ed: learned from its handshake). */
  endpoint: string | null
  keepalive: number
  allowedIps: string[]
  /** The entry carries the pair's preshared key: so does the extra entry (the peer's file for the node). */
  presharedKey?: true
}

export interface RotationPlan {
  node: string
  oldPublicKey: string
  newPublicKey: string
  /** State does not hold the new key as pending yet: record it before step 2. */
  recordPending: boolean
  /** The rotation was pending already (an interrupted run): it is finished. */
  resumed: boolean
  /** The interface does not run the new key yet (step 3). */
  switchInterface: boolean
  /** The key file is not the new key yet (step 5). */
  commit: boolean
  peers: PeerMove[]
}

export type RotationRefusal =
  | {reason: 'not-converged'}
  | {reason: 'interface-down'}
  | {reason: 'key-refused'; refusal: KeyRefusal}

export type RotationDecision =
  | {kind: 'generate'; /** A stale pending key (nowhere on the host) is dropped from state first. */ clearPending: boolean}
  | {kind: 'rolled-back'; pendingPublicKey: string}
  | {kind: 'rotate'; plan: RotationPlan}
  | {kind: 'refused'; refusal: RotationRefusal}

export interface RotationInput {
  node: string
  /** Inventory nodes, in order. */
  nodes: readonly string[]
  pinned: Readonly<Record<string, PinnedKey>>
  report: RotationReport
  /** The operator asked to rotate this node (else only a pending rotation is finished or rolled back). */
  requested: boolean
  /** The fleet's plan over the pinned keys (whose entries for the node are moved). */
  plan: FleetPlan
}

export function planRotation(input: RotationInput): RotationDecision {
  const {node, pinned, report, requested} = input
  const entry = Object.hasOwn(pinned, node) ? pinned[node]! : {}
  const old = entry.publicKey
  if (old === undefined) return {kind: 'refused', refusal: {reason: 'not-converged'}}
  const present = (key: string | undefined): key is string => key !== undefined && key !== ''
  const reported = [report.keyFile, report.newKey, report.interface].filter(present)
  const pending = entry.pendingPublicKey

  // The key this rotation moves to: the pending one while the host still has it anywhere, else a new key file.
  let candidate: string | undefined
  if (pending !== undefined && reported.includes(pending)) candidate = pending
  else if (present(report.newKey) && report.newKey !== old) candidate = report.newKey
  if (candidate === undefined) {
    if (requested) return {kind: 'generate', clearPending: pending !== undefined}
    // Pending, but the host has no trace of that key: nothing switched to it (state records it before the
    // switch, and the host drops the new key file only once the key file holds it). Roll back.
    return pending === undefined ? {kind: 'refused', refusal: {reason: 'not-converged'}} : {kind: 'rolled-back', pendingPublicKey: pending}
  }

  // Each reported key on its own (the key file and the interface differ mid-rotation): each must be the
  // pinned key or the candidate, and no other node's.
  // (A candidate state holds for another node is not made pending here: key trust then names its holder.)
  const heldElsewhere = input.nodes.some((n) => n !== node && Object.hasOwn(pinned, n) && [pinned[n]!.publicKey, pinned[n]!.pendingPublicKey].includes(candidate))
  const withCandidate = {...pinned, [node]: {publicKey: old, ...(heldElsewhere ? {} : {pendingPublicKey: candidate})}}
  for (const key of new Set(reported)) {
    const trust = judgeKeys({nodes: input.nodes, pinned: withCandidate, reports: new Map([[node, {keyFile: key}]])})
    const refusal = trust.refusals.get(node)
    if (refusal) return {kind: 'refused', refusal: {reason: 'key-refused', refusal}}
  }
  if (!present(report.interface)) return {kind: 'refused', refusal: {reason: 'interface-down'}}

  const peers: PeerMove[] = []
  for (const other of input.plan.nodes) {
    const peer = other.peers.find((p) => p.name === node)
    if (peer) peers.push({peer: other.name, endpoint: peer.endpoint, keepalive: peer.keepalive, allowedIps: [...peer.allowedIps], ...(peer.presharedKey ? {presharedKey: true as const} : {})})
  }
  return {
    kind: 'rotate',
    plan: {
      node,
      oldPublicKey: old,
      newPublicKey: candidate,
      recordPending: pending !== candidate,
      resumed: pending === candidate,
      switchInterface: report.interface !== candidate,
      commit: report.keyFile !== candidate,
      peers,
    },
  }
}

/** Nodes whose rotation state says is pending (finished by the next init or rotate-key), in inventory order. */
export function pendingRotations(nodes: readonly string[], pinned: Readonly<Record<string, PinnedKey>>): string[] {
  return nodes.filter((name) => Object.hasOwn(pinned, name) && pinned[name]!.pendingPublicKey !== undefined)
}
