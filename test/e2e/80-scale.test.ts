// The scale scenario at N=30 (198.18.0.0/16, one bridge, a full mesh of 435 pairs): a fresh init converges
// every node, a rerun changes nothing, status is healthy, doctor finds nothing — and the lab raises the
// shared neighbour table while it is up and puts the machine's values back when it goes down. At the end the
// seed scenario comes back fresh (99-teardown expects it).
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {lab, labExec} from './helpers.js'
import {wgfleet} from './wgfleet.js'

const N = 30
const NEIGH = ['gc_thresh1', 'gc_thresh2', 'gc_thresh3'] as const
const neigh = (): number[] => NEIGH.map((k) => Number(readFileSync(`/proc/sys/net/ipv4/neigh/default/${k}`, 'utf8')))
let machineNeigh: number[] = []

beforeAll(async () => {
  const down = await lab(['down'], {timeoutMs: 120_000})
  expect(down.code, down.stderr).toBe(0)
  machineNeigh = neigh()
  const up = await lab(['up', '--scenario', 'scale', '--nodes', String(N)], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
}, 720_000)

afterAll(async () => {
  const down = await lab(['down'], {timeoutMs: 120_000})
  expect(down.code, down.stderr).toBe(0)
  expect(neigh()).toEqual(machineNeigh)
  const up = await lab(['up', '--scenario', 'seed'], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
}, 720_000)

const names = Array.from({length: N}, (_, i) => `node-${String(i + 1).padStart(2, '0')}`)

describe(`scale: a mesh of ${N} hosts on 198.18.0.0/16`, () => {
  it('the lab raised the shared neighbour table while it is up', () => {
    const [t1, t2, t3] = neigh()
    expect(t1).toBeGreaterThanOrEqual(8192)
    expect(t2).toBeGreaterThanOrEqual(32768)
    expect(t3).toBeGreaterThanOrEqual(65536)
  })

  it('the hosts live on the scale range, nowhere else', async () => {
    const r = await labExec('node-30', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])
    expect(r.stdout).toMatch(/inet 198\.18\.1\.30\/16 /)
  })

  it(`fresh init converges all ${N} nodes: exit 0, 0 failures, every pair verified`, async () => {
    const t0 = Date.now()
    const r = await wgfleet(['init', '--json'], {timeoutMs: 600_000})
    console.log(`init, fresh, N=${N}: ${Date.now() - t0} ms`)
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {result: string; nodes: Array<{name: string; result: string; steps: {handshakes?: {verified: number; expected: number}}}>}
    expect(doc.result).toBe('ok')
    expect(doc.nodes.map((n) => n.name)).toEqual(names)
    for (const n of doc.nodes) {
      expect(n.result, n.name).toBe('changed')
      expect(n.steps.handshakes, n.name).toEqual({verified: N - 1, expected: N - 1})
    }
  }, 620_000)

  it('a rerun changes nothing', async () => {
    const t0 = Date.now()
    const r = await wgfleet(['init', '--json'], {timeoutMs: 300_000})
    console.log(`init, no-op, N=${N}: ${Date.now() - t0} ms`)
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {nodes: Array<{result: string}>}
    expect(doc.nodes.map((n) => n.result)).toEqual(Array(N).fill('unchanged'))
  }, 320_000)

  it('status is healthy: every node reachable, every peer ok', async () => {
    const t0 = Date.now()
    const r = await wgfleet(['status', '--json'])
    console.log(`status, N=${N}: ${Date.now() - t0} ms`)
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {healthy: boolean; nodes: Array<{name: string; peers: Array<{state: string}>}>}
    expect(doc.healthy).toBe(true)
    for (const n of doc.nodes) {
      expect(n.peers, n.name).toHaveLength(N - 1)
      expect(n.peers.every((p) => p.state === 'ok'), n.name).toBe(true)
    }
  })

  it('doctor finds nothing', async () => {
    const t0 = Date.now()
    const r = await wgfleet(['doctor', '--json'], {timeoutMs: 300_000})
    console.log(`doctor, N=${N}: ${Date.now() - t0} ms`)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {findings: unknown[]}
    expect(doc.findings).toEqual([])
  }, 320_000)

  it('the far ends of the mesh ping over the overlay', async () => {
    const r = await labExec('node-01', ['ping', '-c', '1', '-W', '2', '10.0.0.30'])
    expect(r.code, r.stdout).toBe(0)
  })
})
