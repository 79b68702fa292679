/**
 * `add-node` and `remove-node`: change the inventory by appending or removing one section (no other
 * byte changes), then converge. Existing nodes only see peer changes, which the apply step makes live
 * with `wg syncconf` — no tunnel restarts; on add-node, a node whose change is only the newcomer's entry
 * gets it with one peer-add exec (plan/peer-add, remote/peer-add.sh) and is not probed or verified.
 */
import {readFile} from 'node:fs/promises'

import {
  appendNodeSection,
  loadInventory,
  nextFreeAddress,
  parseInventory,
  removeNodeSection,
  renderNodeSection,
  validateNewNode,
  type NodeValues,
} from '../inventory/index.js'
import type {Fleet} from '../inventory/model.js'
import {UsageError} from '../lib/errors.js'
import {lockInventory} from '../lib/lock.js'
import {loadScript} from '../remote/scripts.js'
import {parseKeyValues} from '../remote/output.js'
import {openStateStore, stateDirFor, writeAtomically} from '../state/state.js'
import {checkAcceptKeyChange, convergeFleet, convergeOptionsFor} from './converge.js'
import {fleetResult, type ConvergeReport, type NodeResult} from './converge-report.js'
import {shellPoolFor, type ConnectionSettings, type FleetDependencies} from './connections.js'
import {withResolvedEndpoints} from './fleet-loader.js'
import {nodeNamed} from '../inventory/lookup.js'

export interface MembershipRequest extends ConnectionSettings {
  inventory: string
  concurrency: number
  verifyTimeoutSeconds: number
  silent: boolean
}

export interface AddNodeRequest extends MembershipRequest {
  name: string
  values: NodeValues
  /** --accept-key-change NODE. */
  acceptKeyChange?: string[]
}

/** Validate first (exit 2, nothing touched), then append the section, then converge the whole fleet. */
export async function addNode(request: AddNodeRequest, deps: FleetDependencies = {}): Promise<ConvergeReport> {
  const fleet = await loadInventory(request.inventory)
  const values: NodeValues = {...request.values}
  if (values.address === undefined) values.address = nextFreeAddress(fleet)
  validateNewNode(fleet, request.name, values, {origin: 'add-node'})
  checkAcceptKeyChange([...fleet.nodes.map((n) => n.name), request.name], request.acceptKeyChange)

  const unlock = await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  try {
    const text = await readFile(fleet.file, 'utf8')
    const updated = appendNodeSection(text, renderNodeSection(request.name, values))
    // The new file must read back as the old fleet plus this node, or nothing is written.
    const grown = parseInventory(updated, fleet.file)
    await writeAtomically(fleet.file, updated, await fileMode(fleet.file))
    return await converge(await withResolvedEndpoints(grown), request, 'add-node', deps, unlock.signal, request.acceptKeyChange, request.name)
  } finally {
    await unlock()
  }
}

export interface RemoveNodeRequest extends MembershipRequest {
  name: string
  purge: boolean
}

/**
 * Drop NAME from every other node (live), then stop and disable it on NAME, then remove its section and
 * state. When NAME cannot be reached, the others are still updated and the summary says NAME was not
 * cleaned (exit 1).
 */
export async function removeNode(request: RemoveNodeRequest, deps: FleetDependencies = {}): Promise<ConvergeReport> {
  const fleet = await loadInventory(request.inventory)
  const leaving = nodeNamed(fleet, request.name, 'remove-node')
  const dependants = fleet.nodes.filter((n) => n.name !== leaving.name && ((n.jump?.kind === 'node' && n.jump.node === leaving.name) || n.exitVia === leaving.name))
  if (dependants.length > 0) {
    throw new UsageError(
      `${leaving.name} is still used by ${dependants.map((n) => n.name).join(', ')} (jump or exit_via)`,
      'change those nodes first, then remove this one',
    )
  }
  // A client's config names its via nodes (endpoint and key): moving it silently would cut it off, so refuse.
  const clients = (fleet.clients ?? []).filter((c) => c.via.includes(leaving.name))
  if (clients.length > 0) {
    throw new UsageError(
      `${leaving.name} is a via node of the client(s) ${clients.map((c) => c.name).join(', ')}`,
      `their configs dial ${leaving.name}: \`wgfleet client remove NAME\` each (then \`client add NAME --via ANOTHER\` and give the client its new config), then remove this node`,
    )
  }
  const text = await readFile(fleet.file, 'utf8')
  const shrunkText = removeNodeSection(text, leaving.name)
  // Also validates the fleet without it (e.g. the last public relay of NAT-ed nodes): exit 2, nothing done.
  const shrunk = parseInventory(shrunkText, fleet.file)

  const unlock = await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  try {
    const others = await converge(await withResolvedEndpoints(shrunk), request, 'remove-node', deps, unlock.signal)
    unlock.signal.throwIfAborted()
    const cleaned = await teardownNode(fleet, leaving.name, request, deps)
    // Re-read: an edit made to the file while the run went on is kept, only NAME's section goes.
    const current = await readFile(fleet.file, 'utf8')
    await writeAtomically(fleet.file, current === text ? shrunkText : removeNodeSection(current, leaving.name), await fileMode(fleet.file))
    await openStateStore(fleet.dir).removeNode(leaving.name)
    const nodes = [...others.nodes, cleaned]
    return {...others, nodes, result: fleetResult(nodes)}
  } finally {
    await unlock()
  }
}

/**
 * Converge the whole fleet after an inventory edit (add-node, remove-node, client add/remove): peers change
 * live. With JOINER (add-node's newcomer), existing nodes whose change is only its entry take the fast path
 * (services/converge `joiner`: one peer-add exec each, no probe or verify).
 */
export async function converge(fleet: Fleet, request: MembershipRequest, command: string, deps: FleetDependencies, signal: AbortSignal, acceptKeyChange: string[] = [], joiner?: string): Promise<ConvergeReport> {
  const shells = shellPoolFor(fleet, request, deps)
  try {
    return await convergeFleet(fleet, convergeOptionsFor({command, request, openShell: shells.open, clock: deps.clock, signal}, {acceptKeyChange, ...(joiner === undefined ? {} : {joiner})}))
  } finally {
    await shells.closeAll()
  }
}

async function teardownNode(fleet: Fleet, name: string, request: RemoveNodeRequest, deps: FleetDependencies): Promise<NodeResult> {
  const node = fleet.nodes.find((n) => n.name === name)!
  const shells = shellPoolFor(fleet, request, deps)
  try {
    const shell = await shells.open(node)
    const result = await shell.run(loadScript('teardown'), [fleet.network.interface, String(node.port), request.purge ? 'yes' : 'no'], {timeoutMs: 120_000})
    if (result.code !== 0) throw new Error(`teardown failed: ${result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`}`)
    const values = parseKeyValues(result.stdout)
    const said = values.filter(([k]) => k !== 'done').map(([k, v]) => `${k} ${v}`)
    return {
      name,
      result: said.length > 0 ? 'changed' : 'unchanged',
      steps: {
        ...(values.some(([k]) => k === 'service') ? {service: 'stopped', unit: 'disabled'} : {service: 'not-running'}),
        config: 'unchanged',
        warnings: values.filter(([k]) => k === 'warning').map(([, v]) => v),
      },
    }
  } catch (error) {
    return {
      name,
      result: 'failed',
      error: `${name} was not cleaned: ${(error as Error).message}`,
      hint: `it is out of the inventory and every peer dropped it; on ${name} itself run: systemctl disable --now wg-quick@${fleet.network.interface}; rm /etc/wireguard/${fleet.network.interface}.conf`,
      steps: {},
    }
  } finally {
    await shells.closeAll()
  }
}

export async function fileMode(file: string): Promise<number> {
  const {stat} = await import('node:fs/promises')
  return (await stat(file)).mode & 0o777
}
