/**
 * Reading one section at a time: [network], [ssh], and a node section into a NodeDraft (a node whose
 * references to other nodes are not checked yet; see fleet-checks.ts).
 */
import type {Fleet, JumpSpec, NetworkSettings, SshSettings} from './model.js'
import {literalFamily, type Underlay} from './underlay.js'
import {addressInNetwork, containsIPv6, fitsHostBits, formatIPv6, formatIPv6Network, type IPv6Network, parseIPv6} from './ipv6.js'
import {contains, broadcastOf, formatIPv4, formatNetwork, type IPv4Network, isInsideNetwork, parseIPv4} from './ipv4.js'
import {isKnownKey, keysOf, otherKindsAccepting, type SectionKind, suggestKey} from './keys.js'
import type {Problems, Where} from './problems.js'
import type {RawSection} from './raw.js'
import {checkSubnets, checkSubnetsOfNode, type Subnet} from './subnets.js'
import {
  checkAddress,
  checkAddress6,
  checkBoolean,
  checkCidr,
  checkCidr6,
  checkUnderlay,
  checkDnsServers,
  checkEndpoint,
  checkGroups,
  checkHost,
  checkInterfaceName,
  checkJump,
  checkKeepalive,
  checkDomain,
  checkKeyMaxAgeDays,
  checkMtu,
  checkNodeReference,
  checkPath,
  checkPort,
  checkTopology,
  checkTransport,
  checkUser,
  type Checked,
  type HostAndPort,
  resolveInventoryPath,
} from './values.js'

export const DEFAULT_WIREGUARD_PORT = 51820
export const DEFAULT_KEEPALIVE = 25
export const DEFAULT_INTERFACE = 'wg0'
/** The port OpenSSH uses when neither the inventory nor the ssh config sets one. */
export const DEFAULT_SSH_PORT = 22

/** Reads the keys of one section, reporting each problem at the line of the key (or of the header). */
export class SectionReader {
  constructor(
    readonly section: RawSection,
    private readonly kind: SectionKind,
    private readonly problems: Problems,
  ) {}

  has(key: string): boolean {
    return this.section.entries.has(key)
  }

  lineOf(key: string): number {
    return this.section.entries.get(key)?.line ?? this.section.line
  }

  where(key?: string): Where {
    return {line: key === undefined ? this.section.line : this.lineOf(key), section: this.section.name, key}
  }

  fail(key: string, message: string, hint?: string): void {
    this.problems.add(this.where(key), message, hint)
  }

  /** The checked value of `key`; undefined when absent or invalid (and then reported). */
  optional<T>(key: string, check: (text: string) => Checked<T>): T | undefined {
    const entry = this.section.entries.get(key)
    if (!entry || entry.invalid) return undefined
    if (entry.value === '') {
      this.fail(key, `\`${key}\` has no value`, `give it a value, or remove the line to use the default`)
      return undefined
    }
    const checked = check(entry.value)
    if (checked.ok) return checked.value
    this.fail(key, checked.message, checked.hint)
    return undefined
  }

  /** Like optional, and a missing key is reported at the section header. */
  required<T>(key: string, check: (text: string) => Checked<T>, hint: string): T | undefined {
    if (!this.has(key)) {
      this.problems.add({line: this.section.line, section: this.section.name, key}, `\`${key}\` is missing (it is required)`, hint)
      return undefined
    }
    return this.optional(key, check)
  }

  /** `explain` may word the problem for a key it knows better (a node key in a client section). */
  reportUnknownKeys(explain?: (key: string) => {message: string; hint: string} | undefined): void {
    for (const entry of this.section.entries.values()) {
      if (isKnownKey(this.kind, entry.key)) continue
      const explained = explain?.(entry.key)
      if (explained) {
        this.problems.add({line: entry.line, section: this.section.name, key: entry.key}, explained.message, explained.hint)
        entry.invalid = true
        continue
      }
      const suggestion = suggestKey(this.kind, entry.key)
      const message = suggestion ? `unknown key \`${entry.key}\`; did you mean \`${suggestion}\`?` : `unknown key \`${entry.key}\``
      const accepted = `${describeKind(this.kind)} accepts: ${keysOf(this.kind).join(', ')}`
      const elsewhere = otherKindsAccepting(this.kind, entry.key)
      const hint = elsewhere.length > 0 ? `\`${entry.key}\` is a key of ${elsewhere.map(describeKind).join(' and ')}; ${accepted}` : accepted
      this.problems.add({line: entry.line, section: this.section.name, key: entry.key}, message, hint)
      entry.invalid = true
    }
  }
}

function describeKind(kind: SectionKind): string {
  return kind === 'node' ? 'a node section' : kind === 'client' ? 'a client section' : `[${kind}]`
}

// ---- [network] --------------------------------------------------------------------------------------------

export interface NetworkRead {
  settings: NetworkSettings
  /** The parsed cidr; undefined when missing or invalid (already reported). */
  network?: IPv4Network
  /** The parsed cidr6; undefined when not set or invalid (already reported). */
  network6?: IPv6Network
  /** cidr6 is written in [network] (valid or not). */
  cidr6Written?: boolean
  /** Line of a [network] key (0 when there is no [network]). */
  lineOf(key: string): number
}

const NETWORK_EXAMPLE = 'add at the top of the file:\n    [network]\n    cidr = 10.0.0.0/24\n  (see inventory.example.ini)'

export function readNetwork(section: RawSection | undefined, problems: Problems): NetworkRead {
  const defaults: NetworkSettings = {
    cidr: '',
    prefixLength: 0,
    port: DEFAULT_WIREGUARD_PORT,
    keepalive: DEFAULT_KEEPALIVE,
    interface: DEFAULT_INTERFACE,
    topology: 'mesh',
  }
  if (!section) {
    problems.add({line: 0}, 'there is no [network] section', NETWORK_EXAMPLE)
    return {settings: defaults, lineOf: () => 0}
  }
  const reader = new SectionReader(section, 'network', problems)
  reader.reportUnknownKeys()
  const network = reader.required('cidr', checkCidr, 'add `cidr = 10.0.0.0/24`: the private IPv4 network the nodes share')
  const settings: NetworkSettings = {
    cidr: network ? formatNetwork(network) : '',
    prefixLength: network?.prefixLength ?? 0,
    port: reader.optional('port', checkPort) ?? DEFAULT_WIREGUARD_PORT,
    keepalive: reader.optional('keepalive', checkKeepalive) ?? DEFAULT_KEEPALIVE,
    interface: reader.optional('interface', checkInterfaceName) ?? DEFAULT_INTERFACE,
    topology: reader.optional('topology', checkTopology) ?? 'mesh',
  }
  const mtu = reader.optional('mtu', checkMtu)
  if (mtu !== undefined) settings.mtu = mtu
  const dns = reader.optional('dns', checkDnsServers)
  if (dns !== undefined) settings.dns = dns
  const hostsFile = reader.optional('hosts_file', checkBoolean)
  const domain = reader.optional('domain', checkDomain)
  if (hostsFile) settings.hostsFile = domain === undefined ? {} : {domain}
  else if (domain !== undefined) reader.fail('domain', '`domain` names the entries of the hosts file, but `hosts_file` is not true', 'add `hosts_file = true` to [network], or remove `domain`')
  const keyMaxAgeDays = reader.optional('key_max_age_days', checkKeyMaxAgeDays)
  if (keyMaxAgeDays !== undefined) settings.keyMaxAgeDays = keyMaxAgeDays
  if (reader.optional('preshared_keys', checkBoolean)) settings.presharedKeys = true
  let network6 = reader.optional('cidr6', checkCidr6)
  if (network6 && network && !fitsHostBits(network6, 32 - network.prefixLength)) {
    reader.fail('cidr6', `${formatIPv6Network(network6)} is smaller than the IPv4 overlay ${formatNetwork(network)}: a node's IPv6 address is cidr6 plus its IPv4 host number`, `use a prefix of /${96 + network.prefixLength} or shorter (/64 is usual)`)
    network6 = undefined
  }
  if (network6) settings.cidr6 = formatIPv6Network(network6)
  return {settings, network, network6, cidr6Written: section.entries.has('cidr6'), lineOf: (key) => reader.lineOf(key)}
}

// ---- [ssh] ------------------------------------------------------------------------------------------------

/** [ssh]: only what it really sets (an unset value defers to the admin's ssh config, see model.ts). */
export function readSshDefaults(section: RawSection | undefined, inventoryDir: string, problems: Problems): Fleet['ssh'] {
  if (!section) return {}
  const reader = new SectionReader(section, 'ssh', problems)
  reader.reportUnknownKeys()
  return readSshKeys(reader, {user: 'user', port: 'port'}, inventoryDir)
}

/** The SSH keys of one section (named `user`/`port` in [ssh], `ssh_user`/`ssh_port` in a node); unset ones stay unset. */
function readSshKeys(reader: SectionReader, names: {user: string; port: string}, inventoryDir: string): SshSettings {
  const ssh: SshSettings = {}
  const user = reader.optional(names.user, checkUser)
  if (user !== undefined) ssh.user = user
  const port = reader.optional(names.port, checkPort)
  if (port !== undefined) ssh.port = port
  const identity = reader.optional('identity', checkPath)
  if (identity !== undefined) ssh.identity = resolveInventoryPath(identity, inventoryDir)
  const knownHosts = reader.optional('known_hosts', checkPath)
  if (knownHosts !== undefined) ssh.knownHosts = resolveInventoryPath(knownHosts, inventoryDir)
  const transport = reader.optional('transport', checkTransport)
  if (transport !== undefined) ssh.transport = transport
  return ssh
}

// ---- node sections ----------------------------------------------------------------------------------------

/** A node as read from its section; fields that were missing or invalid are undefined (and reported). */
export interface NodeDraft {
  name: string
  line: number
  /** Line of each key as written; a key not written falls back to the header line. */
  keyLines: ReadonlyMap<string, number>
  host?: string
  address?: string
  /** As written (checked syntax), then the node's IPv6 overlay address (readAddress6). */
  address6?: string
  endpoint?: HostAndPort
  port: number
  nat: boolean
  relay: boolean
  underlay?: Underlay
  ssh: SshSettings
  jump?: JumpSpec
  exitVia?: string
  dns?: string[]
  groups?: string[]
  /** Site-to-site networks behind the node (subnets.ts), normalised. */
  subnets?: Subnet[]
  /** `subnet_snat` as written (default true when subnets are set). */
  subnetSnat?: boolean
}

export function lineOfKey(node: NodeDraft, key: string): number {
  return node.keyLines.get(key) ?? node.line
}

export interface NodeContext {
  network: NetworkRead
  ssh: Fleet['ssh']
  inventoryDir: string
}

export function readNode(section: RawSection, context: NodeContext, problems: Problems): NodeDraft {
  const reader = new SectionReader(section, 'node', problems)
  reader.reportUnknownKeys()
  const draft: NodeDraft = {
    name: section.name,
    line: section.line,
    keyLines: new Map([...section.entries.values()].map((entry) => [entry.key, entry.line])),
    host: reader.required('host', checkHost, 'add `host = <the IP address or DNS name SSH connects to>`'),
    address: readAddress(reader, context.network),
    address6: reader.optional('address6', checkAddress6),
    endpoint: reader.optional('endpoint', checkEndpoint),
    port: reader.optional('port', checkPort) ?? context.network.settings.port,
    nat: reader.optional('nat', checkBoolean) ?? false,
    relay: reader.optional('relay', checkBoolean) ?? false,
    underlay: reader.optional('underlay', checkUnderlay),
    ssh: readNodeSsh(reader, context),
    jump: reader.optional('jump', checkJump),
    exitVia: reader.optional('exit_via', checkNodeReference),
    dns: reader.optional('dns', checkDnsServers) ?? context.network.settings.dns,
    groups: reader.optional('groups', checkGroups),
    subnets: reader.optional('subnets', checkSubnets),
    subnetSnat: reader.optional('subnet_snat', checkBoolean),
  }
  checkNatConsistency(reader, draft)
  checkUnderlayConsistency(reader, draft)
  checkOutsideOverlay(reader, draft, context.network)
  checkSubnetsOfNode(draft, context.network, problems)
  draft.address6 = readAddress6(reader, draft, context.network)
  return draft
}

/**
 * The node's IPv6 overlay address (RFC 5952 text): its `address6` inside cidr6, else cidr6 plus the host
 * number of its IPv4 address (10.64.1.2 in 10.64.0.0/16 → host 0x102 → fd42:42::102). Undefined without
 * cidr6; address6 without cidr6 is refused.
 */
function readAddress6(reader: SectionReader, draft: NodeDraft, network: NetworkRead): string | undefined {
  const written = draft.address6 === undefined ? undefined : parseIPv6(draft.address6)
  const prefix = network.network6
  if (!prefix) {
    if (draft.address6 !== undefined && !network.cidr6Written) {
      reader.fail('address6', 'address6 is set, but [network] has no cidr6', 'add `cidr6 = fd42:42::/64` (your own unique local prefix) to [network], or remove address6')
    }
    return undefined
  }
  const range = formatIPv6Network(prefix)
  if (written !== undefined) {
    if (!containsIPv6(prefix, written)) reader.fail('address6', `${draft.address6} is outside the IPv6 overlay ${range}`, `use an address inside ${range}, or leave address6 out: the default is ${range.split('/')[0]} plus the node's IPv4 host number`)
    else if (written === prefix.base) reader.fail('address6', `${draft.address6} is the network address of ${range} (the subnet-router anycast address), not a host address`, `use another address inside ${range}`)
    else return formatIPv6(written)
    return undefined
  }
  const v4 = draft.address === undefined ? undefined : parseIPv4(draft.address)
  if (v4 === undefined || !network.network) return undefined
  return formatIPv6(addressInNetwork(prefix, v4 - network.network.base))
}

/** An `underlay` that its own endpoint contradicts (ipv4 with an IPv6 address to dial, or the reverse). */
function checkUnderlayConsistency(reader: SectionReader, draft: NodeDraft): void {
  if (draft.underlay === undefined || draft.underlay === 'dual' || draft.nat) return
  const host = draft.endpoint?.host ?? draft.host
  const family = host === undefined ? undefined : literalFamily(host)
  if (family === undefined || family === draft.underlay) return
  const key = draft.endpoint ? 'endpoint' : 'host'
  reader.fail('underlay', `underlay = ${draft.underlay}, but the others dial it at ${host} (its ${key}), an ${family === 'ipv6' ? 'IPv6' : 'IPv4'} address`, `write underlay = dual when the node has both, or give it an ${draft.underlay === 'ipv6' ? 'IPv6' : 'IPv4'} endpoint`)
}

/** The node's own SSH keys over the [ssh] ones; what neither sets stays unset. */
function readNodeSsh(reader: SectionReader, context: NodeContext): SshSettings {
  return {...context.ssh, ...readSshKeys(reader, {user: 'ssh_user', port: 'ssh_port'}, context.inventoryDir)}
}

/** The address, when it is an IPv4 address that a node (or a client) can use inside the network's cidr. */
export function readAddress(reader: SectionReader, network: NetworkRead): string | undefined {
  const cidr = network.network
  const example = cidr ? `a free address from ${formatIPv4(cidr.base + 1)} to ${formatIPv4(broadcastOf(cidr) - 1)}` : 'a bare IPv4 address inside cidr'
  const address = reader.required('address', checkAddress, `add \`address = <${example}>\`: this node's address on the private network`)
  if (address === undefined || cidr === undefined) return address
  const value = parseIPv4(address) as number
  const range = formatNetwork(cidr)
  if (!contains(cidr, value)) {
    reader.fail('address', `${address} is outside the network ${range}`, `use ${example}, or change [network] cidr`)
  } else if (value === cidr.base) {
    reader.fail('address', `${address} is the network address of ${range}, not a host address`, `use ${example}`)
  } else if (value === broadcastOf(cidr)) {
    reader.fail('address', `${address} is the broadcast address of ${range}, not a host address`, `use ${example}`)
  }
  return address
}

/**
 * The overlay must not overlap the real network the nodes are reached on: with `cidr = 10.0.0.0/24` and
 * `host = 10.0.0.50`, the interface's 10.0.0.0/24 route would capture the SSH replies and the WireGuard
 * endpoints themselves. Addresses only: a host name is checked at apply time, against the addresses the
 * host reports (its uplink address, the SSH client's address).
 */
function checkOutsideOverlay(reader: SectionReader, draft: NodeDraft, network: NetworkRead): void {
  const overlay = network.network
  if (overlay === undefined) return
  const range = formatNetwork(overlay)
  const hint = `SSH and WireGuard reach a node over the real network, outside the overlay: write the server's real address here, or choose a [network] cidr that no real network of the fleet uses`
  const refuseInside = (key: string, host: string | undefined): void => {
    if (host !== undefined && isInsideNetwork(overlay, host)) reader.fail(key, `${host} is inside the overlay network ${range} ([network] cidr)`, hint)
  }
  refuseInside('host', draft.host)
  refuseInside('endpoint', draft.endpoint?.host)
  if (draft.jump?.kind === 'address') refuseInside('jump', draft.jump.host)
}

function checkNatConsistency(reader: SectionReader, draft: NodeDraft): void {
  if (!draft.nat) return
  if (reader.has('endpoint')) {
    reader.fail(
      'endpoint',
      '`endpoint` is set on a node behind NAT (nat = true)',
      'a NAT-ed node has no endpoint others can dial: remove `endpoint`, or set nat = false if other nodes can reach it there (e.g. through a port forward)',
    )
  }
  if (draft.relay) {
    reader.fail('relay', 'a node behind NAT (nat = true) cannot be a relay', 'the NAT-ed nodes must be able to dial the relay: set relay = true on a node with a public endpoint instead')
  }
}
