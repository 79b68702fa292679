/**
 * Renderers of a FleetStatus: a table for people (and cron mail), the --json document (docs/design.md §1
 * shape), and the Prometheus text exposition (for node_exporter's textfile collector). All are
 * deterministic: nodes and peers in plan order, fixed column and metric order.
 */
import {Chalk} from 'chalk'

import type {FleetStatus, NodeStatus, PeerState, PeerStatus} from '../judges/status.js'
import {escapeInvisible, UsageError} from '../lib/errors.js'
import {formatColumns} from './columns.js'

export const STATUS_FORMATS = ['table', 'json', 'prometheus'] as const
export type StatusFormat = (typeof STATUS_FORMATS)[number]

/**
 * Past this many nodes the table summarises (per-node counts, then only the peers that are not ok) and
 * the Prometheus output is per-node aggregates (a million per-peer series is not something to hand
 * Prometheus); --all and --per-peer give the full forms back.
 */
export const STATUS_SUMMARY_THRESHOLD = 50

export type StatusDetail = 'full' | 'summary'

export interface RenderOptions {
  /** Colour the state column (only on a TTY, without NO_COLOR: the command decides). */
  color?: boolean
  /** Table: every peer, or per-node counts and the peers that are not ok (default: by fleet size). */
  detail?: StatusDetail
  /** Prometheus: per-peer series (default: below the threshold only). */
  perPeer?: boolean
}

/** full up to the threshold, summary past it; --all forces full, --summary forces summary. */
export function statusDetail(nodes: number, flags: {all?: boolean; summary?: boolean}): StatusDetail {
  if (flags.all) return 'full'
  if (flags.summary) return 'summary'
  return nodes > STATUS_SUMMARY_THRESHOLD ? 'summary' : 'full'
}

export function renderStatus(status: FleetStatus, format: StatusFormat, options: RenderOptions = {}): string {
  switch (format) {
    case 'json':
      return JSON.stringify(statusToJson(status), null, 2) + '\n'
    case 'prometheus':
      return renderStatusPrometheus(status, {perPeer: options.perPeer ?? status.nodes.length <= STATUS_SUMMARY_THRESHOLD})
    case 'table':
      return renderStatusTable(status, options)
  }
}

// --- JSON -------------------------------------------------------------------------------------------

export function statusToJson(status: FleetStatus) {
  return {...statusJsonHead(status), nodes: status.nodes.map(nodeJson)}
}

/** The document's head fields, for writeJsonDocument (the nodes follow one at a time). */
export function statusJsonHead(status: FleetStatus) {
  return {healthy: status.healthy, problems: status.problems, staleAfterSeconds: status.staleAfterSeconds, checkedAt: status.checkedAt}
}

export function* statusJsonNodes(status: FleetStatus) {
  for (const n of status.nodes) yield nodeJson(n)
}

function nodeJson(n: NodeStatus) {
  return {
      name: n.name,
      reachable: n.reachable,
      interfaceUp: n.interfaceUp,
      ...(n.problem ? {error: n.problem.message, errorKind: n.problem.kind, ...(n.problem.hint ? {hint: n.problem.hint} : {})} : {}),
      nodeTime: n.nodeTime,
      listenPort: n.listenPort,
      publicKey: n.publicKey,
      keyCreatedAt: n.keyAge?.createdAt ?? null,
      keyAgeSeconds: n.keyAge?.ageSeconds ?? null,
      keyAgeDays: n.keyAge?.ageDays ?? null,
      peers: n.peers.map((p) => ({
        name: p.name,
        publicKey: p.publicKey,
        endpoint: p.endpoint,
        latestHandshake: p.latestHandshake,
        ageSeconds: p.ageSeconds,
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        keepalive: p.keepalive,
        state: p.state,
        expected: p.expected,
      })),
  }
}

// --- table ------------------------------------------------------------------------------------------

export const TABLE_COLUMNS = ['node', 'peer', 'endpoint', 'handshake', 'received', 'sent', 'keepalive', 'state'] as const

export function renderStatusTable(status: FleetStatus, options: RenderOptions = {}): string {
  const chalk = new Chalk({level: options.color ? 1 : 0})
  const summary = (options.detail ?? statusDetail(status.nodes.length, {})) === 'summary'
  const rows: Array<{cells: string[]; tone: Tone}> = []
  for (const node of status.nodes) {
    for (const row of nodeRows(node)) if (!summary || row.tone === 'bad' || row.tone === 'warn') rows.push(row)
  }

  // A loop, not Math.max(...rows): a spread of a million rows overflows the stack.
  const widths: number[] = TABLE_COLUMNS.map((head) => head.length)
  for (const row of rows) row.cells.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)))
  // Pad on plain text, colour afterwards: escape codes must not count towards the width.
  const line = (cells: readonly string[], tone?: Tone) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)
        return i === cells.length - 1 && tone ? paint(chalk, tone, padded) : padded
      })
      .join('  ')
      .trimEnd()

  const out: string[] = []
  if (summary) {
    out.push(...formatColumns(status.nodes.map(nodeCounts)))
    out.push('', rows.length === 0 ? 'every peer is ok or idle' : `not ok (${rows.length}):`)
  }
  if (!summary || rows.length > 0) {
    out.push(line(TABLE_COLUMNS))
    for (const r of rows) out.push(line(r.cells, r.tone))
  }
  if (summary) out.push('', 'Every peer: `wgfleet status --all`; one node: `wgfleet status --node NAME`.')
  const hints = status.nodes.filter((n) => n.problem?.hint).map((n) => `${n.name}: hint: ${escapeInvisible(n.problem!.hint!)}`)
  if (hints.length > 0) out.push('', ...hints)
  out.push('', status.healthy ? paint(chalk, 'good', 'healthy') : paint(chalk, 'bad', `UNHEALTHY: ${status.problems} ${status.problems === 1 ? 'problem' : 'problems'}`))
  return out.join('\n') + '\n'
}

type Tone = 'good' | 'quiet' | 'warn' | 'bad'

/** One line per node: "node-0001  999 peers  997 ok, 2 stale" (or why it was not read). */
function nodeCounts(node: NodeStatus): string[] {
  if (!node.reachable || !node.interfaceUp) return [node.name, `${node.peers.length} peers`, node.reachable ? 'down' : 'unreachable']
  const counts = new Map<PeerState, number>()
  for (const p of node.peers) counts.set(p.state, (counts.get(p.state) ?? 0) + 1)
  return [node.name, `${node.peers.length} peers`, [...counts].map(([state, n]) => `${n} ${state}`).join(', ') || '-']
}

function nodeRows(node: NodeStatus): Array<{cells: string[]; tone: Tone}> {
  // Unreachable or down: one row with the reason; the peers' details are unknown or meaningless.
  if (!node.reachable || !node.interfaceUp) {
    const state = node.reachable ? 'down' : 'unreachable'
    // The reason may quote what the host said: never raw to a terminal.
    const reason = node.problem ? `${state}: ${escapeInvisible(node.problem.message)}` : state
    return [{cells: [node.name, '-', '-', '-', '-', '-', '-', reason], tone: 'bad'}]
  }
  if (node.peers.length === 0) return [{cells: [node.name, '-', '-', '-', '-', '-', '-', 'no peers'], tone: 'quiet'}]
  return node.peers.map((p) => ({cells: peerCells(node.name, p), tone: toneOf(p.state)}))
}

function peerCells(node: string, peer: PeerStatus): string[] {
  const seen = peer.state !== 'missing-peer' && peer.state !== 'down' && peer.state !== 'unreachable'
  return [
    node,
    // An unknown key that no node has: the key itself, the one thing that identifies it (`wg set … remove`).
    peer.name ?? peer.publicKey,
    peer.endpoint === null ? '-' : escapeInvisible(peer.endpoint),
    seen ? formatHandshake(peer.ageSeconds) : '-',
    peer.rxBytes === null ? '-' : formatBytes(peer.rxBytes),
    peer.txBytes === null ? '-' : formatBytes(peer.txBytes),
    peer.keepalive > 0 ? `${peer.keepalive} s` : 'off',
    peer.state,
  ]
}

function toneOf(state: PeerState): Tone {
  if (state === 'ok') return 'good'
  if (state === 'idle') return 'quiet'
  if (state === 'stale' || state === 'unknown-peer') return 'warn'
  return 'bad'
}

function paint(chalk: InstanceType<typeof Chalk>, tone: Tone, text: string): string {
  switch (tone) {
    case 'good':
      return chalk.green(text)
    case 'quiet':
      return chalk.dim(text)
    case 'warn':
      return chalk.yellow(text)
    case 'bad':
      return chalk.red(text)
  }
}

/** "12 s ago", "3 min ago", "5 h ago", "2 d ago"; "never" when there was no handshake. */
export function formatHandshake(ageSeconds: number | null): string {
  if (ageSeconds === null) return 'never'
  if (ageSeconds < 60) return `${ageSeconds} s ago`
  if (ageSeconds < 3600) return `${Math.floor(ageSeconds / 60)} min ago`
  if (ageSeconds < 86_400) return `${Math.floor(ageSeconds / 3600)} h ago`
  return `${Math.floor(ageSeconds / 86_400)} d ago`
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const

/** Binary units, as `wg show` prints them: "0 B", "1.5 KiB", "12 MiB". */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${bytes} B`
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${BYTE_UNITS[unit]}`
}

// --- Prometheus -------------------------------------------------------------------------------------

interface Sample {
  labels: Array<[string, string]>
  value: number
}

interface MetricFamily {
  name: string
  help: string
  type: 'gauge' | 'counter'
  samples: Sample[]
}

/**
 * Text exposition format 0.0.4. Every family is written once (HELP, TYPE, then its samples), even with no
 * samples, so that dashboards see the metric names. Peers without a reading (missing, or on a node not
 * reached or down) get only wgfleet_peer_up 0: there is no handshake time or counter to report.
 */
export function renderStatusPrometheus(status: FleetStatus, options: {perPeer?: boolean} = {}): string {
  const perPeer = options.perPeer ?? true
  const families: MetricFamily[] = [
    {name: 'wgfleet_status_healthy', help: '1 when every node is reachable with its interface up and every peer is ok or idle.', type: 'gauge', samples: [{labels: [], value: status.healthy ? 1 : 0}]},
    {name: 'wgfleet_status_problems', help: 'Problems found: unreachable or down nodes, and peers neither ok nor idle.', type: 'gauge', samples: [{labels: [], value: status.problems}]},
    {name: 'wgfleet_status_timestamp_seconds', help: 'Unix time when this status was taken (the clock of the machine running wgfleet).', type: 'gauge', samples: [{labels: [], value: status.checkedAt}]},
    {name: 'wgfleet_node_reachable', help: '1 when wgfleet reached the node and read its interface.', type: 'gauge', samples: []},
    {name: 'wgfleet_node_interface_up', help: '1 when the node\'s WireGuard interface is up.', type: 'gauge', samples: []},
    {name: 'wgfleet_peer_up', help: '1 when the peer is ok (recent handshake) or idle (keepalive off, no recent handshake).', type: 'gauge', samples: []},
    {name: 'wgfleet_peer_last_handshake_seconds', help: 'Unix time of the latest handshake, on the node\'s clock; 0 = never.', type: 'gauge', samples: []},
    {name: 'wgfleet_peer_handshake_age_seconds', help: 'Seconds since the latest handshake, against the node\'s own clock (immune to clock skew); absent when never.', type: 'gauge', samples: []},
    {name: 'wgfleet_peer_receive_bytes_total', help: 'Bytes received from the peer (since the interface came up).', type: 'counter', samples: []},
    {name: 'wgfleet_peer_transmit_bytes_total', help: 'Bytes sent to the peer (since the interface came up).', type: 'counter', samples: []},
  ]
  if (!perPeer) {
    // Past the threshold: per-node aggregates instead of one series per peer.
    families.splice(families.findIndex((f) => f.name === 'wgfleet_peer_up'), families.length)
    families.push({name: 'wgfleet_node_peers', help: 'Peers of the node in each state (ok, stale, never, idle, unknown-peer, missing-peer, down, unreachable).', type: 'gauge', samples: []})
  }
  const byName = new Map(families.map((f) => [f.name, f]))
  const family = (name: string) => byName.get(name)!

  for (const node of status.nodes) {
    const nodeLabels: Array<[string, string]> = [['node', node.name]]
    family('wgfleet_node_reachable').samples.push({labels: nodeLabels, value: node.reachable ? 1 : 0})
    family('wgfleet_node_interface_up').samples.push({labels: nodeLabels, value: node.interfaceUp ? 1 : 0})
    if (!perPeer) {
      const counts = new Map<PeerState, number>()
      for (const p of node.peers) counts.set(p.state, (counts.get(p.state) ?? 0) + 1)
      for (const [state, n] of counts) family('wgfleet_node_peers').samples.push({labels: [...nodeLabels, ['state', state]], value: n})
      continue
    }
    const used = new Set<string>()
    for (const peer of node.peers) {
      // Series must be unique: an unknown key named after a node that is also expected here (old key of
      // a re-keyed node) is labelled by its key instead.
      const label = peer.name !== null && !used.has(peer.name) ? peer.name : peer.publicKey
      used.add(label)
      const labels: Array<[string, string]> = [...nodeLabels, ['peer', label]]
      family('wgfleet_peer_up').samples.push({labels, value: peer.state === 'ok' || peer.state === 'idle' ? 1 : 0})
      if (peer.rxBytes === null || peer.txBytes === null) continue // no reading for this peer
      family('wgfleet_peer_last_handshake_seconds').samples.push({labels, value: peer.latestHandshake ?? 0})
      if (peer.ageSeconds !== null) family('wgfleet_peer_handshake_age_seconds').samples.push({labels, value: peer.ageSeconds})
      family('wgfleet_peer_receive_bytes_total').samples.push({labels, value: peer.rxBytes})
      family('wgfleet_peer_transmit_bytes_total').samples.push({labels, value: peer.txBytes})
    }
  }

  const out: string[] = []
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) out.push(`${f.name}${formatLabels(s.labels)} ${s.value}`)
  }
  return out.join('\n') + '\n'
}

function formatLabels(labels: Array<[string, string]>): string {
  if (labels.length === 0) return ''
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`
}

/** Label values: backslash, double quote and line feed are escaped (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text: backslash and line feed are escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** --json is --format json; combined with another --format it is a usage error (exit 2), not a guess. */
export function chooseFormat(format: StatusFormat | undefined, json: boolean): StatusFormat {
  if (json && format !== undefined && format !== 'json') {
    throw new UsageError(`--json and --format ${format} contradict each other`, 'use one of them')
  }
  return json ? 'json' : (format ?? 'table')
}
