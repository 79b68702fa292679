/**
 * The mesh graph: built from the planner's own links, so each edge agrees with the configs — a direct
 * edge exactly when both nodes have a peer entry for each other, a relayed edge exactly when a relay's
 * AllowedIPs carry the pair (checked against planFleet's output, not against a second rule).
 */
import {describe, expect, it} from 'vitest'

import {buildMeshGraph, planFleet} from '../../../src/plan/index.js'
import type {Fleet} from '../../../src/inventory/model.js'
import {allKeys, fleet, NODE_D, type NodeInput, SCENARIO} from './fixtures.js'

const SEED = [...SCENARIO, NODE_D]

const pairs = (f: Fleet, kind: 'direct' | 'relayed') =>
  buildMeshGraph(f)
    .edges.filter((e) => e.kind === kind)
    .map((e) => `${e.from}–${e.to}${e.via ? ` via ${e.via}` : ''}`)

/** What the rendered plan says: pairs with entries both ways, and pairs carried by a relay's AllowedIPs. */
function planPairs(f: Fleet) {
  const plan = planFleet(f, {publicKeys: allKeys()})
  const order = new Map(f.nodes.map((n, i) => [n.name, i]))
  const key = (a: string, b: string) => (order.get(a)! < order.get(b)! ? `${a}–${b}` : `${b}–${a}`)
  const entries = new Set(plan.nodes.flatMap((n) => n.peers.map((p) => `${n.name}→${p.name}`)))
  const direct = new Set<string>()
  for (const entry of entries) {
    const [a, b] = entry.split('→') as [string, string]
    expect(entries.has(`${b}→${a}`), `${entry} has no entry back`).toBe(true)
    direct.add(key(a, b))
  }
  const relayed = new Set<string>()
  for (const n of plan.nodes) {
    for (const r of n.relayed) relayed.add(`${key(n.name, r.name)} via ${r.via}`)
    // A hub: the first relay's entry carries the overlay for every node without an entry of its own.
    if (n.overlayVia) for (const other of f.nodes) if (other.name !== n.name && !entries.has(`${n.name}→${other.name}`)) relayed.add(`${key(n.name, other.name)} via ${n.overlayVia}`)
  }
  return {direct: [...direct].sort(), relayed: [...relayed].sort()}
}

function expectAgreesWithPlan(f: Fleet) {
  const expected = planPairs(f)
  expect(pairs(f, 'direct').sort()).toEqual(expected.direct)
  expect(pairs(f, 'relayed').sort()).toEqual(expected.relayed)
  // Every pair of nodes talks, one way or the other, exactly once.
  const n = f.nodes.length
  expect(buildMeshGraph(f).edges).toHaveLength((n * (n - 1)) / 2)
}

describe('buildMeshGraph', () => {
  it('the seed network: node-a relay, node-b public, node-c and node-d NAT-ed and relayed through node-a', () => {
    const graph = buildMeshGraph(fleet(SEED))
    expect(graph).toEqual({
      interface: 'wg0',
      cidr: '10.0.0.0/24',
      topology: 'mesh',
      nodes: [
        {name: 'node-a', address: '10.0.0.1/24', roles: ['relay']},
        {name: 'node-b', address: '10.0.0.2/24', roles: []},
        {name: 'node-c', address: '10.0.0.3/24', roles: ['nat']},
        {name: 'node-d', address: '10.0.0.4/24', roles: ['nat']},
      ],
      edges: [
        {from: 'node-a', to: 'node-b', kind: 'direct', exit: false},
        {from: 'node-a', to: 'node-c', kind: 'direct', exit: false},
        {from: 'node-a', to: 'node-d', kind: 'direct', exit: false},
        {from: 'node-b', to: 'node-c', kind: 'direct', exit: false},
        {from: 'node-b', to: 'node-d', kind: 'direct', exit: false},
        {from: 'node-c', to: 'node-d', kind: 'relayed', via: 'node-a', exit: false},
      ],
    })
    expectAgreesWithPlan(fleet(SEED))
  })

  it('exit_via: the exit node has the exit role, the node says whom it exits via, their edge is marked', () => {
    const f = fleet([...SCENARIO.slice(0, 2), {...SCENARIO[2]!, exitVia: 'node-b'}, NODE_D])
    const graph = buildMeshGraph(f)
    expect(graph.nodes.find((n) => n.name === 'node-b')).toEqual({name: 'node-b', address: '10.0.0.2/24', roles: ['exit']})
    expect(graph.nodes.find((n) => n.name === 'node-c')).toEqual({name: 'node-c', address: '10.0.0.3/24', roles: ['nat'], exitVia: 'node-b'})
    expect(graph.edges.filter((e) => e.exit)).toEqual([{from: 'node-b', to: 'node-c', kind: 'direct', exit: true}])
    expectAgreesWithPlan(f)
  })

  it('a relay = true node behind NAT is no relay (it cannot relay): no relay role', () => {
    const f = fleet([{name: 'pub', address: '10.0.0.1', relay: true}, {name: 'home', address: '10.0.0.2', nat: true, relay: true}])
    expect(buildMeshGraph(f).nodes.map((n) => n.roles)).toEqual([['relay'], ['nat']])
  })

  it('a full mesh of public nodes: every pair direct, none relayed', () => {
    const f = fleet(Array.from({length: 6}, (_, i): NodeInput => ({name: `n${i}`, address: `10.0.0.${i + 1}`})))
    expect(pairs(f, 'relayed')).toEqual([])
    expectAgreesWithPlan(f)
  })

  it('hub topology: spokes peer with the relays only, and reach each other through the first relay', () => {
    const nodes: NodeInput[] = [
      {name: 'hub-1', address: '10.0.0.1', relay: true},
      {name: 'hub-2', address: '10.0.0.2', relay: true},
      {name: 's1', address: '10.0.0.3'},
      {name: 's2', address: '10.0.0.4', nat: true},
      {name: 's3', address: '10.0.0.5', exitVia: 'hub-2'},
    ]
    const f = fleet(nodes, {topology: 'hub'})
    expect(pairs(f, 'relayed').sort()).toEqual(['s1–s2 via hub-1', 's1–s3 via hub-1', 's2–s3 via hub-1'])
    expect(buildMeshGraph(f).topology).toBe('hub')
    expectAgreesWithPlan(f)
  })

  it('many NAT-ed nodes behind one relay, mixed with public ones: agrees with the plan', () => {
    const nodes: NodeInput[] = Array.from({length: 12}, (_, i) => ({name: `n${i}`, address: `10.0.0.${i + 1}`, nat: i % 3 !== 0, relay: i === 3}))
    expectAgreesWithPlan(fleet(nodes))
  })

  it('is O(N²): a 300-node mesh (44,850 pairs) builds in well under a second', () => {
    const f = fleet(Array.from({length: 300}, (_, i): NodeInput => ({name: `n${i}`, address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, nat: i % 2 === 1, relay: i === 0})), {cidr: '10.0.0.0/16', prefixLength: 16})
    const started = performance.now()
    const graph = buildMeshGraph(f)
    expect(graph.edges).toHaveLength((300 * 299) / 2)
    expect(performance.now() - started).toBeLessThan(1500)
  })
})
