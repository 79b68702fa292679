/** Parser of what probe.sh prints, into a typed HostProbe (pure). */
import {FIREWALL_BLOCKS, parseFirewallListings, type FirewalldReading, type UfwReading} from '../firewall/listings.js'
import {WgfleetError} from '../lib/errors.js'
import {parseWgDump, type WgDumpPeer} from '../wireguard/dump.js'
import {isIPv4} from '../inventory/ipv4.js'
import {parseOsRelease, type OsRelease} from './os-release.js'
import {parseScriptOutput} from './output.js'
import {parsePresharedKeyFiles, type PresharedKeyFile} from './preshared-keys.js'
import {parseRoutes, type Route} from '../firewall/routes.js'

export interface HostProbe {
  os: OsRelease
  kernel: string
  /** The host's clock (unix seconds) when probed. */
  now: number
  packageManager: 'apt' | 'dnf' | 'yum' | 'none'
  has: {wg: boolean; wgQuick: boolean; wireguardGo: boolean; resolvconf: boolean; iptables: boolean; nft: boolean}
  kernelWireguard: boolean
  systemd: boolean
  epel: boolean
  /** The raw firewall listings (judged by src/firewall/verdict.ts, as doctor's are). */
  ufw: UfwReading
  firewalld: FirewalldReading
  ipForward: boolean
  forwardFile: boolean
  /** IPv6 is disabled for new interfaces (net.ipv6.conf.default.disable_ipv6, or no IPv6 at all): wg0 could not take an IPv6 address. */
  ipv6Disabled: boolean
  /** net.ipv6.conf.all.forwarding is 1 (a dual-stack relay needs it). */
  ip6Forward: boolean
  /** wgfleet's sysctl file turns IPv6 forwarding on. */
  forward6File: boolean
  uplink?: string
  /** The main table's routes (route_listing): where each site-to-site subnet goes out. */
  routes?: Route[]
  /** The uplink's own IPv4 addresses (strict dotted quads, at most MAX_UPLINK_ADDRESSES). */
  uplinkAddresses: string[]
  /** Client address of the SSH connection the host is managed over. */
  sshClient?: string
  /** The link already named like the interface, when one exists (wgfleet takes over only its own WireGuard). */
  interfaceLink?: InterfaceLink
  wireguardDirMode?: string
  key: boolean
  keyMode?: string
  /** Public key of the key file, as the host printed it (not validated here: plan/key-trust judges it). */
  publicKey?: string
  interfaceUp: boolean
  /** `wg show IFACE public-key` of the running interface, as printed (not validated here either). */
  interfacePublicKey?: string
  serviceEnabled?: string
  serviceActive?: string
  config: boolean
  configMode?: string
  /** Public key of the config file's PrivateKey (what wg-quick will start with), as printed. */
  configPublicKey?: string
  managed: boolean
  /** An earlier apply wrote the file but did not finish updating the interface. */
  pending: boolean
  /** Current config with PrivateKey/PresharedKey masked on the host. */
  configText?: string
  /** `wg show dump` peer lines (interface line dropped on the host). */
  peerDump?: string
  /** Digest of wgfleet's block in /etc/hosts (plan/hosts-file): `none`, `unknown` or 64 hex digits. */
  hostsBlock?: string
  /** The peers' preshared key files (names and digests, never values), by peer name. */
  presharedKeys: ReadonlyMap<string, PresharedKeyFile>
}

/** probe.sh's output is cut off or unusable: that node fails (bad output), the others go on. */
export class ProbeParseError extends WgfleetError {
  constructor(message: string) {
    super(message, {hint: 'this is what the host sent back; check that bash works on the node, then rerun'})
  }
}

const PROBE_BLOCKS = new Set<string>(['config', 'peers', ...FIREWALL_BLOCKS])

export interface InterfaceLink {
  /** `ip -d link` kind: wireguard, tun, bridge, vlan, bond, veth...; `device` for a NIC (no kind); `unknown`. */
  kind: string
  /** A WireGuard interface: the kernel's, or a wireguard-go tun that `wg show` answers for. */
  wireguard: boolean
  /** The main table's default route (IPv4 or IPv6) goes through it. */
  defaultRoute: boolean
}

export const MAX_UPLINK_ADDRESSES = 16


export function parseProbeOutput(text: string): HostProbe {
  const out = parseScriptOutput(text, PROBE_BLOCKS)
  const values = {get: out.one, has: (key: string) => out.one(key) !== undefined}
  const osLines = out.entries.filter(([key]) => key.startsWith('os.')).map(([key, value]) => `${key.slice(3)}=${value}`)
  // As text, never split into lines here: a mesh node's config and dump are O(N) lines each.
  const blocks = {config: out.blockText('config', true), peers: out.blockText('peers')}
  if (out.cut || !values.has('pkg') || !values.has('now')) throw new ProbeParseError('probe output is incomplete (the probe script did not finish)')

  const yes = (key: string) => values.get(key) === 'yes'
  const opt = (key: string) => {
    const v = values.get(key)
    return v ? v : undefined
  }
  const list = (key: string) => (values.get(key) ?? '').split(/\s+/).filter(Boolean)
  const pkg = values.get('pkg')
  return {
    os: parseOsRelease(osLines.join('\n')),
    kernel: values.get('kernel') ?? '',
    now: Number(values.get('now')),
    packageManager: pkg === 'apt' || pkg === 'dnf' || pkg === 'yum' ? pkg : 'none',
    has: {wg: yes('wg'), wgQuick: yes('wg_quick'), wireguardGo: yes('wireguard_go'), resolvconf: yes('resolvconf'), iptables: yes('iptables'), nft: yes('nft')},
    kernelWireguard: yes('kernel_wireguard'),
    systemd: values.get('init') === 'systemd',
    epel: yes('epel'),
    ...parseFirewallListings(out.one, out.block),
    ipForward: values.get('ip_forward') === '1',
    forwardFile: yes('forward_file'),
    ipv6Disabled: values.get('ipv6') === 'no',
    ip6Forward: values.get('ip6_forward') === '1',
    forward6File: yes('forward6_file'),
    uplink: opt('uplink'),
    routes: parseRoutes(out.all('route')),
    uplinkAddresses: list('uplink_addresses').filter(isIPv4).slice(0, MAX_UPLINK_ADDRESSES),
    sshClient: opt('ssh_client'),
    ...(yes('iface_up') ? {interfaceLink: interfaceLinkOf(values)} : {}),
    wireguardDirMode: opt('dir_mode') === 'none' ? undefined : opt('dir_mode'),
    key: yes('key'),
    keyMode: opt('key_mode'),
    publicKey: opt('pubkey'),
    interfaceUp: yes('iface_up'),
    interfacePublicKey: opt('iface_pubkey'),
    serviceEnabled: opt('service_enabled'),
    serviceActive: opt('service_active'),
    config: yes('config'),
    configMode: opt('config_mode'),
    configPublicKey: opt('config_pubkey'),
    managed: yes('managed'),
    pending: yes('pending'),
    configText: blocks.config,
    peerDump: blocks.peers,
    ...hostsBlockOf(values.get('hosts_block')),
    presharedKeys: parsePresharedKeyFiles(out.all('psk')),
  }
}

/** What probe.sh and doctor.sh report of /etc/hosts, kept only when it is one of the forms they print. */
export function hostsBlockOf(value: string | undefined): {hostsBlock?: string} {
  return value !== undefined && /^(none|unknown|[0-9a-f]{64})$/.test(value) ? {hostsBlock: value} : {}
}

const parsedPeers = new WeakMap<HostProbe, WgDumpPeer[]>()

/** The link's facts; a link whose facts are missing (an older or cut-off probe) counts as not WireGuard. */
function interfaceLinkOf(values: {get(key: string): string | undefined}): InterfaceLink {
  const kind = values.get('iface_kind') ?? ''
  return {
    kind: /^[a-z0-9_.-]{1,32}$/.test(kind) ? kind : 'unknown',
    wireguard: values.get('iface_wireguard') === 'yes',
    defaultRoute: values.get('iface_default_route') === 'yes',
  }
}

/** The running interface's peers as the probe read them, parsed (and validated) once per probe. */
export function probePeers(probe: HostProbe): WgDumpPeer[] {
  let peers = parsedPeers.get(probe)
  if (!peers) {
    peers = parseWgDump(probe.peerDump ?? '')
    parsedPeers.set(probe, peers)
  }
  return peers
}
