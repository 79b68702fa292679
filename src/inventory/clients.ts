/**
 * Roaming clients: sections with `client = true` (a laptop, a phone). Read strictly, like a node, but with
 * keys of their own: `public_key`, `address`, `via`, `full_tunnel`. A client has no host and no SSH keys —
 * wgfleet never connects to one — so those keys are refused with that reason.
 */
import {isWireGuardKey} from '../wireguard/keys.js'
import {CLIENT_KEYS, NODE_KEYS} from './keys.js'
import type {ClientSpec} from './model.js'
import type {Problems} from './problems.js'
import type {RawSection} from './raw.js'
import {type NetworkRead, type NodeDraft, readAddress, SectionReader} from './sections.js'
import {type Checked, checkBoolean, isLabel, show} from './values.js'

/** The key that makes a section a client. */
export const CLIENT_MARKER_KEY = 'client'

/** A section is a client's when it has the `client` key (its value must then be `true`). */
export function isClientSection(section: RawSection): boolean {
  return section.entries.has(CLIENT_MARKER_KEY)
}

export interface ClientDraft {
  name: string
  line: number
  keyLines: ReadonlyMap<string, number>
  publicKey?: string
  address?: string
  via?: string[]
  fullTunnel: boolean
}

const NOT_A_CLIENT_KEY = new Set<string>(NODE_KEYS.filter((k) => !(CLIENT_KEYS as readonly string[]).includes(k)))

export function readClient(section: RawSection, network: NetworkRead, problems: Problems): ClientDraft {
  const reader = new SectionReader(section, 'client', problems)
  reader.reportUnknownKeys((key) =>
    NOT_A_CLIENT_KEY.has(key)
      ? {
          message: `a client has no \`${key}\`: wgfleet never connects to a client (it has no SSH)`,
          hint: `remove \`${key}\`; a client section has: ${CLIENT_KEYS.join(', ')} (or remove \`client = true\` if this is a server)`,
        }
      : undefined,
  )
  const marker = reader.optional(CLIENT_MARKER_KEY, checkBoolean)
  if (marker === false) reader.fail(CLIENT_MARKER_KEY, '`client = false` is not allowed', 'a server section has no `client` key: remove the line (and give it a host); a roaming client says client = true')
  return {
    name: section.name,
    line: section.line,
    keyLines: new Map([...section.entries.values()].map((entry) => [entry.key, entry.line])),
    publicKey: reader.required('public_key', checkPublicKey, 'add `public_key = <the client\'s WireGuard public key>` (`wgfleet client add` writes it)'),
    address: readAddress(reader, network),
    via: reader.required('via', checkVia, 'add `via = <a public node>`: the node(s) the client dials, e.g. via = node-a'),
    fullTunnel: reader.optional('full_tunnel', checkBoolean) ?? false,
  }
}

export function checkPublicKey(text: string): Checked<string> {
  if (isWireGuardKey(text)) return {ok: true, value: text}
  return {ok: false, message: `${show(text)} is not a WireGuard public key`, hint: 'base64 of 32 bytes: 44 characters ending in =, as `wg pubkey` prints it'}
}

/** `via = node-a` or `via = node-a, node-b`: node names, each once; that they are public nodes is checked against the fleet. */
export function checkVia(text: string): Checked<string[]> {
  const names = text.split(',').map((s) => s.trim())
  for (const name of names) {
    if (!isLabel(name)) return {ok: false, message: `${show(name)} is not a node name`, hint: 'via names public nodes of this inventory, comma-separated, e.g. via = node-a, node-b'}
  }
  if (new Set(names).size !== names.length) return {ok: false, message: `${show(text)} names a node twice`, hint: 'name each via node once'}
  return {ok: true, value: names}
}

function lineOf(client: ClientDraft, key: string): number {
  return client.keyLines.get(key) ?? client.line
}

/**
 * Checks against the rest of the fleet: every via is a public node; addresses are no node's and no other
 * client's; public keys are no other client's.
 */
export function checkClients(clients: ClientDraft[], nodes: NodeDraft[], problems: Problems): void {
  const nodesByName = new Map(nodes.map((n) => [n.name, n]))
  const addressOwner = new Map<string, string>()
  for (const node of nodes) if (node.address !== undefined && !addressOwner.has(node.address)) addressOwner.set(node.address, node.name)
  const keyOwner = new Map<string, string>()
  const publicNodes = nodes.filter((n) => !n.nat).map((n) => n.name)
  const where = (client: ClientDraft, key: string) => ({line: lineOf(client, key), section: client.name, key})
  for (const client of clients) {
    if (nodesByName.has(client.name)) problems.add({line: client.line, section: client.name}, `a node named ${client.name} already exists`, 'give the client another name')
    for (const name of client.via ?? []) {
      const node = nodesByName.get(name)
      if (!node) {
        problems.add(where(client, 'via'), `there is no node named \`${name}\``, `via names public nodes of this inventory (${publicNodes.join(', ') || 'none'})`)
      } else if (node.nat) {
        problems.add(where(client, 'via'), `[${name}] is behind NAT (nat = true): a client cannot dial it`, `name a public node (${publicNodes.join(', ') || 'none'})`)
      }
    }
    if (client.address !== undefined) {
      const owner = addressOwner.get(client.address)
      if (owner !== undefined) problems.add(where(client, 'address'), `${client.address} is already the address of [${owner}]`, 'every node and client needs its own address')
      else addressOwner.set(client.address, client.name)
    }
    if (client.publicKey !== undefined) {
      const owner = keyOwner.get(client.publicKey)
      if (owner !== undefined) problems.add(where(client, 'public_key'), `this public key is already [${owner}]'s`, 'every client needs its own key pair: `wgfleet client add` makes one')
      else keyOwner.set(client.publicKey, client.name)
    }
  }
}

/** Only called when no problem was reported, so every required field is there. */
export function toClientSpec(draft: ClientDraft): ClientSpec {
  return {name: draft.name, line: draft.line, publicKey: draft.publicKey!, address: draft.address!, via: [...draft.via!], fullTunnel: draft.fullTunnel}
}
