/**
 * `wgfleet plan`: read the inventory and the public state, compute every node's configuration, and diff
 * it against what was last applied. No network.
 */
import {loadFleet} from './fleet-loader.js'
import type {Fleet} from '../inventory/model.js'
import {diffConfig, planFleet} from '../plan/index.js'
import type {FleetPlan, NodePlan} from '../plan/model.js'
import {openStateStore} from '../state/state.js'

export type ConfigChange = 'new' | 'changed' | 'unchanged'

export interface PlannedNode extends NodePlan {
  change: ConfigChange
  /** Unified diff against the last applied config ('' when unchanged). */
  diff: string
}

export interface PlanReport {
  fleet: Fleet
  plan: FleetPlan
  nodes: PlannedNode[]
  /** Nodes in state but no longer in the inventory. */
  removed: string[]
}

export async function buildPlanReport(inventoryPath: string): Promise<PlanReport> {
  const fleet = await loadFleet(inventoryPath)
  const store = openStateStore(fleet.dir)
  const state = await store.load()
  const publicKeys: Record<string, string> = {}
  const facts: NonNullable<Parameters<typeof planFleet>[1]['facts']> = {}
  for (const [name, node] of Object.entries(state.nodes)) {
    if (node.publicKey) publicKeys[name] = node.publicKey
    if (node.facts) facts[name] = node.facts
  }

  const plan = planFleet(fleet, {publicKeys, facts})
  const nodes: PlannedNode[] = []
  for (const node of plan.nodes) {
    const applied = await store.appliedConfig(node.name)
    const diff = applied === null ? '' : diffConfig(applied, node.config, node.name)
    nodes.push({...node, change: applied === null ? 'new' : diff ? 'changed' : 'unchanged', diff})
  }

  const inInventory = new Set(fleet.nodes.map((n) => n.name))
  const removed = Object.keys(state.nodes).filter((n) => !inInventory.has(n)).sort()
  return {fleet, plan, nodes, removed}
}
