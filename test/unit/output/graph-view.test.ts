/**
 * The graph's renderers: golden DOT, Mermaid and JSON of the seed network (static and live); Graphviz's
 * own `dot` accepts the DOT and draws exactly the nodes and edges meant; the Mermaid lists the same edges
 * as the DOT; and names made to break out of a string (quotes, backslashes, brackets, pipes, HTML,
 * newlines, entity codes) come out as plain text in both.
 *
 * `dot` is Debian's graphviz package: `test/lab/lab setup` installs it (CI runs that first).
 */
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {judgeGraph} from '../../../src/judges/graph.js'
import {buildFleetStatus, buildNodeStatus, downNodeStatus} from '../../../src/judges/status.js'
import {chooseGraphFormat, dotQuote, mermaidText, renderDot, renderGraph, renderMermaid} from '../../../src/output/graph-view.js'
import {buildMeshGraph, planFleet, type MeshGraph} from '../../../src/plan/index.js'
import {fleet, KEYS, NODE_D, SCENARIO} from '../plan/fixtures.js'

const SEED_FLEET = fleet([...SCENARIO, NODE_D])
const SEED = buildMeshGraph(SEED_FLEET)
const NOW = 1_700_000_000

/** The seed network read live with node-b's interface stopped. */
function liveSeed() {
  const plan = planFleet(SEED_FLEET, {publicKeys: {...KEYS}}, {omitPeersWithoutKey: true})
  const names = new Map(Object.entries(KEYS).map(([name, key]) => [key as string, name]))
  const nodes = plan.nodes.map((p) =>
    p.name === 'node-b'
      ? downNodeStatus(p, {kind: 'interface-absent', message: 'interface wg0 does not exist'}, NOW)
      : buildNodeStatus(p, p.peers.map((peer) => ({publicKey: peer.publicKey!, presharedKey: false, endpoint: null, allowedIps: peer.allowedIps, latestHandshake: NOW - 5, rxBytes: 1, txBytes: 1, keepalive: 25})), NOW, 180, names),
  )
  return judgeGraph(SEED, buildFleetStatus(nodes, {staleAfterSeconds: 180, checkedAt: NOW}))
}

/** Graphviz's own reading of a DOT text (`dot -Tjson`): node names and labels, edges with their style. */
function graphviz(dot: string, format = 'json') {
  const result = spawnSync('dot', [`-T${format}`], {input: dot, encoding: 'utf8', timeout: 20_000})
  if (result.error) throw new Error(`Graphviz's dot is not installed (run \`test/lab/lab setup\`, or apt-get install graphviz): ${result.error.message}`)
  expect(result.status, result.stderr).toBe(0)
  expect(result.stderr).toBe('')
  return result.stdout
}

interface DotJson {
  objects?: Array<{_gvid: number; name: string; label: string}>
  edges?: Array<{tail: number; head: number; style?: string; label?: string; color?: string}>
}

/** Edges as Graphviz parsed them: "from -- to (solid|dashed) [label]". */
function dotEdges(dot: string): string[] {
  const doc = JSON.parse(graphviz(dot)) as DotJson
  // As a node ID Graphviz keeps the doubled backslash (it unescapes only \"): undone here to get the name.
  const names = new Map((doc.objects ?? []).map((o) => [o._gvid, o.name.replaceAll('\\\\', '\\')]))
  return (doc.edges ?? []).map((e) => `${names.get(e.tail)} -- ${names.get(e.head)} (${e.style === 'dashed' ? 'dashed' : 'solid'})${e.label ? ` [${e.label.replaceAll('\\\\', '\\').replaceAll('\\"', '"')}]` : ''}`)
}

/** The visible text of Graphviz's SVG drawing, one line per <text>, XML entities decoded. */
function drawnText(dot: string): string[] {
  const svg = graphviz(dot, 'svg')
  const decode = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n))).replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&amp;', '&')
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1]!))
}

/**
 * A Mermaid flowchart as wgfleet writes it, read strictly: node lines `ID["label"]`, link lines
 * `ID --- ID` / `ID -.- ID` with an optional `|"label"|`; entity codes decoded; any other line fails.
 */
function mermaidEdges(text: string): {nodes: Map<string, string[]>; edges: string[]} {
  const decode = (s: string) => s.replace(/#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
  const nodes = new Map<string, string[]>()
  const edges: string[] = []
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('%%') || line === 'flowchart LR' || /^ {2}linkStyle \d+ [a-z:#0-9,-]+$/.test(line)) continue
    const node = /^ {2}(n\d+)\["([^"]*)"\]$/.exec(line)
    if (node) {
      nodes.set(node[1]!, node[2]!.split('<br/>').map(decode))
      continue
    }
    const link = /^ {2}(n\d+) (---|-\.-)(?:\|"([^"]*)"\|)? (n\d+)$/.exec(line)
    if (!link) throw new Error(`not a line wgfleet writes: ${line}`)
    const name = (id: string) => nodes.get(id)?.[0] ?? `(unknown ${id})`
    edges.push(`${name(link[1]!)} -- ${name(link[4]!)} (${link[2] === '-.-' ? 'dashed' : 'solid'})${link[3] ? ` [${decode(link[3])}]` : ''}`)
  }
  return {nodes, edges}
}

const SEED_DOT = `// wgfleet graph: wg0 10.0.0.0/24 (mesh), 4 nodes, 5 direct and 1 relayed pairs
// Solid: a direct tunnel; dashed: through a relay.
graph "wgfleet" {
  graph [label="wg0 10.0.0.0/24", labelloc=t, fontname="Helvetica", fontsize=12, layout=dot, rankdir=LR];
  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=9];
  "node-a" [label="node-a\\n10.0.0.1/24\\nrelay", style="rounded,bold"];
  "node-b" [label="node-b\\n10.0.0.2/24"];
  "node-c" [label="node-c\\n10.0.0.3/24\\nNAT-ed", style="rounded,filled", fillcolor="#eeeeee"];
  "node-d" [label="node-d\\n10.0.0.4/24\\nNAT-ed", style="rounded,filled", fillcolor="#eeeeee"];
  "node-a" -- "node-b";
  "node-a" -- "node-c";
  "node-a" -- "node-d";
  "node-b" -- "node-c";
  "node-b" -- "node-d";
  "node-c" -- "node-d" [style=dashed, label="via node-a"];
}
`

const SEED_MERMAID = `%% wgfleet graph: wg0 10.0.0.0/24 (mesh), 4 nodes, 5 direct and 1 relayed pairs
%% Solid: a direct tunnel; dotted: through a relay.
flowchart LR
  n1["node-a<br/>10.0.0.1/24<br/>relay"]
  n2["node-b<br/>10.0.0.2/24"]
  n3["node-c<br/>10.0.0.3/24<br/>NAT-ed"]
  n4["node-d<br/>10.0.0.4/24<br/>NAT-ed"]
  n1 --- n2
  n1 --- n3
  n1 --- n4
  n2 --- n3
  n2 --- n4
  n3 -.-|"via node-a"| n4
`

const LIVE_DOT_EDGES = `  "node-a" -- "node-b" [label="down", color="#c62828", fontcolor="#c62828", penwidth=2];
  "node-a" -- "node-c" [label="up", color="#2e7d32", fontcolor="#2e7d32", penwidth=2];
  "node-a" -- "node-d" [label="up", color="#2e7d32", fontcolor="#2e7d32", penwidth=2];
  "node-b" -- "node-c" [label="down", color="#c62828", fontcolor="#c62828", penwidth=2];
  "node-b" -- "node-d" [label="down", color="#c62828", fontcolor="#c62828", penwidth=2];
  "node-c" -- "node-d" [style=dashed, label="via node-a, up", color="#2e7d32", fontcolor="#2e7d32", penwidth=2];
}
`

const LIVE_MERMAID_TAIL = `  n1 ---|"down"| n2
  n1 ---|"up"| n3
  n1 ---|"up"| n4
  n2 ---|"down"| n3
  n2 ---|"down"| n4
  n3 -.-|"via node-a, up"| n4
  linkStyle 0 stroke:#c62828,stroke-width:2px,color:#c62828
  linkStyle 1 stroke:#2e7d32,stroke-width:2px,color:#2e7d32
  linkStyle 2 stroke:#2e7d32,stroke-width:2px,color:#2e7d32
  linkStyle 3 stroke:#c62828,stroke-width:2px,color:#c62828
  linkStyle 4 stroke:#c62828,stroke-width:2px,color:#c62828
  linkStyle 5 stroke:#2e7d32,stroke-width:2px,color:#2e7d32
`

/** Names no inventory lets through, each made to break out of a DOT or Mermaid string. */
const HOSTILE: MeshGraph = {
  interface: 'wg0',
  cidr: '10.0.0.0/24',
  topology: 'mesh',
  nodes: [
    {name: 'a"; "evil" -- "x', address: '10.0.0.1/24', roles: ['relay']},
    {name: 'b\\N\\n\\"] end', address: '10.0.0.2/24', roles: []},
    {name: 'c<b onclick=x>|x|</b>`**m**`', address: '10.0.0.3/24', roles: ['nat']},
    {name: 'd\nnext line #35; #quot; %% x', address: '10.0.0.4/24', roles: ['nat'], exitVia: 'a"; "evil" -- "x'},
  ],
  edges: [
    {from: 'a"; "evil" -- "x', to: 'b\\N\\n\\"] end', kind: 'direct', exit: false},
    {from: 'a"; "evil" -- "x', to: 'd\nnext line #35; #quot; %% x', kind: 'direct', exit: true},
    {from: 'c<b onclick=x>|x|</b>`**m**`', to: 'd\nnext line #35; #quot; %% x', kind: 'relayed', via: 'a"; "evil" -- "x', exit: false},
  ],
}

describe('graph renderers', () => {
  it('DOT of the seed network (golden)', () => {
    expect(renderDot(SEED)).toBe(SEED_DOT)
    expect(renderGraph(SEED, 'dot')).toBe(SEED_DOT)
  })

  it('Mermaid of the seed network (golden)', () => {
    expect(renderMermaid(SEED)).toBe(SEED_MERMAID)
  })

  it('live: each edge coloured and labelled by its state (golden)', () => {
    const graph = liveSeed()
    const dot = renderDot(graph)
    expect(dot.split('\n')[0]).toBe('// wgfleet graph: wg0 10.0.0.0/24 (mesh), 4 nodes, 5 direct and 1 relayed pairs; live, UNHEALTHY')
    expect(dot.endsWith(LIVE_DOT_EDGES)).toBe(true)
    expect(renderMermaid(graph).endsWith(LIVE_MERMAID_TAIL)).toBe(true)
  })

  it('JSON: nodes and edges as built, live state and ends with --live', () => {
    const doc = JSON.parse(renderGraph(SEED, 'json'))
    expect(doc).toMatchObject({interface: 'wg0', cidr: '10.0.0.0/24', topology: 'mesh', live: false})
    expect(doc.nodes[0]).toEqual({name: 'node-a', address: '10.0.0.1/24', roles: ['relay'], exitVia: null})
    expect(doc.edges.at(-1)).toEqual({from: 'node-c', to: 'node-d', kind: 'relayed', via: 'node-a', exit: false})
    const live = JSON.parse(renderGraph(liveSeed(), 'json'))
    expect(live).toMatchObject({live: true, healthy: false, staleAfterSeconds: 180, checkedAt: NOW})
    expect(live.edges[0]).toEqual({
      from: 'node-a', to: 'node-b', kind: 'direct', via: null, exit: false, state: 'down',
      ends: [{node: 'node-a', peer: 'node-b', state: 'ok'}, {node: 'node-b', peer: 'node-a', state: 'down'}],
    })
  })

  it("Graphviz's dot accepts the DOT, static and live, and reads exactly the edges meant", () => {
    const expected = [
      'node-a -- node-b (solid)',
      'node-a -- node-c (solid)',
      'node-a -- node-d (solid)',
      'node-b -- node-c (solid)',
      'node-b -- node-d (solid)',
      'node-c -- node-d (dashed) [via node-a]',
    ]
    expect(dotEdges(renderDot(SEED))).toEqual(expected)
    expect(dotEdges(renderDot(liveSeed()))).toHaveLength(6)
    expect(graphviz(renderDot(liveSeed()), 'svg')).toMatch(/^<\?xml/)
  })

  it('Mermaid lists the same nodes and edges as the DOT (static and live)', () => {
    for (const graph of [SEED, liveSeed(), HOSTILE]) {
      const mermaid = mermaidEdges(renderMermaid(graph))
      expect(mermaid.edges).toEqual(dotEdges(renderDot(graph)))
      // Names as drawn: a control character as \uXXXX text, in both languages.
      expect([...mermaid.nodes.values()].map((lines) => lines[0])).toEqual(graph.nodes.map((n) => n.name.replace('\n', '\\u000a')))
    }
  })

  it('DOT: hostile names stay names — Graphviz reads the same nodes and edges, and draws the labels as plain text', () => {
    const dot = renderDot(HOSTILE)
    const doc = JSON.parse(graphviz(dot)) as DotJson
    // One node per name, each its own ID (backslashes doubled, the newline written as text).
    expect((doc.objects ?? []).map((o) => o.name)).toEqual(HOSTILE.nodes.map((n) => n.name.replace('\n', '\\u000a').replaceAll('\\', '\\\\')))
    expect(doc.edges).toHaveLength(3)
    const text = drawnText(dot)
    // Every label line drawn as it is: no \N substituted, no line break smuggled in, no HTML.
    expect(text).toContain('a"; "evil" -- "x')
    expect(text).toContain('b\\N\\n\\"] end')
    expect(text).toContain('c<b onclick=x>|x|</b>`**m**`')
    expect(text).toContain('d\\u000anext line #35; #quot; %% x')
    expect(text).toContain('NAT-ed, exits via a"; "evil" -- "x')
    expect(text).toContain('via a"; "evil" -- "x')
  })

  it('Mermaid: hostile names become entity codes; no quote, bracket, pipe, <, backtick, # or newline is left raw', () => {
    const mermaid = renderMermaid(HOSTILE)
    const body = mermaid.split('\n').filter((l) => l.startsWith('  '))
    for (const line of body) {
      const inside = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!.replaceAll('<br/>', ''))
      for (const text of inside) expect(text).toMatch(/^[A-Za-z0-9 .:/_,;#-]*$/)
    }
    expect(mermaid.split('\n')).toHaveLength(3 + 4 + 3 + 1)
    expect(mermaidText('a"|[]<>`#\n')).toBe('a#34;#124;#91;#93;#60;#62;#96;#35;#92;u000a')
  })

  it('dotQuote escapes backslash and quote, and writes control characters as text', () => {
    expect(dotQuote('a\\b"c')).toBe('"a\\\\b\\"c"')
    expect(dotQuote('x\ny\u0000')).toBe('"x\\\\u000ay\\\\u0000"')
  })

  it('the format: dot by default, --json is json, the two contradicting is a usage error', () => {
    expect(chooseGraphFormat(undefined, false)).toBe('dot')
    expect(chooseGraphFormat('mermaid', false)).toBe('mermaid')
    expect(chooseGraphFormat(undefined, true)).toBe('json')
    expect(() => chooseGraphFormat('dot', true)).toThrow(/contradict/)
  })
})
