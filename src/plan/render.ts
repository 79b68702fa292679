/**
 * Rendering a node's plan to wg-quick config text. Pure and deterministic; never sees a private key
 * (the PrivateKey line is PRIVATE_KEY_MARKER, filled in on the host).
 */

import type {NetworkSettings} from '../inventory/model.js'
import {
  MANAGED_MARKER,
  type NodePlan,
  type PeerPlan,
  PRESHARED_KEY_MARKER,
  PRIVATE_KEY_MARKER,
  UNKNOWN_KEY_PLACEHOLDER,
  UPLINK_MARKER,
} from './model.js'
import {BugError} from '../lib/errors.js'
import {isIPv4, parseNetwork} from '../inventory/ipv4.js'
import {parseIPv6Network} from '../inventory/ipv6.js'
import {subnetOf} from '../inventory/subnets.js'
import {isInterfaceName} from '../wireguard/interface-name.js'

export {isInterfaceName}

/** What the renderer needs: a node plan without its text. */
export type RenderableNode = Omit<NodePlan, 'config'>

export interface InterfaceHooks {
  postUp: string[]
  postDown: string[]
}

/**
 * PostUp/PostDown commands. wg-quick runs them through bash, so every interpolated value is checked
 * here again (facts come from hosts and from state files, not only from the validated inventory).
 */
export function interfaceHooks(node: RenderableNode, cidr: string, cidr6?: string): InterfaceHooks {
  const hooks: InterfaceHooks = {postUp: [], postDown: []}
  if (node.masquerade) {
    const uplink = node.uplink ?? UPLINK_MARKER
    if (uplink !== UPLINK_MARKER && !isInterfaceName(uplink)) {
      throw new BugError(`${node.name}: uplink ${JSON.stringify(uplink)} is not an interface name`)
    }
    // Overlay traffic leaving through the exit node gets the exit's uplink address.
    const rule = (op: 'A' | 'D'): string => `iptables -t nat -${op} POSTROUTING -s ${cidr} -o ${uplink} -j MASQUERADE`
    hooks.postUp.push(rule('A'))
    hooks.postDown.push(rule('D'))
  }
  if (node.subnets && node.subnetSnat !== false) {
    for (const text of node.subnets) {
      const subnet = subnetOf(text)
      if (subnet === undefined || subnet.text !== text) throw new BugError(`${node.name}: subnet ${JSON.stringify(text)} is not a normalised network`)
      const source = subnet.family === 'ipv4' ? cidr : cidr6
      // An IPv6 subnet without cidr6 never passes validation (the overlay has no IPv6 source to masquerade).
      if (source === undefined || (subnet.family === 'ipv4' ? parseNetwork(source) : parseIPv6Network(source)) === undefined) throw new BugError(`${node.name}: no overlay network for subnet ${text}`)
      // Overlay traffic into the subnet gets this node's address there: the subnet's hosts answer without a
      // route back to the overlay (the default; subnet_snat = false keeps the overlay source).
      const tool = subnet.family === 'ipv4' ? 'iptables' : 'ip6tables'
      const rule = (op: 'A' | 'D'): string => `${tool} -t nat -${op} POSTROUTING -s ${source} -d ${text} -j MASQUERADE`
      hooks.postUp.push(rule('A'))
      // Tolerant: wg-quick runs PostDown under `set -e`, and a restart that brings the subnet in runs the new
      // config's PostDown while the old one never added the rule.
      hooks.postDown.push(`${rule('D')} || true`)
    }
  }
  if (node.fullTunnel) {
    for (const address of node.uplinkAddresses) {
      if (!isIPv4(address)) throw new BugError(`${node.name}: uplink address ${JSON.stringify(address)} is not IPv4`)
      // wg-quick's full tunnel sends everything without a more specific route into the tunnel, replies
      // included: SSH from any client not on a local subnet (a second admin, a new dynamic IP, the cron host)
      // would be answered through the exit and dropped. A reply leaves from the address its request came
      // to, so a rule per uplink address keeps every reply to what arrived on the uplink on the main table,
      // whoever the client. (Chosen over connmark: no firewall rules beside wg-quick's own, and nothing that
      // depends on the client, so the config does not change with the admin's address.) A socket bound to
      // the uplink address on purpose also skips the tunnel; everything else goes through it.
      // No fixed priority: wg-quick numbers its two rules just below the lowest rule already there (a
      // leftover at 100 puts them at 99 and 98, in front of a rule at 100: a lockout, seen in the lab). Added
      // after them without a priority, the kernel numbers this rule below theirs, so it is read first.
      hooks.postUp.push(`ip -4 rule add from ${address}/32 lookup main`)
      // Tolerant: wg-quick runs PostDown under `set -e`, and after a change of address the rule of the new
      // config was never added.
      hooks.postDown.push(`ip -4 rule del from ${address}/32 lookup main || true`)
    }
  }
  return hooks
}

/**
 * A full tunnel's fwmark, written in the config. wg-quick would otherwise set it at `up` only (`wg set
 * fwmark`), and every `wg syncconf` from `wg-quick strip` (a peers-only change, verify's re-initiation)
 * resets what the file does not say: the mark gone, WireGuard's own packets are routed into the tunnel
 * they carry (seen in the lab), and `wg-quick down` no longer finds its rules to remove. With the mark in
 * the file, wg-quick uses it (and 51820 as the routing table), and syncconf keeps it.
 */
export const FULL_TUNNEL_FWMARK = 51820

export function renderInterfaceSection(node: RenderableNode, cidr: string, cidr6?: string): string[] {
  const {postUp, postDown} = interfaceHooks(node, cidr, cidr6)
  return [
    '[Interface]',
    // Dual stack: one Address line with both families (wg-quick adds each).
    `Address = ${node.address6 === undefined ? node.address : `${node.address}, ${node.address6}`}`,
    `ListenPort = ${node.listenPort}`,
    `PrivateKey = ${PRIVATE_KEY_MARKER}`,
    ...(node.mtu === undefined ? [] : [`MTU = ${node.mtu}`]),
    ...(node.dns && node.dns.length > 0 ? [`DNS = ${node.dns.join(', ')}`] : []),
    ...(node.fullTunnel ? [`FwMark = ${FULL_TUNNEL_FWMARK}`] : []),
    ...postUp.map((command) => `PostUp = ${command}`),
    ...postDown.map((command) => `PostDown = ${command}`),
  ]
}

export function renderPeerSection(peer: PeerPlan): string[] {
  return peerSectionText(peer).split('\n')
}

/** One peer section as text (no trailing newline): built as one string, it is the bulk of a mesh's output. */
function peerSectionText(peer: PeerPlan): string {
  // A section kept as the node had it (the peer's key is unknown): its own lines, as they were.
  if (peer.verbatim) return peer.verbatim.join('\n')
  let text = `# ${peer.name}\n[Peer]\nPublicKey = ${peer.publicKey ?? UNKNOWN_KEY_PLACEHOLDER}`
  if (peer.presharedKey) text += `\nPresharedKey = ${PRESHARED_KEY_MARKER}`
  if (peer.endpoint !== null) text += `\nEndpoint = ${peer.endpoint}`
  text += `\nAllowedIPs = ${peer.allowedIps.join(', ')}`
  if (peer.keepalive > 0) text += `\nPersistentKeepalive = ${peer.keepalive}`
  return text
}

/** The whole wg-quick config: marker line, [Interface], then each peer after a blank line; ends in one "\n". */
export function renderNodeConfig(node: RenderableNode, fleet: {network: Pick<NetworkSettings, 'cidr' | 'cidr6'>}): string {
  const parts = [[MANAGED_MARKER, ...renderInterfaceSection(node, fleet.network.cidr, fleet.network.cidr6)].join('\n')]
  for (const peer of node.peers) parts.push(peerSectionText(peer))
  return parts.join('\n\n') + '\n'
}
