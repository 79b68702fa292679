/**
 * The one path that reads the live fleet (status, doctor): one connection and one read-only exec of a
 * host script per node (bounded concurrency), the classified reason a node gave no reading, then the
 * plan over the public keys known — in that order, so that the key a node reports for itself counts even
 * when .wgfleet/state.json lacks or predates it (the same rule as init's barrier).
 *
 *   read every node (script) → outcomes → known keys → planFleet → FleetReading
 */
import type {Fleet, NodeSpec} from '../inventory/model.js'
import type {NodeProblem} from '../judges/status.js'
import {runBounded} from '../lib/concurrency.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {planFleet} from '../plan/index.js'
import type {FleetPlan, HostFacts} from '../plan/model.js'
import {loadScript, type ScriptName} from '../remote/scripts.js'
import {SshError} from '../ssh/errors.js'
import {openStateStore} from '../state/state.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {shellPoolFor, type ConnectionSettings, type FleetDependencies, type ShellFactory} from './connections.js'

/** How to read one node: which script, with which (validated) arguments, and how to parse what it printed. */
export interface ReadSpec<R> {
  script: ScriptName
  args: (node: NodeSpec) => string[]
  timeoutMs: number
  parse: (stdout: string) => R
  /** The public key the node reports for itself in this reading (null when it reports none). */
  reportedKey: (reading: R) => string | null
}

/** What one node gave: a reading, or the classified reason it gave none. */
export type ReadOutcome<R> = {ok: true; reading: R} | {ok: false; problem: NodeProblem}

export interface FleetReading<R> {
  /** The plan the readings are judged against (peers without a known key left out). */
  plan: FleetPlan
  /** Every inventory node, in inventory order. */
  outcomes: Map<string, ReadOutcome<R>>
  /** public key → node name, also for older keys in state (names a stray key on an interface). */
  names: Map<string, string>
}

export interface ReadFleetSettings extends ConnectionSettings {
  concurrency: number
}

export async function readFleet<R>(fleet: Fleet, settings: ReadFleetSettings, deps: FleetDependencies, spec: ReadSpec<R>): Promise<FleetReading<R>> {
  if (!isInterfaceName(fleet.network.interface)) throw new BugError(`unvalidated interface name ${JSON.stringify(fleet.network.interface)}`)
  const state = await openStateStore(fleet.dir).load()
  const pool = shellPoolFor(fleet, settings, deps)
  let settled: PromiseSettledResult<R>[]
  try {
    settled = await runBounded(fleet.nodes, settings.concurrency, (node) => readNodeWith(pool.open, node, spec.script, spec.args(node), spec.timeoutMs, spec.parse))
  } finally {
    await pool.closeAll()
  }
  const outcomes = new Map<string, ReadOutcome<R>>()
  fleet.nodes.forEach((node, i) => {
    const result = settled[i]
    if (!result) throw new BugError(`no read outcome for ${node.name}`)
    outcomes.set(node.name, result.status === 'fulfilled' ? {ok: true, reading: result.value} : {ok: false, problem: problemOf(result.reason)})
  })
  const reported = new Map([...outcomes].map(([name, o]) => [name, o.ok ? spec.reportedKey(o.reading) : null]))
  const {publicKeys, facts, names} = knownKeys(state.nodes, reported)
  const plan = planFleet(fleet, {publicKeys, facts}, {omitPeersWithoutKey: true})
  return {plan, outcomes, names}
}

export class ScriptFailedError extends WgfleetError {}

/** One connection, one privileged exec; the shell is closed at once (a large fleet must not hold every connection). */
export async function readNodeWith<T>(
  open: ShellFactory,
  node: NodeSpec,
  script: ScriptName,
  args: string[],
  timeoutMs: number,
  parse: (stdout: string) => T,
): Promise<T> {
  const shell = await open(node)
  try {
    // Privileged: `wg show`, firewall status and the key file need root.
    const result = await shell.run(loadScript(script), args, {timeoutMs, privileged: true})
    if (result.code !== 0) {
      const stderr = result.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ')
      throw new ScriptFailedError(`the ${script} script failed: ${stderr || `exit code ${result.code}`}`)
    }
    return parse(result.stdout)
  } finally {
    await shell.close().catch(() => undefined)
  }
}

/** The classified reason a node gave no reading (the node name is shown beside it already). */
export function problemOf(error: unknown): NodeProblem {
  if (error instanceof SshError) {
    const prefix = `${error.node}: `
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
    return {kind: error.kind, message, ...(error.hint ? {hint: error.hint} : {})}
  }
  if (error instanceof ScriptFailedError) return {kind: 'script-failed', message: error.message}
  if (error instanceof WgfleetError) return {kind: 'bad-output', message: error.message, ...(error.hint ? {hint: error.hint} : {})}
  return {kind: 'error', message: error instanceof Error ? error.message : String(error)}
}

/**
 * Public keys for the plan — state's, overridden by what reachable nodes report for themselves — and a
 * key → name map that also keeps state's older keys, so a stale key on an interface is still named.
 */
export function knownKeys(stateNodes: Record<string, {publicKey?: string; facts?: HostFacts}>, reported: Map<string, string | null | undefined>) {
  const publicKeys: Record<string, string> = {}
  const facts: Record<string, HostFacts> = {}
  const names = new Map<string, string>()
  for (const [name, node] of Object.entries(stateNodes)) {
    if (node.publicKey) {
      publicKeys[name] = node.publicKey
      names.set(node.publicKey, name)
    }
    if (node.facts) facts[name] = node.facts
  }
  for (const [name, key] of reported) {
    if (key) {
      publicKeys[name] = key
      names.set(key, name)
    }
  }
  return {publicKeys, facts, names}
}
