// wgfleet graph against the converged seed fleet: the picture has the planned edges (c–d through the
// relay), Graphviz draws it, `--live` shows every edge up; with node-b's wg-quick stopped, node-b's edges
// are down and the rest up (the relayed c–d included); started again, all up.
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {labExec} from './helpers.js'
import {wgfleet} from './wgfleet.js'

interface GraphDoc {
  live: boolean
  nodes: Array<{name: string; address: string; roles: string[]}>
  edges: Array<{from: string; to: string; kind: string; via: string | null; state?: string}>
}

async function graph(args: string[] = []): Promise<GraphDoc> {
  const r = await wgfleet(['graph', '--json', ...args])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as GraphDoc
}

const edgeStates = (doc: GraphDoc) => Object.fromEntries(doc.edges.map((e) => [`${e.from}–${e.to}`, e.state]))

/** Poll `graph --live` (bounded) until `done` holds. */
async function liveUntil(what: string, done: (states: Record<string, string | undefined>) => boolean, seconds: number) {
  const deadline = Date.now() + seconds * 1000
  let last: Record<string, string | undefined> = {}
  while (Date.now() < deadline) {
    last = edgeStates(await graph(['--live']))
    if (done(last)) return last
    await new Promise((r) => setTimeout(r, 5_000))
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`)
}

const ALL_UP = {
  'node-a–node-b': 'up',
  'node-a–node-c': 'up',
  'node-a–node-d': 'up',
  'node-b–node-c': 'up',
  'node-b–node-d': 'up',
  'node-c–node-d': 'up',
}

beforeAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  await labExec('node-b', 'systemctl start wg-quick@wg0')
})

describe('wgfleet graph on the seed fleet', () => {
  it('the planned picture: node-a relay, c and d NAT-ed and relayed through node-a; dot draws it', async () => {
    const doc = await graph()
    expect(doc.live).toBe(false)
    expect(doc.nodes.map((n) => `${n.name} ${n.address} ${n.roles.join(',')}`)).toEqual([
      'node-a 10.0.0.1/24 relay',
      'node-b 10.0.0.2/24 ',
      'node-c 10.0.0.3/24 nat',
      'node-d 10.0.0.4/24 nat',
    ])
    expect(doc.edges.filter((e) => e.kind === 'relayed')).toEqual([{from: 'node-c', to: 'node-d', kind: 'relayed', via: 'node-a', exit: false}])
    const dot = await wgfleet(['graph', '--live'])
    expect(dot.code, dot.stderr).toBe(0)
    // Graphviz runs on the machine, on text only (it connects nowhere).
    const svg = spawnSync('dot', ['-Tsvg'], {input: dot.stdout, encoding: 'utf8'})
    expect(svg.status, svg.stderr).toBe(0)
    expect(svg.stdout).toContain('</svg>')
  })

  it('--live after init: every edge up, direct and relayed', async () => {
    expect(await liveUntil('every edge up', (s) => Object.values(s).every((v) => v === 'up'), 60)).toEqual(ALL_UP)
  })

  it("--live with node-b's wg-quick stopped: node-b's edges down, the others up; started again (and traffic from the NAT-ed nodes): all up", async () => {
    const stop = await labExec('node-b', 'systemctl stop wg-quick@wg0')
    expect(stop.code, stop.stderr).toBe(0)
    const states = edgeStates(await graph(['--live']))
    expect(states).toEqual({...ALL_UP, 'node-a–node-b': 'down', 'node-b–node-c': 'down', 'node-b–node-d': 'down'})
    const start = await labExec('node-b', 'systemctl start wg-quick@wg0')
    expect(start.code, start.stderr).toBe(0)
    // node-b cannot dial the NAT-ed nodes, and they keep sending keepalives on their old sessions (which
    // node-b no longer knows) until a rekey, up to minutes later. Traffic from them makes WireGuard notice
    // the silence and handshake anew within seconds (ping: bounded by -w).
    for (const node of ['node-c', 'node-d']) await labExec(node, 'ping -c 3 -w 40 10.0.0.2 >/dev/null', {timeoutMs: 60_000})
    expect(await liveUntil('every edge up again', (s) => Object.values(s).every((v) => v === 'up'), 60)).toEqual(ALL_UP)
  })
})
