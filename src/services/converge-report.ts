/**
 * Typed results of a changing run (init, add-node, remove-node): per node, then the fleet. Every step is
 * a machine value (what --json prints); the words people read are chosen in output/converge-view.ts.
 */
import {exitCodeOf as exitCodeOfOutcome, type ExitCode, type Outcome} from '../lib/exit-codes.js'
import type {ExistingSectionConflict, KeyRefusal, TrustWarning} from '../plan/index.js'
import type {StateProblem} from '../state/state.js'
import type {PresharedKeyPairResult} from './preshared-keys.js'
import type {RotationOutcome} from './rotation-report.js'

export type NodeResultKind = 'changed' | 'unchanged' | 'failed'
export type FleetResultKind = Outcome

export type ConfigStep = 'new' | 'changed' | 'unchanged' | 'would-create' | 'would-change'
/** none-active: no firewall filters; open: it already let WireGuard in; opened / would-open: rules added (or to add). */
export type FirewallStep = 'none-active' | 'open' | 'opened' | 'would-open'
export type FirewallName = 'ufw' | 'firewalld'
/** What happened to the running interface (remove-node: stopped, or not running before). */
/** peer-added: add-node's fast path added the newcomer's entry live (remote/peer-add.sh), nothing else touched. */
export type ServiceStep = 'running' | 'started' | 'restarted' | 'synced' | 'peer-added' | 'would-start' | 'would-restart' | 'would-sync' | 'stopped' | 'not-running'
/** A change to the unit's enablement, when there was one. */
export type UnitStep = 'enabled' | 'would-enable' | 'disabled'

export interface NodeSteps {
  distro?: string
  /** installed (by this run) | present */
  wireguard?: 'installed' | 'present'
  implementation?: 'kernel' | 'userspace'
  packages?: string[]
  key?: 'new' | 'kept'
  config?: ConfigStep
  /** Unified diff, private key masked (dry run). */
  diff?: string
  firewall?: FirewallStep
  firewallName?: FirewallName
  /** The rules added (or to add), as the firewall's own commands. */
  firewallChanges?: string[]
  service?: ServiceStep
  unit?: UnitStep
  /** wgfleet's block of /etc/hosts (hosts_file), when this run changed it or would; absent = as planned. */
  hosts?: 'written' | 'removed' | 'would-write' | 'would-remove'
  /** Preshared keys (peer names, never values): stored for these peers, removed, or that would be made. */
  presharedKeys?: {stored?: string[]; removed?: string[]; wouldCreate?: string[]}
  /** Peers with a verified handshake, of those expected (peers reached in this run). */
  handshakes?: {verified: number; expected: number}
  /**
   * add-node's fast path was refused on this host (digest: its file is not the one last applied, e.g. edited
   * by hand; down: the interface was not up; pending: an earlier apply was unfinished) or given up by wgfleet
   * before it ran (plan-moved: the node's plan changed once other nodes were probed, e.g. a peer's address
   * moved): it took the full path.
   */
  peerAddRefused?: 'digest' | 'down' | 'pending' | 'plan-moved'
  /** What a host script warned about (its own words: they come from the host). */
  warnings?: string[]
}

export interface NodeResult {
  name: string
  result: NodeResultKind
  error?: string
  hint?: string
  /** The node failed because its public key is not trusted (plan/key-trust); the words are output's. */
  keyRefusal?: KeyRefusal
  steps: NodeSteps
}

/** Why a node's key is unknown this run: not reached, reached but failed before reporting a key (e.g. refused install), or its report refused. */
export type UnknownKeyCause = 'not-reached' | 'failed' | 'refused'

/** Why a peer of unknown key is not in a node's config. */
export type LeftOutReason = 'no-existing-section' | 'existing-section-unusable' | ExistingSectionConflict

export type ConvergeWarning =
  /**
   * NODE has no trusted key (not pinned in this machine's state, and not reached or refused): each other
   * node kept its own existing section for it, or left it out.
   */
  | {kind: 'unknown-key'; node: string; cause: UnknownKeyCause; keptOn: string[]; leftOutOn: Array<{node: string; reason: LeftOutReason}>}
  /** Part of .wgfleet/state.json was malformed and is ignored (and not written back). */
  | ({kind: 'state-ignored'} & StateProblem)
  | TrustWarning

export interface ConvergeReport {
  command: string
  dryRun: boolean
  /** The fleet's WireGuard interface (names the files in messages). */
  interface: string
  result: FleetResultKind
  nodes: NodeResult[]
  /** About the fleet, not one node's steps (in the order found). */
  warnings: ConvergeWarning[]
  durationMs: number
  /** init: the interrupted key rotations it finished (or rolled back) first. */
  rotations?: RotationOutcome[]
  /** The pairs that got a new preshared key in this run (or would, or failed to); absent when none. */
  presharedKeys?: PresharedKeyPairResult[]
}

export function fleetResult(nodes: NodeResult[]): FleetResultKind {
  const failed = nodes.filter((n) => n.result === 'failed').length
  if (failed === 0) return 'ok'
  return failed === nodes.length ? 'failed' : 'partial'
}

export function exitCodeOf(report: ConvergeReport): ExitCode {
  return exitCodeOfOutcome(report.result)
}
