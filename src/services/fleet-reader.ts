/**
 * The one path that reads the live fleet (status, doctor): one connection and one read-only exec of a
 * host script per node (bounded concurrency), the classified reason a node gave no reading, then the
 * plan over the public keys trusted — in that order, so that the key a node reports for itself is judged
 * by the same rule as init's barrier (plan/key-trust): counted on first use when .wgfleet/state.json
 * lacks it, refused when it is another node's or differs from the pinned one (the plan keeps the pinned key).
 *
 *   read every node (script) → outcomes → judgeKeys → planFleet → FleetReading
 */
import type {Fleet, NodeSpec} from '../inventory/model.js'
import type {NodeProblem} from '../judges/status.js'
import {runBounded} from '../lib/concurrency.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {judgeKeys, planFleet, type KeyRefusal, type KeyReport} from '../plan/index.js'
import type {FleetPlan} from '../plan/model.js'
import {loadScript, type ScriptName} from '../remote/scripts.js'
import {SshError} from '../ssh/errors.js'
import {factsInState, openStateStore} from '../state/state.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {shellPoolFor, type ConnectionSettings, type FleetDependencies, type ShellFactory} from './connections.js'

/** How to read one node: which script, with which (validated) arguments, and how to parse what it printed. */
export interface ReadSpec<R> {
  script: ScriptName
  args: (node: NodeSpec) => string[]
  /** What follows the script on stdin (lists too long for a command line). */
  input?: (node: NodeSpec) => string
  timeoutMs: number
  parse: (stdout: string) => R
  /** What the node reports of its own public key in this reading. */
  reportedKey: (reading: R) => KeyReport
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
  /** Nodes whose reported key is not trusted (the plan keeps their pinned key, if any). */
  refusals: Map<string, KeyRefusal>
}

export interface ReadFleetSettings extends ConnectionSettings {
  concurrency: number
}

export async function readFleet<R>(fleet: Fleet, settings: ReadFleetSettings, deps: FleetDependencies, spec: ReadSpec<R>): Promise<FleetReading<R>> {
  if (!isInterfaceName(fleet.network.interface)) throw new BugError(`unvalidated interface name ${JSON.stringify(fleet.network.interface)}`)
  // Malformed state entries are left out (init warns about them and rewrites them).
  const state = await openStateStore(fleet.dir).load()
  const pool = shellPoolFor(fleet, settings, deps)
  let settled: PromiseSettledResult<R>[]
  try {
    settled = await runBounded(fleet.nodes, settings.concurrency, (node) => readNodeWith(pool.open, node, spec.script, spec.args(node), spec.timeoutMs, spec.parse, spec.input?.(node)))
  } finally {
    await pool.closeAll()
  }
  const outcomes = new Map<string, ReadOutcome<R>>()
  fleet.nodes.forEach((node, i) => {
    const result = settled[i]
    if (!result) throw new BugError(`no read outcome for ${node.name}`)
    outcomes.set(node.name, result.status === 'fulfilled' ? {ok: true, reading: result.value} : {ok: false, problem: problemOf(result.reason)})
  })
  const reports = new Map([...outcomes].flatMap(([name, o]) => (o.ok ? [[name, spec.reportedKey(o.reading)] as const] : [])))
  const trust = judgeKeys({nodes: fleet.nodes.map((n) => n.name), pinned: state.nodes, reports})
  const plan = planFleet(fleet, {publicKeys: trust.publicKeys, facts: factsInState(state)}, {omitPeersWithoutKey: true})
  return {plan, outcomes, names: trust.names, refusals: trust.refusals}
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
  input?: string,
): Promise<T> {
  const shell = await open(node)
  try {
    // Privileged: `wg show`, firewall status and the key file need root.
    const result = await shell.run(loadScript(script), args, {timeoutMs, privileged: true, ...(input === undefined ? {} : {input})})
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

