/**
 * Rendering a node's plan to wg-quick config text. Pure and deterministic; never sees a private key
 * (the PrivateKey line is PRIVATE_KEY_MARKER, filled in on the host).
 */
import {isIPv4} from 'node:net'

import type {NetworkSettings} from '../inventory/model.js'
import {
  MANAGED_MARKER,
  type NodePlan,
  type PeerPlan,
  PRIVATE_KEY_MARKER,
  UNKNOWN_KEY_PLACEHOLDER,
  UPLINK_MARKER,
} from './model.js'
import {BugError} from '../lib/errors.js'
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
export function interfaceHooks(node: RenderableNode, cidr: string): InterfaceHooks {
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
  if (node.fullTunnel) {
    for (const source of node.managementSources) {
      if (!isIPv4(source)) throw new BugError(`${node.name}: management source ${JSON.stringify(source)} is not IPv4`)
      // wg-quick's full-tunnel rules would route the SSH session we manage the node over into the tunnel.
      const rule = (op: 'add' | 'del'): string => `ip -4 rule ${op} to ${source}/32 lookup main priority 100`
      hooks.postUp.push(rule('add'))
      hooks.postDown.push(rule('del'))
    }
  }
  return hooks
}

export function renderInterfaceSection(node: RenderableNode, cidr: string): string[] {
  const {postUp, postDown} = interfaceHooks(node, cidr)
  return [
    '[Interface]',
    `Address = ${node.address}`,
    `ListenPort = ${node.listenPort}`,
    `PrivateKey = ${PRIVATE_KEY_MARKER}`,
    ...(node.mtu === undefined ? [] : [`MTU = ${node.mtu}`]),
    ...(node.dns && node.dns.length > 0 ? [`DNS = ${node.dns.join(', ')}`] : []),
    ...postUp.map((command) => `PostUp = ${command}`),
    ...postDown.map((command) => `PostDown = ${command}`),
  ]
}

export function renderPeerSection(peer: PeerPlan): string[] {
  return peerSectionText(peer).split('\n')
}

/** One peer section as text (no trailing newline): built as one string, it is the bulk of a mesh's output. */
function peerSectionText(peer: PeerPlan): string {
  let text = `# ${peer.name}\n[Peer]\nPublicKey = ${peer.publicKey ?? UNKNOWN_KEY_PLACEHOLDER}`
  if (peer.endpoint !== null) text += `\nEndpoint = ${peer.endpoint}`
  text += `\nAllowedIPs = ${peer.allowedIps.join(', ')}`
  if (peer.keepalive > 0) text += `\nPersistentKeepalive = ${peer.keepalive}`
  return text
}

/** The whole wg-quick config: marker line, [Interface], then each peer after a blank line; ends in one "\n". */
export function renderNodeConfig(node: RenderableNode, fleet: {network: Pick<NetworkSettings, 'cidr'>}): string {
  const parts = [[MANAGED_MARKER, ...renderInterfaceSection(node, fleet.network.cidr)].join('\n')]
  for (const peer of node.peers) parts.push(peerSectionText(peer))
  return parts.join('\n\n') + '\n'
}
