/**
 * The underlay: which IP family a node is dialled over, and which families it can dial out on — the one
 * answer to "can A send the first packet to B?", for the inventory's checks (is every pair reachable?) and
 * the planner's topology (who peers directly, who through a relay, whose entry carries an Endpoint).
 */
import {isIPv4, isIPv6} from 'node:net'

/** `underlay` of a node: the families it reaches the others over. */
export type Underlay = 'ipv4' | 'ipv6' | 'dual'
export type Family = 'ipv4' | 'ipv6'
export const UNDERLAYS: readonly Underlay[] = ['ipv4', 'ipv6', 'dual']

/** What the answers need of a node (a NodeSpec, or an inventory draft). */
export interface UnderlayNode {
  nat: boolean
  /** The host others dial (endpoint, else host); unset for a NAT-ed node. */
  dialHost?: string
  underlay?: Underlay
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

/** The family of an address literal; undefined for a DNS name. */
export function literalFamily(host: string): Family | undefined {
  const h = bare(host)
  return isIPv6(h) ? 'ipv6' : isIPv4(h) ? 'ipv4' : undefined
}

/**
 * The family others dial NODE over: its endpoint's when that is an address; a name counts as IPv6 only on
 * a node with `underlay = ipv6` (it has no IPv4), else as IPv4. Null for a NAT-ed node (never dialled).
 */
export function endpointFamily(node: UnderlayNode): Family | null {
  if (node.nat || node.dialHost === undefined) return null
  return literalFamily(node.dialHost) ?? (node.underlay === 'ipv6' ? 'ipv6' : 'ipv4')
}

/**
 * The families NODE dials out on: `underlay` when written; else both — wgfleet cannot know from the
 * inventory which families a host reaches, and "every node dials every endpoint" is what it always
 * assumed. A single-family node says so (`underlay = ipv4` / `ipv6`), and then only pairs that share a
 * family peer directly; the others go through a relay that both reach.
 */
export function dialFamilies(node: UnderlayNode): ReadonlySet<Family> {
  if (node.underlay === 'ipv4') return ONLY_V4
  if (node.underlay === 'ipv6') return ONLY_V6
  return BOTH
}
const BOTH: ReadonlySet<Family> = new Set<Family>(['ipv4', 'ipv6'])
const ONLY_V4: ReadonlySet<Family> = new Set<Family>(['ipv4'])
const ONLY_V6: ReadonlySet<Family> = new Set<Family>(['ipv6'])

/** A node's two answers, worked out once: what it is dialled over, what it dials on. */
export interface DialProfile {
  endpoint: Family | null
  dials: ReadonlySet<Family>
}

export function dialProfile(node: UnderlayNode): DialProfile {
  return {endpoint: endpointFamily(node), dials: dialFamilies(node)}
}

/** FROM can send the first packet to TO: TO has an endpoint, of a family FROM dials out on. */
export function profileDials(from: DialProfile, to: DialProfile): boolean {
  return to.endpoint !== null && from.dials.has(to.endpoint)
}

export function canDial(from: UnderlayNode, to: UnderlayNode): boolean {
  return profileDials(dialProfile(from), dialProfile(to))
}

/** The two can make a tunnel: at least one can dial the other. */
export function canLink(a: UnderlayNode, b: UnderlayNode): boolean {
  return canDial(a, b) || canDial(b, a)
}

/** In words, for messages: "IPv4 only", "IPv6 only", "IPv4 and IPv6", with ", behind NAT". */
export function describeUnderlay(node: UnderlayNode): string {
  const families = dialFamilies(node)
  const words = families.size === 2 ? 'IPv4 and IPv6' : families.has('ipv6') ? 'IPv6 only' : 'IPv4 only'
  return node.nat ? `${words}, behind NAT` : words
}
