/** Renderers of a ConvergeReport: the summary table for people, and the --json document. */
import Table from 'cli-table3'

import type {ConfigStep, ConvergeReport, NodeSteps, ServiceStep, UnitStep} from '../services/converge-report.js'
import {escapeInvisible} from '../lib/errors.js'

export function convergeToJson(report: ConvergeReport) {
  return {
    command: report.command,
    dryRun: report.dryRun,
    result: report.result,
    durationMs: report.durationMs,
    nodes: report.nodes.map((n) => ({
      name: n.name,
      result: n.result,
      ...(n.error ? {error: n.error} : {}),
      ...(n.hint ? {hint: n.hint} : {}),
      steps: n.steps,
    })),
  }
}

export function renderConvergeText(report: ConvergeReport): string {
  const table = new Table({
    head: ['node', 'distro', 'wireguard', 'key', 'config', 'firewall', 'service', 'handshakes', 'result'],
    style: {head: [], border: [], compact: true},
  })
  for (const n of report.nodes) {
    const s = n.steps
    const wg = s.wireguard ? `${s.wireguard}${s.implementation ? ` (${s.implementation})` : ''}` : '-'
    const handshakes = s.handshakes ? `${s.handshakes.verified}/${s.handshakes.expected}` : '-'
    // distro is the host's PRETTY_NAME: escaped like everything else a host said.
    table.push([n.name, s.distro === undefined ? '-' : escapeInvisible(s.distro), wg, s.key ?? '-', s.config ? CONFIG_WORDS[s.config] : '-', firewallCell(s), serviceCell(s), handshakes, n.result])
  }
  const out = [table.toString()]
  for (const n of report.nodes) {
    if (n.steps.diff) out.push('', `${n.name}: config changes${report.dryRun ? ' (not applied)' : ''}:`, escapeInvisible(n.steps.diff.trimEnd()))
    if (report.dryRun && n.steps.packages?.length) out.push(`${n.name}: would install ${n.steps.packages.join(', ')}`)
    for (const w of n.steps.warnings ?? []) out.push(`${n.name}: warning: ${escapeInvisible(w)}`)
  }
  const failed = report.nodes.filter((n) => n.result === 'failed')
  if (failed.length) {
    out.push('')
    for (const n of failed) out.push(`${n.name}: FAILED: ${escapeInvisible(n.error ?? '')}${n.hint ? `\n  hint: ${escapeInvisible(n.hint)}` : ''}`)
  }
  const changed = report.nodes.filter((n) => n.result === 'changed').length
  const verb = report.dryRun ? 'would change' : 'changed'
  out.push('')
  out.push(
    `${report.command}${report.dryRun ? ' --dry-run' : ''}: ${report.result} — ${report.nodes.length} nodes, ${changed} ${verb}, ${failed.length} failed (${(report.durationMs / 1000).toFixed(1)} s)`,
  )
  return out.join('\n') + '\n'
}

const CONFIG_WORDS: Record<ConfigStep, string> = {
  new: 'new',
  changed: 'changed',
  unchanged: 'unchanged',
  'would-create': 'would create',
  'would-change': 'would change',
}

const SERVICE_WORDS: Record<ServiceStep, string> = {
  running: 'running',
  started: 'started',
  restarted: 'restarted',
  synced: 'synced',
  'would-start': 'would start',
  'would-restart': 'would restart',
  'would-sync': 'would syncconf (no restart)',
  stopped: 'stopped',
  'not-running': 'not running',
}

const UNIT_WORDS: Record<UnitStep, string> = {enabled: 'enabled', 'would-enable': 'would enable', disabled: 'disabled'}

function firewallCell(s: NodeSteps): string {
  switch (s.firewall) {
    case undefined:
      return '-'
    case 'none-active':
      return 'none active'
    case 'open':
      return `${s.firewallName ?? 'firewall'} (open)`
    case 'opened':
      return (s.firewallChanges ?? []).join(', ')
    case 'would-open':
      return `would ${(s.firewallChanges ?? []).join(', ')}`
  }
}

function serviceCell(s: NodeSteps): string {
  if (!s.service) return s.unit ? UNIT_WORDS[s.unit] : '-'
  return s.unit ? `${UNIT_WORDS[s.unit]}, ${SERVICE_WORDS[s.service]}` : SERVICE_WORDS[s.service]
}
