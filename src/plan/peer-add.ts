/**
 * add-node's fast path for an existing node (pure): is the change from the config last applied to it
 * (state) to the planned one exactly "a [Peer] section added for the newcomer" — plus, where the newcomer
 * is reached through a relay, the relay's entry carrying the newcomer's routes too? Then the node needs no
 * probe, apply and verify: remote/peer-add.sh writes the planned file and adds the peer live, given every
 * value here, after checking that the host's file is still the one last applied (EXPECTED_DIGEST).
 * Anything else (an [Interface] change, another peer changed or gone, a preshared key, a subnet of the
 * newcomer, a route of the newcomer's outside this node's interface prefixes, no config on record) is
 * `full`: that node takes the full converge path.
 *
 * Compared with the config parser (parse-config.ts), section by section, never as text.
 */
import {createHash} from 'node:crypto'

import {interfacePrefix, subnetOf, subnetWithin} from '../inventory/subnets.js'
import {hasDefaultRoute, parseRenderedConfig, sameSection, type ConfigSection} from './parse-config.js'

/** A peer entry peer-add.sh creates: every value of the planned file's section. */
export interface PeerToAdd {
  publicKey: string
  /** host:port, or null: the node cannot dial the newcomer (it dials this node). */
  endpoint: string | null
  allowedIps: string[]
  /** PersistentKeepalive seconds; 0 = none. */
  keepalive: number
}

/** An existing entry whose AllowedIPs grow by the newcomer's routes (its relay). */
export interface AllowedIpsChange {
  publicKey: string
  allowedIps: string[]
}

export interface PeerAddPlan {
  add: PeerToAdd[]
  setAllowedIps: AllowedIpsChange[]
  /** The whole planned file (PrivateKey as the marker): what the host writes and state records. */
  config: string
  /** SHA-256 (hex) of the config last applied: the host's file, its private key masked, must hash to it. */
  expectedDigest: string
}

/** Why a node takes the full path. */
export type PeerAddRefusal =
  | 'no-applied-config'
  | 'interface-changed'
  | 'preshared-key'
  | 'peer-removed'
  | 'peer-changed'
  | 'unexpected-peer'
  | 'newcomer-routes'
  /** A newcomer route outside the node's own interface prefixes: it would need a route of its own. */
  | 'route-needed'
  | 'other-change'

export type PeerAddDecision =
  /** The node's file does not change (it does not peer with the newcomer: a hub's spoke). */
  | {kind: 'unchanged'}
  | {kind: 'peer-add'; plan: PeerAddPlan}
  | {kind: 'full'; reason: PeerAddRefusal}

export interface Newcomer {
  publicKey: string
  /** Its own host routes (/32, and /128 with cidr6): all the AllowedIPs an entry for it may hold. */
  routes: readonly string[]
}

/** The only keys an added entry may set (no PresharedKey: a fleet with preshared keys takes the full path). */
const ADDED_KEYS = new Set(['PublicKey', 'Endpoint', 'AllowedIPs', 'PersistentKeepalive'])

export function planPeerAdd(lastApplied: string | null, planned: string, newcomer: Newcomer): PeerAddDecision {
  if (lastApplied === null) return full('no-applied-config')
  if (lastApplied === planned) return {kind: 'unchanged'}
  const before = parseRenderedConfig(lastApplied)
  const after = parseRenderedConfig(planned)
  if (!sameSection(before.interface, after.interface) || hasDefaultRoute(before) !== hasDefaultRoute(after)) return full('interface-changed')
  if (after.peers.some((p) => p.PresharedKey !== undefined) || before.peers.some((p) => p.PresharedKey !== undefined)) return full('preshared-key')

  const oldByKey = new Map<string, ConfigSection>()
  for (const peer of before.peers) {
    const key = single(peer.PublicKey)
    if (key === undefined || oldByKey.has(key)) return full('other-change')
    oldByKey.set(key, peer)
  }
  const routes = new Set(newcomer.routes)
  const add: PeerToAdd[] = []
  const setAllowedIps: AllowedIpsChange[] = []
  const seen = new Set<string>()
  for (const peer of after.peers) {
    const key = single(peer.PublicKey)
    if (key === undefined || seen.has(key)) return full('other-change')
    seen.add(key)
    const old = oldByKey.get(key)
    if (old === undefined) {
      if (key !== newcomer.publicKey) return full('unexpected-peer')
      const entry = addedEntry(peer, key, routes)
      if (entry === undefined) return full('newcomer-routes')
      add.push(entry)
      continue
    }
    if (sameSection(old, peer)) continue
    const grown = relayGrowth(old, peer, routes)
    if (grown === undefined) return full('peer-changed')
    setAllowedIps.push({publicKey: key, allowedIps: grown})
  }
  if ([...oldByKey.keys()].some((key) => !seen.has(key))) return full('peer-removed')
  // The same sections, only the text around them differs (a comment): not a shape this path knows.
  if (add.length === 0 && setAllowedIps.length === 0) return full('other-change')
  // peer-add.sh adds no routes: every newcomer route this node will send into the tunnel must lie in a
  // prefix of its own interface address, which the kernel routes to the interface (the overlay's
  // addresses always do). Anything else is the full path's, whose apply adds the routes it needs.
  const carried = [...add.flatMap((p) => p.allowedIps), ...setAllowedIps.flatMap((c) => c.allowedIps.filter((ip) => routes.has(ip)))]
  if (!carried.every((ip) => insideInterface(ip, after.interface))) return full('route-needed')
  return {kind: 'peer-add', plan: {add, setAllowedIps, config: planned, expectedDigest: configDigest(lastApplied)}}
}

/** The digest peer-add.sh compares: SHA-256 of the config text (on the host, of its file masked by lib.sh's mask_secrets). */
export function configDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** The newcomer's entry, when it holds only the newcomer's own routes (a subnet of its takes the full path: routes, forwarding). */
function addedEntry(peer: ConfigSection, publicKey: string, routes: ReadonlySet<string>): PeerToAdd | undefined {
  if (Object.keys(peer).some((key) => !ADDED_KEYS.has(key))) return undefined
  const allowedIps = peer.AllowedIPs ?? []
  if (allowedIps.length === 0 || allowedIps.length !== new Set(allowedIps).size || allowedIps.some((ip) => !routes.has(ip))) return undefined
  const endpoint = peer.Endpoint === undefined ? null : single(peer.Endpoint)
  const keepaliveText = peer.PersistentKeepalive === undefined ? '0' : single(peer.PersistentKeepalive)
  if (endpoint === undefined || keepaliveText === undefined || !/^\d{1,5}$/.test(keepaliveText)) return undefined
  return {publicKey, endpoint, allowedIps: [...allowedIps], keepalive: Number(keepaliveText)}
}

/**
 * The entry's new AllowedIPs when it differs from the old one only by gaining some of the newcomer's routes
 * (the relay that carries the newcomer for this node); else undefined.
 */
function relayGrowth(old: ConfigSection, peer: ConfigSection, routes: ReadonlySet<string>): string[] | undefined {
  if (!sameSection(old, peer, 'AllowedIPs')) return undefined
  const oldIps = old.AllowedIPs ?? []
  const newIps = peer.AllowedIPs ?? []
  const kept = new Set(oldIps)
  const gained = newIps.filter((ip) => !kept.has(ip))
  const grownSet = new Set(newIps)
  if (gained.length === 0 || gained.some((ip) => !routes.has(ip)) || oldIps.some((ip) => !grownSet.has(ip))) return undefined
  if (new Set(newIps).size !== newIps.length) return undefined
  return [...newIps]
}

/** `ip` (a host route) lies inside a network of one of the [Interface]'s Address values. */
function insideInterface(ip: string, iface: ConfigSection): boolean {
  const net = subnetOf(ip)
  if (net === undefined) return false
  return (iface.Address ?? []).some((address) => {
    const prefix = interfacePrefix(address)
    return prefix !== undefined && subnetWithin(net, prefix)
  })
}

function single(values: string[] | undefined): string | undefined {
  return values?.length === 1 ? values[0] : undefined
}

function full(reason: PeerAddRefusal): PeerAddDecision {
  return {kind: 'full', reason}
}
