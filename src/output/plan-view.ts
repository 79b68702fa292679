/**
 * Renderers of a PlanReport: one for people, one for --json (docs/design.md §1 shape). Both read the
 * report's nodes one at a time and hand back text as they go, so the cost and the memory follow the
 * output, not the mesh held whole.
 *
 * For people, up to PLAN_SUMMARY_THRESHOLD nodes every node's peer table is printed; past it (or with
 * --summary) one line per node and totals, with each change summarised per peer section — `--all` or
 * `--node NAME` give the full tables.
 */
import {hostRoute, type ConfigChangeSummary} from '../plan/index.js'
import type {PlannedNode, PlanReport} from '../services/plan.js'
import {formatColumns} from './columns.js'

/** Above this many nodes, `plan` prints a summary unless asked for every table (`--all`). */
export const PLAN_SUMMARY_THRESHOLD = 50

export type PlanTextMode = 'full' | 'summary'

export interface PlanTextOptions {
  showConfig: boolean
  mode: PlanTextMode
}

/** full up to the threshold, summary past it; --all forces full, --summary forces summary. */
export function planTextMode(nodes: number, flags: {all?: boolean; summary?: boolean; node?: string}): PlanTextMode {
  if (flags.all || flags.node !== undefined) return 'full'
  if (flags.summary) return 'summary'
  return nodes > PLAN_SUMMARY_THRESHOLD ? 'summary' : 'full'
}

/** The plan document in parts, for writeJsonDocument: the head fields, and the nodes one at a time. */
export function planJsonParts(report: PlanReport) {
  return {
    head: {interface: report.interface, cidr: report.cidr, removed: report.removed},
    nodes: mapAsync(report.nodes, planNodeJson),
  }
}

/** The whole document as one value (tests, small fleets). */
export async function planToJson(report: PlanReport) {
  const {head, nodes} = planJsonParts(report)
  const all = []
  for await (const node of nodes) all.push(node)
  return {interface: head.interface, cidr: head.cidr, nodes: all, removed: head.removed}
}

function planNodeJson(n: PlannedNode) {
  return {
    name: n.name,
    address: n.address,
    ...(n.address6 === undefined ? {} : {address6: n.address6}),
    endpoint: n.endpoint,
    listenPort: n.listenPort,
    forwarding: n.forwarding,
    peers: n.peers.map((p) => ({
      name: p.name,
      publicKey: p.publicKey,
      endpoint: p.endpoint,
      allowedIps: p.allowedIps,
      keepalive: p.keepalive,
      via: p.via,
      relays: p.relays,
      exit: p.exit,
      ...(p.overlay ? {overlay: true} : {}),
      // Whether the entry carries the pair's preshared key (never its value: that exists on the hosts only).
      ...(p.presharedKey ? {presharedKey: true} : {}),
      ...(p.client ? {client: true} : {}),
      ...(p.clients && p.clients.length > 0 ? {clients: p.clients} : {}),
    })),
    relayed: n.relayed,
    ...(n.overlayVia === undefined ? {} : {overlayVia: n.overlayVia}),
    config: n.config,
    change: n.change,
    diff: n.diff,
    ...(n.summary ? {changeSummary: n.summary} : {}),
  }
}

/** The text for people, chunk by chunk (a node at a time). */
export async function* renderPlanText(report: PlanReport, options: PlanTextOptions): AsyncGenerator<string> {
  const {network} = report.fleet
  yield `Network ${network.cidr}, interface ${network.interface}, topology ${network.topology}, ${report.fleet.nodes.length} nodes.\n`
  const totals = {nodes: 0, peers: 0, relayed: 0, new: 0, changed: 0, unchanged: 0}
  for await (const node of report.nodes) {
    totals.nodes++
    totals.peers += node.peers.length
    totals.relayed += node.relayed.length
    totals[node.change]++
    yield options.mode === 'full' ? fullNode(node, options.showConfig) : summaryLine(node)
  }
  if (options.mode === 'summary') {
    yield `\n${totals.nodes} nodes, ${totals.peers} peer entries, ${totals.relayed} routes through a relay; configs: ${totals.new} new, ${totals.changed} changed, ${totals.unchanged} unchanged.\n`
    yield 'Every peer table: `wgfleet plan --all`; one node in full (with its diff): `wgfleet plan --node NAME`.\n'
  }
  for (const name of report.removed) yield `\n${name}: in state but no longer in the inventory (run \`wgfleet remove-node ${name}\` to clean it up)\n`
}

/** Collect the chunks (tests and small outputs). */
export async function planTextOf(report: PlanReport, options: PlanTextOptions): Promise<string> {
  let text = ''
  for await (const chunk of renderPlanText(report, options)) text += chunk
  return text
}

function roles(node: PlannedNode): string {
  return [node.forwarding ? 'forwards' : '', node.masquerade ? 'exit (masquerades)' : '', node.fullTunnel ? 'full tunnel' : ''].filter(Boolean).join(', ')
}

function fullNode(node: PlannedNode, showConfig: boolean): string {
  const role = roles(node)
  const out = ['', `${node.name}  ${node.address}${node.address6 === undefined ? '' : ` ${node.address6}`}  endpoint ${node.endpoint ?? 'none (behind NAT)'}  listen ${node.listenPort}${role ? `  [${role}]` : ''}`]
  const rows: string[][] = [['peer', 'endpoint', 'allowed IPs', 'keepalive', 'via']]
  // A roaming client's entry: it dials in from wherever it is (no endpoint, no keepalive of ours).
  for (const peer of node.peers) rows.push([peer.name, peer.endpoint ?? (peer.client ? 'roaming' : '-'), peer.allowedIps.join(', '), peer.keepalive ? `${peer.keepalive}s` : 'off', peer.client ? 'client' : 'direct'])
  for (const route of node.relayed) rows.push([route.name, '-', [hostRoute(route.address), ...(route.address6 === undefined ? [] : [`${route.address6}/128`])].join(', '), '-', `relay ${route.via}`])
  if (node.overlayVia !== undefined) rows.push(['(every other node)', '-', '(in the overlay network)', '-', `relay ${node.overlayVia}`])
  out.push(...formatColumns(rows, {indent: 2, gap: 4}))
  const change = node.change === 'new' ? 'config: new (never applied)' : node.change === 'changed' ? 'config: changes since last apply:' : 'config: unchanged since last apply'
  out.push(`  ${change}`)
  if (node.change === 'changed') out.push(indent(node.diff.trimEnd(), 4))
  if (showConfig) out.push('  rendered config:', indent(node.config.trimEnd(), 4))
  return out.join('\n') + '\n'
}

function summaryLine(node: PlannedNode): string {
  const role = roles(node)
  const relayed =
    node.overlayVia !== undefined
      ? `, the rest through ${node.overlayVia}`
      : node.relayed.length > 0
        ? `, ${node.relayed.length} through ${[...new Set(node.relayed.map((r) => r.via))].join(', ')}`
        : ''
  const change = node.change === 'changed' && node.summary ? `changed: ${describeChange(node.summary)}` : node.change
  return `${node.name}  ${node.address}  ${node.endpoint ?? 'behind NAT'}  ${node.peers.length} peers${relayed}${role ? `  [${role}]` : ''}  config ${change}\n`
}

const FIELD_WORDS: Record<string, string> = {
  PersistentKeepalive: 'keepalive',
  AllowedIPs: 'AllowedIPs',
  Endpoint: 'endpoint',
  PublicKey: 'key',
}

/** "3 peers added; keepalive 15→25 on 58 peers; [Interface] ListenPort changed". */
export function describeChange(summary: ConfigChangeSummary): string {
  const parts: string[] = []
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`
  if (summary.peersAdded) parts.push(`${plural(summary.peersAdded, 'peer')} added`)
  if (summary.peersRemoved) parts.push(`${plural(summary.peersRemoved, 'peer')} removed`)
  for (const c of summary.fieldChanges.slice(0, 3)) {
    const what = FIELD_WORDS[c.field] ?? c.field
    const from = c.from === '' ? '(none)' : short(c.from)
    const to = c.to === '' ? '(none)' : short(c.to)
    parts.push(`${what} ${from}→${to} on ${plural(c.peers, 'peer')}`)
  }
  if (summary.fieldChanges.length > 3) parts.push(`${summary.fieldChanges.length - 3} more kinds of peer change`)
  if (summary.interfaceFields.length) parts.push(`[Interface] ${summary.interfaceFields.join(', ')} changed`)
  return parts.length ? parts.join('; ') : 'comments or order only'
}

function short(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}…` : value
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n)
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n')
}

async function* mapAsync<T, R>(items: AsyncIterable<T>, fn: (item: T) => R): AsyncGenerator<R> {
  for await (const item of items) yield fn(item)
}
