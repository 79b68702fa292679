/** Typed results of a changing run (init, add-node, remove-node): per node, then the fleet. */

export type NodeResultKind = 'changed' | 'unchanged' | 'failed'
export type FleetResultKind = 'ok' | 'partial' | 'failed'

export interface NodeSteps {
  distro?: string
  /** installed (by this run) | present */
  wireguard?: 'installed' | 'present'
  implementation?: 'kernel' | 'userspace'
  packages?: string[]
  key?: 'new' | 'kept'
  config?: 'new' | 'changed' | 'unchanged' | 'would change' | 'would create'
  /** Unified diff, private key masked (dry run). */
  diff?: string
  firewall?: string
  service?: string
  handshakes?: string
  warnings?: string[]
}

export interface NodeResult {
  name: string
  result: NodeResultKind
  error?: string
  hint?: string
  steps: NodeSteps
}

export interface ConvergeReport {
  command: string
  dryRun: boolean
  result: FleetResultKind
  nodes: NodeResult[]
  durationMs: number
}

export function fleetResult(nodes: NodeResult[]): FleetResultKind {
  const failed = nodes.filter((n) => n.result === 'failed').length
  if (failed === 0) return 'ok'
  return failed === nodes.length ? 'failed' : 'partial'
}

export function exitCodeOf(report: ConvergeReport): number {
  return report.result === 'ok' ? 0 : 1
}
