/**
 * Renderers of the mesh graph: Graphviz DOT (the default: `wgfleet graph | dot -Tsvg > mesh.svg`),
 * Mermaid (a flowchart, for Markdown that renders it), and the --json document. Deterministic: nodes in
 * inventory order, edges in the graph's order.
 *
 * Every label is escaped for its language, so no name can end a string, open an attribute, a subgraph
 * or a link, or smuggle HTML: DOT gets quoted IDs with `\` and `"` escaped (and no control character
 * raw); Mermaid gets only letters, digits and a few punctuation marks raw, every other character as an
 * entity code (`#34;`), and node IDs of its own (n1, n2, …), never a name.
 */
import type {EdgeState, LiveEdge, LiveGraph} from '../judges/graph.js'
import {BugError, UsageError} from '../lib/errors.js'
import type {GraphEdge, GraphNode, GraphRole, MeshGraph} from '../plan/graph.js'

export const GRAPH_FORMATS = ['dot', 'mermaid', 'json'] as const
export type GraphFormat = (typeof GRAPH_FORMATS)[number]

export type DrawnGraph = MeshGraph | LiveGraph

/** --json is --format json; the two together must agree. DOT unless asked otherwise. */
export function chooseGraphFormat(format: GraphFormat | undefined, json: boolean): GraphFormat {
  if (json && format !== undefined && format !== 'json') throw new UsageError(`--json and --format ${format} contradict each other`, 'use one of them')
  return json ? 'json' : (format ?? 'dot')
}

export function renderGraph(graph: DrawnGraph, format: GraphFormat): string {
  switch (format) {
    case 'dot':
      return renderDot(graph)
    case 'mermaid':
      return renderMermaid(graph)
    case 'json':
      return JSON.stringify(graphToJson(graph), null, 2) + '\n'
  }
}

const ROLE_WORDS: Record<GraphRole, string> = {relay: 'relay', nat: 'NAT-ed', exit: 'exit'}

/** The colour of each live state (the same in DOT and Mermaid). */
export const EDGE_COLOURS: Record<EdgeState, string> = {
  up: '#2e7d32',
  idle: '#607d8b',
  stale: '#ef6c00',
  unknown: '#9e9e9e',
  down: '#c62828',
}

/** A node's label, line by line: name, overlay address, then what it is (if anything). */
export function nodeLabelLines(node: GraphNode): string[] {
  const roles = [...node.roles.map((r) => ROLE_WORDS[r]), ...(node.exitVia === undefined ? [] : [`exits via ${node.exitVia}`])]
  return [node.name, node.address, ...(roles.length > 0 ? [roles.join(', ')] : [])]
}

/** An edge's label: the relay it goes through, and (live) its state; empty for a plain direct edge. */
export function edgeLabel(edge: GraphEdge | LiveEdge): string {
  const parts = [...(edge.kind === 'relayed' ? [`via ${edge.via}`] : []), ...(edge.exit ? ['exit'] : []), ...(isLiveEdge(edge) ? [edge.state] : [])]
  return parts.join(', ')
}

function isLive(graph: DrawnGraph): graph is LiveGraph {
  return 'healthy' in graph
}

function isLiveEdge(edge: GraphEdge | LiveEdge): edge is LiveEdge {
  return 'state' in edge
}

function summaryLine(graph: DrawnGraph): string {
  const relayed = graph.edges.filter((e) => e.kind === 'relayed').length
  const live = isLive(graph) ? `; live, ${graph.healthy ? 'healthy' : 'UNHEALTHY'}` : ''
  return `wgfleet graph: ${graph.interface} ${graph.cidr} (${graph.topology}), ${graph.nodes.length} nodes, ${graph.edges.length - relayed} direct and ${relayed} relayed pairs${live}`
}

// --- DOT ------------------------------------------------------------------------------------------

/**
 * A DOT quoted string. Inside quotes DOT ends the string only at an unescaped `"`, and in a label a `\`
 * starts an escape (`\n`, `\N`, …), so both are escaped; control characters are written as `\uXXXX`
 * text rather than raw (a raw newline would be kept, a `\` before one would join lines). As a node ID,
 * Graphviz keeps the doubled `\` (it unescapes only `\"`): still one distinct ID per name.
 */
export function dotQuote(text: string): string {
  return `"${controlsAsText(text).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/** Control characters (and line separators) as `\uXXXX` text: drawn visibly, in DOT and Mermaid alike. */
function controlsAsText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A multi-line DOT label: each line escaped, joined with DOT's own centred line break. */
function dotLabel(lines: string[]): string {
  return `"${lines.map((line) => dotQuote(line).slice(1, -1)).join('\\n')}"`
}

function dotAttributes(attributes: Array<[string, string]>): string {
  return attributes.length === 0 ? '' : ` [${attributes.map(([k, v]) => `${k}=${v}`).join(', ')}]`
}

export function renderDot(graph: DrawnGraph): string {
  const lines = [
    `// ${summaryLine(graph)}`,
    '// Solid: a direct tunnel; dashed: through a relay.' + (isLive(graph) ? ' Colour: the handshake state (status).' : ''),
    'graph "wgfleet" {',
    `  graph [label=${dotQuote(`${graph.interface} ${graph.cidr}`)}, labelloc=t, fontname="Helvetica", fontsize=12, layout=dot, rankdir=LR];`,
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ]
  for (const node of graph.nodes) {
    const style: Array<[string, string]> = node.roles.includes('relay') ? [['style', '"rounded,bold"']] : node.roles.includes('nat') ? [['style', '"rounded,filled"'], ['fillcolor', '"#eeeeee"']] : []
    lines.push(`  ${dotQuote(node.name)}${dotAttributes([['label', dotLabel(nodeLabelLines(node))], ...style])};`)
  }
  for (const edge of graph.edges) {
    const attributes: Array<[string, string]> = []
    if (edge.kind === 'relayed') attributes.push(['style', 'dashed'])
    const label = edgeLabel(edge)
    if (label !== '') attributes.push(['label', dotQuote(label)])
    if (isLiveEdge(edge)) {
      const colour = dotQuote(EDGE_COLOURS[edge.state])
      attributes.push(['color', colour], ['fontcolor', colour], ['penwidth', '2'])
    }
    lines.push(`  ${dotQuote(edge.from)} -- ${dotQuote(edge.to)}${dotAttributes(attributes)};`)
  }
  lines.push('}')
  return lines.join('\n') + '\n'
}

// --- Mermaid --------------------------------------------------------------------------------------

const MERMAID_RAW = /[A-Za-z0-9 .:/_,-]/

/**
 * Mermaid text for inside `"…"`: letters, digits, space and `.:/_,-` as they are; every other character
 * as Mermaid's entity code `#NNN;` (decimal), so no quote, bracket, pipe, `<`, backtick or `#` of a name
 * is ever read as syntax or HTML.
 */
export function mermaidText(text: string): string {
  let out = ''
  for (const c of controlsAsText(text)) out += MERMAID_RAW.test(c) ? c : `#${c.codePointAt(0)};`
  return out
}

export function renderMermaid(graph: DrawnGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.name, `n${i + 1}`]))
  const idOf = (name: string) => {
    const id = ids.get(name)
    if (id === undefined) throw new BugError(`the graph has an edge to ${name}, which is not one of its nodes`)
    return id
  }
  const lines = [`%% ${summaryLine(graph)}`, '%% Solid: a direct tunnel; dotted: through a relay.', 'flowchart LR']
  for (const node of graph.nodes) lines.push(`  ${idOf(node.name)}["${nodeLabelLines(node).map(mermaidText).join('<br/>')}"]`)
  const styles: string[] = []
  graph.edges.forEach((edge, i) => {
    const link = edge.kind === 'relayed' ? '-.-' : '---'
    const label = edgeLabel(edge)
    lines.push(`  ${idOf(edge.from)} ${link}${label === '' ? '' : `|"${mermaidText(label)}"|`} ${idOf(edge.to)}`)
    if (isLiveEdge(edge)) styles.push(`  linkStyle ${i} stroke:${EDGE_COLOURS[edge.state]},stroke-width:2px,color:${EDGE_COLOURS[edge.state]}`)
  })
  return [...lines, ...styles].join('\n') + '\n'
}

// --- JSON -----------------------------------------------------------------------------------------

export function graphToJson(graph: DrawnGraph) {
  const live = isLive(graph)
  return {
    interface: graph.interface,
    cidr: graph.cidr,
    topology: graph.topology,
    live,
    ...(live ? {healthy: graph.healthy, staleAfterSeconds: graph.staleAfterSeconds, checkedAt: graph.checkedAt} : {}),
    nodes: graph.nodes.map((n) => ({name: n.name, address: n.address, roles: [...n.roles], exitVia: n.exitVia ?? null})),
    edges: graph.edges.map((e) => ({
      from: e.from,
      to: e.to,
      kind: e.kind,
      via: e.via ?? null,
      exit: e.exit,
      ...(isLiveEdge(e) ? {state: e.state, ends: e.ends.map((end) => ({...end}))} : {}),
    })),
  }
}
