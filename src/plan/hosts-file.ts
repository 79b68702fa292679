/**
 * wgfleet's block of /etc/hosts (`[network] hosts_file = true`): every node's overlay address with its
 * name, and NAME.DOMAIN when `domain` is set, between marker lines that name the interface (two wgfleet
 * networks on one host keep two blocks). The same block goes to every node. hosts.sh writes it; probe.sh
 * and doctor.sh report only a digest of the block a host has, compared here with the planned one.
 */
import {createHash} from 'node:crypto'

import type {Fleet} from '../inventory/model.js'

export function hostsMarkers(iface: string): {begin: string; end: string} {
  return {begin: `# BEGIN wgfleet ${iface}`, end: `# END wgfleet ${iface}`}
}

/** The block, marker lines included, ending in "\n"; undefined when the inventory does not ask for one. */
export function renderHostsBlock(fleet: Fleet): string | undefined {
  const names = fleet.network.hostsFile
  if (!names) return undefined
  const {begin, end} = hostsMarkers(fleet.network.interface)
  // Node names are [a-z0-9-] labels and the domain is checked labels: nothing here needs quoting.
  const lines = fleet.nodes.map((n) => [n.address, n.name, ...(names.domain ? [`${n.name}.${names.domain}`] : [])].join(' '))
  return [begin, ...lines, end, ''].join('\n')
}

/** What a host reports of its block: the SHA-256 (hex) of its text, `none`, or `unknown` (no sha256sum). */
export function hostsBlockDigest(block: string): string {
  return createHash('sha256').update(block).digest('hex')
}

export type HostsAction = 'write' | 'remove' | 'none'

/**
 * What a node's /etc/hosts needs: the planned block when the host's differs (or it has none), its removal
 * when the inventory no longer asks for one (hosts_file turned off), else nothing. `reported` is the
 * probe's digest; a host that could not say (`unknown`) gets the block written (hosts.sh then finds it
 * unchanged and says so).
 */
export function decideHosts(reported: string | undefined, planned: string | undefined): HostsAction {
  const current = reported ?? 'none'
  if (planned === undefined) return current === 'none' ? 'none' : 'remove'
  return current === hostsBlockDigest(planned) ? 'none' : 'write'
}
