/**
 * Pure decisions of the converge: from what the probe saw and what the plan wants, which packages to
 * install and what the apply step must do. No I/O here, so every branch (apt, dnf, EL8 without EPEL,
 * no kernel module, ...) is unit-tested from real /etc/os-release texts.
 */
import type {NodePlan} from '../plan/model.js'
import {probePeers, type HostProbe} from '../remote/probe.js'
import type {WgDumpPeer} from '../wireguard/dump.js'
import {classifyConfigChange} from '../plan/index.js'
import {BugError, NodeFailure} from '../lib/errors.js'
import {isInsideNetwork, parseNetwork} from '../inventory/ipv4.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {firewallNeedsOf, firewallVerdict, type FirewallBlocker, type FirewallVerdict} from '../firewall/verdict.js'
import {subnetRouteInterface} from '../firewall/routes.js'
import {isIPv6Subnet, subnetContains, subnetOf} from '../inventory/subnets.js'


export type OsFamily = 'debian' | 'fedora' | 'el' | 'unknown'

export function osFamily(probe: HostProbe): OsFamily {
  const ids = [probe.os.id, ...probe.os.idLike].map((s) => s.toLowerCase())
  if (ids.some((id) => id === 'debian' || id === 'ubuntu')) return 'debian'
  if (probe.os.id === 'fedora') return 'fedora'
  if (ids.some((id) => ['rhel', 'centos', 'rocky', 'almalinux', 'fedora'].includes(id))) return 'el'
  return 'unknown'
}

export function elMajor(probe: HostProbe): number | undefined {
  const major = Number.parseInt(probe.os.versionId ?? '', 10)
  return Number.isFinite(major) ? major : undefined
}

export interface InstallNeeds {
  /** `dns` is set: wg-quick needs resolvconf. */
  dns: boolean
  /** Full tunnel or masquerade: wg-quick's rules and our PostUp need iptables/nft. */
  firewallTools: boolean
}

export interface InstallDecision {
  packages: string[]
  /** WireGuard implementation once installed. */
  implementation: 'kernel' | 'userspace'
}

/** The fixed set of package names wgfleet ever asks for (validated again before sending). */
export const KNOWN_PACKAGES = new Set(['wireguard-tools', 'wireguard-go', 'openresolv', 'systemd-resolved', 'iptables', 'iptables-nft'])

export function decideInstall(probe: HostProbe, needs: InstallNeeds): InstallDecision {
  const family = osFamily(probe)
  const manager = probe.packageManager
  const packages: string[] = []
  const implementation = probe.kernelWireguard ? 'kernel' : 'userspace'

  if (!probe.has.wg || !probe.has.wgQuick) {
    if (manager === 'none') {
      throw new NodeFailure('WireGuard tools are missing and there is no apt, dnf or yum to install them', 'install wireguard-tools by hand, then rerun')
    }
    if (family === 'el' && (elMajor(probe) ?? 0) <= 8 && !probe.epel) {
      throw new NodeFailure(
        `${probe.os.prettyName ?? 'EL8'} takes wireguard-tools from EPEL, which is not enabled`,
        'enable EPEL (`dnf install epel-release`; on RHEL also enable codeready-builder), then rerun',
      )
    }
    packages.push('wireguard-tools')
  }

  if (!probe.kernelWireguard && !probe.has.wireguardGo) {
    if (manager === 'apt') packages.push('wireguard-go')
    else {
      throw new NodeFailure(
        `the kernel (${probe.kernel}) has no WireGuard module and ${probe.os.prettyName ?? 'this distribution'} does not package the userspace wireguard-go`,
        'use a kernel with WireGuard (5.6+ or the distribution\'s kmod-wireguard), then rerun',
      )
    }
  }

  if (needs.dns && !probe.has.resolvconf) packages.push(manager === 'apt' ? 'openresolv' : 'systemd-resolved')
  if (needs.firewallTools && !probe.has.iptables) {
    packages.push(manager === 'apt' || (family === 'el' && (elMajor(probe) ?? 0) <= 8) ? 'iptables' : 'iptables-nft')
  }
  if (packages.length > 0 && manager === 'none') {
    throw new NodeFailure(`missing ${packages.join(', ')} and no apt, dnf or yum to install them`, 'install them by hand, then rerun')
  }
  return {packages, implementation}
}

export type ServiceAction = 'start' | 'restart' | 'syncconf' | 'none'

export interface ApplyDecision {
  writeConfig: boolean
  configChange: 'new' | 'peers' | 'interface' | 'none'
  action: ServiceAction
  forward: boolean
  /** With forward: IPv6 forwarding too (the node has an IPv6 overlay address). */
  forward6: boolean
  /** The firewall verdict; apply.sh runs exactly its actions. */
  firewall: FirewallVerdict
  enable: boolean
  permissions: boolean
  /** True when the apply step must run at all. */
  needed: boolean
}

/** KEY_FILE_PUBLIC_KEY: the key file's public key (probed, or generated in this run). */
export function decideApply(probe: HostProbe, node: NodePlan, port: number, keyFilePublicKey?: string): ApplyDecision {
  const current = probe.config ? probe.configText ?? null : null
  // wg-quick starts from the config's PrivateKey: a config holding another key than the key file (the key
  // file was replaced or regenerated) is written again from the key file, and the interface restarted.
  const staleKey = current !== null && probe.configPublicKey !== undefined && keyFilePublicKey !== undefined && probe.configPublicKey !== keyFilePublicKey
  // Dual stack on a host without IPv6: wg-quick would fail on the IPv6 Address and take the IPv4 overlay down
  // with it. Refused before anything is written.
  if (node.address6 !== undefined && probe.ipv6Disabled) {
    throw new NodeFailure(
      'IPv6 is disabled on this host (net.ipv6.conf.default.disable_ipv6 = 1, or no IPv6 in its kernel): it cannot take its IPv6 overlay address',
      'enable IPv6 (`sysctl -w net.ipv6.conf.default.disable_ipv6=0`, and remove ipv6.disable=1 from the kernel command line if it is there), or remove cidr6 from [network]',
    )
  }
  const psk = presharedKeyDrift(probe, node)
  const textChange = current === null ? 'new' : staleKey ? 'interface' : classifyConfigChange(current, node.config)
  // The hosts mask preshared keys, so a config holding another value than the peer's file reads the same: written again.
  const configChange = textChange === 'none' && psk.config ? 'peers' : textChange
  const writeConfig = configChange !== 'none'
  const running = probe.interfaceUp && (!probe.systemd || probe.serviceActive === 'active')

  let action: ServiceAction = 'none'
  if (!running) action = 'start'
  // An apply was cut off between writing the file and updating the interface: restart from the file.
  else if (probe.pending) action = 'restart'
  else if (configChange === 'interface' || configChange === 'new' || fullTunnelChanged(current, node.config)) action = 'restart'
  else if (configChange === 'peers' || psk.live || interfaceDrifted(probe, node)) action = 'syncconf'

  const firewall = firewallVerdict(probe, firewallNeedsOf(node, port, probe.uplink && isInterfaceName(probe.uplink) ? probe.uplink : null, probe.routes))
  // Forwarding that does not work now and that wgfleet may not fix: the node fails, saying why.
  if (firewall.blocker && [firewall.forward, firewall.exitForward, firewall.subnetForward].includes('blocked')) throw blockerFailure(firewall.blocker, node.interface)
  const unrouted = firewall.subnetForward === 'unknown' ? node.subnets?.find((s) => subnetRouteInterface(probe.routes ?? [], s) === null) : undefined
  if (unrouted !== undefined) {
    throw new NodeFailure(`subnet ${unrouted} has no route on this host: wgfleet cannot tell where to forward it`, `give the node its address on that network (or a route to it), or remove ${unrouted} from subnets, then rerun`)
  }

  // Dual stack: a relay (hub relays too) carries the IPv6 overlay (an exit only IPv4: its masquerade is
  // iptables); a subnet node forwards IPv6 only for an IPv6 subnet.
  const subnets = node.subnets ?? []
  const forwards = node.forwarding || subnets.length > 0
  const forward6 = (node.forwarding && node.relay === true && node.address6 !== undefined) || subnets.some(isIPv6Subnet)
  const forward = forwards && (!probe.ipForward || !probe.forwardFile || (forward6 && (!probe.ip6Forward || !probe.forward6File)))
  const enable = probe.systemd && probe.serviceEnabled !== 'enabled'
  const permissions = probe.wireguardDirMode !== '700' || probe.keyMode !== '600' || (probe.config && probe.configMode !== '600')
  const needed = writeConfig || action !== 'none' || probe.pending || firewall.actions.length > 0 || forward || enable || permissions
  return {
    writeConfig,
    configChange,
    action,
    forward: forwards,
    forward6,
    firewall,
    enable,
    permissions,
    needed,
  }
}

function blockerFailure(blocker: FirewallBlocker, iface: string): NodeFailure {
  switch (blocker.kind) {
    case 'foreign-zone':
      return new NodeFailure(
        `${iface} is in firewalld zone ${blocker.zone}, which does not forward between peers; wgfleet does not move an interface it did not place`,
        `let the zone forward (\`firewall-cmd --zone=${blocker.zone} --add-forward\`, and with --permanent), or remove ${iface} from it, then rerun`,
      )
    case 'runtime-differs':
      return new NodeFailure(
        `firewalld needs a reload to load wgfleet's zone and policy for forwarding, and its runtime configuration differs from the permanent one (${blocker.objects.join(', ')}): a reload would lose that`,
        'keep those changes (`firewall-cmd --runtime-to-permanent`) or drop them (`firewall-cmd --reload`), then rerun',
      )
    case 'no-policies':
      return new NodeFailure(`this firewalld lists no policies (older than 0.9): wgfleet cannot let it forward between peers on ${iface}`, `put ${iface} in a zone that forwards, or update firewalld, then rerun`)
  }
}

/**
 * The peers whose entries carry a preshared key, against the host's report of their files: the config or
 * the running interface holds another value than the file (a store cut off half-way, a hand edit).
 */
function presharedKeyDrift(probe: HostProbe, node: Pick<NodePlan, 'peers'>): {config: boolean; live: boolean} {
  const drift = {config: false, live: false}
  if (probe.presharedKeys.size === 0) return drift
  for (const peer of node.peers) {
    const file = peer.presharedKey ? probe.presharedKeys.get(peer.name) : undefined
    if (!file) continue
    if (file.config === 'differs') drift.config = true
    if (file.live === 'differs' || file.live === 'none') drift.live = true
  }
  return drift
}

/** Adding or removing a 0.0.0.0/0 route changes wg-quick's policy routing: only a restart applies it. */
function fullTunnelChanged(oldText: string | null, newText: string): boolean {
  if (oldText === newText) return false
  const hasDefault = (text: string | null) => /^AllowedIPs\s*=.*\b0\.0\.0\.0\/0\b/m.test(text ?? '')
  return hasDefault(oldText) !== hasDefault(newText)
}

/**
 * The running interface's peers (keys and AllowedIPs) differ from the config: e.g. an earlier run was cut
 * off between writing the file and updating the interface, or someone ran `wg set` by hand.
 */
export function interfaceDrifted(probe: HostProbe, node: Pick<NodePlan, 'peers'>): boolean {
  if (!probe.interfaceUp || probe.peerDump === undefined) return false
  const running = probePeers(probe)
  if (sameInOrder(probe, node.peers)) return false
  // What the plan wants (the config is rendered from it), not the config text parsed again.
  const wanted = new Map<string, readonly string[]>()
  for (const peer of node.peers) if (peer.publicKey !== null) wanted.set(peer.publicKey, peer.allowedIps)
  if (running.length !== wanted.size) return true
  for (const p of running) {
    const ranges = wanted.get(p.publicKey)
    if (!ranges || !sameRanges(ranges, p.allowedIps)) return true
  }
  return false
}

/** The running peers are the planned ones, in the plan's order, with the same ranges in the same order. */
function sameInOrder(probe: HostProbe, planned: NodePlan['peers']): boolean {
  const {entries, inPlanOrder} = alignedEntries(probe, planned)
  return inPlanOrder && planned.every((peer, i) => peer.publicKey === null || sameList(entries[i]!.allowedIps, peer.allowedIps))
}

/**
 * The running entry of each planned peer (by the plan's index; none for a peer without a key) when the
 * interface holds exactly the planned keys in the plan's order — what wg-quick loads from the file, so the
 * usual case, found in one walk without a map; else undefined.
 */
function entriesInPlanOrder(running: readonly WgDumpPeer[], planned: NodePlan['peers']): Array<WgDumpPeer | undefined> | undefined {
  const entries = new Array<WgDumpPeer | undefined>(planned.length)
  let next = 0
  for (let i = 0; i < planned.length; i++) {
    const key = planned[i]!.publicKey
    if (key === null) continue
    const live = running[next++]
    if (live?.publicKey !== key) return undefined
    entries[i] = live
  }
  return next === running.length ? entries : undefined
}

/**
 * The running interface's entry for each of the plan's peers, by the plan's index: undefined where the
 * interface has none (or the peer has no key), and for every peer when the interface is not up or the probe
 * read no dump. A key printed twice counts by its last line, as a map of the dump would have it.
 */
export function runningEntries(probe: HostProbe, planned: NodePlan['peers']): ReadonlyArray<WgDumpPeer | undefined> {
  return alignedEntries(probe, planned).entries
}

/** runningEntries, and whether the dump was in the plan's order; once per probe and plan (apply and verify both ask). */
function alignedEntries(probe: HostProbe, planned: NodePlan['peers']): {entries: ReadonlyArray<WgDumpPeer | undefined>; inPlanOrder: boolean} {
  const cached = entriesCache.get(probe)
  if (cached?.planned === planned) return cached
  let aligned: {entries: ReadonlyArray<WgDumpPeer | undefined>; inPlanOrder: boolean}
  if (!probe.interfaceUp || probe.peerDump === undefined) aligned = {entries: new Array(planned.length), inPlanOrder: false}
  else {
    const running = probePeers(probe)
    const inOrder = entriesInPlanOrder(running, planned)
    if (inOrder) aligned = {entries: inOrder, inPlanOrder: true}
    else {
      const live = new Map(running.map((p) => [p.publicKey, p]))
      aligned = {entries: planned.map((p) => (p.publicKey === null ? undefined : live.get(p.publicKey))), inPlanOrder: false}
    }
  }
  entriesCache.set(probe, {planned, ...aligned})
  return aligned
}
const entriesCache = new WeakMap<HostProbe, {planned: NodePlan['peers']; entries: ReadonlyArray<WgDumpPeer | undefined>; inPlanOrder: boolean}>()

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The same ranges in any order (compared in order first: they almost always are). */
function sameRanges(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  if (a.every((r, i) => r === b[i])) return true
  const sorted = [...b].sort()
  return [...a].sort().every((r, i) => r === sorted[i])
}
/** Why a node is refused before anything is installed or changed on it (a failure of that node only). */
export type HostRefusal =
  /** A link already named like the interface is not WireGuard (a bridge, the NIC, a VLAN, a bond, a tun...). */
  | {reason: 'not-wireguard'; iface: string; kind: string}
  /** The link named like the interface carries the main table's default route. */
  | {reason: 'default-route'; iface: string}
  /** The SSH session comes from inside the overlay: the overlay's route would capture its replies. */
  | {reason: 'ssh-client-in-overlay'; address: string; overlay: string}
  /** The SSH session comes from inside another node's subnet: the route for it into the interface would capture its replies. */
  | {reason: 'ssh-client-in-subnet'; address: string; subnet: string; owner: string}
  /** The host's own uplink address is inside the overlay: the overlay overlaps the real network. */
  | {reason: 'uplink-in-overlay'; address: string; uplink: string; overlay: string}
  /** exit_via, and the uplink has no IPv4 address to keep replies (SSH from anywhere) on the main table. */
  | {reason: 'uplink-without-address'; uplink: string}

export interface HostTarget {
  iface: string
  /** The overlay, as the Fleet holds it (`a.b.c.d/len`). */
  overlay: string
  /** The node sends everything through an exit (exit_via). */
  fullTunnel: boolean
  /** Other nodes' site-to-site subnets (routed into the interface here), with their node. */
  routedSubnets?: ReadonlyArray<{subnet: string; owner: string}>
}

/**
 * What wgfleet must never do to this host: take over a link that is not its WireGuard interface (nor the
 * one the default route uses), or put the overlay over the network the host is reached on. ("The default
 * route" is the main table's: an exit_via node's own wg0 keeps its 0.0.0.0/0 in wg-quick's table.)
 */
export function hostRefusal(probe: HostProbe, target: HostTarget): HostRefusal | undefined {
  const {iface} = target
  const link = probe.interfaceLink
  if (link && !link.wireguard) return {reason: 'not-wireguard', iface, kind: link.kind}
  if (link?.defaultRoute) return {reason: 'default-route', iface}
  const overlay = parseNetwork(target.overlay)
  if (overlay === undefined) throw new BugError(`unvalidated overlay ${JSON.stringify(target.overlay)}`)
  if (probe.sshClient && isInsideNetwork(overlay, probe.sshClient)) return {reason: 'ssh-client-in-overlay', address: probe.sshClient, overlay: target.overlay}
  const client = probe.sshClient
  const capturing = client === undefined ? undefined : target.routedSubnets?.find((r) => {
    const subnet = subnetOf(r.subnet)
    return subnet !== undefined && subnetContains(subnet, client)
  })
  if (client !== undefined && capturing) return {reason: 'ssh-client-in-subnet', address: client, subnet: capturing.subnet, owner: capturing.owner}
  const uplink = probe.uplink && isInterfaceName(probe.uplink) ? probe.uplink : 'the uplink'
  const inside = probe.uplinkAddresses.find((address) => isInsideNetwork(overlay, address))
  if (inside) return {reason: 'uplink-in-overlay', address: inside, uplink, overlay: target.overlay}
  if (target.fullTunnel && probe.uplink && probe.uplinkAddresses.length === 0) return {reason: 'uplink-without-address', uplink}
  return undefined
}

const OTHER_INTERFACE = 'choose another `interface` in [network]: a name that no link on the nodes has (wgfleet creates it)'
const OTHER_OVERLAY = 'choose a [network] cidr that no real network of the fleet uses (the overlay exists only on the WireGuard interfaces)'

/** A refused node: the typed reason, with the words and hint for people. */
export class HostRefused extends NodeFailure {
  constructor(readonly refusal: HostRefusal) {
    const [message, hint] = describeRefusal(refusal)
    super(message, hint)
  }
}

function describeRefusal(r: HostRefusal): [string, string] {
  switch (r.reason) {
    case 'not-wireguard': {
      const what = r.kind === 'device' ? 'a network device' : r.kind === 'unknown' ? 'a link of unknown kind' : `a ${r.kind} link`
      return [`${r.iface} already exists on this host and is ${what}, not a WireGuard interface: wgfleet never takes it over (nor firewalls or deletes it)`, OTHER_INTERFACE]
    }
    case 'default-route':
      return [`${r.iface} carries this host's default route: wgfleet never takes over the link the host is reached through`, OTHER_INTERFACE]
    case 'ssh-client-in-overlay':
      return [`the SSH session comes from ${r.address}, inside the overlay ${r.overlay}: the overlay's route would capture its replies`, `${OTHER_OVERLAY}, or manage the node from an address outside it`]
    case 'ssh-client-in-subnet':
      return [
        `the SSH session comes from ${r.address}, inside ${r.subnet}, a subnet of ${r.owner}: the route for it into the WireGuard interface would capture the session's replies`,
        `manage the node from an address outside ${r.subnet}, or remove it from ${r.owner}'s subnets`,
      ]
    case 'uplink-in-overlay':
      return [`this host's own address ${r.address} (on ${r.uplink}) is inside the overlay ${r.overlay}: the overlay would overlap the network the host is reached on`, OTHER_OVERLAY]
    case 'uplink-without-address':
      return [`exit_via: the uplink ${r.uplink} has no IPv4 address, so replies to SSH could not be kept out of the tunnel`, `give ${r.uplink} its IPv4 address, or remove exit_via from this node`]
  }
}

/** Refuses the node (HostRefused, that node only) when hostRefusal finds a reason. */
export function assertHostIsSafe(probe: HostProbe, target: HostTarget): void {
  const refusal = hostRefusal(probe, target)
  if (refusal) throw new HostRefused(refusal)
}
