/**
 * `wgfleet status`: read every node's interface (one connection, one read-only exec each, bounded
 * concurrency), then judge each peer against the plan (status-model). Never takes the inventory lock:
 * cron must not block behind a running `init`.
 *
 *   validate (exit 2, nothing opened) → read every node → plan over the keys known → judge → FleetStatus
 *
 * The plan comes after the readings so that a key a node reports for itself (its interface's public key)
 * counts even when .wgfleet/state.json lacks or predates it — the same rule as `init`'s barrier.
 */
import {access, constants, stat} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import type {Fleet} from '../inventory/model.js'
import {loadFleet} from './fleet-loader.js'
import {BugError, UsageError, WgfleetError} from '../lib/errors.js'
import {openStateStore, writeAtomically} from '../state/state.js'
import {keyAges} from '../judges/key-age.js'
import {buildFleetStatus, nodeStatusFromReading, statusExitCode, unreachableNodeStatus, type FleetStatus} from '../judges/status.js'
import {parseStatusOutput} from '../remote/status.js'
import type {ConnectionSettings, FleetDependencies} from './connections.js'
import {readFleet} from './fleet-reader.js'
import {nodeNamed} from '../inventory/lookup.js'

/** One exec reads `ip`, `date` and `wg show`: seconds at most, unless the host is in trouble. */
export const STATUS_STEP_TIMEOUT_MS = 20_000


export interface StatusRequest extends ConnectionSettings {
  inventory: string
  /** Only this node's status (and health). */
  node?: string
  staleAfterSeconds: number
  concurrency: number
}

export type StatusDependencies = FleetDependencies

export interface StatusResult {
  status: FleetStatus
  exitCode: 0 | 1
}

export async function runStatus(request: StatusRequest, deps: StatusDependencies = {}): Promise<StatusResult> {
  if (!Number.isInteger(request.staleAfterSeconds) || request.staleAfterSeconds < 1) {
    throw new UsageError(`--stale-after must be a whole number of seconds ≥ 1, not ${request.staleAfterSeconds}`)
  }
  const fleet = await loadFleet(request.inventory)
  if (request.node !== undefined) nodeNamed(fleet, request.node, '--node')
  const status = await readFleetStatus(fleet, request, deps)
  return {status, exitCode: statusExitCode(status)}
}

/** Read every node once (status.sh) and judge each peer against the plan: what `status` (and `graph --live`) show. */
export async function readFleetStatus(fleet: Fleet, request: Omit<StatusRequest, 'inventory'>, deps: StatusDependencies = {}): Promise<FleetStatus> {
  const iface = fleet.network.interface
  const {plan, outcomes, names} = await readFleet(fleet, request, deps, {
    script: 'status',
    args: () => [iface],
    timeoutMs: STATUS_STEP_TIMEOUT_MS,
    parse: parseStatusOutput,
    reportedKey: (reading) => ({interface: reading.publicKey}),
  })
  const nodes = plan.nodes.filter((n) => request.node === undefined || n.name === request.node).map((nodePlan) => {
    const outcome = outcomes.get(nodePlan.name)
    if (!outcome) throw new BugError(`no reading for ${nodePlan.name}`)
    return outcome.ok
      ? nodeStatusFromReading(nodePlan, outcome.reading, request.staleAfterSeconds, names)
      : unreachableNodeStatus(nodePlan, outcome.problem)
  })
  const now = (deps.clock ?? Date.now)()
  const ages = keyAges(fleet.nodes.map((n) => n.name), (await openStateStore(fleet.dir).load()).nodes, now)
  for (const node of nodes) node.keyAge = ages.get(node.name) ?? null
  return buildFleetStatus(nodes, {staleAfterSeconds: request.staleAfterSeconds, checkedAt: Math.floor(now / 1000)})
}

/**
 * --output FILE must be writable before anything connects (exit 2), not found out after a minute of SSH:
 * its folder must exist and be writable (the file is written next to it, then renamed over it).
 */
export async function checkOutputPath(file: string): Promise<string> {
  const path = resolve(file)
  const folder = dirname(path)
  try {
    if (!(await stat(folder)).isDirectory()) throw new Error('not a folder')
    await access(folder, constants.W_OK)
  } catch {
    throw new UsageError(`--output ${file}: folder ${folder} does not exist or is not writable`, 'create the folder, or choose another file')
  }
  try {
    if ((await stat(path)).isDirectory()) throw new UsageError(`--output ${file} is a folder`, 'name a file, e.g. wgfleet.prom')
  } catch (error) {
    if (error instanceof UsageError) throw error
    // ENOENT: the file will be created.
  }
  return path
}

/** --output: temp file in the same folder, then rename, so a reader (node_exporter) never sees half a file. */
export async function writeStatusFile(path: string, text: string): Promise<void> {
  try {
    await writeAtomically(path, text)
  } catch (error) {
    throw new WgfleetError(`cannot write ${path}: ${(error as Error).message}`, {cause: error, hint: 'check the folder\'s permissions and free space', exitCode: 1})
  }
}
