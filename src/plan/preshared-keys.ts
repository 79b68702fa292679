/**
 * Preshared keys (`preshared_keys = true`), planned (pure): which pairs get a new key in this run, which
 * files go, and which entries render without a key for now. A key belongs to a WireGuard peer entry that
 * exists — a pair under [acl], a NAT-ed node and its relay (one key per hop: relayed pairs have no entry of
 * their own) — and the two ends of a pair must hold the same one, compared by the digests the hosts report
 * (never by value). Run by services/preshared-keys.ts.
 *
 *   both ends reached, the same valid digest on both, no renewal asked  → nothing
 *   both ends reached, otherwise (none, one, two different, renewal)    → a new key: made on the
 *                                                                          lower-named end, stored on both
 *   one end not reached                                                  → the reached end keeps its file
 *                                                                          for the pair; without one, its
 *                                                                          entry goes without a key for now
 *   a file for a peer that no entry of the node carries a key for       → removed
 */
import type {FleetPlan} from './model.js'

/** What a reached node's host reports of one of its files (remote/preshared-keys). */
export interface PresharedKeyDigest {
  digest: string
}

export interface PresharedKeyPair {
  /** The end that generates the key (`wg genpsk`): the lower name. */
  generator: string
  other: string
}

export interface PresharedKeyWork {
  /** Pairs that get a new key in this run, in plan order. */
  create: PresharedKeyPair[]
  /** Reached node → its files that no entry uses any more (removed once its config no longer names them). */
  remove: Map<string, string[]>
}

export interface PresharedKeyInput {
  plan: FleetPlan
  /** Nodes reached (and trusted) in this run: only they are read and changed. */
  reached: ReadonlySet<string>
  /** Reached node → peer name → its file's digest. */
  files: ReadonlyMap<string, ReadonlyMap<string, PresharedKeyDigest>>
  /** Pairs to renew whatever they hold (rotate-psk); default none. */
  renew?: (a: string, b: string) => boolean
}

/** Each reached node's entries that carry a key, by peer name (one pass over the plan). */
function keyedEntries(plan: FleetPlan, reached: ReadonlySet<string>): Map<string, Set<string>> {
  const keyed = new Map<string, Set<string>>()
  for (const node of plan.nodes) {
    if (!reached.has(node.name)) continue
    keyed.set(node.name, new Set(node.peers.filter((p) => p.presharedKey).map((p) => p.name)))
  }
  return keyed
}

const agreed = (a: PresharedKeyDigest | undefined, b: PresharedKeyDigest | undefined): boolean =>
  a !== undefined && b !== undefined && a.digest !== 'invalid' && a.digest === b.digest

export function planPresharedKeys(input: PresharedKeyInput): PresharedKeyWork {
  const keyed = keyedEntries(input.plan, input.reached)
  const create: PresharedKeyPair[] = []
  const remove = new Map<string, string[]>()
  for (const [node, peers] of keyed) {
    const files = input.files.get(node)
    for (const peer of peers) {
      // Each pair once, from its lower-named end; both ends reached and both entries keyed.
      if (!(node < peer) || !keyed.get(peer)?.has(node)) continue
      const renew = input.renew?.(node, peer) ?? false
      if (renew || !agreed(files?.get(peer), input.files.get(peer)?.get(node))) create.push({generator: node, other: peer})
    }
    const unused = [...(files?.keys() ?? [])].filter((peer) => !peers.has(peer))
    if (unused.length > 0) remove.set(node, unused)
  }
  return {create, remove}
}

/**
 * KnownHosts.withoutPresharedKey: each reached node's keyed entries for which it holds no valid file (the
 * peer was not reached to make one, or making it failed). Empty when every entry has its file.
 */
export function entriesWithoutKey(
  plan: FleetPlan,
  reached: ReadonlySet<string>,
  files: ReadonlyMap<string, ReadonlyMap<string, PresharedKeyDigest>>,
): Record<string, ReadonlySet<string>> {
  const without: Record<string, Set<string>> = {}
  for (const [node, peers] of keyedEntries(plan, reached)) {
    for (const peer of peers) {
      const file = files.get(node)?.get(peer)
      if (file === undefined || file.digest === 'invalid') (without[node] ??= new Set()).add(peer)
    }
  }
  return without
}
