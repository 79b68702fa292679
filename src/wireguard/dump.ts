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
  // Read in place, line by line and field by field: a mesh node's dump has a line per peer and every
  // node's is parsed, so no array of lines, nor of fields, nor a string per number.
  const peers: WgDumpPeer[] = []
  let lineNumber = 0
  for (let start = 0; start <= text.length; ) {
    const newline = text.indexOf('\n', start)
    const next = newline === -1 ? text.length + 1 : newline + 1
    let end = next - 1
    if (end > start && text.charCodeAt(end - 1) === 13) end-- // "\r"
    lineNumber++
    if (!isBlank(text, start, end)) peers.push(parsePeerLine(text, start, end, lineNumber))
    start = next
  }
  return peers
}

/** One peer line; `lineNumber` only for messages (the line itself is never quoted: see above). */
export function parseWgDumpPeerLine(line: string, lineNumber = 1): WgDumpPeer {
  return parsePeerLine(line, 0, line.length, lineNumber)
}

/** [start, end) holds only blanks (as `trim()` counts them); a printable ASCII character never is one. */
function isBlank(text: string, start: number, end: number): boolean {
  if (start === end) return true
  const first = text.charCodeAt(start)
  return !(first > 32 && first < 127) && text.slice(start, end).trim() === ''
}

function parsePeerLine(text: string, start: number, end: number, lineNumber: number): WgDumpPeer {
  // Where each field starts (its tab + 1), and one past the last: fields.length + 1 entries.
  const bounds = [start]
  for (let tab = text.indexOf('\t', start); tab !== -1 && tab < end; tab = text.indexOf('\t', tab + 1)) bounds.push(tab + 1)
  bounds.push(end + 1)
  const fields = bounds.length - 1
  if (INTERFACE_LINE_FIELDS.has(fields)) {
    throw new WgDumpError(`line ${lineNumber} is an interface line (it holds the private key); it must be stripped on the host`)
  }
  if (fields !== PEER_FIELDS) {
    throw new WgDumpError(`line ${lineNumber} has ${fields} fields, expected ${PEER_FIELDS}`)
  }
  const field = (i: number) => text.slice(bounds[i]!, bounds[i + 1]! - 1)
  const is = (i: number, value: string) => bounds[i + 1]! - 1 - bounds[i]! === value.length && text.startsWith(value, bounds[i]!)
  const integer = (i: number, name: string) => nonNegativeInteger(text, bounds[i]!, bounds[i + 1]! - 1, name, lineNumber)
  const publicKey = field(0)
  if (!isWireGuardKey(publicKey)) throw new WgDumpError(`line ${lineNumber}: the public key is malformed`)
  return {
    publicKey,
    presharedKey: !is(1, '(none)'),
    endpoint: is(2, '(none)') ? null : field(2),
    allowedIps: allowedIpsOf(field(3)),
    latestHandshake: integer(4, 'latest-handshake'),
    rxBytes: integer(5, 'transfer-rx'),
    txBytes: integer(6, 'transfer-tx'),
    keepalive: is(7, 'off') ? 0 : integer(7, 'persistent-keepalive'),
  }
}

/** The comma list of ranges; one range (a mesh peer's own /32) without the split, trim and filter. */
function allowedIpsOf(field: string): string[] {
  if (field === '(none)') return []
  if (!field.includes(',') && field.trim() === field) return field === '' ? [] : [field]
  return field.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/** The decimal digits in [start, end) (at least one, nothing else), as Number() reads them. */
function nonNegativeInteger(text: string, start: number, end: number, field: string, lineNumber: number): number {
  if (end <= start) throw new WgDumpError(`line ${lineNumber}: ${field} is not a number`)
  let value = 0
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) throw new WgDumpError(`line ${lineNumber}: ${field} is not a number`)
    value = value * 10 + digit
  }
  // Past 15 digits the sum may round differently from Number()'s one rounding.
  return end - start > 15 ? Number(text.slice(start, end)) : value
}
