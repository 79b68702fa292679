/**
 * The Plan: what every node's WireGuard configuration should be. Produced by the pure planner
 * (`planFleet`) from a Fleet and what is known of the hosts; rendered to wg-quick config text by
 * `renderNodeConfig`. Never contains a private key: the `PrivateKey` line is PRIVATE_KEY_MARKER, which
 * the host-side apply step replaces with the key file's contents.
 */

/** Literal placed where the private key goes; the host fills it in from /etc/wireguard/<iface>.key. */
export const PRIVATE_KEY_MARKER = '@WGFLEET_PRIVATE_KEY@'
/**
 * Literal placed where a peer's preshared key goes (`preshared_keys = true`); the host fills it in from its
 * file for that peer (/etc/wireguard/<iface>.psk/<peer name>, named by the section's `# NAME` line). The
 * same literal is what the hosts mask a PresharedKey line to, so a rendered and a probed config compare equal.
 */
export const PRESHARED_KEY_MARKER = '@WGFLEET_PRESHARED_KEY@'
/** First line of every config wgfleet writes. */
export const MANAGED_MARKER = '# Managed by wgfleet. Local changes are overwritten.'
/** Rendered in place of a public key that is not known yet (node never converged). */
export const UNKNOWN_KEY_PLACEHOLDER = '(unknown until first init)'
/**
 * Rendered in an exit node's masquerade PostUp/PostDown in place of its uplink interface while the uplink
 * is not known yet (node never probed); the apply step knows the facts by then and substitutes it.
 */
export const UPLINK_MARKER = '@WGFLEET_UPLINK@'

/** Facts learned about a host that the rendering depends on (persisted in state so `plan` can render them). */
export interface HostFacts {
  /** The node's real uplink interface (exit nodes masquerade on it), e.g. "eth0". */
  uplink?: string
  /**
   * The node's own IPv4 addresses on its uplink (the default route's interface). Under exit_via, replies
   * from them stay on the main routing table: SSH (and anything else) that reached the node over its uplink
   * is answered the same way, from any client.
   */
  uplinkAddresses?: string[]
}

export interface PeerPlan {
  /** Inventory name of the peer. */
  name: string
  /** base64 public key, or null when not known yet. */
  publicKey: string | null
  /** "host:port" ("[v6]:port"), or null when the peer has no reachable endpoint (NAT-ed). */
  endpoint: string | null
  /**
   * Ordered: the peer's own /32 (and /128, dual stack) first, then relayed nodes' in inventory order (in a
   * hub: the whole overlay network(s) instead, on the first relay's entry), then 0.0.0.0/0 for an exit.
   */
  allowedIps: string[]
  /** PersistentKeepalive seconds; 0 = off. */
  keepalive: number
  /** Always "direct" for a peer entry; see NodePlan.relayed for nodes reached through a peer. */
  via: 'direct'
  /** Names of other nodes whose addresses this peer carries (relay), in inventory order. */
  relays: string[]
  /** True when this peer is the node's exit (carries 0.0.0.0/0). */
  exit: boolean
  /** Hub: this relay's entry carries the whole overlay network (every node without an entry of its own). */
  overlay?: boolean
  /** The entry carries the pair's preshared key (PRESHARED_KEY_MARKER in the text; the host fills it in). */
  presharedKey?: boolean
  /** This entry is a roaming client's (on its via node): no endpoint, no keepalive, never verified or dialled. */
  client?: true
  /** Roaming clients this peer (their first via node) carries for us: their /32s are in allowedIps, in inventory order. */
  clients?: string[]
  /**
   * Set when the peer's key is unknown and the node's own current section for it is kept: these lines are
   * rendered as they are (the fields above are read from them).
   */
  verbatim?: string[]
}

/** A node's own current [Peer] section for a peer whose key is unknown (KnownHosts.existingPeers). */
export interface ExistingPeerSection {
  /** The lines as the node's config has them, from `# NAME` to the section's last line. */
  lines: string[]
  publicKey: string
  endpoint: string | null
  allowedIps: string[]
  keepalive: number
  /** The section has a PresharedKey line (masked by the probe to PRESHARED_KEY_MARKER). */
  presharedKey?: boolean
}

/** Why a node's existing section for a peer of unknown key was not kept: it would break another peer. */
export type ExistingSectionConflict = 'key-in-use' | 'allowed-ips-in-use'

/** A node reached not directly but through a relay peer. */
export interface RelayedRoute {
  name: string
  address: string
  /** Dual stack: its IPv6 overlay address (bare), carried on the same relay entry. */
  address6?: string
  /** Name of the peer (relay) whose AllowedIPs carry it. */
  via: string
}

export interface NodePlan {
  name: string
  /** Overlay address with prefix, e.g. "10.0.0.1/24". */
  address: string
  /** Dual stack ([network] cidr6): the IPv6 overlay address with prefix, e.g. "fd42:42::1/64". */
  address6?: string
  /** "host:port" others dial, or null (NAT-ed). */
  endpoint: string | null
  listenPort: number
  interface: string
  mtu?: number
  dns?: string[]
  /** Node forwards between peers (relay for NAT-ed nodes, hub, or an exit). */
  forwarding: boolean
  /** Node is a relay (`relay = true`, public): it forwards between peers, the IPv6 overlay too. */
  relay?: boolean
  /** Node masquerades overlay traffic to its uplink (some other node exits through it). */
  masquerade: boolean
  /**
   * Site-to-site networks behind this node (inventory `subnets`): it forwards from the overlay to them
   * (ip_forward; IPv6 forwarding for an IPv6 one) and the firewall lets wg0 out to them. Absent when none.
   */
  subnets?: string[]
  /** With subnets: masquerade overlay traffic towards them (`subnet_snat`, default true). */
  subnetSnat?: boolean
  /** Node sends everything through an exit peer (has exit_via). */
  fullTunnel: boolean
  peers: PeerPlan[]
  relayed: RelayedRoute[]
  /** Hub: the relay whose entry carries the overlay network (every node this one has no entry for). */
  overlayVia?: string
  /**
   * Peers the topology calls for but left out because their public key is not known yet
   * (planFleet's omitPeersWithoutKey), in inventory order. Empty otherwise.
   */
  skippedPeers: string[]
  /** Peers of unknown key rendered from the node's own existing section (KnownHosts.existingPeers), in order. */
  keptPeers: string[]
  /** Existing sections not kept (so those peers are in skippedPeers, or rendered with the placeholder). */
  refusedSections: Array<{peer: string; conflict: ExistingSectionConflict}>
  /** Uplink this node masquerades on (facts); undefined when unknown or not masquerading. */
  uplink?: string
  /** Uplink addresses (facts) whose replies stay on the main routing table under a full tunnel; empty unless fullTunnel. */
  uplinkAddresses: string[]
  /** Rendered wg-quick config text (PRIVATE_KEY_MARKER in place of the key), ending in "\n". */
  config: string
  /** wgfleet's block of /etc/hosts (plan/hosts-file), the same for every node; absent unless hosts_file. */
  hostsBlock?: string
}

export interface FleetPlan {
  interface: string
  cidr: string
  nodes: NodePlan[]
}
