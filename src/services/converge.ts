/**
 * The converge behind `wgfleet init` (and, later, add-node / remove-node): read → plan → apply.
 *
 *   phase 1, per node in parallel: connect, probe (one read-only exec), install what is missing and make
 *            sure the key pair exists (one exec, skipped when nothing is missing) → public key known
 *   barrier: every reachable node's public key known (unreachable nodes: their key from state)
 *   plan:    pure planFleet over all keys and host facts
 *   phase 2, per node in parallel: decide (pure) → apply (one exec, skipped when nothing differs) →
 *            verify handshakes (read from the probe when nothing changed, else one bounded exec)
 *
 * A node that fails never stops the others; its peers stay on every other node (from state).
 */
import {isIP} from 'node:net'

import type {Fleet, NodeSpec} from '../inventory/model.js'
import {diffConfig, isInterfaceName, planFleet} from '../plan/index.js'
import type {HostFacts, NodePlan} from '../plan/model.js'
import type {HostProbe} from '../remote/probe.js'
import {openStateStore, type StateStore} from '../state/state.js'
import {BugError, NodeFailure, WgfleetError} from '../lib/errors.js'
import {decideApply, decideInstall, type ServiceAction} from '../tasks/decide.js'
import {applyHost, prepareHost, probeHost, verifyHandshakes, type VerifyMode} from '../tasks/host-steps.js'
import type {RemoteShell} from '../tasks/remote-shell.js'
import {runPerNode, type Progress} from '../tasks/runner.js'
import {isWireGuardKey, parseWgDump} from '../wireguard/index.js'
import {actionCommands, type FirewallAction} from '../firewall/actions.js'
import {fleetResult, type ConvergeReport, type FirewallName, type NodeResult, type NodeSteps, type ServiceStep} from './converge-report.js'

export type ShellFactory = (node: NodeSpec) => Promise<RemoteShell>

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
  /** Nodes to converge; default all. Others are still rendered as peers (add-node converges one). */
  only?: string[]
  command?: string
}

interface Discovered {
  shell: RemoteShell
  probe: HostProbe
  steps: NodeSteps
  publicKey?: string
  changed: boolean
}

export async function convergeFleet(fleet: Fleet, options: ConvergeOptions): Promise<ConvergeReport> {
  const started = Date.now()
  const store = openStateStore(fleet.dir)
  const state = await store.load()
  const targets = fleet.nodes.filter((n) => !options.only || options.only.includes(n.name))
  const iface = fleet.network.interface
  const discovered = new Map<string, Discovered>()
  const results = new Map<string, NodeResult>()

  // Phase 1: probe, install, keys.
  const phase1 = await runPerNode(
    targets.map((n) => n.name),
    async (name, progress) => {
      const node = targets.find((n) => n.name === name)!
      progress(`connecting to ${node.ssh.user}@${node.host}${node.ssh.port === 22 ? '' : `:${node.ssh.port}`}`)
      const shell = await options.openShell(node)
      try {
        const found = await discoverNode(fleet, node, shell, options, progress, store)
        discovered.set(name, found)
      } catch (error) {
        await shell.close().catch(() => undefined)
        throw error
      }
    },
    {concurrency: options.concurrency, silent: options.silent},
  )
  for (const [name, outcome] of phase1) if (!outcome.ok) results.set(name, failedResult(name, outcome.error, {}))

  // Barrier: every key known. Keys and facts of nodes not reached this run come from state.
  const publicKeys: Record<string, string> = {}
  const facts: Record<string, HostFacts> = {}
  for (const [name, s] of Object.entries(state.nodes)) {
    if (s.publicKey) publicKeys[name] = s.publicKey
    if (s.facts) facts[name] = s.facts
  }
  for (const [name, d] of discovered) {
    if (d.publicKey) publicKeys[name] = d.publicKey
    facts[name] = factsOf(d.probe)
  }
  // A node not reached and not in this machine's state (a fresh clone, another admin's laptop): its key is
  // still in the configs wgfleet wrote on the others (`# name` above its [Peer]). Never drop a peer
  // just because this machine does not know its key.
  for (const node of fleet.nodes) {
    if (publicKeys[node.name] !== undefined && Object.hasOwn(publicKeys, node.name)) continue
    const key = keyFromManagedConfigs(node.name, [...discovered.values()].map((d) => d.probe))
    if (key) publicKeys[node.name] = key
  }
  const plan = planFleet(fleet, {publicKeys, facts}, {omitPeersWithoutKey: true})

  // Phase 2: apply. Phase 3 (after a barrier): verify — a node restarted late must not be judged by
  // handshakes its peers made with it before the restart.
  const applied = new Map<string, AppliedNode>()
  try {
    const phase2 = await runPerNode(
      [...discovered.keys()],
      async (name, progress) => {
        const found = discovered.get(name)!
        const nodePlan = plan.nodes.find((n) => n.name === name)!
        const node = fleet.nodes.find((n) => n.name === name)!
        applied.set(name, await applyNode({fleet, node, nodePlan, found, options, progress, store}))
      },
      {concurrency: options.concurrency, silent: options.silent},
    )
    for (const [name, outcome] of phase2) {
      if (!outcome.ok) results.set(name, failedResult(name, outcome.error, discovered.get(name)!.steps))
    }

    const restarted = new Set([...applied].filter(([, a]) => a.restarted).map(([name]) => name))
    const phase3 = await runPerNode(
      [...applied.keys()],
      async (name, progress) => {
        const nodePlan = plan.nodes.find((n) => n.name === name)!
        return verifyNode({fleet, nodePlan, found: discovered.get(name)!, applied: applied.get(name)!, options, progress, reachable: new Set(applied.keys()), restarted})
      },
      {concurrency: options.concurrency, silent: options.silent},
    )
    for (const [name, outcome] of phase3) {
      if (outcome.ok) results.set(name, outcome.value)
      else results.set(name, failedResult(name, outcome.error, discovered.get(name)!.steps))
    }
  } finally {
    await Promise.all([...discovered.values()].map((d) => d.shell.close().catch(() => undefined)))
  }

  const nodes = targets.map((n) => results.get(n.name) ?? failedResult(n.name, new Error('not run'), {}))
  return {command: options.command ?? 'init', dryRun: options.dryRun, result: fleetResult(nodes), nodes, durationMs: Date.now() - started}
}

async function discoverNode(
  fleet: Fleet,
  node: NodeSpec,
  shell: RemoteShell,
  options: ConvergeOptions,
  progress: Progress,
  store: StateStore,
): Promise<Discovered> {
  const iface = fleet.network.interface
  progress('probing')
  const probe = await probeHost(shell, iface)
  const steps: NodeSteps = {distro: probe.os.prettyName ?? probe.os.id}

  if (probe.config && !probe.managed && !options.adopt) {
    throw new NodeFailure(
      `/etc/wireguard/${iface}.conf exists and was not written by wgfleet`,
      `rerun with --adopt to replace it (the current file is kept as /etc/wireguard/${iface}.conf.bak), or set another interface in [network]`,
    )
  }

  const needsExit = Boolean(node.exitVia) || fleet.nodes.some((n) => n.exitVia === node.name)
  const install = decideInstall(probe, {dns: Boolean(node.dns?.length), firewallTools: needsExit})
  steps.implementation = install.implementation
  steps.wireguard = install.packages.includes('wireguard-tools') ? 'installed' : 'present'
  steps.packages = install.packages
  let publicKey = probe.key ? probe.publicKey : undefined
  let changed = false

  if (options.dryRun) {
    steps.key = probe.key ? 'kept' : 'new'
    if (install.packages.length) steps.wireguard = 'installed'
    return {shell, probe, steps, publicKey, changed: install.packages.length > 0 || !probe.key}
  }

  if (install.packages.length > 0 || !probe.key || !publicKey) {
    progress(install.packages.length ? `installing ${install.packages.join(', ')}` : 'generating the key pair')
    const prepared = await prepareHost(shell, iface, probe.packageManager, install.packages)
    publicKey = prepared.publicKey
    steps.key = prepared.key
    changed = install.packages.length > 0 || prepared.key === 'new'
  } else {
    steps.key = 'kept'
  }
  await store.updateNode(node.name, {publicKey, facts: factsOf(probe)})
  return {shell, probe, steps, publicKey, changed}
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
  /** The interface was (re)started: sessions its peers hold with it are gone. */
  restarted: boolean
  /** Nothing was run on the host in phase 2. */
  untouched: boolean
}

async function applyNode(args: ApplyNodeArgs): Promise<AppliedNode> {
  const {fleet, node, nodePlan, found, options, progress, store} = args
  const {probe, steps} = found
  const iface = fleet.network.interface
  const decision = decideApply(probe, nodePlan, node.port)
  const current = probe.config ? probe.configText ?? null : null

  if (options.dryRun) {
    steps.config = decision.writeConfig ? (current === null ? 'would-create' : 'would-change') : 'unchanged'
    if (decision.writeConfig) steps.diff = diffConfig(current ?? '', nodePlan.config, `/etc/wireguard/${iface}.conf`)
    Object.assign(steps, firewallStep(decision.firewall.firewall, decision.firewall.actions, 'would-open'))
    steps.service = WOULD[decision.action]
    if (decision.enable) steps.unit = 'would-enable'
    return {changed: found.changed || decision.needed, restarted: false, untouched: true}
  }

  if (!decision.needed) {
    steps.config = 'unchanged'
    Object.assign(steps, firewallStep(decision.firewall.firewall, [], 'opened'))
    steps.service = 'running'
    await store.saveAppliedConfig(node.name, nodePlan.config)
    return {changed: found.changed, restarted: false, untouched: true}
  }

  progress(decision.writeConfig ? 'writing the config' : 'applying')
  const applied = await applyHost(found.shell, {iface, decision, config: nodePlan.config, adopt: options.adopt})
  steps.config = applied.configWritten ? (current === null ? 'new' : 'changed') : 'unchanged'
  Object.assign(steps, firewallStep(decision.firewall.firewall, applied.firewall, 'opened'))
  steps.service = applied.service === 'unchanged' ? 'running' : applied.service
  if (applied.enabled) steps.unit = 'enabled'
  if (applied.warnings.length) steps.warnings = applied.warnings
  await store.saveAppliedConfig(node.name, nodePlan.config)
  return {changed: true, restarted: applied.service === 'started' || applied.service === 'restarted', untouched: false}
}

interface VerifyNodeArgs {
  fleet: Fleet
  nodePlan: NodePlan
  found: Discovered
  applied: AppliedNode
  options: ConvergeOptions
  progress: Progress
  /** Nodes that got through phase 2 (the others cannot answer now). */
  reachable: Set<string>
  restarted: Set<string>
}

/** A handshake with every peer reached in this run; `live` where either side was (re)started. */
async function verifyNode(args: VerifyNodeArgs): Promise<NodeResult> {
  const {fleet, nodePlan, found, applied, options, progress, reachable, restarted} = args
  const name = nodePlan.name
  const steps = found.steps
  const result = (): NodeResult => ({name, result: applied.changed ? 'changed' : 'unchanged', steps})
  if (options.dryRun) return result()

  const peers = nodePlan.peers
    .filter((p) => p.publicKey && reachable.has(p.name))
    .map((p) => ({
      name: p.name,
      publicKey: p.publicKey!,
      address: fleet.nodes.find((n) => n.name === p.name)!.address,
      mode: (restarted.has(name) || restarted.has(p.name) || found.probe.peerDump === undefined ? 'live' : 'any') as VerifyMode,
    }))
  const ok = (p: (typeof peers)[number], reading: {now: number; latest: Record<string, number>; verified?: Set<string>}) =>
    p.mode === 'live' ? Boolean(reading.verified?.has(p.publicKey)) : fresh(reading.latest[p.publicKey], reading.now, options.staleAfterSeconds)

  // Nothing restarted around this node and its probe saw fresh handshakes with everyone: no exec needed.
  const fromProbe = applied.untouched && found.probe.peerDump !== undefined ? handshakesFromProbe(found.probe) : undefined
  let reading: {now: number; latest: Record<string, number>; verified?: Set<string>}
  if (fromProbe && peers.every((p) => p.mode === 'any' && ok(p, fromProbe))) {
    reading = fromProbe
  } else {
    progress(`waiting for handshakes (${peers.length} peers)`)
    reading = await verifyHandshakes(found.shell, fleet.network.interface, peers, options.verifyTimeoutSeconds)
  }
  const missing = peers.filter((p) => !ok(p, reading))
  steps.handshakes = {verified: peers.length - missing.length, expected: peers.length}
  if (missing.length > 0) {
    return {
      name,
      result: 'failed',
      error: `no handshake with ${missing.map((p) => `${p.name} (${describeHandshake(reading.latest[p.publicKey], reading.now)})`).join(', ')} within ${options.verifyTimeoutSeconds} s`,
      hint: 'check the peer\'s firewall (UDP port), its endpoint and keys; `wgfleet status` shows every link',
      steps,
    }
  }
  return result()
}

function describeHandshake(ts: number | undefined, now: number): string {
  return ts ? `last handshake ${Math.max(0, now - ts)} s ago` : 'never'
}

/** The public key a managed config (as the probe saw it) lists under `# NAME`, if all that list one agree. */
export function keyFromManagedConfigs(name: string, probes: HostProbe[]): string | undefined {
  const keys = new Set<string>()
  for (const probe of probes) {
    if (!probe.managed || !probe.configText) continue
    const lines = probe.configText.split('\n')
    const at = lines.indexOf(`# ${name}`)
    if (at === -1 || lines[at + 1] !== '[Peer]') continue
    const key = /^PublicKey = (\S+)$/.exec(lines[at + 2] ?? '')?.[1]
    if (key && isWireGuardKey(key)) keys.add(key)
  }
  return keys.size === 1 ? [...keys][0] : undefined
}

function fresh(ts: number | undefined, now: number, staleAfter: number): boolean {
  return ts !== undefined && ts > 0 && now - ts <= staleAfter
}

function handshakesFromProbe(probe: HostProbe): {now: number; latest: Record<string, number>} {
  const latest: Record<string, number> = {}
  for (const peer of parseWgDump(probe.peerDump ?? '')) latest[peer.publicKey] = peer.latestHandshake
  return {now: probe.now, latest}
}

/**
 * What a host reported, kept only when usable: a bad value fails that node's apply (the uplink stays
 * unknown), never the plan of the whole fleet.
 */
function factsOf(probe: HostProbe): HostFacts {
  const uplink = probe.uplink && isInterfaceName(probe.uplink) ? probe.uplink : undefined
  const source = probe.sshClient && isIP(probe.sshClient) ? probe.sshClient : undefined
  return {uplink, managementSources: source ? [source] : undefined}
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
