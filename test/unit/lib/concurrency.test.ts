import {describe, expect, it} from 'vitest'
import {runBounded} from '../../../src/lib/concurrency.js'

describe('runBounded', () => {
  it('never runs more than `concurrency` at once and keeps input order', async () => {
    let running = 0
    let peak = 0
    const results = await runBounded([50, 10, 30, 20, 40, 5], 2, async (delay, index) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((resolve) => setTimeout(resolve, delay))
      running--
      return index
    })
    expect(peak).toBe(2)
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : -1))).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('settles every item: one failure does not stop the others', async () => {
    const seen: number[] = []
    const results = await runBounded([1, 2, 3], 1, async (n) => {
      seen.push(n)
      if (n === 1) throw new Error('node 1 failed')
      return n * 10
    })
    expect(seen).toEqual([1, 2, 3])
    expect(results[0]).toMatchObject({status: 'rejected'})
    expect(results.slice(1)).toEqual([
      {status: 'fulfilled', value: 20},
      {status: 'fulfilled', value: 30},
    ])
  })

  it('handles no items and silly concurrency values', async () => {
    expect(await runBounded([], 10, async () => 1)).toEqual([])
    expect(await runBounded([1, 2], 0, async (n) => n)).toHaveLength(2)
  })
})
