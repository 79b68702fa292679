/** Renderers of a PlanReport: one for people, one for --json (docs/design.md §1 shape). */
import Table from 'cli-table3'

import {hostRoute} from '../plan/index.js'
import type {PlanReport} from '../services/plan.js'

export function planToJson(report: PlanReport) {
  return {
    interface: report.plan.interface,
    cidr: report.plan.cidr,
    nodes: report.nodes.map((n) => ({
      name: n.name,
      address: n.address,
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
      })),
      relayed: n.relayed,
      config: n.config,
      change: n.change,
      diff: n.diff,
    })),
    removed: report.removed,
  }
}

export function renderPlanText(report: PlanReport, options: {showConfig: boolean}): string {
  const out: string[] = []
  const {network} = report.fleet
  out.push(`Network ${network.cidr}, interface ${network.interface}, topology ${network.topology}, ${report.nodes.length} nodes.`)
  for (const node of report.nodes) {
    const roles = [node.forwarding ? 'forwards' : '', node.masquerade ? 'exit (masquerades)' : '', node.fullTunnel ? 'full tunnel' : '']
      .filter(Boolean)
      .join(', ')
    out.push('')
    out.push(`${node.name}  ${node.address}  endpoint ${node.endpoint ?? 'none (behind NAT)'}  listen ${node.listenPort}${roles ? `  [${roles}]` : ''}`)
    const table = new Table({
      head: ['peer', 'endpoint', 'allowed IPs', 'keepalive', 'via'],
      style: {head: [], border: [], compact: true, 'padding-left': 2, 'padding-right': 1},
      chars: borderless,
    })
    for (const peer of node.peers) {
      table.push([peer.name, peer.endpoint ?? '-', peer.allowedIps.join(', '), peer.keepalive ? `${peer.keepalive}s` : 'off', 'direct'])
    }
    for (const route of node.relayed) {
      table.push([route.name, '-', hostRoute(route.address), '-', `relay ${route.via}`])
    }
    out.push(table.toString())
    const change = node.change === 'new' ? 'config: new (never applied)' : node.change === 'changed' ? 'config: changes since last apply:' : 'config: unchanged since last apply'
    out.push(`  ${change}`)
    if (node.change === 'changed') out.push(indent(node.diff.trimEnd(), 4))
    if (options.showConfig) {
      out.push('  rendered config:')
      out.push(indent(node.config.trimEnd(), 4))
    }
  }
  for (const name of report.removed) {
    out.push('')
    out.push(`${name}: in state but no longer in the inventory (run \`wgfleet remove-node ${name}\` to clean it up)`)
  }
  return out.join('\n') + '\n'
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n)
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n')
}

const borderless = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: ' ',
}
