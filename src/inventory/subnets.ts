/**
 * Site-to-site subnets: a node's `subnets = 198.19.1.0/24, fd10::/64` (networks behind it that the mesh
 * routes to it) and `subnet_snat`. The value check (syntax, host bits clear, normalised text), the checks
 * against the overlay (in readNode) and those across nodes (fleet-checks.ts) live here together.
 */
import {formatIPv4, maskAddress, parseIPv4, type IPv4Network} from './ipv4.js'
import {formatIPv6Network, maskIPv6, parseIPv6, type IPv6Network} from './ipv6.js'
import type {JumpSpec} from './model.js'
import type {Problems} from './problems.js'
import type {Checked} from './values.js'

/** One subnet, parsed: IPv4 as a 32-bit value, IPv6 as 128 bits, both as bigints for one overlap rule. */
export interface Subnet {
  family: 'ipv4' | 'ipv6'
  base: bigint
  prefixLength: number
  /** Normalised text: `198.19.1.0/24`, `fd10::/64` (RFC 5952). */
  text: string
}

const EXAMPLE = 'e.g. subnets = 198.19.1.0/24, fd10:1::/64 (networks behind this node, host bits clear)'

function bits(family: Subnet['family']): number {
  return family === 'ipv4' ? 32 : 128
}

/** One network: `a.b.c.d/len` or `v6/len`, host bits clear. */
export function parseSubnet(text: string): Checked<Subnet> {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text)
  if (!match) return {ok: false, message: `\`${text}\` is not a network in CIDR notation`, hint: EXAMPLE}
  const address = match[1]!
  const prefixLength = Number(match[2])
  const v4 = parseIPv4(address)
  const v6 = v4 === undefined ? parseIPv6(address) : undefined
  if (v4 === undefined && v6 === undefined) return {ok: false, message: `\`${text}\` is not a network in CIDR notation`, hint: EXAMPLE}
  const family = v4 === undefined ? 'ipv6' : 'ipv4'
  if (prefixLength > bits(family) || (match[2]!.length > 1 && match[2]!.startsWith('0'))) {
    return {ok: false, message: `\`${text}\`: prefix /${match[2]} is out of range`, hint: EXAMPLE}
  }
  if (v4 !== undefined) {
    const base = maskAddress(v4, prefixLength)
    const normal = `${formatIPv4(base)}/${prefixLength}`
    if (base !== v4) return {ok: false, message: `\`${text}\` has host bits set`, hint: `the network of ${text} is ${normal}: did you mean ${normal}?`}
    if (prefixLength === 0) return {ok: false, message: `\`${text}\` is the whole IPv4 internet, not a subnet`, hint: 'for a full tunnel use exit_via on the clients; subnets are networks behind this node'}
    return {ok: true, value: {family, base: BigInt(base), prefixLength, text: normal}}
  }
  const base = maskIPv6(v6!, prefixLength)
  const normal = formatIPv6Network({base, prefixLength})
  if (base !== v6) return {ok: false, message: `\`${text}\` has host bits set`, hint: `the network of ${text} is ${normal}: did you mean ${normal}?`}
  if (prefixLength === 0) return {ok: false, message: `\`${text}\` is the whole IPv6 internet, not a subnet`, hint: 'subnets are networks behind this node'}
  return {ok: true, value: {family, base, prefixLength, text: normal}}
}

/** `subnets`: a comma-separated list of networks, each once (normalised text compared). */
export function checkSubnets(text: string): Checked<Subnet[]> {
  const subnets: Subnet[] = []
  for (const part of text.split(',').map((s) => s.trim())) {
    if (part === '') return {ok: false, message: `\`${text}\` has an empty entry`, hint: EXAMPLE}
    const subnet = parseSubnet(part)
    if (!subnet.ok) return subnet
    const clash = subnets.find((s) => overlaps(s, subnet.value))
    if (clash) return {ok: false, message: `${subnet.value.text} overlaps ${clash.text}, listed before it`, hint: 'list each network once; a larger network already covers the smaller one'}
    subnets.push(subnet.value)
  }
  return {ok: true, value: subnets}
}

/** Two networks of one family overlap when one contains the other's base. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false
  const shorter = Math.min(a.prefixLength, b.prefixLength)
  const hostBits = BigInt(bits(a.family) - shorter)
  return a.base >> hostBits === b.base >> hostBits
}

/** Whether an address (IPv4 or IPv6 text, brackets allowed) lies inside the subnet. */
export function subnetContains(subnet: Subnet, address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1]
  const v4 = parseIPv4(mapped ?? bare)
  const value = v4 !== undefined ? BigInt(v4) : parseIPv6(bare)
  if (value === undefined || (v4 !== undefined ? 'ipv4' : 'ipv6') !== subnet.family) return false
  return overlaps(subnet, {family: subnet.family, base: value, prefixLength: bits(subnet.family), text: ''})
}

/**
 * The network an interface address with its prefix length lies in (`10.0.0.1/24` → 10.0.0.0/24, as the
 * prefix route the kernel adds with the address); undefined when the text is not one.
 */
export function interfacePrefix(text: string): Subnet | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text)
  if (!match) return undefined
  const prefixLength = Number(match[2])
  const v4 = parseIPv4(match[1]!)
  if (v4 !== undefined) return prefixLength <= 32 ? subnetOf(`${formatIPv4(maskAddress(v4, prefixLength))}/${prefixLength}`) : undefined
  const v6 = parseIPv6(match[1]!)
  return v6 !== undefined && prefixLength <= 128 ? subnetOf(formatIPv6Network({base: maskIPv6(v6, prefixLength), prefixLength})) : undefined
}

/** Whether network `inner` lies wholly inside `outer` (same family, no shorter prefix). */
export function subnetWithin(inner: Subnet, outer: Subnet): boolean {
  return inner.prefixLength >= outer.prefixLength && overlaps(inner, outer)
}

/** A Subnet from the Fleet model's normalised text (already validated). */
export function subnetOf(text: string): Subnet | undefined {
  const parsed = parseSubnet(text)
  return parsed.ok ? parsed.value : undefined
}

export function isIPv6Subnet(text: string): boolean {
  return subnetOf(text)?.family === 'ipv6'
}

/** What the checks read of a node section (sections.ts's NodeDraft has these). */
interface NodeDraft {
  name: string
  line: number
  keyLines: ReadonlyMap<string, number>
  host?: string
  endpoint?: {host: string}
  jump?: JumpSpec
  subnets?: Subnet[]
  subnetSnat?: boolean
}

/** What the checks read of [network] (sections.ts's NetworkRead has these). */
interface NetworkRead {
  settings: {cidr: string; cidr6?: string}
  network?: IPv4Network
  network6?: IPv6Network
}

function report(problems: Problems, node: NodeDraft, key: string, message: string, hint?: string): void {
  problems.add({line: node.keyLines.get(key) ?? node.line, section: node.name, key}, message, hint)
}

/**
 * One node's subnets against the overlay ([network] cidr and cidr6: the mesh routes both to wg0) and its
 * own subnet_snat; an IPv6 subnet needs cidr6 (the overlay has no IPv6 source address to reach it from).
 */
export function checkSubnetsOfNode(draft: NodeDraft, network: NetworkRead, problems: Problems): void {
  if (draft.subnets === undefined) {
    if (draft.subnetSnat !== undefined) report(problems, draft, 'subnet_snat', '`subnet_snat` is set, but the node has no `subnets`', 'add `subnets = <the networks behind this node>`, or remove subnet_snat')
    return
  }
  const overlay: Subnet[] = []
  if (network.network) overlay.push({family: 'ipv4', base: BigInt(network.network.base), prefixLength: network.network.prefixLength, text: network.settings.cidr})
  if (network.network6) overlay.push({family: 'ipv6', base: network.network6.base, prefixLength: network.network6.prefixLength, text: network.settings.cidr6 ?? ''})
  for (const subnet of draft.subnets) {
    const clash = overlay.find((o) => overlaps(o, subnet))
    if (clash) {
      report(problems, draft, 'subnets', `${subnet.text} overlaps the overlay network ${clash.text} ([network] ${clash.family === 'ipv4' ? 'cidr' : 'cidr6'})`, 'a subnet is a real network behind this node, outside the overlay: choose another [network] cidr, or remove it from subnets')
    } else if (subnet.family === 'ipv6' && !network.network6) {
      report(problems, draft, 'subnets', `${subnet.text} is an IPv6 subnet, but [network] has no cidr6`, 'the nodes reach an IPv6 subnet from their IPv6 overlay addresses: add `cidr6 = fd42:42::/64` to [network], or remove it')
    }
  }
}

/**
 * Across nodes: no two nodes' subnets overlap (WireGuard would put one range on two peers), and no subnet
 * holds a node's host, endpoint or jump host: the mesh's route for it would capture the SSH and WireGuard
 * traffic that reaches that host (the capture the overlay check prevents). O(subnets × (subnets + nodes)).
 */
export function checkFleetSubnets(nodes: NodeDraft[], problems: Problems): void {
  const owners: Array<{node: NodeDraft; subnet: Subnet}> = []
  for (const node of nodes) {
    for (const subnet of node.subnets ?? []) {
      const clash = owners.find((o) => o.node !== node && overlaps(o.subnet, subnet))
      if (clash) {
        report(problems, node, 'subnets', `${subnet.text} overlaps ${clash.subnet.text}, a subnet of [${clash.node.name}]`, 'each network is routed to one node: remove it from one of them')
      }
      owners.push({node, subnet})
    }
  }
  if (owners.length === 0) return
  for (const node of nodes) {
    const addresses: Array<[string, string | undefined]> = [
      ['host', node.host],
      ['endpoint', node.endpoint?.host],
      ['jump', node.jump?.kind === 'address' ? node.jump.host : undefined],
    ]
    for (const [key, address] of addresses) {
      if (address === undefined) continue
      const owner = owners.find((o) => subnetContains(o.subnet, address))
      if (!owner) continue
      report(
        problems,
        owner.node,
        'subnets',
        `${owner.subnet.text} contains ${address}, the ${key} of [${node.name}]`,
        `SSH and WireGuard reach [${node.name}] at that address over the real network: the mesh's route for the subnet would capture that traffic; leave that address outside subnets`,
      )
    }
  }
}

/** Normalised texts for the Fleet model. */
export function subnetTexts(subnets: readonly Subnet[]): string[] {
  return subnets.map((s) => s.text)
}
