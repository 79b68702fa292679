/**
 * The Fleet model: a validated inventory. Everything downstream (planner, renderer, tasks) reads this,
 * never the raw INI. All values here have been validated: host names, users and paths contain no shell
 * syntax, addresses are inside the cidr, references (jump, exit_via) point at existing nodes.
 */

import type {Underlay} from './underlay.js'

export type Topology = 'mesh' | 'hub'

/** [acl]: group → every group it may peer with, both ways (a rule `web = db` puts db under web and web under db). */
export type AclRules = ReadonlyMap<string, ReadonlySet<string>>

export interface NetworkSettings {
  /** Normalised network, e.g. "10.0.0.0/24". IPv4 only. */
  cidr: string
  /** Prefix length of cidr, e.g. 24. */
  prefixLength: number
  /** The IPv6 overlay beside cidr (dual stack), normalised RFC 5952, e.g. "fd42:42::/64"; unset: IPv4 only. */
  cidr6?: string
  /** Default ListenPort (51820). */
  port: number
  /** PersistentKeepalive on every peer entry; 0 = off (default 25). */
  keepalive: number
  /** Interface name (wg0). */
  interface: string
  mtu?: number
  /** DNS servers for every node (a node's own `dns` replaces it). */
  dns?: string[]
  topology: Topology
  /** `doctor` warns about a node whose key is older than this many days (unset: no limit). */
  keyMaxAgeDays?: number
  /** Names in /etc/hosts: every node gets a managed block naming every node (`hosts_file = true`). */
  hostsFile?: {domain?: string}
  /** `preshared_keys = true`: every peer entry carries its pair's own PresharedKey (kept on the hosts only). */
  presharedKeys?: boolean
}

/** Where to jump through: another inventory node, or an explicit user@host:port. */
export type JumpSpec =
  | {kind: 'node'; node: string}
  | {kind: 'address'; user?: string; host: string; port?: number}

/** How a node is reached: wgfleet's own SSH client (ssh2, the default) or the administrator's `ssh` binary. */
export type SshTransport = 'ssh2' | 'openssh'
export const SSH_TRANSPORTS: readonly SshTransport[] = ['ssh2', 'openssh']

/**
 * SSH settings the inventory really sets. An unset value is not a default: it defers to OpenSSH's own
 * evaluation of the administrator's config (`ssh -G`: User, Port, IdentityFile, UserKnownHostsFile), as
 * `ssh HOST` would — so an explicit `ssh_user = root` wins over ~/.ssh/config, and a missing one does not.
 */
export interface SshSettings {
  user?: string
  port?: number
  /** Absolute path (relative paths resolved against the inventory folder, ~ expanded). */
  identity?: string
  /** known_hosts file, absolute; unset = --known-hosts, else the ssh config's UserKnownHostsFile / GlobalKnownHostsFile. */
  knownHosts?: string
  transport?: SshTransport
}

export interface NodeSpec {
  /** Section name, a [a-z0-9-] label. */
  name: string
  /** 1-based line of the section header in the inventory file. */
  line: number
  /** Where SSH connects (host name or IPv4/IPv6 address). */
  host: string
  /** Overlay address, a bare IPv4 inside network.cidr. */
  address: string
  /**
   * IPv6 overlay address (RFC 5952, bare) inside network.cidr6, set exactly when cidr6 is: the node's
   * `address6`, else cidr6 plus the host number of `address` (10.0.0.1/24 → fd42:42::1).
   */
  address6?: string
  /** The WireGuard endpoint host others dial; absent for nat nodes. Defaults to host. */
  endpointHost?: string
  /**
   * True when `endpoint` was not written, so endpointHost is the `host` value: when that is an ssh_config
   * alias, the endpoint becomes the HostName OpenSSH resolves it to (see services/fleet-loader.ts).
   */
  endpointFromHost?: boolean
  /**
   * The port others dial: the `endpoint`'s port (e.g. a router's port forward), else `port`. Set exactly
   * when endpointHost is.
   */
  endpointPort?: number
  /** ListenPort of this node (node `port`, else network.port). Others dial endpointPort. */
  port: number
  nat: boolean
  relay: boolean
  /** The families it dials out on (`underlay`); unset: its endpoint's family, or IPv4 (inventory/underlay.ts). */
  underlay?: Underlay
  ssh: SshSettings
  jump?: JumpSpec
  /** Name of the node whose peer entry carries 0.0.0.0/0. */
  exitVia?: string
  /** DNS servers for this node (node `dns`, else network.dns). */
  dns?: string[]
  /** The node's groups (`groups = web, db`), for the [acl] rules; in the order written. */
  groups?: string[]
  /**
   * Site-to-site networks behind the node (`subnets`), normalised (`198.19.1.0/24`, RFC 5952 for IPv6):
   * the node forwards for them and every peer's entry for it carries them.
   */
  subnets?: string[]
  /** Masquerade overlay traffic towards the subnets (default true; `subnet_snat = false` turns it off). Set with subnets. */
  subnetSnat?: boolean
}

/**
 * A roaming client (a laptop, a phone): `client = true` in its section. wgfleet never connects to it (it has
 * no SSH); its key pair was made on the operator machine by `client add`, and only the public key is kept.
 * Its via nodes (public nodes) carry a peer entry for it; every other node reaches it through the first.
 */
export interface ClientSpec {
  name: string
  /** 1-based line of the section header (0 when it came from flags). */
  line: number
  /** The client's WireGuard public key (base64, 32 bytes). */
  publicKey: string
  /** Overlay address, a bare IPv4 inside network.cidr, no node's nor another client's. */
  address: string
  /** Public nodes the client dials, in order; the first routes it for every other node. */
  via: string[]
  /** `full_tunnel = true`: the client sends everything through its first via node, which masquerades it. */
  fullTunnel: boolean
}

export interface Fleet {
  /** Absolute path of the inventory file. */
  file: string
  /** Folder of the inventory file (state lives in `<dir>/.wgfleet`). */
  dir: string
  network: NetworkSettings
  /** [ssh] section: defaults for every node (already applied into each NodeSpec.ssh). */
  ssh: SshSettings
  /** In inventory order. */
  nodes: NodeSpec[]
  /** The [acl] rules (group → the groups it peers with, both ways); absent: every pair peers. */
  acl?: AclRules
  /** Roaming clients (`client = true` sections), in inventory order; absent when there are none. */
  clients?: ClientSpec[]
}
