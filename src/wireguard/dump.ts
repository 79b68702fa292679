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
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .map((line, index) => ({line, number: index + 1}))
    .filter(({line}) => line.trim() !== '')
    .map(({line, number}) => parseWgDumpPeerLine(line, number))
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
    allowedIps: allowedIps === '(none)' ? [] : allowedIps.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    latestHandshake: nonNegativeInteger(handshake, 'latest-handshake', lineNumber),
    rxBytes: nonNegativeInteger(rx, 'transfer-rx', lineNumber),
    txBytes: nonNegativeInteger(tx, 'transfer-tx', lineNumber),
    keepalive: keepalive === 'off' ? 0 : nonNegativeInteger(keepalive, 'persistent-keepalive', lineNumber),
  }
}

function nonNegativeInteger(value: string, field: string, lineNumber: number): number {
  if (!/^\d+$/.test(value)) throw new WgDumpError(`line ${lineNumber}: ${field} is not a number`)
  return Number(value)
}
