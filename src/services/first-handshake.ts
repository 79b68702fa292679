/**
 * Who starts each pair's handshake in the verify phase, and how each side counts it. Pure.
 *
 * Why a rule at all: WireGuard starts a handshake on its own whenever a peer has a PersistentKeepalive or a
 * queued packet — for a fresh interface, the moment it comes up. An initiation that reaches a peer whose
 * interface or firewall is not up yet is lost, and WireGuard tries again only after 5 s (REKEY_TIMEOUT).
 * Two initiations that cross (both sides start at once) are lost too: each side answers the other's and
 * forgets its own, so neither completes until a retry. And a responder records a handshake only when the
 * initiator's first data packet arrives on the new session, so two sides can disagree about whether one
 * took place.
 *
 * So apply brings every entry it creates up *fresh* — without its keepalive, no packet queued: it sends
 * nothing (apply.sh) — and after the barrier (every node applied: interface up, firewall open) exactly one
 * side of each pair starts the handshake, once. Each side's test proves the same session: the starter's
 * ping over the tunnel is answered (the peer accepted our data on it), the other side sees the handshake
 * (recorded when that data arrived). The other side sends nothing until then.
 */
import type {VerifyMode} from '../tasks/host-steps.js'

export interface PairFacts {
  /** The nodes in inventory order: the tie-break when both sides of a pair can start. */
  order: readonly string[]
  /** `from` has an endpoint for `to`: it can send the first packet (a NAT-ed node cannot be dialled). */
  canDial(from: string, to: string): boolean
  /** `node`'s entry for `peer` was brought up by this run (fresh: no session, sends nothing yet). */
  fresh(node: string, peer: string): boolean
}

/**
 * The side that starts the pair's handshake: the only one that can dial; else a fresh side (an old entry
 * may hold a session that is dead on the other side, which WireGuard would keep using); else, both fresh
 * or both old, an even split by inventory position — of i < j, i starts when j - i is odd — so that each
 * node of a mesh starts about half of its pairs.
 */
export function initiatorOf(a: string, b: string, facts: PairFacts): string {
  const aDials = facts.canDial(a, b)
  const bDials = facts.canDial(b, a)
  if (aDials !== bDials) return aDials ? a : b
  const aFresh = facts.fresh(a, b)
  const bFresh = facts.fresh(b, a)
  if (aFresh !== bFresh) return aFresh ? a : b
  const i = facts.order.indexOf(a)
  const j = facts.order.indexOf(b)
  const [low, high] = i < j ? [a, b] : [b, a]
  return Math.abs(j - i) % 2 === 1 ? low : high
}

/** How `node` verifies its pair with `peer` (see verify.sh for what each mode does on the host). */
export function verifyModeOf(node: string, peer: string, facts: PairFacts): VerifyMode {
  const ownFresh = facts.fresh(node, peer)
  if (!ownFresh && !facts.fresh(peer, node)) return 'any'
  const starts = initiatorOf(node, peer, facts) === node
  if (ownFresh) return starts ? 'initiate' : 'await'
  // Our entry is old and the peer's is fresh: the peer holds no session with us.
  return starts ? 'reset' : 'live'
}
