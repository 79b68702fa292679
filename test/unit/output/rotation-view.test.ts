/** The words for rotations (output/rotation-view, output/rotate-view): one line per rotation, the hint of a failure, --json entries. */
import {describe, expect, it} from 'vitest'

import {renderRotateText, rotateToJson} from '../../../src/output/rotate-view.js'
import {describeRotation, renderRotationLines} from '../../../src/output/rotation-view.js'
import type {RotationOutcome} from '../../../src/services/rotation-report.js'
import {rotateResult} from '../../../src/services/rotate-report.js'
import {LAB_KEYS, SPARE_KEY} from '../../fixtures/lab-fleet.js'

const OLD = LAB_KEYS['node-b']
const rotated: RotationOutcome = {
  node: 'node-b',
  result: 'rotated',
  resumed: false,
  oldPublicKey: OLD,
  newPublicKey: SPARE_KEY,
  peers: [
    {peer: 'node-a', result: 'moved'},
    {peer: 'node-c', result: 'failed', error: 'wg set failed\u001b[2J'},
  ],
  switchToMoveMs: 87,
  durationMs: 900,
}

describe('rotation words', () => {
  it('rotated: keys, peers moved, the lossy window; a peer not moved is named, its error escaped', () => {
    expect(describeRotation(rotated, 'wg0').line).toBe(
      `node-b: key rotated: ${OLD} → ${SPARE_KEY}; 1/2 peers moved 87 ms after the switch; not moved: node-c (wg set failed\\u001b[2J) — the converge moves them once reachable`,
    )
    expect(describeRotation({...rotated, resumed: true, peers: []}, 'wg0').line).toContain('key rotation finished (it had been interrupted)')
  })

  it('rolled back, refused, failed at a stage: the line and the hint', () => {
    expect(renderRotationLines([{node: 'node-c', result: 'rolled-back', pendingPublicKey: SPARE_KEY}], 'wg0')).toEqual([
      `node-c: the interrupted rotation to ${SPARE_KEY} was rolled back (the host never switched to it)`,
    ])
    expect(renderRotationLines([{node: 'node-c', result: 'failed', stage: 'read', refused: 'not-converged', peers: []}], 'wg0')).toEqual([
      'node-c: rotation FAILED before anything changed: no pinned key in state yet',
      '  hint: run `wgfleet init` first',
    ])
    expect(describeRotation({node: 'node-d', result: 'failed', stage: 'commit', error: 'disk full', newPublicKey: SPARE_KEY, peers: []}, 'wg0').line).toBe(
      `node-d: rotation FAILED while making the new key the key file (the next run finishes it) (pending: ${SPARE_KEY}): disk full`,
    )
    const refused = describeRotation({node: 'node-b', result: 'failed', stage: 'read', keyRefusal: {reason: 'changed-from-pinned', reported: SPARE_KEY, pinned: OLD}, peers: []}, 'wg0')
    expect(refused.line).toMatch(/^node-b: rotation FAILED before anything changed: /)
    expect(refused.hint).toContain('--accept-key-change node-b')
  })

  it('the whole report: lines, then the summary; --json carries each rotation with its message', () => {
    const report = {result: 'partial' as const, rotations: [rotated]}
    expect(renderRotateText(report)).toMatch(/rotate-key: partial — 1 of 1 rotated\n$/)
    expect(rotateToJson(report)).toEqual({result: 'partial', rotations: [{...rotated, message: describeRotation(rotated, 'wg0').line}]})
  })

  it('rotateResult: ok only when every rotation moved every peer; failed when none rotated; else partial', () => {
    const clean: RotationOutcome = {...rotated, peers: [{peer: 'node-a', result: 'moved'}]}
    const failed: RotationOutcome = {node: 'node-c', result: 'failed', stage: 'preflight', peers: []}
    expect(rotateResult([clean])).toBe('ok')
    expect(rotateResult([rotated])).toBe('partial')
    expect(rotateResult([clean, failed])).toBe('partial')
    expect(rotateResult([failed])).toBe('failed')
  })
})
