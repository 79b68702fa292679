/** Typed result of `wgfleet rotate-key`: the rotations, then the converge that writes every config to match (output/rotate-view.ts). */
import type {Outcome} from '../lib/exit-codes.js'
import type {ConvergeReport} from './converge-report.js'
import type {RotationOutcome} from './rotation-report.js'

export interface RotateReport {
  result: Outcome
  rotations: RotationOutcome[]
  /** The converge after the rotations: every config written to match the live interfaces. */
  converge?: ConvergeReport
}

/** ok: every rotation done and the converge ok; failed: nothing rotated; else partial. */
export function rotateResult(rotations: RotationOutcome[], converge?: ConvergeReport): Outcome {
  const failed = rotations.filter((r) => r.result === 'failed' || (r.result === 'rotated' && r.peers.some((p) => p.result !== 'moved'))).length
  if (failed === 0 && (converge === undefined || converge.result === 'ok')) return 'ok'
  if (failed === rotations.length && rotations.length > 0 && rotations.every((r) => r.result === 'failed')) return 'failed'
  return 'partial'
}
