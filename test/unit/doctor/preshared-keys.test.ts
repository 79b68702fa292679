/**
 * The doctor with `preshared_keys = true`: the two ends of a pair must hold the same key, and each
 * interface the one its file holds — judged by the digests the hosts report, never values. A mismatch is
 * named once per pair (psk-mismatch), and explains that pair's failing handshakes.
 */
import {describe, expect, it} from 'vitest'

import {diagnoseFleet, doctorExitCode, type Finding} from '../../../src/judges/doctor/index.js'
import {planFleet} from '../../../src/plan/index.js'
import type {DoctorReading} from '../../../src/remote/doctor.js'
import {healthyReadings, KEYS, LAB_FLEET, livePeer, NAMES, outcomes, type Readings} from './fixtures.js'

const plan = planFleet(
  {...LAB_FLEET, network: {...LAB_FLEET.network, presharedKeys: true}},
  {publicKeys: {'node-a': KEYS['node-a'], 'node-b': KEYS['node-b'], 'node-c': KEYS['node-c'], 'node-d': KEYS['node-d']}},
  {omitPeersWithoutKey: true},
)
const diagnose = (readings: Readings): Finding[] => diagnoseFleet(plan, outcomes(readings), {names: NAMES})
const brief = (findings: Finding[]) => findings.map((f) => [f.node, f.check, f.severity, f.peer])
const file = (reading: DoctorReading, peer: string) => (reading.presharedKeys as Map<string, NonNullable<ReturnType<DoctorReading['presharedKeys']['get']>>>).get(peer)!

describe('diagnoseFleet with preshared keys', () => {
  it('every pair holding one key on both ends: no finding', () => {
    const readings = healthyReadings(plan)
    expect(readings['node-c'].presharedKeys.size).toBe(2)
    expect(diagnose(readings)).toEqual([])
  })

  it('two ends with different keys (the handshakes fail): one error for the pair, naming both digests; no handshake-failing beside it', () => {
    const r = healthyReadings(plan)
    file(r['node-b'], 'node-c').digest = '0123456789abcdef'
    livePeer(r['node-b'], KEYS['node-c']).latestHandshake = 0
    livePeer(r['node-c'], KEYS['node-b']).latestHandshake = 0
    const findings = diagnose(r)
    expect(brief(findings)).toEqual([['node-b', 'psk-mismatch', 'error', 'node-c']])
    expect(findings[0]!.message).toMatch(/node-b and node-c hold different preshared keys for their pair \(digests 0123456789abcdef and [0-9a-f]{16}\)/)
    expect(findings[0]!.fix).toMatch(/wgfleet init/)
    expect(doctorExitCode(findings)).toBe(1)
  })

  it('one end without its file, or an interface holding another value than its file: named on that end', () => {
    const missing = healthyReadings(plan)
    ;(missing['node-d'].presharedKeys as Map<string, unknown>).delete('node-a')
    expect(brief(diagnose(missing))).toEqual([['node-d', 'psk-mismatch', 'error', 'node-a']])
    const live = healthyReadings(plan)
    file(live['node-a'], 'node-b').live = 'differs'
    expect(brief(diagnose(live))).toEqual([['node-a', 'psk-mismatch', 'error', 'node-b']])
  })
})
