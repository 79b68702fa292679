/**
 * Typed results of key rotations: one outcome per rotated node (rotate-key's, and the pending rotations
 * `init` finishes first). Words live in output/rotation-view.ts.
 */
import type {KeyRefusal} from '../plan/index.js'

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
