/** Parser of what doctor.sh prints, into a typed DoctorReading (pure; the host's output is untrusted). */
import {FIREWALL_BLOCKS, parseFirewallListings, type FirewalldReading, type UfwReading} from '../firewall/listings.js'
import {WgfleetError} from '../lib/errors.js'
import {parseWgDump, type WgDumpPeer} from '../wireguard/dump.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import {parseScriptOutput} from './output.js'
import {parsePresharedKeyFiles, type PresharedKeyFile} from './preshared-keys.js'
import {parseRoutes, type Route} from '../firewall/routes.js'
import {hostsBlockOf} from './probe.js'
import type {InterfaceLink} from './status.js'


export interface PingReading {
  /** underlay: toward a peer's endpoint host; overlay: toward a peer's overlay address, through the tunnel. */
  kind: 'underlay' | 'overlay'
  host: string
  /** ICMP payload of the don't-fragment ping. */
  size: number
  big: 'ok' | 'fail' | 'error'
  /** The small ping, sent only when the big one failed. */
  small: 'ok' | 'fail' | null
  /** The path MTU ping reported ("mtu=1400", "Frag needed … (mtu = 1400)"), when it did. */
  pathMtu: number | null
}

/** Everything doctor.sh read on a node, in one exec. */
export interface DoctorReading {
  link: InterfaceLink
  /** The interface's MTU; null when absent. */
  mtu: number | null
  /** IPv4 addresses on the interface, with prefix ("10.0.0.1/24"). */
  addresses: string[]
  wgInstalled: boolean
  /** The node's clock, unix seconds, read right after the dump. */
  now: number
  listenPort: number | null
  /** The running interface's public key (`wg show IFACE public-key`). */
  publicKey: string | null
  /** The public key of /etc/wireguard/IFACE.key (computed on the host). */
  keyFilePublicKey: string | null
  /** Peer lines of the dump; null when not read (interface absent, wg missing or failing). */
  peers: WgDumpPeer[] | null
  wgError?: string
  /** The config file, PrivateKey/PresharedKey masked on the host; null when there is none. */
  config: string | null
  systemd: boolean
  /** `systemctl is-enabled wg-quick@IFACE` ('enabled', 'disabled', 'masked', 'not-found', …); null without systemd. */
  unitEnabled: string | null
  /** `systemctl is-active wg-quick@IFACE`; null without systemd. */
  unitActive: string | null
  /** net.ipv4.ip_forward; null when unreadable. */
  ipForward: boolean | null
  /** net.ipv6.conf.all.forwarding (null: IPv6 disabled or unreadable). */
  ip6Forward: boolean | null
  /** sysctl files that set net.ipv4.ip_forward = 1 (persistent forwarding). */
  forwardFiles: string[]
  ufw: UfwReading
  firewalld: FirewalldReading
  /** The default route's interface (where peers' packets arrive); null when unknown. */
  uplink: string | null
  /** The main table's routes (route_listing): where each site-to-site subnet goes out. */
  routes?: Route[]
  /** 'yes' pings ran; 'no' no ping tool; 'skipped' (interface not up); null when no targets were given. */
  pingTool: 'yes' | 'no' | 'skipped' | null
  pings: PingReading[]
  /** Targets not pinged: the script's time budget ran out first (a very large node, or slow pings). */
  pingsUnprobed: number
  /** Digest of wgfleet's block in /etc/hosts (plan/hosts-file): `none`, `unknown` or 64 hex digits. */
  hostsBlock?: string
  /** The peers' preshared key files (names and digests, never values), by peer name. */
  presharedKeys: ReadonlyMap<string, PresharedKeyFile>
}

export class DoctorOutputError extends WgfleetError {
  constructor(message: string) {
    super(`doctor output: ${message}`, {hint: 'this is what the host sent back; check that bash, ip and wg work on the node'})
  }
}

const BLOCKS = new Set<string>(['peers', 'config', ...FIREWALL_BLOCKS])

export function parseDoctorOutput(text: string): DoctorReading {
  const out = parseScriptOutput(text, BLOCKS)
  const one = out.one
  const values = {get: (key: string): string[] | undefined => out.all(key)}
  const blocks = {get: out.block}
  // `end=ok` is the script's last line: without it the output was cut off.
  if (out.cut || one('end') !== 'ok' || one('doctor') !== '1') throw new DoctorOutputError('incomplete (the doctor script did not finish)')

  const link = one('interface')
  if (link !== 'up' && link !== 'down' && link !== 'absent') throw new DoctorOutputError('no interface state')
  const now = one('now') ?? ''
  if (!/^\d+$/.test(now)) throw new DoctorOutputError('the node\'s clock is not a number')
  const int = (key: string): number | null => {
    const v = one(key) ?? ''
    return /^\d+$/.test(v) ? Number(v) : null
  }
  const key = (name: string): string | null => {
    const v = one(name) ?? ''
    return isWireGuardKey(v) ? v : null
  }
  const systemd = one('systemd') === 'yes'
  const ipForward = one('ip_forward')
  const ip6Forward = one('ip6_forward')
  const wgError = one('wg_error')
  const peerLines = blocks.get('peers')
  const configLines = blocks.get('config')
  const pingTool = one('ping_tool')
  return {
    link,
    mtu: int('mtu'),
    addresses: (values.get('address') ?? []).filter((a) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a)),
    wgInstalled: one('wg') === 'yes',
    now: Number(now),
    listenPort: int('listen_port'),
    publicKey: key('pubkey'),
    keyFilePublicKey: key('keyfile_pubkey'),
    // parseWgDump refuses an interface line (defence in depth: the host already dropped it).
    peers: peerLines === undefined ? null : parseWgDump(peerLines.join('\n')),
    ...(wgError ? {wgError} : {}),
    config: one('config') === 'yes' && configLines !== undefined ? configLines.join('\n') + '\n' : null,
    systemd,
    unitEnabled: systemd ? (one('unit_enabled') ?? '') : null,
    unitActive: systemd ? (one('unit_active') ?? '') : null,
    ipForward: ipForward === '1' ? true : ipForward === '0' ? false : null,
    ip6Forward: ip6Forward === '1' ? true : ip6Forward === '0' ? false : null,
    forwardFiles: values.get('forward_file') ?? [],
    ...parseFirewallListings(one, out.block),
    uplink: isInterfaceName(one('uplink') ?? '') ? one('uplink')! : null,
    routes: parseRoutes(values.get('route') ?? []),
    pingTool: pingTool === 'yes' || pingTool === 'no' || pingTool === 'skipped' ? pingTool : null,
    pings: (values.get('ping') ?? []).flatMap((v) => parsePing(v) ?? []),
    pingsUnprobed: int('ping_unprobed') ?? 0,
    ...hostsBlockOf(one('hosts_block')),
    presharedKeys: parsePresharedKeyFiles(out.all('psk')),
  }
}

/** `ping=KIND HOST SIZE BIG SMALL PMTU` */
export function parsePing(value: string): PingReading | null {
  const [kind, host, size, big, small, pmtu] = value.split(' ')
  if ((kind !== 'u' && kind !== 'o') || !host || !/^\d+$/.test(size ?? '')) return null
  if (big !== 'ok' && big !== 'fail' && big !== 'error') return null
  return {
    kind: kind === 'u' ? 'underlay' : 'overlay',
    host,
    size: Number(size),
    big,
    small: small === 'ok' || small === 'fail' ? small : null,
    pathMtu: /^\d+$/.test(pmtu ?? '') ? Number(pmtu) : null,
  }
}
