/**
 * "Is this key trusted?" — answered here and nowhere else (pure). init, add-node and remove-node (the
 * converge barrier), status and doctor (readFleet) and plan all take the public keys they put in a plan
 * from `judgeKeys`.
 *
 * Inputs: the keys state pins to each node (and a pending rotation), what each node reached in this run
 * reports for itself (its key file's public key, its running interface's), and the nodes whose key change
 * the operator accepted (`--accept-key-change NODE`). Rules, in this order (the first that applies refuses):
 *
 * 1. malformed: a reported value that is not a WireGuard key.
 * 2. duplicate-of-other-node: a key another inventory node holds — pinned or pending for it in state, or
 *    reported by it in this run — is refused for the claimant; the node state pins it to keeps it. When no
 *    node pins it (a cloned image before its first init), every node reporting it is refused: nothing
 *    tells the real one from the copy.
 * 3. file-and-interface-differ: the key file and the running interface disagree; never pick one.
 * 4. changed-from-pinned: a key that differs from the pinned one, unless it is the pending key of a
 *    rotation wgfleet started, or the operator accepted a change for that node.
 * A node with no pinned key is trusted on first use. A refused node counts as not reached: the plan keeps
 * its pinned key (so no node loses a peer), and one node's report never changes another node's key.
 *
 * Why in plan/: it is a pure judgement whose output is the planner's input (KnownHosts.publicKeys); the
 * state store (state/) only persists what this module decides.
 */
import {isWireGuardKey} from '../wireguard/keys.js'

/** What state says of one node's key. */
export interface PinnedKey {
  publicKey?: string
  /** A rotation wgfleet started: the only new key accepted without --accept-key-change. */
  pendingPublicKey?: string
}

/** What a node reached in this run reports for itself; null or undefined (or empty): not reported. */
export interface KeyReport {
  /** Public key of /etc/wireguard/IFACE.key, computed on the host. */
  keyFile?: string | null
  /** `wg show IFACE public-key` of the running interface. */
  interface?: string | null
}

export type KeySource = 'key-file' | 'interface'

export type KeyRefusal =
  | {reason: 'malformed'; source: KeySource; /** What the host printed, cut to MALFORMED_SHOWN characters. */ value: string}
  | {
      reason: 'duplicate-of-other-node'
      source: KeySource
      publicKey: string
      /** The node state holds this key for (pinned or pending: that node keeps it); undefined when none. */
      heldBy?: string
      /** Other nodes that report it in this run. */
      alsoReportedBy: string[]
      /** The claimant's own pinned key, if any (a new key of its own is then a change to accept). */
      pinned?: string
    }
  | {reason: 'file-and-interface-differ'; keyFile: string; interface: string; pinned?: string}
  | {reason: 'changed-from-pinned'; reported: string; pinned: string; pending?: string}

export type KeyRefusalReason = KeyRefusal['reason']

/** How a trusted key relates to state: what, if anything, state must record. */
export type PinChange = 'first-use' | 'unchanged' | 'rotated' | 'accepted-change'

export interface TrustedKey {
  publicKey: string
  pin: PinChange
}

export type TrustWarning = {kind: 'pinned-key-shared'; publicKey: string; nodes: string[]}

export interface KeyTrustInput {
  /** Inventory nodes, in inventory order. */
  nodes: readonly string[]
  /** State's entries (may name nodes no longer in the inventory). */
  pinned: Readonly<Record<string, PinnedKey>>
  /** Nodes reached in this run → what they report. */
  reports: ReadonlyMap<string, KeyReport>
  /** --accept-key-change NODE (repeatable). */
  acceptKeyChange?: ReadonlySet<string>
}

export interface KeyTrust {
  /** The public keys the plan may use: a trusted report, else the pinned key. */
  publicKeys: Record<string, string>
  /** Reached nodes whose reported key is trusted (what state records), in inventory order. */
  trusted: Map<string, TrustedKey>
  /** Reached nodes whose report is refused, in inventory order. */
  refusals: Map<string, KeyRefusal>
  /** public key → node name: state's keys (also of nodes no longer in the inventory) and trusted reports. */
  names: Map<string, string>
  warnings: TrustWarning[]
}

/** A malformed value is shown, escaped, up to this many characters (it is host output). */
export const MALFORMED_SHOWN = 60

export function judgeKeys(input: KeyTrustInput): KeyTrust {
  const {nodes, pinned, reports} = input
  const accept = input.acceptKeyChange ?? new Set<string>()
  const inInventory = new Set(nodes)
  const entry = (name: string): PinnedKey => (Object.hasOwn(pinned, name) ? pinned[name]! : {})
  const usable = (key: string | null | undefined): key is string => typeof key === 'string' && isWireGuardKey(key)

  // Keys state holds for inventory nodes (pinned or pending). One key held for two nodes is trusted for neither.
  const stateHolders = new Map<string, Set<string>>()
  for (const name of nodes) {
    for (const key of [entry(name).publicKey, entry(name).pendingPublicKey]) if (usable(key)) addTo(stateHolders, key, name)
  }
  const warnings: TrustWarning[] = []
  const holderOf = new Map<string, string>()
  for (const [key, holders] of stateHolders) {
    if (holders.size === 1) holderOf.set(key, [...holders][0]!)
    else warnings.push({kind: 'pinned-key-shared', publicKey: key, nodes: [...holders]})
  }
  const pinOf = (name: string): string | undefined => held(entry(name).publicKey)
  const pendingOf = (name: string): string | undefined => held(entry(name).pendingPublicKey)
  function held(key: string | undefined): string | undefined {
    return usable(key) && stateHolders.get(key)!.size === 1 ? key : undefined
  }

  // Everyone who claims a key: state's holders and every node reporting it in this run.
  const claims = new Map<string, Set<string>>()
  for (const [key, name] of holderOf) addTo(claims, key, name)
  const reported = new Map<string, Array<[KeySource, string]>>()
  for (const name of nodes) {
    const report = reports.get(name)
    if (!report) continue
    const values: Array<[KeySource, string]> = []
    if (report.keyFile) values.push(['key-file', report.keyFile])
    if (report.interface) values.push(['interface', report.interface])
    reported.set(name, values)
    for (const [, key] of values) if (usable(key)) addTo(claims, key, name)
  }

  const trusted = new Map<string, TrustedKey>()
  const refusals = new Map<string, KeyRefusal>()
  for (const [name, values] of reported) {
    const verdict = judgeNode(name, values)
    if (verdict === undefined) continue
    if ('reason' in verdict) refusals.set(name, verdict)
    else trusted.set(name, verdict)
  }

  function judgeNode(name: string, values: Array<[KeySource, string]>): KeyRefusal | TrustedKey | undefined {
    const pin = pinOf(name)
    const bad = values.find(([, key]) => !isWireGuardKey(key))
    if (bad) return {reason: 'malformed', source: bad[0], value: bad[1].slice(0, MALFORMED_SHOWN)}
    for (const [source, key] of values) {
      const others = [...claims.get(key)!].filter((n) => n !== name)
      const holder = holderOf.get(key)
      if (others.length === 0 || holder === name) continue
      return {
        reason: 'duplicate-of-other-node',
        source,
        publicKey: key,
        ...(holder === undefined ? {} : {heldBy: holder}),
        alsoReportedBy: others.filter((n) => reported.get(n)?.some(([, k]) => k === key)),
        ...(pin === undefined ? {} : {pinned: pin}),
      }
    }
    const [fromFile, fromInterface] = [values.find(([s]) => s === 'key-file')?.[1], values.find(([s]) => s === 'interface')?.[1]]
    if (fromFile !== undefined && fromInterface !== undefined && fromFile !== fromInterface) {
      return {reason: 'file-and-interface-differ', keyFile: fromFile, interface: fromInterface, ...(pin === undefined ? {} : {pinned: pin})}
    }
    const key = fromFile ?? fromInterface
    if (key === undefined) return undefined
    const pending = pendingOf(name)
    if (pin === undefined) return {publicKey: key, pin: 'first-use'}
    if (key === pin) return {publicKey: key, pin: 'unchanged'}
    if (key === pending) return {publicKey: key, pin: 'rotated'}
    if (accept.has(name)) return {publicKey: key, pin: 'accepted-change'}
    return {reason: 'changed-from-pinned', reported: key, pinned: pin, ...(pending === undefined ? {} : {pending})}
  }

  const publicKeys: Record<string, string> = {}
  for (const name of nodes) {
    const key = trusted.get(name)?.publicKey ?? pinOf(name)
    if (key !== undefined) publicKeys[name] = key
  }

  const names = new Map<string, string>()
  for (const [name, state] of Object.entries(pinned)) {
    for (const key of [state.publicKey, state.pendingPublicKey]) if (usable(key) && !names.has(key)) names.set(key, name)
  }
  for (const [name, {publicKey}] of trusted) if (inInventory.has(name)) names.set(publicKey, name)

  return {publicKeys, trusted, refusals, names, warnings}
}

function addTo(map: Map<string, Set<string>>, key: string, name: string): void {
  const set = map.get(key) ?? new Set<string>()
  set.add(name)
  map.set(key, set)
}
