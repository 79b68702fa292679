import {describe, expect, it} from 'vitest'

import {initiatorOf, verifyModeOf, type PairFacts} from '../../../src/services/first-handshake.js'

/** Facts for a pair a–b: who can dial whom, whose entry is fresh. */
function pair(dials: {ab: boolean; ba: boolean}, fresh: {a: boolean; b: boolean}, order = ['a', 'b']): PairFacts {
  return {
    order,
    canDial: (from, to) => (from === 'a' && to === 'b' ? dials.ab : from === 'b' && to === 'a' ? dials.ba : false),
    fresh: (node) => (node === 'a' ? fresh.a : fresh.b),
  }
}

const DIALS = [{ab: true, ba: true}, {ab: true, ba: false}, {ab: false, ba: true}]
const FRESH = [{a: true, b: true}, {a: true, b: false}, {a: false, b: true}, {a: false, b: false}]
/** What the other side does for each mode: exactly one side sends first, and both test the same session. */
const PARTNER = {initiate: ['await', 'live'], reset: ['await'], await: ['initiate', 'reset'], live: ['initiate'], any: ['any']} as const

describe('first handshake of a pair', () => {
  for (const dials of DIALS) {
    for (const fresh of FRESH) {
      it(`dials ${JSON.stringify(dials)}, fresh ${JSON.stringify(fresh)}: one starter, who can dial, with matching modes`, () => {
        const facts = pair(dials, fresh)
        const starter = initiatorOf('a', 'b', facts)
        expect(initiatorOf('b', 'a', facts)).toBe(starter) // the same answer from both sides
        expect(facts.canDial(starter, starter === 'a' ? 'b' : 'a')).toBe(true)
        const modeA = verifyModeOf('a', 'b', facts)
        const modeB = verifyModeOf('b', 'a', facts)
        expect(PARTNER[modeA]).toContain(modeB)
        if (!fresh.a && !fresh.b) expect([modeA, modeB]).toEqual(['any', 'any'])
        else expect([modeA, modeB].filter((m) => m === 'initiate' || m === 'reset')).toHaveLength(1)
      })
    }
  }

  it('a NAT-ed side always starts towards a public one (the public one has no endpoint for it)', () => {
    expect(verifyModeOf('a', 'b', pair({ab: true, ba: false}, {a: true, b: true}))).toBe('initiate')
    expect(verifyModeOf('b', 'a', pair({ab: true, ba: false}, {a: true, b: true}))).toBe('await')
    // The public side restarted, the NAT-ed side holds a dead session: it re-adds the entry and starts.
    expect(verifyModeOf('a', 'b', pair({ab: true, ba: false}, {a: false, b: true}))).toBe('reset')
  })

  it('both public, one side fresh: the fresh side starts (the other may hold a session that is dead on it)', () => {
    const facts = pair({ab: true, ba: true}, {a: false, b: true})
    expect(verifyModeOf('b', 'a', facts)).toBe('initiate')
    expect(verifyModeOf('a', 'b', facts)).toBe('live')
  })

  it('a fresh mesh of ten: every node starts 4 or 5 of its 9 pairs', () => {
    const order = Array.from({length: 10}, (_, i) => `n${i}`)
    const facts: PairFacts = {order, canDial: () => true, fresh: () => true}
    for (const node of order) {
      const starts = order.filter((peer) => peer !== node && verifyModeOf(node, peer, facts) === 'initiate').length
      expect(starts, node).toBeGreaterThanOrEqual(4)
      expect(starts, node).toBeLessThanOrEqual(5)
    }
  })
})
