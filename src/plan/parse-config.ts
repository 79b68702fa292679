/**
 * Minimal parser of wg-quick config text, to tell what kind of change a new config is:
 * only peers changed → `wg syncconf` (no tunnel restart); anything in [Interface] → restart.
 */
import {maskSecrets} from './diff.js'
import {PRIVATE_KEY_MARKER} from './model.js'

export type ConfigSection = Record<string, string[]>

export interface ParsedConfig {
  interface: ConfigSection
  peers: ConfigSection[]
}

export type ConfigChange = 'none' | 'new' | 'peers' | 'interface'

/** wg-quick keys are case-insensitive: file them under one spelling. */
const CANONICAL_KEYS = new Map(
  [
    'Address', 'ListenPort', 'PrivateKey', 'MTU', 'DNS', 'Table', 'FwMark', 'SaveConfig',
    'PreUp', 'PostUp', 'PreDown', 'PostDown',
    'PublicKey', 'PresharedKey', 'Endpoint', 'AllowedIPs', 'PersistentKeepalive',
  ].map((key) => [key.toLowerCase(), key]),
)
/** Keys whose value is a comma list: "a, b" on one line equals two lines. */
const LIST_KEYS = new Set(['Address', 'DNS', 'AllowedIPs'])

export function parseRenderedConfig(text: string): ParsedConfig {
  const parsed: ParsedConfig = {interface: {}, peers: []}
  let section: ConfigSection | undefined
  // Plain string scanning, no regex per line: doctor parses every node's config (a mesh's are O(N²) lines).
  for (const raw of text.split('\n')) {
    // As wg-quick does: everything from '#' on is a comment.
    const hash = raw.indexOf('#')
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim()
    if (line === '') continue
    if (line.startsWith('[') && line.endsWith(']')) {
      const name = line.slice(1, -1).trim().toLowerCase()
      section = name === 'interface' ? parsed.interface : name === 'peer' ? newPeer(parsed) : undefined
      continue
    }
    const eq = line.indexOf('=')
    if (section === undefined || eq === -1) continue
    const key = canonicalKey(line.slice(0, eq).trim())
    // Never keep a private key, even from a hand-written config.
    const value = key === 'PrivateKey' ? PRIVATE_KEY_MARKER : line.slice(eq + 1).trim()
    const values = LIST_KEYS.has(key) ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : [value]
    const existing = section[key]
    if (existing) existing.push(...values)
    else section[key] = values
  }
  return parsed
}

function newPeer(parsed: ParsedConfig): ConfigSection {
  const peer: ConfigSection = {}
  parsed.peers.push(peer)
  return peer
}

function canonicalKey(key: string): string {
  return CANONICAL_KEYS.get(key.toLowerCase()) ?? key
}

/**
 * 'new' (nothing applied yet), 'none' (identical text once keys are masked: a host's config holds the
 * real key where the rendered one holds the marker), 'interface' ([Interface] differs, or the full
 * tunnel is switched on or off: wg-quick sets its policy routing only at `up`), else 'peers'
 * (syncconf is enough — also for comment-only or order-only changes, where it is a harmless no-op).
 */
export function classifyConfigChange(oldText: string | null, newText: string): ConfigChange {
  if (oldText === null) return 'new'
  // The probe masks a host's config as the renderer writes it: a rerun's texts are equal as they are, and
  // masking both (two regex passes over O(N) lines) would be wasted on every node of a large mesh.
  if (oldText === newText) return 'none'
  if (maskSecrets(oldText) === maskSecrets(newText)) return 'none'
  const before = parseRenderedConfig(oldText)
  const after = parseRenderedConfig(newText)
  if (!sameSection(before.interface, after.interface)) return 'interface'
  if (hasDefaultRoute(before) !== hasDefaultRoute(after)) return 'interface'
  return 'peers'
}

/**
 * The same keys with the same values: order-insensitive over keys, order-sensitive over values (PostUp
 * order and DNS order matter). `except` is left out of the comparison. Compared in place, without building
 * a string per section: add-node compares every peer of every node (O(N²) sections).
 */
export function sameSection(a: ConfigSection, b: ConfigSection, except?: string): boolean {
  let count = 0
  for (const key in a) {
    if (key === except) continue
    count++
    const left = a[key]!
    const right = b[key]
    if (!Object.hasOwn(b, key) || right === undefined || right.length !== left.length) return false
    for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false
  }
  for (const key in b) if (key !== except) count--
  return count === 0
}

export function hasDefaultRoute(config: ParsedConfig): boolean {
  return config.peers.some((peer) => (peer.AllowedIPs ?? []).some((range) => range.endsWith('/0')))
}
