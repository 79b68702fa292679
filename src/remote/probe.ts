/** Parser of what probe.sh prints, into a typed HostProbe (pure). */
import {WgfleetError} from '../lib/errors.js'
import {parseWgDump, type WgDumpPeer} from '../wireguard/dump.js'
import {parseOsRelease, type OsRelease} from './os-release.js'
import {oneOf, parseScriptOutput} from './output.js'

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
  /** Client address of the SSH connection the host is managed over. */
  sshClient?: string
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

/** probe.sh's output is cut off or unusable: that node fails (bad output), the others go on. */
export class ProbeParseError extends WgfleetError {
  constructor(message: string) {
    super(message, {hint: 'this is what the host sent back; check that bash works on the node, then rerun'})
  }
}

const PROBE_BLOCKS = new Set(['config', 'peers'])

export function parseProbeOutput(text: string): HostProbe {
  const out = parseScriptOutput(text, PROBE_BLOCKS)
  const values = {get: out.one, has: (key: string) => out.one(key) !== undefined}
  const multi = {get: (key: string) => out.all(key)}
  const osLines = out.entries.filter(([key]) => key.startsWith('os.')).map(([key, value]) => `${key.slice(3)}=${value}`)
  const blocks = {config: out.block('config'), peers: out.block('peers')}
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
    sshClient: opt('ssh_client'),
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

const parsedPeers = new WeakMap<HostProbe, WgDumpPeer[]>()

/** The running interface's peers as the probe read them, parsed (and validated) once per probe. */
export function probePeers(probe: HostProbe): WgDumpPeer[] {
  let peers = parsedPeers.get(probe)
  if (!peers) {
    peers = parseWgDump(probe.peerDump ?? '')
    parsedPeers.set(probe, peers)
  }
  return peers
}
