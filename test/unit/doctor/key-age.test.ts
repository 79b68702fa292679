/** Key age (judges/key-age): from the creation time state records; doctor warns past [network] key_max_age_days; the inventory key is validated strictly. */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {diagnoseFleet} from '../../../src/judges/doctor/index.js'
import {keyAges, keysPastAge} from '../../../src/judges/key-age.js'
import {planFleet} from '../../../src/plan/planner.js'
import {fleet, SCENARIO} from '../plan/fixtures.js'
import {BASE, errorsOf, expectProblem, FILE, lineOf} from '../inventory/helpers.js'

const NOW = Date.parse('2026-12-01T12:00:00Z')
const DAY = 86_400_000
const NODES = ['node-a', 'node-b', 'node-c']

describe('keyAges / keysPastAge', () => {
  it('ages from the recorded creation time; no record, or an unreadable one: left out', () => {
    const ages = keyAges(NODES, {'node-a': {keyCreatedAt: new Date(NOW - 91 * DAY - 5000).toISOString()}, 'node-b': {keyCreatedAt: 'yesterday'}}, NOW)
    expect([...ages]).toEqual([['node-a', {createdAt: new Date(NOW - 91 * DAY - 5000).toISOString(), ageSeconds: 91 * 86_400 + 5, ageDays: 91}]])
  })

  it('past the limit only when one is set, and only strictly older', () => {
    const ages = keyAges(NODES, {'node-a': {keyCreatedAt: new Date(NOW - 90 * DAY).toISOString()}, 'node-c': {keyCreatedAt: new Date(NOW - 90 * DAY - 1000).toISOString()}}, NOW)
    expect(keysPastAge(NODES, ages, undefined)).toEqual([])
    expect(keysPastAge(NODES, ages, 90).map((k) => k.node)).toEqual(['node-c'])
  })
})

describe('doctor: key-too-old', () => {
  const plan = planFleet(fleet(SCENARIO), {publicKeys: {}})
  const ages = keyAges(NODES, {'node-b': {keyCreatedAt: new Date(NOW - 200 * DAY).toISOString()}}, NOW)

  it('a warning with the fix, only with key_max_age_days set', () => {
    expect(diagnoseFleet(plan, new Map(), {keyAges: ages})).toEqual([])
    expect(diagnoseFleet(plan, new Map(), {keyAges: ages, keyMaxAgeDays: 90})).toEqual([
      {
        node: 'node-b',
        severity: 'warning',
        check: 'key-too-old',
        message: `its WireGuard key is 200 days old (created ${new Date(NOW - 200 * DAY).toISOString()}), older than key_max_age_days = 90`,
        fix: 'wgfleet rotate-key node-b',
      },
    ])
  })
})

describe('[network] key_max_age_days', () => {
  const withAge = (value: string) => BASE.replace('cidr = 10.0.0.0/24\n', `cidr = 10.0.0.0/24\nkey_max_age_days = ${value}\n`)

  it('a whole number of days from 1 to 3650; unset: no limit', () => {
    expect(parseInventory(withAge('90'), FILE).network.keyMaxAgeDays).toBe(90)
    expect(parseInventory(BASE, FILE).network.keyMaxAgeDays).toBeUndefined()
  })

  it.each(['0', '-5', '1.5', 'ninety', '3651'])('%s is refused with file, line, key and a hint', (value) => {
    const text = withAge(value)
    expectProblem(errorsOf(text), {line: lineOf(text, 'key_max_age_days'), section: 'network', key: 'key_max_age_days', message: /is not a key age/, hint: /whole days, from 1 to 3650/})
  })
})
