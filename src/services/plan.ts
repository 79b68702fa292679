/**
 * `wgfleet plan`: read the inventory and the public state, compute every node's configuration, and diff
 * it against what was last applied. No network. Nodes are planned one at a time as the renderer asks for
 * them, so a large mesh is never held whole in memory.
 */
import {loadFleet} from './fleet-loader.js'
import type {Fleet} from '../inventory/model.js'
import {diffConfig, judgeKeys, planNodes, summarizeConfigChange, type ConfigChangeSummary, type KnownHosts} from '../plan/index.js'
import type {NodePlan} from '../plan/model.js'
import {factsInState, openStateStore, type StateStore} from '../state/state.js'
import {nodeNamed} from '../inventory/lookup.js'

export type ConfigChange = 'new' | 'changed' | 'unchanged'

export interface PlannedNode extends NodePlan {
  change: ConfigChange
  /** Unified diff against the last applied config ('' when unchanged). */
  diff: string
  /** The same change per peer section (null unless changed). */
  summary: ConfigChangeSummary | null
}

export interface PlanReport {
  fleet: Fleet
  interface: string
  cidr: string
  /** Every planned node (or the one asked for), in inventory order, computed as it is read. */
  nodes: AsyncIterable<PlannedNode>
  /** Nodes in state but no longer in the inventory. */
  removed: string[]
}

export interface PlanRequest {
  inventory: string
  /** Only this node (`plan --node NAME`). */
  node?: string
}

export async function buildPlanReport(request: PlanRequest | string): Promise<PlanReport> {
  const {inventory, node} = typeof request === 'string' ? {inventory: request, node: undefined} : request
  const fleet = await loadFleet(inventory)
  if (node !== undefined) nodeNamed(fleet, node, '--node')
  const store = openStateStore(fleet.dir)
  const state = await store.load()
  // No node is reached: the pinned keys, as key trust has them.
  const {publicKeys} = judgeKeys({nodes: fleet.nodes.map((n) => n.name), pinned: state.nodes, reports: new Map()})
  const known: KnownHosts = {publicKeys, facts: factsInState(state)}
  const inInventory = new Set(fleet.nodes.map((n) => n.name))
  const removed = Object.keys(state.nodes).filter((n) => !inInventory.has(n)).sort()
  return {fleet, interface: fleet.network.interface, cidr: fleet.network.cidr, nodes: plannedNodes(fleet, known, store, node), removed}
}

async function* plannedNodes(fleet: Fleet, known: KnownHosts, store: StateStore, only?: string): AsyncGenerator<PlannedNode> {
  for (const node of planNodes(fleet, known, only === undefined ? {} : {only: new Set([only])})) {
    const applied = await store.appliedConfig(node.name)
    const diff = applied === null ? '' : diffConfig(applied, node.config, node.name)
    yield {...node, change: applied === null ? 'new' : diff ? 'changed' : 'unchanged', diff, summary: diff && applied !== null ? summarizeConfigChange(applied, node.config) : null}
  }
}
