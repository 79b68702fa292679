import {describe, expect, it} from 'vitest'

import {initiatorOf, verifyModeOf, type PairFacts} from '../../../src/services/first-handshake.js'

type Entry = 'fresh' | 'dead' | 'alive'

/** Facts for a pair a–b: who can dial whom, and each side's entry for the other (fresh, dead or alive). */
function pair(dials: {ab: boolean; ba: boolean}, entry: {a: Entry | boolean; b: Entry | boolean}, order = ['a', 'b']): PairFacts {
  const of = (node: string): Entry => {
    const e = node === 'a' ? entry.a : entry.b
    return e === true ? 'fresh' : e === false ? 'alive' : e
  }
  return {
    position: (node) => order.indexOf(node),
    canDial: (from, to) => (from === 'a' && to === 'b' ? dials.ab : from === 'b' && to === 'a' ? dials.ba : false),
    fresh: (node) => of(node) === 'fresh',
    dead: (node) => of(node) === 'dead',
  }
}

const DIALS = [{ab: true, ba: true}, {ab: true, ba: false}, {ab: false, ba: true}]
const ENTRIES: Entry[] = ['fresh', 'dead', 'alive']
/** What the other side does for each mode: exactly one side sends first, and both test the same session. */
const PARTNER = {initiate: ['await', 'live'], reset: ['await', 'live'], await: ['initiate', 'reset'], live: ['initiate', 'reset'], any: ['any']} as const

describe('first handshake of a pair', () => {
  for (const dials of DIALS) {
    for (const a of ENTRIES) {
      for (const b of ENTRIES) {
        it(`dials ${JSON.stringify(dials)}, a ${a}, b ${b}: one starter, who can dial, with matching modes`, () => {
          const facts = pair(dials, {a, b})
          const starter = initiatorOf('a', 'b', facts)
          expect(initiatorOf('b', 'a', facts)).toBe(starter) // the same answer from both sides
          expect(facts.canDial(starter, starter === 'a' ? 'b' : 'a')).toBe(true)
          const modeA = verifyModeOf('a', 'b', facts)
          const modeB = verifyModeOf('b', 'a', facts)
          expect(PARTNER[modeA]).toContain(modeB)
          if (a === 'alive' && b === 'alive') expect([modeA, modeB]).toEqual(['any', 'any'])
          else expect([modeA, modeB].filter((m) => m === 'initiate' || m === 'reset')).toHaveLength(1)
          // A side without a live session never counts an old handshake: it starts, or awaits a new one.
          if (a === 'dead') expect(['reset', 'await']).toContain(modeA)
        })
      }
    }
  }

  it('the public side was restarted by hand (its entry for the NAT-ed side holds no session): the NAT-ed side re-adds its entry and starts, the public side awaits a new handshake', () => {
    const facts = pair({ab: true, ba: false}, {a: 'alive', b: 'dead'})
    expect(verifyModeOf('a', 'b', facts)).toBe('reset')
    expect(verifyModeOf('b', 'a', facts)).toBe('await')
  })

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
    const facts: PairFacts = {position: (node) => order.indexOf(node), canDial: () => true, fresh: () => true, dead: () => false}
    for (const node of order) {
      const starts = order.filter((peer) => peer !== node && verifyModeOf(node, peer, facts) === 'initiate').length
      expect(starts, node).toBeGreaterThanOrEqual(4)
      expect(starts, node).toBeLessThanOrEqual(5)
    }
  })
})

describe('add-node fast path: the newcomer n and an existing node e that added it live (peer-add, keepalive on)', () => {
  const joined = (dials: {ab: boolean; ba: boolean}): PairFacts => ({...pair(dials, {a: 'fresh', b: 'fresh'}, ['b', 'a']), addedLive: (node, peer) => node === 'b' && peer === 'a'})
  it('e can dial n: e started it (its keepalive); n sends nothing and awaits the handshake', () => {
    expect(verifyModeOf('a', 'b', joined({ab: true, ba: true}))).toBe('await')
    expect(verifyModeOf('a', 'b', joined({ab: false, ba: true}))).toBe('await')
  })
  it('e cannot dial n (n is NAT-ed): n starts', () => {
    expect(verifyModeOf('a', 'b', joined({ab: true, ba: false}))).toBe('initiate')
  })
  it('e has no keepalive for n (`keepalive = 0`): e sent nothing when it added n, so n starts', () => {
    expect(verifyModeOf('a', 'b', {...joined({ab: true, ba: true}), keepsAlive: () => false})).toBe('initiate')
    expect(verifyModeOf('a', 'b', {...joined({ab: true, ba: true}), keepsAlive: () => true})).toBe('await')
  })
  it('a pair without a live add follows the usual rule (both fresh: the position tie-break)', () => {
    const facts = {...pair({ab: true, ba: true}, {a: 'fresh', b: 'fresh'}, ['b', 'a']), addedLive: () => false}
    expect(verifyModeOf('a', 'b', facts)).toBe(verifyModeOf('a', 'b', pair({ab: true, ba: true}, {a: 'fresh', b: 'fresh'}, ['b', 'a'])))
  })
})
