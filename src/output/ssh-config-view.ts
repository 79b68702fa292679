/** Renderers of an SshConfigReport (`wgfleet ssh-config`): one for people, one for --json. */
import {escapeInvisible} from '../lib/errors.js'
import type {NodeReach, SshConfigReport} from '../services/ssh-config.js'

/** The --json document: `{evaluatedBy, warnings, nodes: [...]}` (README "Reaching hosts"). */
export function sshConfigToJson(report: SshConfigReport) {
  return {
    evaluatedBy: report.evaluatedBy,
    warnings: report.warnings,
    nodes: report.nodes.map((node) => ({
      name: node.name,
      transport: node.transport,
      hops: node.hops.map((hop) => ({name: hop.name, alias: hop.alias, host: hop.host, port: hop.port, user: hop.user})),
      proxyCommand: node.proxyCommand,
      identityFiles: node.identityFiles,
      certificateFiles: node.certificateFiles,
      identitiesOnly: node.identitiesOnly,
      knownHostsFiles: node.knownHostsFiles,
      strictHostKeyChecking: node.strictHostKeyChecking,
      hostKeyAlias: node.hostKeyAlias,
      ...(node.problem ? {problem: node.problem} : {}),
    })),
  }
}

/** One block per node: the path, then what is offered and checked. Config values are escaped: they are text. */
export function renderSshConfigText(report: SshConfigReport): string {
  const out: string[] = [`How each node is reached (the ssh config evaluated by ${report.evaluatedBy}; nothing connected):`]
  for (const warning of report.warnings) out.push(`warning: ${escapeInvisible(warning)}`)
  for (const node of report.nodes) out.push('', ...nodeBlock(node))
  return out.join('\n') + '\n'
}

function nodeBlock(node: NodeReach): string[] {
  const e = escapeInvisible
  const lines = [`${node.name}  (transport ${node.transport})`]
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(14)} ${value}`)
  if (node.hops.length > 0) row('path', node.hops.map((hop) => e(`${hop.user}@${hop.host}:${hop.port}`)).join(' -> '))
  if (node.hops.length > 1) row('via', node.hops.slice(0, -1).map((hop) => e(hop.name)).join(', '))
  if (node.proxyCommand) row('proxy command', e(node.proxyCommand))
  if (node.hops.length > 0) {
    row('identities', `${node.identityFiles.map(e).join(', ') || 'none'}${node.identitiesOnly ? ' (IdentitiesOnly: only these, the agent too)' : ''}`)
    if (node.certificateFiles.length > 0) row('certificates', node.certificateFiles.map(e).join(', '))
    row('known_hosts', node.knownHostsFiles.map(e).join(', ') || 'none')
    row('host keys', `StrictHostKeyChecking ${node.strictHostKeyChecking}${node.hostKeyAlias ? `, filed under HostKeyAlias ${e(node.hostKeyAlias)}` : ''}`)
  }
  if (node.problem) {
    row('PROBLEM', e(node.problem.message))
    if (node.problem.hint) row('hint', e(node.problem.hint))
  }
  return lines
}
