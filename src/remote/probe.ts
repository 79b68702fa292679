/** Parser of what probe.sh prints, into a typed HostProbe (pure). */
import {FIREWALL_BLOCKS, parseFirewallListings, type FirewalldReading, type UfwReading} from '../firewall/listings.js'
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
  /** The raw firewall listings (judged by src/firewall/verdict.ts, as doctor's are). */
  ufw: UfwReading
  firewalld: FirewalldReading
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

export class ProbeParseError extends Error {}

const BLOCKS = new Set<string>(['config', 'peers', ...FIREWALL_BLOCKS])

export function parseProbeOutput(text: string): HostProbe {
  const values = new Map<string, string>()
  const osLines: string[] = []
  const blocks: Record<string, string[]> = {}
  let block: string | null = null
  for (const line of text.split('\n')) {
    if (block) {
      if (line === `--- end ${block}`) block = null
      else blocks[block]!.push(line)
      continue
    }
    const start = /^--- (.+)$/.exec(line)
    if (start && BLOCKS.has(start[1]!)) {
      block = start[1]!
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
  }
  if (!values.has('pkg') || !values.has('now')) throw new ProbeParseError('probe output is incomplete (the probe script did not finish)')

  const yes = (key: string) => values.get(key) === 'yes'
  const opt = (key: string) => {
    const v = values.get(key)
    return v ? v : undefined
  }
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
    ...parseFirewallListings((key) => values.get(key), (name) => blocks[name]),
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

/** `key=value` lines of prepare.sh / apply.sh / verify.sh output. */
export function parseKeyValues(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0 && /^[a-z_.]+$/.test(line.slice(0, eq))) out.push([line.slice(0, eq), line.slice(eq + 1)])
  }
  return out
}
