/**
 * Roaming clients in the plan (pure). A client is reached like a NAT-ed node through a relay:
 * - each of its via nodes has a peer entry for it (its /32, no endpoint: the client dials in);
 * - every other node's entry for the client's FIRST via node carries the client's /32 — never the same
 *   range on two peers of one node, so with two via nodes only the first routes the client for the rest
 *   of the fleet (the second is a direct tunnel to that node alone);
 * - the first via node forwards (and masquerades when the client sends everything through it).
 * The client's own config (the one text with a private key wgfleet ever makes) is rendered here too, from
 * the key it is given; nothing here stores it.
 */
import type {ClientSpec, Fleet, NodeSpec} from '../inventory/model.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import type {PeerPlan} from './model.js'
import {DEFAULT_ROUTE, hostRoute} from './routes.js'
import {endpointOf} from './topology.js'

export interface ClientLinks {
  /** via node → the clients it has an entry for, in inventory order. */
  byVia: ReadonlyMap<string, ClientSpec[]>
  /** first via node → the clients every other node reaches through it, in inventory order. */
  routedBy: ReadonlyMap<string, ClientSpec[]>
}

/**
 * `publicKeys` are the nodes' trusted keys: a client whose key is a node's (a hand-written section) would
 * merge with that node's entry on every via node, so it is refused before anything is planned.
 */
export function clientLinks(fleet: Fleet, publicKeys: Readonly<Record<string, string>> = {}): ClientLinks {
  if (fleet.clients && fleet.clients.length > 0) {
    const nodeOfKey = new Map(Object.entries(publicKeys).map(([node, key]) => [key, node]))
    for (const client of fleet.clients) {
      const node = nodeOfKey.get(client.publicKey)
      if (node !== undefined) {
        throw new WgfleetError(`client ${client.name}'s public_key is the public key of node ${node}`, {
          hint: `give [${client.name}] a key pair of its own: \`wgfleet client remove ${client.name}\`, then \`wgfleet client add ${client.name}\``,
        })
      }
    }
  }
  const byVia = new Map<string, ClientSpec[]>()
  const routedBy = new Map<string, ClientSpec[]>()
  const push = (map: Map<string, ClientSpec[]>, key: string, client: ClientSpec) => map.set(key, [...(map.get(key) ?? []), client])
  for (const client of fleet.clients ?? []) {
    for (const via of client.via) push(byVia, via, client)
    push(routedBy, firstVia(client), client)
  }
  return {byVia, routedBy}
}

function firstVia(client: ClientSpec): string {
  const via = client.via[0]
  if (via === undefined) throw new BugError(`client ${client.name} has no via node (validation requires one)`)
  return via
}

/** The node forwards between its clients and the fleet (it is some client's first via). */
export function forwardsForClients(links: ClientLinks, node: NodeSpec): boolean {
  return links.routedBy.has(node.name)
}

/** The node masquerades a full-tunnel client's traffic to its uplink (as an exit does). */
export function masqueradesForClients(links: ClientLinks, node: NodeSpec): boolean {
  return (links.routedBy.get(node.name) ?? []).some((c) => c.fullTunnel)
}

/** Names of the nodes that masquerade for a full-tunnel client (they need the exit's tools installed). */
export function clientExitNodes(fleet: Fleet): Set<string> {
  return new Set((fleet.clients ?? []).filter((c) => c.fullTunnel).map(firstVia))
}

/**
 * The via node's entries for its clients. No endpoint (the client dials in, from wherever it is) and no
 * keepalive: the client keeps the tunnel open with its own PersistentKeepalive while it is online, and
 * the node does not wake a sleeping phone — so `status` calls an offline client idle, not an error.
 * (A preshared key for the client/via pair, when the fleet has them, belongs on this entry.)
 */
export function clientPeers(node: NodeSpec, links: ClientLinks): PeerPlan[] {
  return (links.byVia.get(node.name) ?? []).map((client) => {
    if (!isWireGuardKey(client.publicKey)) throw new BugError(`client ${client.name}'s public key passed validation but is not a WireGuard key`)
    return {name: client.name, publicKey: client.publicKey, endpoint: null, allowedIps: [hostRoute(client.address)], keepalive: 0, via: 'direct', relays: [], exit: false, client: true}
  })
}

/**
 * `node`'s peer entries with the clients routed through each (their first via node), unless `node` is a
 * via node of the client itself (then it has the client's own entry). The /32s go after the peer's own
 * and relayed ones, before an exit's default route. A kept verbatim section is left as it is.
 */
export function withClientRoutes(node: NodeSpec, peers: PeerPlan[], links: ClientLinks): PeerPlan[] {
  if (links.routedBy.size === 0) return peers
  return peers.map((peer) => {
    const routed = (links.routedBy.get(peer.name) ?? []).filter((c) => !c.via.includes(node.name))
    if (routed.length === 0 || peer.verbatim) return peer
    const exit = peer.allowedIps.includes(DEFAULT_ROUTE)
    const ranges = peer.allowedIps.filter((r) => r !== DEFAULT_ROUTE)
    return {...peer, allowedIps: [...ranges, ...routed.map((c) => hostRoute(c.address)), ...(exit ? [DEFAULT_ROUTE] : [])], clients: routed.map((c) => c.name)}
  })
}

/** What the client's config needs to know of one via node. */
export interface ClientViaPeer {
  node: NodeSpec
  /** The via node's WireGuard public key (pinned in state). */
  publicKey: string
}

export interface ClientConfigInput {
  client: ClientSpec
  /** base64 X25519 private key, made on the operator machine for this printout only. */
  privateKey: string
  /** The client's via nodes, in `client.via` order. */
  via: ClientViaPeer[]
  /** `DNS =` servers for the client (--dns). */
  dns?: string[]
  /**
   * `preshared_keys = true`: via node → the pair's preshared key, made with the client's key pair and
   * stored on that via node; it goes into this printout too (the client has no SSH to receive it).
   */
  presharedKeys?: ReadonlyMap<string, string>
}

/**
 * The client's PersistentKeepalive toward its via nodes: always on (whatever [network] keepalive says),
 * since a roaming client is usually behind NAT and its via nodes can only answer while the mapping lives.
 */
export const CLIENT_KEEPALIVE = 25

/**
 * The client's wg-quick config. The first via node carries the overlay (or everything, 0.0.0.0/0, for a
 * full tunnel); a second via node carries its own /32 only (one range, one peer). Address is a /32: the
 * client is one host, its routes come from AllowedIPs.
 */
export function renderClientConfig(fleet: Fleet, input: ClientConfigInput): string {
  const {client} = input
  if (!isWireGuardKey(input.privateKey)) throw new BugError('the client private key is not a WireGuard key')
  const names = input.via.map((v) => v.node.name)
  if (names.join(',') !== client.via.join(',')) throw new BugError(`client ${client.name}: via nodes ${names.join(', ')} are not ${client.via.join(', ')}`)
  const lines = [
    `# wgfleet client ${client.name}. Keep this file private: it holds the client's private key, which wgfleet does not keep.`,
    '[Interface]',
    `PrivateKey = ${input.privateKey}`,
    `Address = ${hostRoute(client.address)}`,
    ...(input.dns && input.dns.length > 0 ? [`DNS = ${input.dns.join(', ')}`] : []),
    ...(fleet.network.mtu === undefined ? [] : [`MTU = ${fleet.network.mtu}`]),
  ]
  input.via.forEach(({node, publicKey}, index) => {
    const endpoint = endpointOf(node)
    if (endpoint === null) throw new BugError(`client ${client.name}: via node ${node.name} has no endpoint (validation requires a public node)`)
    if (!isWireGuardKey(publicKey)) throw new BugError(`the public key of ${node.name} is not a WireGuard key`)
    const allowed = index > 0 ? hostRoute(node.address) : client.fullTunnel ? DEFAULT_ROUTE : fleet.network.cidr
    const psk = input.presharedKeys?.get(node.name)
    if (psk !== undefined && !isWireGuardKey(psk)) throw new BugError(`the preshared key for ${node.name} is not a WireGuard key`)
    lines.push('', `# ${node.name}`, '[Peer]', `PublicKey = ${publicKey}`, ...(psk === undefined ? [] : [`PresharedKey = ${psk}`]), `Endpoint = ${endpoint}`, `AllowedIPs = ${allowed}`)
    lines.push(`PersistentKeepalive = ${CLIENT_KEEPALIVE}`)
  })
  return lines.join('\n') + '\n'
}
