/**
 * Typed results of `wgfleet rotate-key` (and of the pending rotations `init` finishes first): one outcome
 * per rotated node, then the converge that writes every config to match. Words live in
 * output/rotate-view.ts.
 */
import type {KeyRefusal} from '../plan/index.js'
import type {Outcome} from '../lib/exit-codes.js'
import type {ConvergeReport} from './converge-report.js'

/** Where a failed rotation stopped (before `switch`, nothing live changed but extra peer entries). */
export type RotationStage = 'read' | 'preflight' | 'add' | 'switch' | 'move' | 'commit'

export interface PeerMoveOutcome {
  peer: string
  result: 'moved' | 'failed' | 'not-reached'
  error?: string
}

export type RotationOutcome =
  | {
      node: string
      result: 'rotated'
      /** It had been pending (an interrupted run), and was finished now. */
      resumed: boolean
      oldPublicKey: string
      newPublicKey: string
      peers: PeerMoveOutcome[]
      /** From the switch's start to the last peer's move (the only time the node's pairs can lose packets). */
      switchToMoveMs: number
      durationMs: number
    }
  | {node: string; result: 'rolled-back'; pendingPublicKey: string}
  | {
      node: string
      result: 'failed'
      stage: RotationStage
      error?: string
      hint?: string
      /** Why plan/rotation refused to start (no pinned key yet, the interface down, no new key generated). */
      refused?: 'not-converged' | 'interface-down' | 'no-new-key'
      keyRefusal?: KeyRefusal
      /** Set once a new key was chosen: state holds it as pending, the next init or rotate-key finishes it. */
      newPublicKey?: string
      peers: PeerMoveOutcome[]
    }

export interface RotateReport {
  result: Outcome
  rotations: RotationOutcome[]
  /** The converge after the rotations (absent when none got as far as the switch... and none ran). */
  converge?: ConvergeReport
}

/** ok: every rotation done and the converge ok; failed: nothing rotated; else partial. */
export function rotateResult(rotations: RotationOutcome[], converge?: ConvergeReport): Outcome {
  const failed = rotations.filter((r) => r.result === 'failed' || (r.result === 'rotated' && r.peers.some((p) => p.result !== 'moved'))).length
  if (failed === 0 && (converge === undefined || converge.result === 'ok')) return 'ok'
  if (failed === rotations.length && rotations.length > 0 && rotations.every((r) => r.result === 'failed')) return 'failed'
  return 'partial'
}
