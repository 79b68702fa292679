/**
 * Parser of `wg show <iface> dump` peer lines.
 *
 * The first line of that output is the interface line — private-key, public-key, listen-port, fwmark —
 * and holds the private key. The host strips it before sending; this parser refuses (throws on) any
 * interface-shaped line rather than parse it, and never echoes a rejected line, so a key that slipped
 * through is neither read nor logged.
 */
import {WgfleetError} from '../lib/errors.js'
import {isWireGuardKey} from './keys.js'

export interface WgDumpPeer {
  publicKey: string
  /** Whether a preshared key is set; the value itself is never kept. */
  presharedKey: boolean
  /** "host:port" as WireGuard last saw it, or null. */
  endpoint: string | null
  allowedIps: string[]
  /** Unix seconds of the latest handshake; 0 = never. */
  latestHandshake: number
  rxBytes: number
  txBytes: number
  /** PersistentKeepalive seconds; 0 = off. */
  keepalive: number
}

const PEER_FIELDS = 8
/** `wg show <iface> dump` interface line, and `wg show all dump` interface line (with a leading iface column). */
const INTERFACE_LINE_FIELDS = new Set([4, 5])

export class WgDumpError extends WgfleetError {
  constructor(message: string) {
    super(`wg show dump: ${message}`, {hint: 'this is what the host sent back; check the wg version on the node'})
  }
}

export function parseWgDump(text: string): WgDumpPeer[] {
  // One pass, no intermediate arrays: a mesh node's dump has a line per peer, and every node's is parsed.
  const peers: WgDumpPeer[] = []
  const lines = text.split('\n')
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() !== '') peers.push(parseWgDumpPeerLine(line, index + 1))
  }
  return peers
}

/** One peer line; `lineNumber` only for messages (the line itself is never quoted: see above). */
export function parseWgDumpPeerLine(line: string, lineNumber = 1): WgDumpPeer {
  const fields = line.split('\t')
  if (INTERFACE_LINE_FIELDS.has(fields.length)) {
    throw new WgDumpError(`line ${lineNumber} is an interface line (it holds the private key); it must be stripped on the host`)
  }
  if (fields.length !== PEER_FIELDS) {
    throw new WgDumpError(`line ${lineNumber} has ${fields.length} fields, expected ${PEER_FIELDS}`)
  }
  const [publicKey, preshared, endpoint, allowedIps, handshake, rx, tx, keepalive] = fields as [
    string, string, string, string, string, string, string, string,
  ]
  if (!isWireGuardKey(publicKey)) throw new WgDumpError(`line ${lineNumber}: the public key is malformed`)
  return {
    publicKey,
    presharedKey: preshared !== '(none)',
    endpoint: endpoint === '(none)' ? null : endpoint,
    allowedIps: allowedIpsOf(allowedIps),
    latestHandshake: nonNegativeInteger(handshake, 'latest-handshake', lineNumber),
    rxBytes: nonNegativeInteger(rx, 'transfer-rx', lineNumber),
    txBytes: nonNegativeInteger(tx, 'transfer-tx', lineNumber),
    keepalive: keepalive === 'off' ? 0 : nonNegativeInteger(keepalive, 'persistent-keepalive', lineNumber),
  }
}

/** The comma list of ranges; one range (a mesh peer's own /32) without the split, trim and filter. */
function allowedIpsOf(field: string): string[] {
  if (field === '(none)') return []
  if (!field.includes(',') && field.trim() === field) return field === '' ? [] : [field]
  return field.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function nonNegativeInteger(value: string, field: string, lineNumber: number): number {
  if (!/^\d+$/.test(value)) throw new WgDumpError(`line ${lineNumber}: ${field} is not a number`)
  return Number(value)
}
