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
  /** A node's place in the inventory: the tie-break when both sides of a pair can start. */
  position(node: string): number
  /** `from` has an endpoint for `to`: it can send the first packet (a NAT-ed node cannot be dialled). */
  canDial(from: string, to: string): boolean
  /** `node`'s entry for `peer` was brought up by this run (fresh: no session, sends nothing yet). */
  fresh(node: string, peer: string): boolean
  /**
   * `node`'s entry for `peer` is older than this run but holds no live session: its probe saw no recent
   * handshake with `peer` (a peer restarted by hand, a link cut and healed). Like a fresh entry it must get
   * a new handshake — and the other side, which may still hold a session this one lost, must not count its own.
   */
  dead(node: string, peer: string): boolean
  /**
   * add-node's fast path: `node` added its entry for `peer` (the newcomer) live with remote/peer-add.sh,
   * keepalive on, once the newcomer was up; `node` does not verify (see joinModeOf).
   */
  addedLive?(node: string, peer: string): boolean
  /** `from`'s entry for `to` has a PersistentKeepalive (setting it live sends the first keepalive at once). */
  keepsAlive?(from: string, to: string): boolean
}

/** The entry holds no session the other side can use: brought up now, or dead. */
function lost(node: string, peer: string, facts: PairFacts): boolean {
  return facts.fresh(node, peer) || facts.dead(node, peer)
}

/**
 * The side that starts the pair's handshake: the only one that can dial; else a side without a live
 * session (an old entry may hold a session that is dead on the other side, which WireGuard would keep
 * using); else, both or neither, an even split by inventory position — of i < j, i starts when j - i is
 * odd — so that each node of a mesh starts about half of its pairs.
 */
export function initiatorOf(a: string, b: string, facts: PairFacts): string {
  const aDials = facts.canDial(a, b)
  const bDials = facts.canDial(b, a)
  if (aDials !== bDials) return aDials ? a : b
  const aLost = lost(a, b, facts)
  const bLost = lost(b, a, facts)
  if (aLost !== bLost) return aLost ? a : b
  const i = facts.position(a)
  const j = facts.position(b)
  const [low, high] = i < j ? [a, b] : [b, a]
  return Math.abs(j - i) % 2 === 1 ? low : high
}

/** How `node` verifies its pair with `peer` (see verify.sh for what each mode does on the host). */
export function verifyModeOf(node: string, peer: string, facts: PairFacts): VerifyMode {
  if (facts.addedLive?.(peer, node)) return joinModeOf(node, peer, facts)
  const ownFresh = facts.fresh(node, peer)
  const ownLost = ownFresh || facts.dead(node, peer)
  if (!ownLost && !lost(peer, node, facts)) return 'any'
  const starts = initiatorOf(node, peer, facts) === node
  if (ownFresh) return starts ? 'initiate' : 'await'
  // Our entry is old. Starting: re-add it (whatever session it holds, the peer has none with us). Else,
  // with no live session of our own, wait for a new handshake and send nothing; with one (the peer lost
  // its side), a handshake after the check began, or an answer over the session we have.
  if (starts) return 'reset'
  return ownLost ? 'await' : 'live'
}

/**
 * How the newcomer of add-node's fast path verifies its pair with an existing node that added it live:
 * peer-add.sh ran after the newcomer's interface and firewall were up and turned the entry's keepalive on
 * (the existing node never verifies, so nothing else would), so an existing node that can dial the newcomer
 * has started the handshake itself — the newcomer sends nothing and waits (`await`: no second initiation to
 * cross it). One that cannot dial it (NAT-ed, another family), or has no keepalive for it, has sent
 * nothing: the newcomer starts.
 */
export function joinModeOf(newcomer: string, existing: string, facts: Pick<PairFacts, 'canDial' | 'keepsAlive'>): VerifyMode {
  // Without a keepalive (`keepalive = 0`) the existing node sends nothing either: the newcomer starts.
  return facts.canDial(existing, newcomer) && (facts.keepsAlive?.(existing, newcomer) ?? true) ? 'await' : 'initiate'
}
