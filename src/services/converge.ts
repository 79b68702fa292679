/**
 * The converge behind `wgfleet init` (and, later, add-node / remove-node): read → plan → apply.
 *
 *   phase 1, per node in parallel: connect, probe (one read-only exec), install what is missing and make
 *            sure the key pair exists (one exec, skipped when nothing is missing) → public key reported
 *   barrier: every reachable node's report judged by plan/key-trust (pinned keys, duplicates, key file vs
 *            interface); a refused node fails and counts as not reached; state records trusted keys
 *   plan:    pure planFleet over the trusted keys and host facts; a peer of unknown key keeps each node's
 *            own existing section for it
 *   phase 2, per node in parallel: decide (pure) → apply (one exec, skipped when nothing differs); peer
 *            entries it brings up are fresh: no keepalive yet, they send nothing
 *   barrier: every node applied (interface up, firewall open)
 *   phase 3, per node in parallel: verify handshakes (read from the probe when nothing changed, else one
 *            bounded exec), one side of each fresh pair starting it (services/first-handshake)
 *
 * A node that fails never stops the others; its peers stay on every other node (from state).
 */
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {decideHosts, diffConfig, existingPeerSections, isInterfaceName, judgeKeys, planFleet, planPeerAdd, type KeyRefusal, type KeyReport, type KeyTrust, type KnownHosts, type PeerAddPlan} from '../plan/index.js'
import {hostRoutes} from '../plan/planner.js'
import type {ExistingPeerSection, FleetPlan, HostFacts, NodePlan, PeerPlan} from '../plan/model.js'
import {probePeers, type HostProbe} from '../remote/probe.js'
import {factsInState, openStateStore, type NodeState, type StateStore} from '../state/state.js'
import {BugError, NodeFailure, UsageError, WgfleetError} from '../lib/errors.js'
import {runBounded} from '../lib/concurrency.js'
import {assertHostIsSafe, decideApply, decideInstall, runningEntries, type ServiceAction} from '../tasks/decide.js'
import {applyHost, peerAddHost, prepareHost, probeHost, verifyHandshakes, writeHostsBlock, type HandshakeReading, type PeerAddOutcome} from '../tasks/host-steps.js'
import type {RemoteShell} from '../tasks/remote-shell.js'
import type {ShellFactory} from './connections.js'
import {DEFAULT_STALE_AFTER_SECONDS} from '../wireguard/handshake.js'
import {runPerNode, type Progress} from '../tasks/runner.js'
import {actionCommands, type FirewallAction} from '../firewall/actions.js'
import {
  fleetResult,
  type ConvergeReport,
  type ConvergeWarning,
  type FirewallName,
  type LeftOutReason,
  type NodeResult,
  type NodeSteps,
  type ServiceStep,
  type UnknownKeyCause,
} from './converge-report.js'
import {verifyModeOf, type PairFacts} from './first-handshake.js'
import {clientExitNodes} from '../plan/clients.js'
import {removeUnusedKeys, settlePresharedKeys, type PresharedKeySettlement} from './preshared-keys.js'

export interface ConvergeOptions {
  dryRun: boolean
  adopt: boolean
  concurrency: number
  silent: boolean
  /** Seconds to wait for handshakes after a change. */
  verifyTimeoutSeconds: number
  /** Handshakes older than this do not count as verified (same threshold as status). */
  staleAfterSeconds: number
  openShell: ShellFactory
  /** Operator's clock in ms (durations only). */
  clock?: () => number
  /** Nodes to converge; default all. Others are still rendered as peers (add-node converges one). */
  only?: string[]
  command?: string
  /** Aborted when the inventory lock is lost: no change starts after that (its reason fails the node). */
  signal?: AbortSignal
  /** --accept-key-change NODE: nodes whose public key may differ from the one pinned in state. */
  acceptKeyChange?: string[]
  /** rotate-psk: the pairs whose preshared key is renewed whatever they hold. */
  renewPresharedKeys?: (a: string, b: string) => boolean
  /**
   * add-node: the newcomer. Existing nodes whose change is only its entry (plan/peer-add) get one peer-add
   * exec each instead of probe, apply and verify; only the newcomer verifies.
   */
  joiner?: string
}

interface Discovered {
  shell: RemoteShell
  probe: HostProbe
  steps: NodeSteps
  /** The key file's public key, as the host printed it (probe or prepare); judged at the barrier. */
  publicKey?: string
  changed: boolean
}

/** What every changing command passes through to the converge from its request: one builder, so they cannot drift. */
export interface ConvergeRun {
  command: string
  request: {concurrency: number; silent: boolean; verifyTimeoutSeconds: number}
  openShell: ShellFactory
  clock?: () => number
  signal?: AbortSignal
}

export function convergeOptionsFor(run: ConvergeRun, extra: Partial<Pick<ConvergeOptions, 'dryRun' | 'adopt' | 'only' | 'acceptKeyChange' | 'renewPresharedKeys' | 'joiner'>> = {}): ConvergeOptions {
  const {request} = run
  return {
    dryRun: false,
    adopt: false,
    ...extra,
    concurrency: request.concurrency,
    silent: request.silent,
    verifyTimeoutSeconds: request.verifyTimeoutSeconds,
    staleAfterSeconds: DEFAULT_STALE_AFTER_SECONDS,
    openShell: run.openShell,
    clock: run.clock,
    command: run.command,
    signal: run.signal,
  }
}

/** --accept-key-change must name nodes of the inventory: a usage error (exit 2) before anything connects. */
export function checkAcceptKeyChange(nodeNames: readonly string[], accepted: readonly string[] = []): void {
  const unknown = accepted.filter((name) => !nodeNames.includes(name))
  if (unknown.length > 0) {
    throw new UsageError(`--accept-key-change ${unknown.join(', ')}: no such node in the inventory`, `nodes: ${nodeNames.join(', ')}`)
  }
}

export async function convergeFleet(fleet: Fleet, options: ConvergeOptions): Promise<ConvergeReport> {
  const clock = options.clock ?? Date.now
  const started = clock()
  checkAcceptKeyChange(fleet.nodes.map((n) => n.name), options.acceptKeyChange)
  const store = openStateStore(fleet.dir)
  const {state, ignored} = await store.read()
  const targets = fleet.nodes.filter((n) => !options.only || options.only.includes(n.name))
  // Lookups by name, once: a find per node (or per peer) is O(N²) (O(N³)) at a thousand nodes.
  const nodesByName = new Map(fleet.nodes.map((n) => [n.name, n]))
  const discovered = new Map<string, Discovered>()
  const results = new Map<string, NodeResult>()
  // Connected in phase 1 (whatever happened next): a node that failed after that was reached, not unreachable.
  const reached = new Set<string>()
  // What phase 1 learnt of each node (its distro, what it installs), kept for a node that fails there too.
  const phase1Steps = new Map<string, NodeSteps>()
  const stepsOf = (name: string): NodeSteps => {
    const steps: NodeSteps = {}
    phase1Steps.set(name, steps)
    return steps
  }

  // Phase 1: probe, install, keys.
  const discover = async (names: string[]) => {
    const outcomes = await runPerNode(
      names,
      async (name, progress) => {
        const node = nodesByName.get(name)!
        progress(`connecting to ${node.ssh.user === undefined ? '' : `${node.ssh.user}@`}${node.host}${node.ssh.port === undefined ? '' : `:${node.ssh.port}`}`)
        const shell = await openShellFor(node)
        reached.add(name)
        try {
          const found = await discoverNode(fleet, node, shell, options, progress, stepsOf(name))
          discovered.set(name, found)
        } catch (error) {
          await shell.close().catch(() => undefined)
          throw error
        }
      },
      {concurrency: options.concurrency, silent: options.silent},
    )
    for (const [name, outcome] of outcomes) if (!outcome.ok) results.set(name, failedResult(name, outcome.error, phase1Steps.get(name) ?? {}))
  }
  // add-node's fast path (a joiner): the newcomer alone first; the others only where plan/peer-add says the
  // change is more than its entry added, or where it does not apply at all (then this is today's converge).
  const join = joinCandidates(fleet, state.nodes, options)
  // And the existing nodes' connections open while the newcomer installs (a serial second or two on one
  // host, the other core idle otherwise): each node's later exec, peer-add or the full path, runs on its
  // own — still one connection per node. Not in a hub, where most spokes do not change.
  const early = join && fleet.network.topology !== 'hub' ? openEarly(join.existing.map((name) => nodesByName.get(name)!), options) : undefined
  const openShellFor = (node: NodeSpec): Promise<RemoteShell> => early?.take(node.name) ?? options.openShell(node)
  await discover(join ? [join.joiner] : targets.map((n) => n.name))

  // Barrier: every report judged (plan/key-trust). A refused node fails here and counts as not reached:
  // the others keep its pinned key. Facts of nodes not converged in this run come from state.
  const judgeAndPlan = () => {
    const trust = judgeKeys({
      nodes: fleet.nodes.map((n) => n.name),
      pinned: state.nodes,
      reports: new Map([...discovered].map(([name, d]) => [name, reportOf(d)])),
      acceptKeyChange: new Set(options.acceptKeyChange ?? []),
    })
    const converging = [...discovered.keys()].filter((name) => !trust.refusals.has(name))
    const facts = factsInState(state)
    for (const name of converging) facts[name] = factsOf(discovered.get(name)!.probe)
    // A node of unknown key (not pinned here: a fresh clone of the inventory, another admin's laptop) keeps
    // each converged node's own section for it, read from that node's own config only.
    const unknownKeys = fleet.nodes.map((n) => n.name).filter((name) => !Object.hasOwn(trust.publicKeys, name))
    const existing = existingSections(unknownKeys, converging.map((name) => [name, discovered.get(name)!.probe]))
    const known = {publicKeys: trust.publicKeys, facts, existingPeers: existing.sections}
    return {trust, converging, facts, unknownKeys, existing, known, planned: planFleet(fleet, known, {omitPeersWithoutKey: true})}
  }
  let round = judgeAndPlan()
  // Existing nodes whose change is only the newcomer's entry: one peer-add exec each, after the newcomer is up.
  let fast = new Map<string, PeerAddPlan>()
  if (join) {
    const joined = join.joiner
    const decided = round.converging.includes(joined) ? await decideJoin(fleet, round.planned, round.trust.publicKeys[joined]!, joined, join.existing, store) : undefined
    for (const name of decided?.unchanged ?? []) {
      results.set(name, {name, result: 'unchanged', steps: {config: 'unchanged'}})
      void early?.take(name)?.then((shell) => shell.close()).catch(() => undefined)
    }
    fast = decided?.peerAdd ?? fast
    const full = decided?.full ?? join.existing
    if (full.length > 0) {
      await discover(full)
      round = judgeAndPlan()
    }
  }
  const {trust, converging, facts, unknownKeys, existing, known, planned} = round
  for (const [name, keyRefusal] of trust.refusals) results.set(name, {name, result: 'failed', keyRefusal, steps: discovered.get(name)!.steps})
  const warnings: ConvergeWarning[] = [
    ...ignored.map((problem) => ({kind: 'state-ignored' as const, ...problem})),
    ...trust.warnings,
    ...unknownKeyWarnings(planned, unknownKeys, converging, existing.unusable, (peer) => (trust.refusals.has(peer) ? 'refused' : reached.has(peer) ? 'failed' : 'not-reached')),
  ]
  if (!options.dryRun) await recordKeys(store, trust, converging, facts, new Date(clock()).toISOString())
  // Preshared keys (services/preshared-keys): new ones made and stored on both ends of their pairs before
  // any config that names them is applied; a node whose keys could not be stored fails here.
  const psk = await settlePresharedKeys({
    fleet,
    plan: planned,
    known,
    planOptions: {omitPeersWithoutKey: true},
    reached: new Map(converging.map((name) => [name, {shell: discovered.get(name)!.shell, presharedKeys: discovered.get(name)!.probe.presharedKeys}])),
    dryRun: options.dryRun,
    silent: options.silent,
    signal: options.signal,
    renew: options.renewPresharedKeys,
  })
  for (const [name, error] of psk.failures) results.set(name, failedResult(name, error, discovered.get(name)!.steps))
  const plan = psk.plan
  noteStoredKeys(psk, discovered, options.dryRun)
  const applying = converging.filter((name) => !psk.failures.has(name))
  const plansByName = new Map(plan.nodes.map((n) => [n.name, n]))

  // Phase 2: apply. Phase 3 (after a barrier): verify — no fresh entry sends anything before every node's
  // interface and firewall are up, and a node restarted late must not be judged by handshakes its peers
  // made with it before the restart.
  const applied = new Map<string, AppliedNode>()
  // Existing nodes that added the newcomer live (fast path): reached, but they do not verify.
  const addedLive = new Set<string>()
  try {
    const phase2 = await runPerNode(
      applying,
      async (name, progress) => {
        const found = discovered.get(name)!
        const nodePlan = plansByName.get(name)!
        const node = nodesByName.get(name)!
        const done = await applyNode({fleet, node, nodePlan, found, options, progress, store})
        // Files of pairs that are gone, once the config no longer names them.
        const removed = options.dryRun ? [] : await removeUnusedKeys(found.shell, fleet.network.interface, psk.remove.get(name))
        if (removed.length > 0) found.steps.presharedKeys = {...found.steps.presharedKeys, removed}
        applied.set(name, removed.length > 0 ? {...done, changed: true} : done)
      },
      {concurrency: options.concurrency, silent: options.silent},
    )
    for (const [name, outcome] of phase2) {
      if (!outcome.ok) results.set(name, failedResult(name, outcome.error, discovered.get(name)!.steps))
    }

    // The fast path, once the newcomer is up (its interface and firewall): each node's keepalive starts its
    // pair at once (services/first-handshake `joinModeOf`). A host that refuses takes the full path here.
    if (fast.size > 0) {
      const phase2b = await runPerNode(
        [...fast.keys()],
        async (name, progress) => {
          const node = nodesByName.get(name)!
          const fastPlan = fast.get(name)!
          options.signal?.throwIfAborted()
          // Planned before the others were probed: a plan that moved since takes the full path too.
          const drifted = plansByName.get(name)!.config !== fastPlan.config
          progress('adding the new peer')
          const shell = await openShellFor(node)
          reached.add(name)
          let outcome: PeerAddOutcome | {kind: 'refused'; reason: 'plan-moved'}
          try {
            outcome = drifted ? {kind: 'refused', reason: 'plan-moved'} : await peerAddHost(shell, fleet.network.interface, fastPlan)
          } catch (error) {
            await shell.close().catch(() => undefined)
            throw error
          }
          if (outcome.kind === 'added') {
            await shell.close().catch(() => undefined)
            await store.saveAppliedConfig(name, fastPlan.config)
            addedLive.add(name)
            results.set(name, {name, result: 'changed', steps: {config: 'changed', service: 'peer-added'}})
            return
          }
          const steps = stepsOf(name)
          steps.peerAddRefused = outcome.reason
          const found = await fullPathAfterRefusal({fleet, node, shell, options, progress, steps, state, known, plansByName, store})
          discovered.set(name, found)
          const done = await applyNode({fleet, node, nodePlan: plansByName.get(name)!, found, options, progress, store})
          applied.set(name, done)
        },
        {concurrency: options.concurrency, silent: options.silent},
      )
      for (const [name, outcome] of phase2b) {
        if (outcome.ok) continue
        const steps = discovered.get(name)?.steps ?? phase1Steps.get(name) ?? {}
        const {error} = outcome
        results.set(name, error instanceof KeyRefusedOnFallback && error.keyRefusal ? {name, result: 'failed', keyRefusal: error.keyRefusal, steps} : failedResult(name, error, steps))
      }
    }

    const pairs = pairFacts(fleet, plan.nodes, applied, discovered, options.staleAfterSeconds, {addedLive, newcomer: join?.joiner})
    // One set for every node (a set per node was O(N²) inserts at a thousand nodes).
    const reachable: ReadonlySet<string> = new Set([...applied.keys(), ...addedLive])
    const phase3 = await runPerNode(
      [...applied.keys()],
      async (name, progress) => {
        const nodePlan = plansByName.get(name)!
        return verifyNode({fleet, nodesByName, nodePlan, found: discovered.get(name)!, applied: applied.get(name)!, options, progress, reachable, pairs})
      },
      // Every node at once, whatever --concurrency says: one side of a pair waits for the other's start,
      // which a node queued behind it could never send. The connections are open already; on the hosts
      // it is a few `wg show`s and pings.
      {concurrency: Math.max(1, applied.size), silent: options.silent},
    )
    for (const [name, outcome] of phase3) {
      if (outcome.ok) results.set(name, outcome.value)
      else results.set(name, failedResult(name, outcome.error, discovered.get(name)!.steps))
    }
  } finally {
    await Promise.all([...discovered.values()].map((d) => d.shell.close().catch(() => undefined)))
    await early?.closeUntaken()
  }

  const nodes = targets.map((n) => results.get(n.name) ?? failedResult(n.name, new Error('not run'), {}))
  return {
    command: options.command ?? 'init',
    dryRun: options.dryRun,
    interface: fleet.network.interface,
    result: fleetResult(nodes),
    nodes,
    warnings,
    durationMs: clock() - started,
    ...(psk.pairs.length > 0 ? {presharedKeys: psk.pairs} : {}),
  }
}

/** Each node's steps: the peers it stored a new preshared key for (or would), and it changed. */
function noteStoredKeys(psk: PresharedKeySettlement, discovered: Map<string, Discovered>, dryRun: boolean): void {
  if (dryRun) {
    for (const {nodes} of psk.pairs) {
      for (const [end, peer] of [nodes, [nodes[1], nodes[0]]] as const) {
        const found = discovered.get(end)
        if (!found) continue
        found.steps.presharedKeys = {...found.steps.presharedKeys, wouldCreate: [...(found.steps.presharedKeys?.wouldCreate ?? []), peer]}
        found.changed = true
      }
    }
    return
  }
  for (const [name, peers] of psk.stored) {
    const found = discovered.get(name)!
    found.steps.presharedKeys = {...found.steps.presharedKeys, stored: peers}
    found.changed = true
  }
}

/** What a node reports for itself: its key file's public key and its running interface's. */
function reportOf(found: Discovered): KeyReport {
  return {keyFile: found.publicKey, interface: found.probe.interfaceUp ? found.probe.interfacePublicKey : undefined}
}

/** State records what key trust decided: a trusted key (a changed one clears the pending rotation, with its creation time) and facts. */
async function recordKeys(store: StateStore, trust: KeyTrust, converging: string[], facts: Record<string, HostFacts>, now: string): Promise<void> {
  const updates: Record<string, NodeState> = {}
  for (const name of converging) {
    const trusted = trust.trusted.get(name)
    // A key pinned now (first use, a rotation, an accepted change) is as old as this run says.
    const key =
      trusted === undefined ? {} : trusted.pin === 'unchanged' ? {publicKey: trusted.publicKey} : {publicKey: trusted.publicKey, pendingPublicKey: undefined, keyCreatedAt: now}
    updates[name] = {...key, facts: facts[name]}
  }
  if (Object.keys(updates).length > 0) await store.updateNodes(updates)
}

/** Each converged node's own section for each peer of unknown key (a managed config only). */
function existingSections(unknown: string[], probes: Array<[string, HostProbe]>) {
  const sections: Record<string, Record<string, ExistingPeerSection>> = {}
  const unusable = new Map<string, Set<string>>()
  // Every key known (a rerun): no config needs parsing.
  if (unknown.length === 0) return {sections, unusable: () => false}
  for (const [node, probe] of probes) {
    if (!probe.managed || !probe.configText) continue
    const found = existingPeerSections(probe.configText)
    for (const peer of unknown) {
      const lookup = found.get(peer)
      if (lookup?.kind === 'found') (sections[node] ??= {})[peer] = lookup.section
      if (lookup?.kind === 'unusable') unusable.set(node, (unusable.get(node) ?? new Set()).add(peer))
    }
  }
  return {sections, unusable: (node: string, peer: string) => unusable.get(node)?.has(peer) ?? false}
}

/** One warning per node of unknown key that some converged node peers with: where it was kept, where left out. */
function unknownKeyWarnings(plan: FleetPlan, unknown: string[], converging: string[], unusable: (node: string, peer: string) => boolean, causeOf: (peer: string) => UnknownKeyCause): ConvergeWarning[] {
  const byPeer = new Map(unknown.map((peer) => [peer, {keptOn: [] as string[], leftOutOn: [] as Array<{node: string; reason: LeftOutReason}>}]))
  const converged = new Set(converging)
  for (const nodePlan of plan.nodes) {
    if (!converged.has(nodePlan.name)) continue
    for (const peer of nodePlan.keptPeers) byPeer.get(peer)?.keptOn.push(nodePlan.name)
    const conflicts = new Map(nodePlan.refusedSections.map((r) => [r.peer, r.conflict]))
    for (const peer of nodePlan.skippedPeers) {
      const reason = conflicts.get(peer) ?? (unusable(nodePlan.name, peer) ? 'existing-section-unusable' : 'no-existing-section')
      byPeer.get(peer)?.leftOutOn.push({node: nodePlan.name, reason})
    }
  }
  return [...byPeer]
    .filter(([, where]) => where.keptOn.length + where.leftOutOn.length > 0)
    .map(([peer, where]) => ({kind: 'unknown-key' as const, node: peer, cause: causeOf(peer), ...where}))
}

/** Probe, install, key. STEPS is filled as it goes (the caller reports them also when this throws). */
async function discoverNode(fleet: Fleet, node: NodeSpec, shell: RemoteShell, options: ConvergeOptions, progress: Progress, steps: NodeSteps): Promise<Discovered> {
  const iface = fleet.network.interface
  progress('probing')
  const probe = await probeHost(shell, iface)
  steps.distro = probe.os.prettyName ?? probe.os.id
  const routedSubnets = fleet.nodes.flatMap((n) => (n === node ? [] : (n.subnets ?? []).map((subnet) => ({subnet, owner: n.name}))))
  assertHostIsSafe(probe, {iface, overlay: fleet.network.cidr, fullTunnel: Boolean(node.exitVia), routedSubnets})

  if (probe.config && !probe.managed && !options.adopt) {
    throw new NodeFailure(
      `/etc/wireguard/${iface}.conf exists and was not written by wgfleet`,
      `rerun with --adopt to replace it (the current file is kept as /etc/wireguard/${iface}.conf.bak), or set another interface in [network]`,
    )
  }

  const needsExit = Boolean(node.exitVia) || fleet.nodes.some((n) => n.exitVia === node.name) || clientExitNodes(fleet).has(node.name)
  // A subnet node masquerades towards its subnets with iptables in PostUp (unless subnet_snat = false).
  const masqueradesSubnets = (node.subnets?.length ?? 0) > 0 && node.subnetSnat !== false
  const install = decideInstall(probe, {dns: Boolean(node.dns?.length), firewallTools: needsExit || masqueradesSubnets})
  steps.implementation = install.implementation
  const installsTools = install.packages.includes('wireguard-tools')
  // 'installed' only once prepare has installed it: a refused install leaves the cell empty.
  if (!installsTools) steps.wireguard = 'present'
  steps.packages = install.packages
  let publicKey = probe.key ? probe.publicKey : undefined
  let changed = false

  if (options.dryRun) {
    steps.key = probe.key ? 'kept' : 'new'
    if (install.packages.length) steps.wireguard = 'installed'
    return {shell, probe, steps, publicKey, changed: install.packages.length > 0 || !probe.key}
  }

  if (install.packages.length > 0 || !probe.key || !publicKey) {
    options.signal?.throwIfAborted()
    progress(install.packages.length ? `installing ${install.packages.join(', ')}` : 'generating the key pair')
    const prepared = await prepareHost(shell, iface, probe.packageManager, install.packages)
    if (installsTools) steps.wireguard = 'installed'
    publicKey = prepared.publicKey
    steps.key = prepared.key
    changed = install.packages.length > 0 || prepared.key === 'new'
  } else {
    steps.key = 'kept'
  }
  return {shell, probe, steps, publicKey, changed}
}

/**
 * add-node's fast path applies to this run: the newcomer is the inventory's last node, and nothing about the
 * fleet makes every node's change more than a peer entry (preshared keys: a new key per pair, made on both
 * ends; hosts_file: every /etc/hosts block names the newcomer), and every existing node's key is pinned in
 * state with no rotation under way (the plan uses the pinned keys without asking the hosts). Else undefined:
 * the whole fleet converges as always.
 */
function joinCandidates(fleet: Fleet, pinned: Readonly<Record<string, NodeState>>, options: ConvergeOptions): {joiner: string; existing: string[]} | undefined {
  const joiner = options.joiner
  if (joiner === undefined || options.dryRun || options.only || options.renewPresharedKeys) return undefined
  if (fleet.network.presharedKeys || fleet.network.hostsFile || fleet.nodes.at(-1)?.name !== joiner) return undefined
  if ((options.acceptKeyChange ?? []).some((name) => name !== joiner)) return undefined
  const existing = fleet.nodes.slice(0, -1).map((n) => n.name)
  if (existing.some((name) => !pinned[name]?.publicKey || pinned[name]!.pendingPublicKey !== undefined)) return undefined
  return {joiner, existing}
}

/**
 * Connections opened ahead of their use (add-node's existing nodes, while the newcomer installs), at most
 * `concurrency` at a time. `take` hands a node's over (its failure is that node's, when it is awaited);
 * `closeUntaken` closes the ones nobody took (a node whose file does not change).
 */
function openEarly(nodes: readonly NodeSpec[], options: ConvergeOptions): {take(name: string): Promise<RemoteShell> | undefined; closeUntaken(): Promise<void>} {
  const shells = new Map<string, Promise<RemoteShell>>()
  const starts = new Map<string, (opened: Promise<RemoteShell>) => void>()
  for (const node of nodes) {
    const shell = new Promise<RemoteShell>((resolve, reject) => starts.set(node.name, (opened) => void opened.then(resolve, reject)))
    // Awaited by whoever takes it; until then a failure must not be an unhandled rejection.
    shell.catch(() => undefined)
    shells.set(node.name, shell)
  }
  void runBounded(nodes, options.concurrency, async (node) => {
    const opened = Promise.resolve().then(() => options.openShell(node))
    starts.get(node.name)!(opened)
    await opened.catch(() => undefined)
  })
  return {
    take(name) {
      const shell = shells.get(name)
      shells.delete(name)
      return shell
    },
    async closeUntaken() {
      const rest = [...shells.values()]
      shells.clear()
      await Promise.all(rest.map((shell) => shell.then((s) => s.close()).catch(() => undefined)))
    },
  }
}

/** Each existing node's change, judged by plan/peer-add against the config last applied to it (state). */
async function decideJoin(fleet: Fleet, plan: FleetPlan, publicKey: string, joiner: string, existing: string[], store: StateStore) {
  const newcomer = {publicKey, routes: hostRoutes(fleet.nodes.find((n) => n.name === joiner)!)}
  const plansByName = new Map(plan.nodes.map((n) => [n.name, n]))
  const peerAdd = new Map<string, PeerAddPlan>()
  const unchanged: string[] = []
  const full: string[] = []
  const decisions = await Promise.all(existing.map(async (name) => [name, planPeerAdd(await store.appliedConfig(name), plansByName.get(name)!.config, newcomer)] as const))
  for (const [name, decision] of decisions) {
    if (decision.kind === 'peer-add') peerAdd.set(name, decision.plan)
    else if (decision.kind === 'unchanged') unchanged.push(name)
    else full.push(name)
  }
  return {peerAdd, unchanged, full}
}

/**
 * A host refused the fast path (its file is not the one last applied, its interface down, an apply
 * pending): probe it as phase 1 would, judge its key, and, if its facts moved, plan it anew; the caller
 * applies it and it verifies with the newcomer. Throws when its key is refused (no change is made).
 */
async function fullPathAfterRefusal(args: {
  fleet: Fleet
  node: NodeSpec
  shell: RemoteShell
  options: ConvergeOptions
  progress: Progress
  steps: NodeSteps
  state: {nodes: Record<string, NodeState>}
  known: KnownHosts
  plansByName: Map<string, NodePlan>
  store: StateStore
}): Promise<Discovered> {
  const {fleet, node, shell, options, progress, steps, state, known, plansByName, store} = args
  let found: Discovered
  try {
    found = await discoverNode(fleet, node, shell, options, progress, steps)
  } catch (error) {
    await shell.close().catch(() => undefined)
    throw error
  }
  const trust = judgeKeys({nodes: fleet.nodes.map((n) => n.name), pinned: state.nodes, reports: new Map([[node.name, reportOf(found)]]), acceptKeyChange: new Set(options.acceptKeyChange ?? [])})
  const refusal = trust.refusals.get(node.name)
  if (refusal || trust.publicKeys[node.name] !== known.publicKeys[node.name]) {
    await shell.close().catch(() => undefined)
    throw new KeyRefusedOnFallback(refusal)
  }
  const facts = factsOf(found.probe)
  const before = known.facts?.[node.name]
  if (facts.uplink !== before?.uplink || (facts.uplinkAddresses ?? []).join() !== (before?.uplinkAddresses ?? []).join()) {
    // This node alone (`only`): its own plan is all this run applies for it; rendering the whole fleet
    // again per refused node was O(N²) each.
    const replanned = planFleet(fleet, {...known, facts: {...known.facts, [node.name]: facts}}, {omitPeersWithoutKey: true, only: new Set([node.name])}).nodes[0]!
    plansByName.set(node.name, replanned)
    await store.updateNode(node.name, {facts})
  }
  return found
}

/** A refused fast path whose probe then reported a key that is not the pinned one: the node fails, untouched. */
class KeyRefusedOnFallback extends NodeFailure {
  constructor(readonly keyRefusal: KeyRefusal | undefined) {
    super('its public key is not the one pinned in state: nothing was changed on it', 'run `wgfleet init` (with --accept-key-change NODE if the change is yours)')
  }
}

interface ApplyNodeArgs {
  fleet: Fleet
  node: NodeSpec
  nodePlan: NodePlan
  found: Discovered
  options: ConvergeOptions
  progress: Progress
  store: StateStore
}

interface AppliedNode {
  changed: boolean
  /** Public keys of the peer entries brought up in this run: they hold no session and send nothing yet. */
  fresh: ReadonlySet<string>
  /** Their keepalives are held back until verify sets the interface to its file. */
  keepaliveHeld: boolean
  /** Nothing was run on the host in phase 2. */
  untouched: boolean
}

const NOTHING_FRESH: Pick<AppliedNode, 'fresh' | 'keepaliveHeld'> = {fresh: new Set<string>(), keepaliveHeld: false}

/** What first-handshake needs to know about the pairs, from the plan and what phase 2 brought up. */
function pairFacts(
  fleet: Fleet,
  plans: NodePlan[],
  applied: Map<string, AppliedNode>,
  discovered: Map<string, Discovered>,
  staleAfter: number,
  join: {addedLive: ReadonlySet<string>; newcomer?: string} = {addedLive: new Set()},
): PairFacts & {noneLost(): boolean} {
  // Indexed, one node's peers at a time, on first use: a `find` over the plans and then over the peers per
  // pair was O(N) per question — O(N³) for a mesh (45 of 50 CPU-seconds of a no-op init at N=1000).
  const plansByName = new Map(plans.map((n) => [n.name, n]))
  const peersByNode = new Map<string, Map<string, NodePlan['peers'][number]>>()
  const peerOf = (node: string, peer: string) => {
    let peers = peersByNode.get(node)
    if (!peers) {
      peers = new Map((plansByName.get(node)?.peers ?? []).map((p) => [p.name, p]))
      peersByNode.set(node, peers)
    }
    return peers.get(peer)
  }
  // Each node's fresh and dead entries, by peer name, worked out once per node: both are asked of both
  // sides of every pair, and on a rerun both are empty (no per-pair map of the other side's peers needed).
  const NONE: ReadonlySet<string> = new Set()
  const entriesWhere = (cache: Map<string, ReadonlySet<string>>, node: string, test: (peer: PeerPlan, index: number) => boolean): ReadonlySet<string> => {
    let names = cache.get(node)
    if (!names) {
      const found = new Set<string>()
      const peers = plansByName.get(node)?.peers ?? []
      for (let i = 0; i < peers.length; i++) if (test(peers[i]!, i)) found.add(peers[i]!.name)
      cache.set(node, (names = found.size === 0 ? NONE : found))
    }
    return names
  }
  const freshEntries = new Map<string, ReadonlySet<string>>()
  const deadEntries = new Map<string, ReadonlySet<string>>()
  const freshOf = (node: string): ReadonlySet<string> => {
    const keys = applied.get(node)?.fresh
    if (!keys || keys.size === 0) return NONE
    return entriesWhere(freshEntries, node, (p) => p.publicKey !== null && keys.has(p.publicKey))
  }
  const deadOf = (node: string): ReadonlySet<string> => {
    const found = discovered.get(node)
    const nodePlan = plansByName.get(node)
    if (!found?.probe.interfaceUp || found.probe.peerDump === undefined || !nodePlan) return NONE
    const entries = runningEntries(found.probe, nodePlan.peers)
    return entriesWhere(deadEntries, node, (_p, i) => {
      const at = entries[i]?.latestHandshake
      return at !== undefined && !fresh(at, found.probe.now, staleAfter)
    })
  }
  const positions = new Map(fleet.nodes.map((n, i) => [n.name, i]))
  let noneLost: boolean | undefined
  return {
    position: (node) => positions.get(node) ?? -1,
    canDial: (from, to) => Boolean(peerOf(from, to)?.endpoint),
    fresh: (node, peer) => freshOf(node).has(peer),
    dead: (node, peer) => deadOf(node).has(peer),
    addedLive: (node, peer) => peer === join.newcomer && join.addedLive.has(node),
    keepsAlive: (from, to) => (peerOf(from, to)?.keepalive ?? 0) > 0,
    // No entry of any node fresh or dead (a rerun): every pair verifies as `any`, on both sides.
    noneLost: () => (noneLost ??= join.addedLive.size === 0 && plans.every((n) => freshOf(n.name).size === 0 && deadOf(n.name).size === 0)),
  }
}

/**
 * The handshake with `key` that the node's interface had when it was probed (this run, before anything
 * changed); undefined when the interface was not up with that entry (then nothing old is there to judge).
 */
function probedHandshake(found: Discovered | undefined, key: string): {at: number; now: number} | undefined {
  if (!found || !found.probe.interfaceUp || found.probe.peerDump === undefined) return undefined
  const at = handshakesFromProbe(found.probe).latest[key]
  return at === undefined ? undefined : {at, now: found.probe.now}
}

async function applyNode(args: ApplyNodeArgs): Promise<AppliedNode> {
  const {fleet, node, nodePlan, found, options, progress, store} = args
  const {probe, steps} = found
  const iface = fleet.network.interface
  const decision = decideApply(probe, nodePlan, node.port, found.publicKey)
  const hosts = decideHosts(probe.hostsBlock, nodePlan.hostsBlock)
  const current = probe.config ? probe.configText ?? null : null

  if (options.dryRun) {
    steps.config = decision.writeConfig ? (current === null ? 'would-create' : 'would-change') : 'unchanged'
    if (decision.writeConfig) steps.diff = diffConfig(current ?? '', nodePlan.config, `/etc/wireguard/${iface}.conf`)
    Object.assign(steps, firewallStep(decision.firewall.firewall, decision.firewall.actions, 'would-open'))
    steps.service = WOULD[decision.action]
    if (decision.enable) steps.unit = 'would-enable'
    if (hosts !== 'none') steps.hosts = hosts === 'write' ? 'would-write' : 'would-remove'
    return {changed: found.changed || decision.needed || hosts !== 'none', ...NOTHING_FRESH, untouched: true}
  }

  // The names are independent of the tunnel: written first, and a run that changes only them leaves the
  // interface alone.
  const namesChanged = hosts !== 'none' && (await updateHostsFile(found.shell, iface, hosts, nodePlan.hostsBlock ?? '', steps, progress))

  if (!decision.needed) {
    steps.config = 'unchanged'
    Object.assign(steps, firewallStep(decision.firewall.firewall, [], 'opened'))
    steps.service = 'running'
    await store.saveAppliedConfig(node.name, nodePlan.config)
    return {changed: found.changed || namesChanged, ...NOTHING_FRESH, untouched: true}
  }

  options.signal?.throwIfAborted()
  progress(decision.writeConfig ? 'writing the config' : 'applying')
  const applied = await applyHost(found.shell, {iface, decision, config: nodePlan.config, adopt: options.adopt})
  steps.config = applied.configWritten ? (current === null ? 'new' : 'changed') : 'unchanged'
  Object.assign(steps, firewallStep(decision.firewall.firewall, applied.firewall, 'opened'))
  steps.service = applied.service === 'unchanged' ? 'running' : applied.service
  if (applied.enabled) steps.unit = 'enabled'
  if (applied.warnings.length) steps.warnings = applied.warnings
  await store.saveAppliedConfig(node.name, nodePlan.config)
  return {changed: true, fresh: new Set(applied.fresh), keepaliveHeld: applied.keepaliveHeld, untouched: false}
}

/** hosts.sh as decided; true when /etc/hosts changed. */
async function updateHostsFile(shell: RemoteShell, iface: string, action: 'write' | 'remove', block: string, steps: NodeSteps, progress: Progress): Promise<boolean> {
  progress('updating /etc/hosts')
  const done = await writeHostsBlock(shell, iface, action, block)
  if (done !== 'unchanged') steps.hosts = done
  return done !== 'unchanged'
}

interface VerifyNodeArgs {
  fleet: Fleet
  nodesByName: ReadonlyMap<string, NodeSpec>
  nodePlan: NodePlan
  found: Discovered
  applied: AppliedNode
  options: ConvergeOptions
  progress: Progress
  /** Nodes that got through phase 2 (the others cannot answer now). */
  reachable: ReadonlySet<string>
  pairs: PairFacts & {noneLost(): boolean}
}

type Reading = Pick<HandshakeReading, 'now' | 'latest'> & Partial<Pick<HandshakeReading, 'verified' | 'warnings'>>

/**
 * A handshake with every peer reached in this run. Where nothing changed around a pair, any recent one
 * counts; around a fresh pair, only one made now, started by one side (first-handshake).
 */
async function verifyNode(args: VerifyNodeArgs): Promise<NodeResult> {
  const {nodesByName, nodePlan, found, applied, options, progress, reachable, pairs, fleet} = args
  const name = nodePlan.name
  const steps = found.steps
  const result = (): NodeResult => ({name, result: applied.changed ? 'changed' : 'unchanged', steps})
  if (options.dryRun) return result()
  if (unchangedAndFresh(args)) return result()

  const peers = nodePlan.peers
    .filter((p) => p.publicKey && reachable.has(p.name))
    .map((p) => ({
      name: p.name,
      publicKey: p.publicKey!,
      address: nodesByName.get(p.name)!.address,
      mode: verifyModeOf(name, p.name, pairs),
      // An `await` on an old entry without a live session needs a handshake newer than the dead one.
      since: pairs.dead(name, p.name) ? probedHandshake(found, p.publicKey!)?.at ?? 0 : 0,
    }))
  const ok = (p: (typeof peers)[number], reading: Reading) =>
    p.mode === 'any' ? fresh(reading.latest[p.publicKey], reading.now, options.staleAfterSeconds) : Boolean(reading.verified?.has(p.publicKey))

  // Nothing changed around this node and its probe saw fresh handshakes with everyone: no exec needed.
  // (An applied node always gets the exec, also with no peer to wait for: held keepalives are set there.)
  const fromProbe = applied.untouched && found.probe.peerDump !== undefined ? handshakesFromProbe(found.probe) : undefined
  let reading: Reading
  if (fromProbe && peers.every((p) => p.mode === 'any' && ok(p, fromProbe))) {
    reading = fromProbe
  } else {
    progress(`waiting for handshakes (${peers.length} peers)`)
    reading = await verifyHandshakes(found.shell, fleet.network.interface, peers, options.verifyTimeoutSeconds, applied.keepaliveHeld)
    if (reading.warnings?.length) steps.warnings = [...(steps.warnings ?? []), ...reading.warnings]
  }
  const missing = peers.filter((p) => !ok(p, reading))
  steps.handshakes = {verified: peers.length - missing.length, expected: peers.length}
  if (missing.length > 0) {
    return {
      name,
      result: 'failed',
      error: `no handshake with ${missing.map((p) => `${p.name} (${describeHandshake(reading.latest[p.publicKey], reading.now, p.mode)})`).join(', ')} within ${options.verifyTimeoutSeconds} s`,
      hint: 'check the peer\'s firewall (UDP port), its endpoint and keys; `wgfleet status` shows every link',
      steps,
    }
  }
  return result()
}

/**
 * The rerun's case, decided without a list of the peers to wait for: nothing changed on this node, no
 * entry on either side of any of its pairs is fresh or dead, and its probe saw a fresh handshake with every
 * peer reached. (Else verifyNode lists them, and reads the probe, or runs verify.sh, as it always did.)
 */
function unchangedAndFresh(args: VerifyNodeArgs): boolean {
  const {nodePlan, found, applied, options, reachable, pairs} = args
  if (!applied.untouched || found.probe.peerDump === undefined) return false
  const entries = runningEntries(found.probe, nodePlan.peers)
  let expected = 0
  for (let i = 0; i < nodePlan.peers.length; i++) {
    const peer = nodePlan.peers[i]!
    if (!peer.publicKey || !reachable.has(peer.name)) continue
    if ((!pairs.noneLost() && verifyModeOf(nodePlan.name, peer.name, pairs) !== 'any') || !fresh(entries[i]?.latestHandshake, found.probe.now, options.staleAfterSeconds)) return false
    expected++
  }
  found.steps.handshakes = {verified: expected, expected}
  return true
}

function describeHandshake(ts: number | undefined, now: number, mode: string): string {
  if (!ts) return 'never'
  const age = `last handshake ${Math.max(0, now - ts)} s ago`
  // This side started the pair: it counts only its ping answered through the new session.
  return mode === 'initiate' || mode === 'reset' ? `${age}, but no answer over the tunnel` : age
}

function fresh(ts: number | undefined, now: number, staleAfter: number): boolean {
  return ts !== undefined && ts > 0 && now - ts <= staleAfter
}

/** The probe's handshakes by public key, read once per probe: verify asks them of both sides of every pair. */
function handshakesFromProbe(probe: HostProbe): {now: number; latest: Record<string, number>} {
  let reading = probedHandshakes.get(probe)
  if (!reading) {
    const latest: Record<string, number> = {}
    for (const peer of probePeers(probe)) latest[peer.publicKey] = peer.latestHandshake
    reading = {now: probe.now, latest}
    probedHandshakes.set(probe, reading)
  }
  return reading
}
const probedHandshakes = new WeakMap<HostProbe, {now: number; latest: Record<string, number>}>()

/**
 * What a host reported, kept only when usable: a bad value fails that node's apply (the uplink stays
 * unknown), never the plan of the whole fleet.
 */
function factsOf(probe: HostProbe): HostFacts {
  const uplink = probe.uplink && isInterfaceName(probe.uplink) ? probe.uplink : undefined
  return {uplink, uplinkAddresses: probe.uplinkAddresses}
}

/** The firewall step: which firewall filters, and what was (or would be) changed in it (as its own commands). */
function firewallStep(name: FirewallName | null, actions: FirewallAction[], changed: 'opened' | 'would-open'): Pick<NodeSteps, 'firewall' | 'firewallName' | 'firewallChanges'> {
  const changes = actions.flatMap(actionCommands)
  if (changes.length > 0) return {firewall: changed, ...(name ? {firewallName: name} : {}), firewallChanges: changes}
  return name ? {firewall: 'open', firewallName: name} : {firewall: 'none-active'}
}

/** A dry run's service step for the action the decision chose. */
const WOULD: Record<ServiceAction, ServiceStep> = {start: 'would-start', restart: 'would-restart', syncconf: 'would-sync', none: 'running'}

/** A node's failure as a result: a WgfleetError's message and hint; anything else is a bug and says so. */
export function failedResult(name: string, error: unknown, steps: NodeSteps): NodeResult {
  if (error instanceof WgfleetError) return {name, result: 'failed', error: error.message, ...(error.hint ? {hint: error.hint} : {}), steps}
  const message = error instanceof Error ? error.message : String(error)
  return {name, result: 'failed', error: error instanceof BugError ? message : `internal error (a bug in wgfleet): ${message}`, steps}
}
