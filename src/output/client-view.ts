/**
 * Renderers of `client add | list | remove`: the converge summary, then (add) the client's config once,
 * as text and as a QR code a phone's WireGuard app scans. The config is the one printout of a private key
 * wgfleet makes (docs/design.md §5.1): it comes from the result, is shown, and is kept nowhere.
 */
import QRCode from 'qrcode'

import type {ClientSpec} from '../inventory/model.js'
import type {ClientAddResult, ClientRemoveResult} from '../services/client.js'
import {formatColumns} from './columns.js'
import {convergeToJson, renderConvergeText} from './converge-view.js'

/** A client's inventory facts, as JSON and list rows show them. */
function clientToJson(client: ClientSpec) {
  return {name: client.name, address: client.address, publicKey: client.publicKey, via: client.via, fullTunnel: client.fullTunnel}
}

function describeClient(client: ClientSpec): string {
  return `${client.name} ${client.address} via ${client.via.join(', ')}${client.fullTunnel ? ' (full tunnel)' : ''}`
}

/**
 * The config as a QR code in terminal text. With colour: black modules on a white background (ANSI), which
 * phone cameras read on dark and light terminals alike; without (NO_COLOR, not a TTY): plain block
 * characters. Quiet zone included.
 */
export async function renderQrText(config: string, options: {color: boolean}): Promise<string> {
  return QRCode.toString(config, options.color ? {type: 'terminal', small: true, errorCorrectionLevel: 'L'} : {type: 'utf8', errorCorrectionLevel: 'L'})
}

export async function renderClientAddText(result: ClientAddResult, options: {color: boolean}): Promise<string> {
  const out = [renderConvergeText(result.report).trimEnd(), '', `Client ${describeClient(result.client)}: added to the inventory and to its via node(s).`]
  if (result.config === null) {
    out.push(`Its config (with its private key, which wgfleet keeps nowhere) is written to ${result.output} (mode 0600).`, `To show it as a QR code: qrencode -t ansiutf8 < ${result.output}`)
    return out.join('\n') + '\n'
  }
  out.push(
    '',
    'The client\'s WireGuard config, shown this once: it holds the client\'s private key, which wgfleet keeps nowhere.',
    'Import it on the client (`wg-quick up`, or scan the QR code with the WireGuard app).',
    '',
    result.config.trimEnd(),
    '',
    await renderQrText(result.config, options),
  )
  return out.join('\n') + '\n'
}

/** --json: the config is in the document (it is the printout) unless it was written to --output. */
export function clientAddToJson(result: ClientAddResult) {
  return {client: clientToJson(result.client), config: result.config, output: result.output, ...convergeToJson(result.report)}
}

export function renderClientRemoveText(result: ClientRemoveResult): string {
  return `${renderConvergeText(result.report).trimEnd()}\n\nClient ${describeClient(result.client)}: removed from the inventory and from every node.\n`
}

export function clientRemoveToJson(result: ClientRemoveResult) {
  return {client: clientToJson(result.client), ...convergeToJson(result.report)}
}

export function renderClientListText(clients: ClientSpec[]): string {
  if (clients.length === 0) return 'No clients (add one with `wgfleet client add NAME`).\n'
  return formatColumns([['client', 'address', 'via', 'tunnel', 'public key'], ...clients.map((c) => [c.name, c.address, c.via.join(', '), c.fullTunnel ? 'full' : 'overlay', c.publicKey])]).join('\n') + '\n'
}

export function clientListToJson(clients: ClientSpec[]) {
  return {clients: clients.map(clientToJson)}
}
