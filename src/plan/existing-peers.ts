/**
 * A node's own [Peer] section for one peer, read from that node's current config, so that the planner can
 * keep it as it is while the peer's key is unknown (not pinned in this machine's state, not reported in
 * this run). Only the node's own config is ever read for its own section: one node's config never decides
 * what another node trusts.
 *
 * Strict: the section must be exactly what renderPeerSection writes (`# NAME`, `[Peer]`, then PublicKey,
 * PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive lines), each value checked — it is host output
 * (masked by the probe: a preshared key is kept only as the marker, which the host fills in again from its
 * file for the peer; a hidden token makes the section unusable) and it goes back into a config.
 */
import {isIP} from 'node:net'

import {isWireGuardKey} from '../wireguard/keys.js'
import {PRESHARED_KEY_MARKER, type ExistingPeerSection} from './model.js'

export type ExistingSectionLookup = {kind: 'found'; section: ExistingPeerSection} | {kind: 'unusable'}

const LINE = /^(PublicKey|PresharedKey|Endpoint|AllowedIPs|PersistentKeepalive) = (\S.*)$/
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/

/**
 * Every `# NAME` / `[Peer]` section of CONFIG (a managed config as the probe printed it), by NAME, in
 * one pass; a name with two sections is unusable. A name not in the map has no section.
 */
export function existingPeerSections(config: string): Map<string, ExistingSectionLookup> {
  const lines = config.split('\n')
  const sections = new Map<string, ExistingSectionLookup>()
  for (let start = 0; start < lines.length - 1; start++) {
    const line = lines[start]!
    if (!line.startsWith('# ') || lines[start + 1] !== '[Peer]') continue
    const name = line.slice(2)
    let end = start + 2
    while (end < lines.length && lines[end] !== '') end++
    sections.set(name, sections.has(name) ? {kind: 'unusable'} : readSection(lines.slice(start, end)))
    start = end - 1
  }
  return sections
}

function readSection(lines: string[]): ExistingSectionLookup {
  const values = new Map<string, string>()
  for (const line of lines.slice(2)) {
    const match = LINE.exec(line)
    if (!match || values.has(match[1]!)) return {kind: 'unusable'}
    values.set(match[1]!, match[2]!)
  }
  const publicKey = values.get('PublicKey') ?? ''
  const allowedIps = (values.get('AllowedIPs') ?? '').split(', ')
  const endpoint = values.get('Endpoint') ?? null
  const keepalive = values.get('PersistentKeepalive') ?? '0'
  if (!isWireGuardKey(publicKey) || !allowedIps.every(isRange)) return {kind: 'unusable'}
  const psk = values.get('PresharedKey')
  if (psk !== undefined && psk !== PRESHARED_KEY_MARKER) return {kind: 'unusable'}
  if ((endpoint !== null && !isEndpoint(endpoint)) || !/^\d{1,5}$/.test(keepalive) || Number(keepalive) > 65_535) return {kind: 'unusable'}
  return {kind: 'found', section: {lines, publicKey, endpoint, allowedIps, keepalive: Number(keepalive), ...(psk === undefined ? {} : {presharedKey: true})}}
}

function isRange(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/')
  const family = isIP(address ?? '')
  if (rest.length > 0 || family === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false
  return Number(prefix) <= (family === 4 ? 32 : 128)
}

function isEndpoint(text: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  if (!match || Number(match[3]) < 1 || Number(match[3]) > 65_535) return false
  return match[1] !== undefined ? isIP(match[1]) === 6 : isIP(match[2]!) === 4 || HOST_NAME.test(match[2]!)
}
