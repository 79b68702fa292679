/**
 * graph --live: each edge judged by the states `status` gives its ends (the same judge), the worse end
 * winning; a relayed edge by both of its legs through the relay.
 */
import {describe, expect, it} from 'vitest'

import {edgeStateOfEnd, judgeGraph} from '../../../src/judges/graph.js'
import {buildFleetStatus, buildNodeStatus, downNodeStatus, unreachableNodeStatus, type NodeStatus} from '../../../src/judges/status.js'
import {buildMeshGraph, planFleet} from '../../../src/plan/index.js'
import type {NodePlan} from '../../../src/plan/model.js'
import type {WgDumpPeer} from '../../../src/wireguard/index.js'
import {fleet, KEYS, NODE_D, SCENARIO} from '../plan/fixtures.js'

const NOW = 1_700_000_000
const SEED = fleet([...SCENARIO, NODE_D])
const PLAN = planFleet(SEED, {publicKeys: {...KEYS}}, {omitPeersWithoutKey: true})
const NAMES = new Map(Object.entries(KEYS).map(([name, key]) => [key as string, name]))
const GRAPH = buildMeshGraph(SEED)

const planOf = (name: string): NodePlan => PLAN.nodes.find((n) => n.name === name)!

/** A node reached with its interface up: every planned peer with a handshake `age` seconds ago (per peer). */
function upNode(name: string, ages: Record<string, number | null> = {}, options: {drop?: string[]} = {}): NodeStatus {
  const plan = planOf(name)
  const dump: WgDumpPeer[] = plan.peers
    .filter((p) => !(options.drop ?? []).includes(p.name))
    .map((p) => {
      const age = Object.hasOwn(ages, p.name) ? ages[p.name]! : 10
      return {publicKey: p.publicKey!, presharedKey: false, endpoint: null, allowedIps: p.allowedIps, latestHandshake: age === null ? 0 : NOW - age, rxBytes: 1, txBytes: 1, keepalive: p.keepalive}
    })
  return buildNodeStatus(plan, dump, NOW, 180, NAMES)
}

function live(nodes: NodeStatus[]) {
  const graph = judgeGraph(GRAPH, buildFleetStatus(nodes, {staleAfterSeconds: 180, checkedAt: NOW}))
  return Object.fromEntries(graph.edges.map((e) => [`${e.from}–${e.to}`, e.state]))
}

const ALL_UP = ['node-a', 'node-b', 'node-c', 'node-d'].map((n) => upNode(n))

describe('judgeGraph', () => {
  it('a converged fleet: every edge up, direct and relayed', () => {
    expect(live(ALL_UP)).toEqual({
      'node-a–node-b': 'up',
      'node-a–node-c': 'up',
      'node-a–node-d': 'up',
      'node-b–node-c': 'up',
      'node-b–node-d': 'up',
      'node-c–node-d': 'up',
    })
    const graph = judgeGraph(GRAPH, buildFleetStatus(ALL_UP, {staleAfterSeconds: 180, checkedAt: NOW}))
    expect(graph.healthy).toBe(true)
    // A relayed edge is judged on both ends of both legs.
    expect(graph.edges.at(-1)!.ends).toEqual([
      {node: 'node-c', peer: 'node-a', state: 'ok'},
      {node: 'node-a', peer: 'node-c', state: 'ok'},
      {node: 'node-d', peer: 'node-a', state: 'ok'},
      {node: 'node-a', peer: 'node-d', state: 'ok'},
    ])
  })

  it("node-b's interface stopped: its edges are down although the others still saw a fresh handshake; the rest stay up", () => {
    const down = downNodeStatus(planOf('node-b'), {kind: 'interface-absent', message: 'interface wg0 does not exist'}, NOW)
    expect(live([ALL_UP[0]!, down, ALL_UP[2]!, ALL_UP[3]!])).toEqual({
      'node-a–node-b': 'down',
      'node-a–node-c': 'up',
      'node-a–node-d': 'up',
      'node-b–node-c': 'down',
      'node-b–node-d': 'down',
      'node-c–node-d': 'up',
    })
  })

  it("the relay stopped: every edge of the relay, and the pair it relays, down", () => {
    const down = downNodeStatus(planOf('node-a'), {kind: 'interface-down', message: 'down'}, NOW)
    const states = live([down, ...ALL_UP.slice(1)])
    expect(states['node-c–node-d']).toBe('down')
    expect(states['node-b–node-c']).toBe('up')
  })

  it('a node not reached: its edges unknown (unless the other end knows it is down)', () => {
    const gone = unreachableNodeStatus(planOf('node-d'), {kind: 'timeout', message: 'timed out'})
    const states = live([ALL_UP[0]!, ALL_UP[1]!, upNode('node-c'), gone])
    expect(states).toMatchObject({'node-a–node-d': 'unknown', 'node-b–node-d': 'unknown', 'node-c–node-d': 'unknown', 'node-a–node-b': 'up'})
    const never = live([ALL_UP[0]!, upNode('node-b', {'node-d': null}), ALL_UP[2]!, gone])
    expect(never['node-b–node-d']).toBe('down')
  })

  it('a stale handshake on one end makes the edge stale; a missing peer entry makes it down', () => {
    expect(live([upNode('node-a', {'node-b': 500}), ...ALL_UP.slice(1)])['node-a–node-b']).toBe('stale')
    const missing = live([upNode('node-a', {}, {drop: ['node-c']}), ...ALL_UP.slice(1)])
    expect(missing['node-a–node-c']).toBe('down')
    // node-c reaches node-d through node-a, whose entry for node-c is gone.
    expect(missing['node-c–node-d']).toBe('down')
  })

  it('keepalive off: a quiet link is idle, not down', () => {
    const quiet = fleet([...SCENARIO, NODE_D], {keepalive: 0})
    const plan = planFleet(quiet, {publicKeys: {...KEYS}}, {omitPeersWithoutKey: true})
    const nodes = plan.nodes.map((p) =>
      buildNodeStatus(p, p.peers.map((peer) => ({publicKey: peer.publicKey!, presharedKey: false, endpoint: null, allowedIps: peer.allowedIps, latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 0})), NOW, 180, NAMES),
    )
    const graph = judgeGraph(buildMeshGraph(quiet), buildFleetStatus(nodes, {staleAfterSeconds: 180, checkedAt: NOW}))
    expect(new Set(graph.edges.map((e) => e.state))).toEqual(new Set(['idle']))
  })

  it('each peer state maps to an edge state; a peer the plan could not judge (key unknown) is unknown', () => {
    expect(['ok', 'idle', 'stale', 'never', 'missing-peer', 'down', 'unreachable', 'unknown-peer', null].map((s) => edgeStateOfEnd(s as never))).toEqual([
      'up', 'idle', 'stale', 'down', 'down', 'down', 'unknown', 'unknown', 'unknown',
    ])
  })
})
