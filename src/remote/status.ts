/** Parser of what status.sh prints, into a typed NodeReading (pure; the host's output is untrusted). */
import {WgfleetError} from '../lib/errors.js'
import {parseWgDump, type WgDumpPeer} from '../wireguard/dump.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import {parseScriptOutput} from './output.js'

export type InterfaceLink = 'up' | 'down' | 'absent'

/** What status.sh read on a node, in one exec. */
export interface NodeReading {
  link: InterfaceLink
  wgInstalled: boolean
  /** The node's clock, unix seconds, read right after the dump. */
  now: number
  listenPort: number | null
  publicKey: string | null
  /** Peer lines of the dump; null when the dump was not read (interface absent, wg missing or failing). */
  peers: WgDumpPeer[] | null
  wgError?: string
}

export class StatusOutputError extends WgfleetError {
  constructor(message: string) {
    super(`status output: ${message}`, {hint: 'this is what the host sent back; check that bash, ip and wg work on the node'})
  }
}

export function parseStatusOutput(text: string): NodeReading {
  const out = parseScriptOutput(text, new Set(['peers']))
  const values = {get: out.one}
  const peerLines = out.block('peers') ?? null
  // `end=ok` is the script's last line: without it the output was cut off.
  if (out.cut || values.get('end') !== 'ok') throw new StatusOutputError('incomplete (the status script did not finish)')

  const link = values.get('interface')
  if (link !== 'up' && link !== 'down' && link !== 'absent') throw new StatusOutputError('no interface state')
  const now = values.get('now') ?? ''
  if (!/^\d+$/.test(now)) throw new StatusOutputError('the node\'s clock is not a number')
  const port = values.get('listen_port') ?? ''
  const publicKey = values.get('pubkey') ?? ''
  const wgError = values.get('wg_error')
  return {
    link,
    wgInstalled: values.get('wg') === 'yes',
    now: Number(now),
    listenPort: /^\d+$/.test(port) ? Number(port) : null,
    publicKey: isWireGuardKey(publicKey) ? publicKey : null,
    // parseWgDump refuses an interface line (defence in depth: the host already dropped it).
    peers: peerLines === null ? null : parseWgDump(peerLines.join('\n')),
    ...(wgError ? {wgError} : {}),
  }
}
