/** Parser of what probe.sh prints, into a typed HostProbe (pure). */
import {isIPv4} from '../inventory/ipv4.js'
import {parseOsRelease, type OsRelease} from './os-release.js'

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
  ufw: 'absent' | 'inactive' | 'active'
  /** `N/udp` rules ufw allows. */
  ufwAllowed: string[]
  ufwRoutes: boolean
  firewalld: 'absent' | 'stopped' | 'running'
  firewalldPorts: string[]
  firewalldPermanentPorts: string[]
  firewalldInterfaceZone: string
  ipForward: boolean
  forwardFile: boolean
  uplink?: string
  /** The uplink's own IPv4 addresses (strict dotted quads, at most MAX_UPLINK_ADDRESSES). */
  uplinkAddresses: string[]
  /** Client address of the SSH connection the host is managed over. */
  sshClient?: string
  /** The link already named like the interface, when one exists (wgfleet takes over only its own WireGuard). */
  interfaceLink?: InterfaceLink
  wireguardDirMode?: string
  key: boolean
  keyMode?: string
  publicKey?: string
  interfaceUp: boolean
  serviceEnabled?: string
  serviceActive?: string
  config: boolean
  configMode?: string
  managed: boolean
  /** An earlier apply wrote the file but did not finish updating the interface. */
  pending: boolean
  /** Current config with PrivateKey/PresharedKey masked on the host. */
  configText?: string
  /** `wg show dump` peer lines (interface line dropped on the host). */
  peerDump?: string
}

export interface InterfaceLink {
  /** `ip -d link` kind: wireguard, tun, bridge, vlan, bond, veth...; `device` for a NIC (no kind); `unknown`. */
  kind: string
  /** A WireGuard interface: the kernel's, or a wireguard-go tun that `wg show` answers for. */
  wireguard: boolean
  /** The main table's default route (IPv4 or IPv6) goes through it. */
  defaultRoute: boolean
}

export const MAX_UPLINK_ADDRESSES = 16

export class ProbeParseError extends Error {}

export function parseProbeOutput(text: string): HostProbe {
  const values = new Map<string, string>()
  const multi = new Map<string, string[]>()
  const osLines: string[] = []
  const blocks: Record<string, string[]> = {}
  let block: string | null = null
  for (const line of text.split('\n')) {
    if (block) {
      if (line === `--- end ${block}`) block = null
      else blocks[block].push(line)
      continue
    }
    const start = /^--- (config|peers)$/.exec(line)
    if (start) {
      block = start[1]
      blocks[block] = []
      continue
    }
    if (line.startsWith('os.')) {
      osLines.push(line.slice(3))
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq)
    const value = line.slice(eq + 1)
    values.set(key, value)
    multi.set(key, [...(multi.get(key) ?? []), value])
  }
  if (!values.has('pkg') || !values.has('now')) throw new ProbeParseError('probe output is incomplete (the probe script did not finish)')

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
    ufw: oneOf(values.get('ufw'), ['absent', 'inactive', 'active'] as const, 'absent'),
    ufwAllowed: multi.get('ufw.allow') ?? [],
    ufwRoutes: yes('ufw.route'),
    firewalld: oneOf(values.get('firewalld'), ['absent', 'stopped', 'running'] as const, 'absent'),
    firewalldPorts: list('firewalld.ports'),
    firewalldPermanentPorts: list('firewalld.permanent_ports'),
    firewalldInterfaceZone: values.get('firewalld.iface_zone') ?? '',
    ipForward: values.get('ip_forward') === '1',
    forwardFile: yes('forward_file'),
    uplink: opt('uplink'),
    uplinkAddresses: list('uplink_addresses').filter(isIPv4).slice(0, MAX_UPLINK_ADDRESSES),
    sshClient: opt('ssh_client'),
    ...(yes('iface_up') ? {interfaceLink: interfaceLinkOf(values)} : {}),
    wireguardDirMode: opt('dir_mode') === 'none' ? undefined : opt('dir_mode'),
    key: yes('key'),
    keyMode: opt('key_mode'),
    publicKey: opt('pubkey'),
    interfaceUp: yes('iface_up'),
    serviceEnabled: opt('service_enabled'),
    serviceActive: opt('service_active'),
    config: yes('config'),
    configMode: opt('config_mode'),
    managed: yes('managed'),
    pending: yes('pending'),
    configText: blocks.config ? blocks.config.join('\n') + '\n' : undefined,
    peerDump: blocks.peers ? blocks.peers.join('\n') : undefined,
  }
}

/** The link's facts; a link whose facts are missing (an older or cut-off probe) counts as not WireGuard. */
function interfaceLinkOf(values: Map<string, string>): InterfaceLink {
  const kind = values.get('iface_kind') ?? ''
  return {
    kind: /^[a-z0-9_.-]{1,32}$/.test(kind) ? kind : 'unknown',
    wireguard: values.get('iface_wireguard') === 'yes',
    defaultRoute: values.get('iface_default_route') === 'yes',
  }
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback
}

/** `key=value` lines of prepare.sh / apply.sh / verify.sh output. */
export function parseKeyValues(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0 && /^[a-z_.]+$/.test(line.slice(0, eq))) out.push([line.slice(0, eq), line.slice(eq + 1)])
  }
  return out
}
