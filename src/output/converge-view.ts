/** Renderers of a ConvergeReport: the summary table for people, and the --json document. */
import Table from 'cli-table3'

import {escapeInvisible} from '../lib/errors.js'
import type {ConfigStep, ConvergeReport, ConvergeWarning, LeftOutReason, NodeResult, NodeSteps, ServiceStep, UnitStep, UnknownKeyCause} from '../services/converge-report.js'
import type {StateProblem} from '../state/state.js'
import {describeKeyRefusal} from '../judges/key-refusal.js'
import {renderRotationLines, rotationsToJson} from './rotation-view.js'

/** A node's preshared keys in this run, by peer name (values are never in a result). */
export function presharedKeyLines(node: string, keys: NodeSteps['presharedKeys']): string[] {
  const lines: string[] = []
  if (keys?.stored?.length) lines.push(`${node}: new preshared key with ${keys.stored.join(', ')}`)
  if (keys?.wouldCreate?.length) lines.push(`${node}: would make a preshared key with ${keys.wouldCreate.join(', ')}`)
  if (keys?.removed?.length) lines.push(`${node}: preshared key removed for ${keys.removed.join(', ')} (no longer a peer)`)
  return lines
}

const HOSTS_WORDS: Record<NonNullable<NodeSteps['hosts']>, string> = {
  written: "the fleet's names written to /etc/hosts",
  removed: "the fleet's names taken out of /etc/hosts",
  'would-write': "would write the fleet's names to /etc/hosts",
  'would-remove': "would take the fleet's names out of /etc/hosts",
}

const PEER_ADD_REFUSED_WORDS: Record<NonNullable<NodeSteps['peerAddRefused']>, string> = {
  digest: 'its config is not the one wgfleet last applied (changed by hand?)',
  down: 'its interface was not up',
  pending: 'an earlier apply there was unfinished',
  'plan-moved': 'its plan changed once the other nodes were probed',
}

export function convergeToJson(report: ConvergeReport) {
  return {
    command: report.command,
    dryRun: report.dryRun,
    result: report.result,
    durationMs: report.durationMs,
    nodes: report.nodes.map((n) => {
      const {error, hint} = failureOf(n, report.interface)
      return {
        name: n.name,
        result: n.result,
        ...(error ? {error} : {}),
        ...(hint ? {hint} : {}),
        ...(n.keyRefusal ? {keyRefusal: n.keyRefusal} : {}),
        steps: n.steps,
      }
    }),
    warnings: report.warnings.map((w) => ({...w, message: describeWarning(w)})),
    ...(report.rotations ? {rotations: rotationsToJson(report.rotations, report.interface)} : {}),
    ...(report.presharedKeys ? {presharedKeys: report.presharedKeys} : {}),
  }
}

/** A failed node's error and hint: its own words, or those of its key refusal. */
/** A node's failure in words, escaped: the error may quote what the host said. */
function failureOf(n: NodeResult, iface: string): {error?: string; hint?: string} {
  const {error, hint} = n.keyRefusal ? describeKeyRefusal(n.name, n.keyRefusal, iface) : {error: n.error, hint: n.hint}
  return {...(error === undefined ? {} : {error: escapeInvisible(error)}), ...(hint === undefined ? {} : {hint: escapeInvisible(hint)})}
}

const LEFT_OUT_WORDS: Record<LeftOutReason, string> = {
  'no-existing-section': 'no section for it',
  'existing-section-unusable': 'its section there is not one wgfleet wrote',
  'key-in-use': "its section there carries another node's key",
  'allowed-ips-in-use': "its section there carries another peer's addresses",
}

const UNKNOWN_KEY_CAUSE_WORDS: Record<UnknownKeyCause, {why: string; until: string}> = {
  'not-reached': {why: 'it was not reached', until: 'once it is reachable'},
  failed: {why: 'it failed before it had a key: see its failure below', until: 'once it converges'},
  refused: {why: 'its report was refused', until: 'once its key is accepted'},
}

const STATE_FIELD_WORDS: Record<StateProblem['field'], string> = {
  entry: 'entry',
  publicKey: 'public key',
  pendingPublicKey: 'pending public key',
  facts: 'host facts',
  appliedAt: 'time of the last apply',
  keyCreatedAt: 'key creation time',
}

export function describeWarning(w: ConvergeWarning): string {
  switch (w.kind) {
    case 'unknown-key': {
      const {why, until} = UNKNOWN_KEY_CAUSE_WORDS[w.cause]
      const parts = [
        ...(w.keptOn.length ? [`kept the existing [Peer] section on ${w.keptOn.join(', ')} as it was`] : []),
        ...(w.leftOutOn.length ? [`left it out on ${w.leftOutOn.map((l) => `${l.node} (${LEFT_OUT_WORDS[l.reason]})`).join(', ')}`] : []),
      ]
      return `${w.node}: public key unknown (not pinned in this machine's state, and ${why}): ${parts.join('; ')}; run init again ${until} to pin its key`
    }
    case 'state-ignored':
      return `.wgfleet/state.json: the ${STATE_FIELD_WORDS[w.field]} of ${JSON.stringify(escapeInvisible(w.node))} is malformed and was ignored (it is not written back; init reads it from the host again)`
    case 'pinned-key-shared':
      return `.wgfleet/state.json pins one public key (${w.publicKey}) to ${w.nodes.join(' and ')}: it is trusted for none of them until each reports a key of its own`
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
  const out = [...(report.rotations ? [...renderRotationLines(report.rotations, report.interface), ''] : []), table.toString()]
  for (const n of report.nodes) {
    if (n.steps.diff) out.push('', `${n.name}: config changes${report.dryRun ? ' (not applied)' : ''}:`, escapeInvisible(n.steps.diff.trimEnd()))
    if (report.dryRun && n.steps.packages?.length) out.push(`${n.name}: would install ${n.steps.packages.join(', ')}`)
    if (n.steps.hosts) out.push(`${n.name}: ${HOSTS_WORDS[n.steps.hosts]}`)
    if (n.steps.peerAddRefused) out.push(`${n.name}: ${PEER_ADD_REFUSED_WORDS[n.steps.peerAddRefused]}: probed and applied in full instead`)
    out.push(...presharedKeyLines(n.name, n.steps.presharedKeys))
    for (const w of n.steps.warnings ?? []) out.push(`${n.name}: warning: ${escapeInvisible(w)}`)
  }
  for (const w of report.warnings) out.push(`warning: ${describeWarning(w)}`)
  const failed = report.nodes.filter((n) => n.result === 'failed')
  if (failed.length) {
    out.push('')
    for (const n of failed) {
      const {error, hint} = failureOf(n, report.interface)
      out.push(`${n.name}: FAILED: ${error}${hint ? `\n  hint: ${hint}` : ''}`)
    }
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
  'peer-added': 'peer added live',
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
