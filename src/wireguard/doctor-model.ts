/**
 * The doctor model (pure): what doctor.sh read on every node, judged against the plan, gives a list of
 * findings — each names the node, what is wrong, how to fix it (a concrete command) and a severity.
 *
 *   parseDoctorOutput(text)                      → DoctorReading (one node)
 *   diagnoseFleet(plan, outcomes, options)       → Finding[] (deterministic: plan order, errors first)
 *
 * The checklist, in the order findings are listed for a node:
 * - reachability: `unreachable` (SSH, with the classified reason), `read-failed` (the script's output)
 * - the interface: `wg-missing`, `interface-down`, `wg-error`, `config-missing`, `own-key-mismatch`,
 *   `address-mismatch`, `unit-not-enabled`, `unit-inactive`, `no-systemd`
 * - the peers (the running interface when it is up, else the config file — what it will run):
 *   `wrong-peer-key`, `missing-peer`, `unknown-peer`, `allowed-ips-mismatch`, `allowed-ips-overlap`,
 *   `nat-no-endpoint`, `nat-no-keepalive`
 * - across nodes: `firewall-port-closed`, `firewall-port-not-permanent`, `handshake-failing` (only when no
 *   other finding explains it)
 * - relays: `relay-no-forwarding`, `relay-forwarding-not-persistent`, `relay-forward-blocked`
 * - `config-drift` (the config file vs the running interface), `path-mtu`
 *
 * Judged against the plan, not the inventory: with a relay, a NAT-ed node has no entry for another
 * NAT-ed node on purpose. Handshake ages use each node's own clock.
 */
import {isIP} from 'node:net'

import {WgfleetError} from '../lib/errors.js'
import {parseRenderedConfig, type ParsedConfig} from '../plan/parse-config.js'
import type {FleetPlan, NodePlan, PeerPlan} from '../plan/model.js'
import {parseWgDump, type WgDumpPeer} from './dump.js'
import {DEFAULT_STALE_AFTER_SECONDS, handshakeAge, handshakeState} from './handshake.js'
import {isWireGuardKey} from './keys.js'
import type {InterfaceLink, KeyNames, NodeProblem} from './status-model.js'

// --- findings ---------------------------------------------------------------------------------------

export type Severity = 'error' | 'warning'

/** Check ids, in the order a node's findings are listed (errors before warnings first). */
export const CHECKS = [
  'unreachable',
  'read-failed',
  'wg-missing',
  'interface-down',
  'wg-error',
  'config-missing',
  'own-key-mismatch',
  'address-mismatch',
  'unit-not-enabled',
  'unit-inactive',
  'no-systemd',
  'wrong-peer-key',
  'missing-peer',
  'unknown-peer',
  'allowed-ips-mismatch',
  'allowed-ips-overlap',
  'nat-no-endpoint',
  'nat-no-keepalive',
  'firewall-port-closed',
  'firewall-port-not-permanent',
  'relay-no-forwarding',
  'relay-forwarding-not-persistent',
  'relay-forward-blocked',
  'handshake-failing',
  'config-drift',
  'path-mtu',
] as const
export type CheckId = (typeof CHECKS)[number]

export interface Finding {
  /** The node the problem is on (the one to fix). */
  node: string
  severity: Severity
  check: CheckId
  message: string
  /** A concrete command or step. */
  fix: string
  /** The peer the finding is about, when it is about one (an inventory name, or a key no node has). */
  peer?: string
}

/** What one node gave: a reading, or the classified reason it gave none. */
export type DoctorOutcome = {ok: true; reading: DoctorReading} | {ok: false; problem: NodeProblem}

export interface DiagnoseOptions {
  /** Seconds after which a handshake counts as stale (default 180). */
  staleAfterSeconds?: number
  /** public key → node name, also for older keys (state): names a stray key on an interface. */
  names?: KeyNames
}

// --- doctor.sh output -------------------------------------------------------------------------------

export interface UfwReading {
  state: 'absent' | 'inactive' | 'active'
  /** Lines of `ufw status verbose` (when active). */
  status: string[]
}

/** One zone of `firewall-cmd --list-all`. */
export interface FirewalldZone {
  name: string
  target: string
  ports: string[]
  services: string[]
  /** Intra-zone forwarding (firewalld ≥ 1.0); null when the listing does not say. */
  forward: boolean | null
}

export interface FirewalldReading {
  state: 'absent' | 'stopped' | 'running'
  defaultZone: string
  /** Runtime zone of the WireGuard interface; '' when it has none (then the default zone applies). */
  interfaceZone: string
  /** The default zone, runtime and permanent. */
  runtime: FirewalldZone | null
  permanent: FirewalldZone | null
  /** The interface's zone, runtime (when it has one). */
  interfaceZoneRuntime: FirewalldZone | null
}

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
  /** sysctl files that set net.ipv4.ip_forward = 1 (persistent forwarding). */
  forwardFiles: string[]
  ufw: UfwReading
  firewalld: FirewalldReading
  /** 'yes' pings ran; 'no' no ping tool; 'skipped' (interface not up); null when no targets were given. */
  pingTool: 'yes' | 'no' | 'skipped' | null
  pings: PingReading[]
}

export class DoctorOutputError extends WgfleetError {
  constructor(message: string) {
    super(`doctor output: ${message}`, {hint: 'this is what the host sent back; check that bash, ip and wg work on the node'})
  }
}

const BLOCKS = new Set(['peers', 'config', 'ufw', 'firewalld runtime', 'firewalld permanent', 'firewalld iface'])

export function parseDoctorOutput(text: string): DoctorReading {
  const values = new Map<string, string[]>()
  const blocks = new Map<string, string[]>()
  let block: string | null = null
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '')
    if (block !== null) {
      if (line === `--- end ${block}`) block = null
      else blocks.get(block)!.push(line)
      continue
    }
    const start = /^--- (.+)$/.exec(line)
    if (start && BLOCKS.has(start[1]!)) {
      block = start[1]!
      blocks.set(block, [])
      continue
    }
    const eq = line.indexOf('=')
    if (eq > 0) {
      const key = line.slice(0, eq)
      values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)])
    }
  }
  const one = (key: string): string | undefined => values.get(key)?.at(-1)
  // `end=ok` is the script's last line: without it the output was cut off.
  if (block !== null || one('end') !== 'ok' || one('doctor') !== '1') throw new DoctorOutputError('incomplete (the doctor script did not finish)')

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
    forwardFiles: values.get('forward_file') ?? [],
    ufw: {state: oneOf(one('ufw'), ['absent', 'inactive', 'active'] as const, 'absent'), status: blocks.get('ufw') ?? []},
    firewalld: {
      state: oneOf(one('firewalld'), ['absent', 'stopped', 'running'] as const, 'absent'),
      defaultZone: one('firewalld.default_zone') ?? '',
      interfaceZone: zoneName(one('firewalld.iface_zone') ?? ''),
      runtime: parseFirewalldZone(blocks.get('firewalld runtime')),
      permanent: parseFirewalldZone(blocks.get('firewalld permanent')),
      interfaceZoneRuntime: parseFirewalldZone(blocks.get('firewalld iface')),
    },
    pingTool: pingTool === 'yes' || pingTool === 'no' || pingTool === 'skipped' ? pingTool : null,
    pings: (values.get('ping') ?? []).flatMap((v) => parsePing(v) ?? []),
  }
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback
}

/** `firewall-cmd --get-zone-of-interface` prints "no zone" (or nothing) when the interface has none. */
function zoneName(value: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(value) ? value : ''
}

/** `ping=KIND HOST SIZE BIG SMALL PMTU` */
function parsePing(value: string): PingReading | null {
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

/**
 * `firewall-cmd --list-all`:
 *   public (active)
 *     target: default
 *     services: dhcpv6-client ssh
 *     ports: 51820/udp
 *     forward: yes
 */
export function parseFirewalldZone(lines: readonly string[] | undefined): FirewalldZone | null {
  if (!lines) return null
  const header = lines.find((l) => l.trim() !== '' && !/^\s/.test(l))
  if (!header) return null
  const fields = new Map<string, string>()
  for (const line of lines) {
    const m = /^\s+([a-z-]+):\s*(.*)$/.exec(line)
    if (m) fields.set(m[1]!, m[2]!.trim())
  }
  const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean)
  const forward = fields.get('forward')
  return {
    name: header.trim().split(/\s+/)[0]!,
    target: fields.get('target') ?? 'default',
    ports: words('ports'),
    services: words('services'),
    forward: forward === 'yes' ? true : forward === 'no' ? false : null,
  }
}

// --- firewall judgements (pure) ---------------------------------------------------------------------

interface UfwRule {
  to: string
  action: string
  from: string
}

interface UfwStatus {
  /** incoming / outgoing / routed → allow, deny, reject, disabled */
  defaults: Map<string, string>
  rules: UfwRule[]
}

export function parseUfwStatus(lines: readonly string[]): UfwStatus {
  const defaults = new Map<string, string>()
  const rules: UfwRule[] = []
  let inRules = false
  for (const raw of lines) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd()
    const d = /^Default:\s*(.*)$/.exec(line)
    if (d) {
      for (const part of d[1]!.split(',')) {
        const m = /^\s*(\S+)\s+\(([^)]+)\)\s*$/.exec(part)
        if (m) defaults.set(m[2]!, m[1]!)
      }
      continue
    }
    if (/^--/.test(line)) {
      inRules = true
      continue
    }
    if (!inRules || line.trim() === '') continue
    const cells = line.trim().split(/\s{2,}/)
    if (cells.length < 3) continue
    rules.push({to: cells[0]!.replace(/\s*\(v6\)$/, ''), action: cells[1]!, from: cells[2]!.replace(/\s*\(v6\)$/, '')})
  }
  return {defaults, rules}
}

/** Does a ufw port spec ("51820", "51820/udp", "51000:52000/udp", "80,51820/udp") cover PORT/udp? */
function ufwSpecCovers(spec: string, port: number): boolean {
  const m = /^([\d,:]+)(?:\/(\w+))?$/.exec(spec)
  if (!m) return false
  if (m[2] && m[2] !== 'udp') return false
  return m[1]!.split(',').some((part) => {
    const [lo, hi] = part.split(':').map(Number)
    return hi === undefined ? lo === port : lo! <= port && port <= hi
  })
}

/**
 * Whether active ufw lets PORT/udp in: an incoming ALLOW/LIMIT rule covering it (any source; a rule for
 * a port on one interface or address counts too), or an incoming default of allow. Conservative on
 * purpose: a rule that may let it in counts as letting it in (DENY rules ordered before it are not
 * weighed), so that `firewall-port-closed` is only said when nothing could let the port in.
 */
export function ufwAllowsPort(lines: readonly string[], port: number): boolean {
  const status = parseUfwStatus(lines)
  if (status.defaults.get('incoming') === 'allow') return true
  return status.rules.some((rule) => {
    if (!/^(ALLOW|LIMIT)( IN)?$/.test(rule.action)) return false
    const to = rule.to.replace(/\s+on\s+\S+$/, '').split(/\s+/)
    const spec = to.at(-1)!
    if (/^[\d,:]+(\/\w+)?$/.test(spec)) return ufwSpecCovers(spec, port)
    // No port: "Anywhere" or an address — every port (of that address).
    return to[0] === 'Anywhere' || isIP(to[0]!.replace(/\/\d+$/, '')) !== 0
  })
}

/** Whether active ufw forwards between peers on IFACE: a route default of allow, or a route rule. */
export function ufwForwardsOn(lines: readonly string[], iface: string): boolean {
  const status = parseUfwStatus(lines)
  if (status.defaults.get('routed') === 'allow') return true
  const side = (cell: string) => cell === 'Anywhere' || cell === `Anywhere on ${iface}`
  return status.rules.some((rule) => /^ALLOW FWD$/.test(rule.action) && side(rule.to) && side(rule.from))
}

/** Whether a firewalld zone lets PORT/udp in: target ACCEPT (trusted), the port (or a range), or the wireguard service. */
export function firewalldZoneAllowsPort(zone: FirewalldZone, port: number): boolean {
  if (zone.name === 'trusted' || zone.target.toUpperCase() === 'ACCEPT') return true
  if (zone.services.includes('wireguard') && port === 51820) return true
  return zone.ports.some((p) => {
    const m = /^(\d+)(?:-(\d+))?\/udp$/.exec(p)
    if (!m) return false
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    return lo <= port && port <= hi
  })
}

type PortState = 'open' | 'closed' | 'not-permanent'

interface FirewallVerdict {
  state: PortState
  /** 'ufw' | 'firewalld' */
  firewall: 'ufw' | 'firewalld'
}

/** The node's firewall and the WireGuard port: null when no firewall filters (none active). */
function portVerdict(reading: DoctorReading, port: number): FirewallVerdict | null {
  if (reading.ufw.state === 'active') {
    return {firewall: 'ufw', state: ufwAllowsPort(reading.ufw.status, port) ? 'open' : 'closed'}
  }
  const fw = reading.firewalld
  if (fw.state === 'running' && fw.runtime) {
    if (!firewalldZoneAllowsPort(fw.runtime, port)) return {firewall: 'firewalld', state: 'closed'}
    if (fw.permanent && !firewalldZoneAllowsPort(fw.permanent, port)) return {firewall: 'firewalld', state: 'not-permanent'}
    return {firewall: 'firewalld', state: 'open'}
  }
  return null
}

// --- diagnosis --------------------------------------------------------------------------------------

/** A peer entry, from the running interface or from the config file. */
interface Entry {
  publicKey: string
  endpoint: string | null
  allowedIps: string[]
  keepalive: number
  /** Unix seconds on the node's clock; 0 = never; null for a config entry. */
  latestHandshake: number | null
}

type Source = 'interface' | 'config'

const SOURCE_TEXT: Record<Source, string> = {interface: 'the running interface', config: 'the config file'}

interface NodeView {
  plan: NodePlan
  reading: DoctorReading
  /** The running interface's peers (interface up and read). */
  live: Entry[] | null
  /** The config file's peers. */
  config: Entry[] | null
  parsedConfig: ParsedConfig | null
}

/** A handshake that is not fresh, seen by `node` on its (correct) entry for `peer`. */
interface Trouble {
  node: string
  peer: string
  /** Seconds since the handshake on the node's clock; null = never. */
  age: number | null
}

/** Node-level checks that keep every tunnel of the node from handshaking. */
const NODE_BLOCKERS = new Set<CheckId>(['unreachable', 'read-failed', 'wg-missing', 'interface-down', 'wg-error', 'own-key-mismatch', 'firewall-port-closed'])
/** Peer-level checks that keep that one tunnel from handshaking. */
const PAIR_BLOCKERS = new Set<CheckId>(['wrong-peer-key', 'missing-peer', 'nat-no-endpoint', 'nat-no-keepalive'])

export function diagnoseFleet(plan: FleetPlan, outcomes: ReadonlyMap<string, DoctorOutcome>, options: DiagnoseOptions = {}): Finding[] {
  const stale = options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS
  const names = options.names ?? new Map<string, string>()
  const iface = plan.interface
  const findings: Finding[] = []
  const add = (f: Finding) => findings.push(f)
  const views = new Map<string, NodeView>()
  const hostRoutes = new Map(plan.nodes.map((n) => [n.name, `${n.address.split('/')[0]}/32`]))

  // Relays: nodes that carry other nodes' traffic between their peers.
  const relayFor = new Map<string, string[]>()
  for (const n of plan.nodes) {
    for (const r of n.relayed) relayFor.set(r.via, [...new Set([...(relayFor.get(r.via) ?? []), n.name])])
  }

  for (const nodePlan of plan.nodes) {
    const outcome = outcomes.get(nodePlan.name)
    if (!outcome) continue
    if (!outcome.ok) {
      add(unreachableFinding(nodePlan.name, outcome.problem))
      continue
    }
    const reading = outcome.reading
    const parsedConfig = reading.config === null ? null : parseRenderedConfig(reading.config)
    const view: NodeView = {
      plan: nodePlan,
      reading,
      live: reading.link === 'up' && reading.peers !== null ? reading.peers.map(liveEntry) : null,
      config: parsedConfig ? configEntries(parsedConfig) : null,
      parsedConfig,
    }
    views.set(nodePlan.name, view)
    checkInterface(view, iface, add)
    checkPeers(view, iface, names, hostRoutes, add)
    checkForwarding(view, iface, relayFor.get(nodePlan.name) ?? [], add)
    checkDrift(view, iface, names, add)
    checkPathMtu(view, add)
  }

  // Handshakes: what every reachable node sees on its correct entries.
  const troubles: Trouble[] = []
  for (const view of views.values()) {
    if (!view.live) continue
    const byKey = new Map(view.live.map((e) => [e.publicKey, e]))
    for (const peer of view.plan.peers) {
      const entry = peer.publicKey === null ? undefined : byKey.get(peer.publicKey)
      if (!entry || entry.latestHandshake === null) continue
      const state = handshakeState(entry.latestHandshake, view.reading.now, stale)
      // Keepalive off in the plan: silence is not a fault (status calls it idle).
      if (state === 'ok' || peer.keepalive === 0) continue
      troubles.push({node: view.plan.name, peer: peer.name, age: handshakeAge(entry.latestHandshake, view.reading.now)})
    }
  }

  checkFirewalls(views, troubles, add)
  checkUnexplainedHandshakes(plan, views, troubles, findings, add)

  const order = new Map(plan.nodes.map((n, i) => [n.name, i]))
  const checkOrder = new Map(CHECKS.map((c, i) => [c, i]))
  return findings
    .map((f, i) => ({f, i}))
    .sort(
      (a, b) =>
        (order.get(a.f.node) ?? 0) - (order.get(b.f.node) ?? 0) ||
        severityRank(a.f.severity) - severityRank(b.f.severity) ||
        checkOrder.get(a.f.check)! - checkOrder.get(b.f.check)! ||
        a.i - b.i,
    )
    .map(({f}) => f)
}

/** 1 when any finding is an error (the fleet needs fixing); 0 otherwise (warnings allowed). */
export function doctorExitCode(findings: readonly Finding[]): 0 | 1 {
  return findings.some((f) => f.severity === 'error') ? 1 : 0
}

function severityRank(s: Severity): number {
  return s === 'error' ? 0 : 1
}

// --- per-node checks --------------------------------------------------------------------------------

type Add = (f: Finding) => void

function unreachableFinding(node: string, problem: NodeProblem): Finding {
  const ssh = !['script-failed', 'bad-output', 'error'].includes(problem.kind)
  return {
    node,
    severity: 'error',
    check: ssh ? 'unreachable' : 'read-failed',
    message: ssh ? `not reached over SSH (${problem.kind}): ${problem.message}` : `could not read the node: ${problem.message}`,
    fix: problem.hint ?? (ssh ? 'check that the host is up and that `ssh` to it works, then run `wgfleet doctor` again' : 'run the doctor again; check that bash, ip and wg work on the node'),
  }
}

function checkInterface(view: NodeView, iface: string, add: Add): void {
  const {plan, reading} = view
  const node = plan.name
  const unit = `wg-quick@${iface}`
  if (!reading.wgInstalled) {
    add({node, severity: 'error', check: 'wg-missing', message: 'wg (wireguard-tools) is not installed', fix: '`wgfleet init`'})
  } else if (reading.link !== 'up') {
    const what = reading.link === 'absent' ? `interface ${iface} does not exist` : `interface ${iface} is down`
    const why = reading.systemd && reading.unitActive && reading.unitActive !== 'active' ? ` (${unit} is ${reading.unitActive})` : ''
    add({
      node,
      severity: 'error',
      check: 'interface-down',
      message: `${what}${why}: no tunnel of ${node} works`,
      fix: reading.systemd
        ? `on ${node}: \`systemctl restart ${unit}\` (see \`journalctl -u ${unit}\` if it fails)`
        : `on ${node}: \`wg-quick up ${iface}\``,
    })
  } else if (reading.peers === null) {
    add({node, severity: 'error', check: 'wg-error', message: reading.wgError ?? `wg show ${iface} failed`, fix: `on ${node}: \`wg show ${iface}\``})
  }

  if (reading.config === null) {
    add({
      node,
      severity: 'error',
      check: 'config-missing',
      message: `/etc/wireguard/${iface}.conf does not exist: ${unit} has nothing to start after a reboot`,
      fix: '`wgfleet init`',
    })
  }

  if (reading.publicKey && reading.keyFilePublicKey && reading.publicKey !== reading.keyFilePublicKey) {
    add({
      node,
      severity: 'error',
      check: 'own-key-mismatch',
      message: `the interface runs with public key ${reading.publicKey}, but /etc/wireguard/${iface}.key is the key of ${reading.keyFilePublicKey}: after a restart the peers would not know ${node}`,
      fix: `on ${node}: \`systemctl restart ${unit}\`, then \`wgfleet init\` so that every peer gets ${node}'s key`,
    })
  }

  // Address: the interface's (when up), else the config file's.
  const configAddresses = (view.parsedConfig?.interface.Address ?? []).filter((a) => a.includes('.'))
  const [addresses, source]: [string[], Source] | [null, null] =
    reading.link === 'up' && reading.addresses.length > 0 ? [reading.addresses, 'interface'] : configAddresses.length > 0 ? [configAddresses, 'config'] : [null, null]
  if (addresses && source && !addresses.includes(plan.address)) {
    add({
      node,
      severity: 'error',
      check: 'address-mismatch',
      message: `${SOURCE_TEXT[source]} has address ${addresses.join(', ')}, the plan says ${plan.address}: peers route ${plan.address.split('/')[0]} to ${node}, which does not answer on it`,
      fix: '`wgfleet init` (an address change restarts the interface)',
    })
  }

  if (reading.systemd) {
    if (reading.unitEnabled !== 'enabled') {
      add({
        node,
        severity: 'error',
        check: 'unit-not-enabled',
        message: `${unit} is ${reading.unitEnabled || 'not enabled'}: the tunnel will not come back after a reboot`,
        fix: reading.unitEnabled === 'masked' ? `on ${node}: \`systemctl unmask ${unit} && systemctl enable ${unit}\`` : `on ${node}: \`systemctl enable ${unit}\``,
      })
    }
    if (reading.link === 'up' && reading.unitActive !== 'active') {
      add({
        node,
        severity: 'warning',
        check: 'unit-inactive',
        message: `interface ${iface} is up but ${unit} is ${reading.unitActive || 'not active'} (brought up by hand?): systemd does not manage it`,
        fix: `on ${node}: \`wg-quick down ${iface} && systemctl start ${unit}\``,
      })
    }
  } else if (reading.wgInstalled) {
    add({
      node,
      severity: 'warning',
      check: 'no-systemd',
      message: 'no systemd on this host: nothing brings the tunnel back after a reboot',
      fix: `start \`wg-quick up ${iface}\` from the host's init system at boot`,
    })
  }
}

function checkPeers(view: NodeView, iface: string, names: KeyNames, hostRoutes: ReadonlyMap<string, string>, add: Add): void {
  const {plan} = view
  const node = plan.name
  // What the node runs, else what it will run when started.
  const [entries, source]: [Entry[], Source] | [null, null] = view.live ? [view.live, 'interface'] : view.config ? [view.config, 'config'] : [null, null]
  if (entries && source) {
    const where = SOURCE_TEXT[source]
    const planned = plan.peers.filter((p): p is PeerPlan & {publicKey: string} => p.publicKey !== null)
    const byKey = new Map(entries.map((e) => [e.publicKey, e]))
    const used = new Set<Entry>()
    for (const p of planned) {
      const e = byKey.get(p.publicKey)
      if (e) used.add(e)
    }

    for (const p of planned) {
      const entry = byKey.get(p.publicKey)
      if (entry) {
        checkAllowedIps(node, p, entry, where, add)
        continue
      }
      // An entry that stands for P (its address in AllowedIPs, or P's endpoint) under another key.
      const own = p.allowedIps[0]!
      const impostor = entries.find((e) => !used.has(e) && (e.allowedIps.map(normalizeRange).includes(own) || (p.endpoint !== null && sameEndpoint(e.endpoint, p.endpoint))))
      if (impostor) {
        used.add(impostor)
        const old = names.get(impostor.publicKey)
        const known = old === p.name ? ` (an old key of ${p.name})` : old ? ` (${old}'s key)` : ''
        add({
          node,
          severity: 'error',
          check: 'wrong-peer-key',
          peer: p.name,
          message: `${where} has public key ${impostor.publicKey}${known} for ${p.name}, but ${p.name}'s public key is ${p.publicKey}: the tunnel ${node} ↔ ${p.name} cannot handshake`,
          fix: `\`wgfleet init\` (or on ${node}: \`wg set ${iface} peer ${impostor.publicKey} remove\`, then fix /etc/wireguard/${iface}.conf)`,
        })
      } else {
        add({
          node,
          severity: 'error',
          check: 'missing-peer',
          peer: p.name,
          message: `${where} has no peer entry for ${p.name} (${p.publicKey}): ${node} and ${p.name} cannot talk`,
          fix: '`wgfleet init`',
        })
      }
    }

    // Entries for peers the plan left out for want of a key (named, or carrying their address) cannot be judged.
    const skipped = new Set(view.plan.skippedPeers)
    const skippedRoutes = new Set(view.plan.skippedPeers.map((n) => hostRoutes.get(n)))
    for (const e of entries) {
      if (used.has(e)) continue
      const name = names.get(e.publicKey)
      if ((name && skipped.has(name)) || e.allowedIps.some((r) => skippedRoutes.has(normalizeRange(r)))) continue
      const label = name ? `${name} (${e.publicKey})` : e.publicKey
      const reason = name ? `: the plan has no direct tunnel ${node} ↔ ${name}` : ': no node of the inventory has this key'
      add({
        node,
        severity: 'warning',
        check: 'unknown-peer',
        peer: name ?? e.publicKey,
        message: `${where} has a peer entry for ${label}${reason}${e.allowedIps.length > 0 ? ` (AllowedIPs ${e.allowedIps.join(', ')})` : ''}`,
        fix: `\`wgfleet init\` (or on ${node}: \`wg set ${iface} peer ${e.publicKey} remove\`)`,
      })
    }
  }

  // Overlaps: WireGuard keeps a range on one peer only, so the running interface never shows one;
  // the config file can (the last peer to claim the range wins when it is loaded).
  const seen = new Set<string>()
  for (const [list, src] of [[view.config, 'config'], [view.live, 'interface']] as const) {
    if (!list) continue
    const owners = new Map<string, Entry[]>()
    for (const e of list) for (const r of new Set(e.allowedIps.map(normalizeRange))) owners.set(r, [...(owners.get(r) ?? []), e])
    for (const [range, es] of owners) {
      if (es.length < 2 || seen.has(range)) continue
      seen.add(range)
      const who = es.map((e) => names.get(e.publicKey) ?? e.publicKey)
      add({
        node,
        severity: 'error',
        check: 'allowed-ips-overlap',
        message: `AllowedIPs ${range} is on ${es.length} peers of ${node} in ${SOURCE_TEXT[src]} (${who.join(', ')}): WireGuard keeps it on one only, so traffic to it goes to the wrong peer`,
        fix: `\`wgfleet init\` (the plan never puts a range on two peers), or remove ${range} from all but one [Peer] of /etc/wireguard/${iface}.conf on ${node}`,
      })
    }
  }

  checkNat(view, add)
}

function checkAllowedIps(node: string, peer: PeerPlan, entry: Entry, where: string, add: Add): void {
  const want = new Set(peer.allowedIps.map(normalizeRange))
  const have = new Set(entry.allowedIps.map(normalizeRange))
  const missing = [...want].filter((r) => !have.has(r))
  const extra = [...have].filter((r) => !want.has(r))
  if (missing.length === 0 && extra.length === 0) return
  const parts = [
    ...(missing.length > 0 ? [`lacks ${missing.join(', ')}`] : []),
    ...(extra.length > 0 ? [`carries ${extra.join(', ')} besides`] : []),
  ]
  add({
    node,
    severity: 'error',
    check: 'allowed-ips-mismatch',
    peer: peer.name,
    message: `${where}'s entry for ${peer.name} has AllowedIPs ${entry.allowedIps.join(', ') || '(none)'}, the plan says ${peer.allowedIps.join(', ')}: it ${parts.join(' and ')}`,
    fix: '`wgfleet init`',
  })
}

/** A NAT-ed node must dial its public peers (Endpoint) and keep its NAT mapping open (PersistentKeepalive). */
function checkNat(view: NodeView, add: Add): void {
  const {plan} = view
  if (plan.endpoint !== null) return
  const node = plan.name
  for (const p of plan.peers) {
    if (p.endpoint === null || p.publicKey === null) continue
    const cfg = view.config?.find((e) => e.publicKey === p.publicKey)
    const live = view.live?.find((e) => e.publicKey === p.publicKey)
    if (!cfg && !live) continue // missing-peer / wrong-peer-key says it
    const noEndpoint: Source | null = cfg ? (cfg.endpoint === null ? 'config' : null) : live!.endpoint === null ? 'interface' : null
    if (noEndpoint) {
      add({
        node,
        severity: 'error',
        check: 'nat-no-endpoint',
        peer: p.name,
        message: `${node} is behind NAT, but the entry for ${p.name} in ${SOURCE_TEXT[noEndpoint]} has no Endpoint: ${p.name} cannot reach ${node}, and ${node} never dials ${p.name} (${p.endpoint})`,
        fix: '`wgfleet init`',
      })
    }
    const noKeepalive: Source | null = cfg && cfg.keepalive === 0 ? 'config' : live && live.keepalive === 0 ? 'interface' : null
    if (noKeepalive) {
      add({
        node,
        severity: 'error',
        check: 'nat-no-keepalive',
        peer: p.name,
        message: `${node} is behind NAT, but the entry for ${p.name} in ${SOURCE_TEXT[noKeepalive]} has no PersistentKeepalive: the NAT mapping expires and ${p.name} can no longer reach ${node}`,
        fix: p.keepalive > 0 ? '`wgfleet init`' : 'set `keepalive = 25` in [network] of the inventory, then `wgfleet init`',
      })
    }
  }
}

function checkForwarding(view: NodeView, iface: string, relayed: readonly string[], add: Add): void {
  const {plan, reading} = view
  if (!plan.forwarding) return
  const node = plan.name
  const role = relayed.length > 0 ? `${node} relays for ${relayed.join(', ')}` : plan.masquerade ? `${node} is an exit node` : `${node} is a relay`
  const persist = `echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-wgfleet.conf`
  if (reading.ipForward === false) {
    add({
      node,
      severity: 'error',
      check: 'relay-no-forwarding',
      message: `${role}, but net.ipv4.ip_forward = 0: the traffic it should pass on is dropped`,
      fix: `on ${node}: \`sysctl -w net.ipv4.ip_forward=1 && ${persist}\` (or \`wgfleet init\`)`,
    })
  } else if (reading.ipForward === true && reading.forwardFiles.length === 0) {
    add({
      node,
      severity: 'warning',
      check: 'relay-forwarding-not-persistent',
      message: `${role} and forwards now, but no sysctl file sets net.ipv4.ip_forward = 1: forwarding stops after a reboot`,
      fix: `on ${node}: \`${persist}\` (or \`wgfleet init\`)`,
    })
  }

  // Relaying passes packets in and out of the same interface: the firewall must let that through.
  if (relayed.length === 0) return
  if (reading.ufw.state === 'active') {
    if (!ufwForwardsOn(reading.ufw.status, iface)) {
      add({
        node,
        severity: 'error',
        check: 'relay-forward-blocked',
        message: `${role}, but ufw routes nothing in and out of ${iface} (no \`ALLOW FWD\` rule on ${iface}, routed policy not allow): relayed traffic is dropped`,
        fix: `on ${node}: \`ufw route allow in on ${iface} out on ${iface}\``,
      })
    }
    return
  }
  const fw = reading.firewalld
  if (fw.state !== 'running') return
  const zone = fw.interfaceZone ? fw.interfaceZoneRuntime : fw.runtime
  const zoneName = fw.interfaceZone || fw.defaultZone || zone?.name || 'default'
  if (!zone || zone.name === 'trusted' || zone.target.toUpperCase() === 'ACCEPT' || zone.forward === true) return
  const fix = `on ${node}: \`firewall-cmd --zone=trusted --change-interface=${iface} && firewall-cmd --permanent --zone=trusted --change-interface=${iface}\``
  if (zone.forward === false) {
    add({
      node,
      severity: 'error',
      check: 'relay-forward-blocked',
      message: `${role}, but ${iface} is in firewalld zone ${zoneName}, which does not forward within the zone: relayed traffic is rejected`,
      fix,
    })
  } else {
    add({
      node,
      severity: 'warning',
      check: 'relay-forward-blocked',
      message: `${role}, and ${iface} is in firewalld zone ${zoneName}, which may reject forwarded traffic (this firewalld does not report intra-zone forwarding)`,
      fix,
    })
  }
}

/** The config file against the running interface (interface up, both read). */
function checkDrift(view: NodeView, iface: string, names: KeyNames, add: Add): void {
  const {plan, reading, live, config, parsedConfig} = view
  if (!live || !config || !parsedConfig) return
  const node = plan.name
  const diffs: string[] = []
  const label = (key: string) => names.get(key) ?? key
  const plannedEndpoint = new Map(plan.peers.map((p) => [p.publicKey, p.endpoint]))

  const cfgPort = intOf(parsedConfig.interface.ListenPort?.[0])
  if (cfgPort !== null && reading.listenPort !== null && cfgPort !== reading.listenPort) diffs.push(`ListenPort ${cfgPort} in the file, ${reading.listenPort} running`)
  const cfgMtu = intOf(parsedConfig.interface.MTU?.[0])
  if (cfgMtu !== null && reading.mtu !== null && cfgMtu !== reading.mtu) diffs.push(`MTU ${cfgMtu} in the file, ${reading.mtu} running`)
  const cfgAddresses = (parsedConfig.interface.Address ?? []).filter((a) => a.includes('.'))
  if (cfgAddresses.length > 0 && reading.addresses.length > 0 && !sameSet(cfgAddresses, reading.addresses)) {
    diffs.push(`Address ${cfgAddresses.join(', ')} in the file, ${reading.addresses.join(', ')} running`)
  }

  const liveByKey = new Map(live.map((e) => [e.publicKey, e]))
  const cfgKeys = new Set(config.map((e) => e.publicKey))
  for (const c of config) {
    const l = liveByKey.get(c.publicKey)
    const who = label(c.publicKey)
    if (!l) {
      diffs.push(`peer ${who} is in the file but not running`)
      continue
    }
    if (!sameSet(c.allowedIps.map(normalizeRange), l.allowedIps.map(normalizeRange))) {
      diffs.push(`peer ${who}: AllowedIPs ${c.allowedIps.join(', ') || '(none)'} in the file, ${l.allowedIps.join(', ') || '(none)'} running`)
    }
    if (c.keepalive !== l.keepalive) diffs.push(`peer ${who}: PersistentKeepalive ${c.keepalive || 'off'} in the file, ${l.keepalive || 'off'} running`)
    // Endpoints of NAT-ed peers (no planned endpoint) are learned by roaming: not drift. A file endpoint
    // by host name cannot be compared with the address WireGuard resolved it to.
    const planned = plannedEndpoint.get(c.publicKey)
    if (c.endpoint !== null && planned !== null && endpointHostIsIp(c.endpoint) && !sameEndpoint(c.endpoint, l.endpoint)) {
      diffs.push(`peer ${who}: Endpoint ${c.endpoint} in the file, ${l.endpoint ?? '(none)'} running`)
    }
  }
  for (const l of live) if (!cfgKeys.has(l.publicKey)) diffs.push(`peer ${label(l.publicKey)} is running but not in the file`)

  if (diffs.length === 0) return
  add({
    node,
    severity: 'warning',
    check: 'config-drift',
    message: `/etc/wireguard/${iface}.conf differs from the running interface (a restart would change the tunnels): ${diffs.join('; ')}`,
    fix: `\`wgfleet init\` (rewrites the file from the plan and syncs the interface), or on ${node}: \`systemctl reload wg-quick@${iface}\` to load the file as it is`,
  })
}

/**
 * Don't-fragment pings: a big one (a full-size tunnel packet) failing while a small one gets through
 * means the path cannot carry the interface's MTU. Suggested MTU: the path MTU ping reported minus the
 * WireGuard overhead (60 bytes over IPv4, 80 over IPv6), else 1280 (always safe).
 */
function checkPathMtu(view: NodeView, add: Add): void {
  const {plan, reading} = view
  const node = plan.name
  const byPeer = new Map<string, {peer: string; kinds: string[]; suggest: number | null}>()
  for (const ping of reading.pings) {
    if (ping.big !== 'fail' || ping.small !== 'ok') continue
    const peer = plan.peers.find((p) => (ping.kind === 'underlay' ? endpointHost(p.endpoint) === ping.host : p.allowedIps[0] === `${ping.host}/32`))
    const name = peer?.name ?? ping.host
    const item = byPeer.get(name) ?? {peer: name, kinds: [], suggest: null}
    item.kinds.push(ping.kind === 'underlay' ? `over the underlay to ${ping.host}` : `through the tunnel to ${ping.host}`)
    if (ping.kind === 'underlay' && ping.pathMtu !== null) {
      const overhead = ping.host.includes(':') ? 80 : 60
      const n = ping.pathMtu - overhead
      item.suggest = item.suggest === null ? n : Math.min(item.suggest, n)
    }
    byPeer.set(name, item)
  }
  for (const item of byPeer.values()) {
    const mtu = reading.mtu ?? plan.mtu ?? 1420
    const n = Math.max(1280, Math.min(item.suggest ?? 1280, mtu - 20))
    add({
      node,
      severity: 'warning',
      check: 'path-mtu',
      peer: item.peer,
      message: `full-size packets (interface MTU ${mtu}) do not get through to ${item.peer}, small ones do (don't-fragment ping ${item.kinds.join(' and ')}): large transfers over this tunnel stall`,
      fix: `set \`mtu = ${n}\` in [network] of the inventory, then \`wgfleet init\``,
    })
  }
}

// --- cross-node checks ------------------------------------------------------------------------------

function checkFirewalls(views: ReadonlyMap<string, NodeView>, troubles: readonly Trouble[], add: Add): void {
  for (const view of views.values()) {
    const {plan: nodePlan, reading} = view
    const node = nodePlan.name
    const port = reading.listenPort ?? nodePlan.listenPort
    const verdict = portVerdict(reading, port)
    if (!verdict || verdict.state === 'open') continue
    const dialed = nodePlan.endpoint !== null
    const failing = troubles.filter((t) => t.node === node || t.peer === node).map((t) => (t.node === node ? t.peer : t.node))
    const peersFailing = [...new Set(failing)]
    const fix =
      verdict.firewall === 'ufw'
        ? `on ${node}: \`ufw allow ${port}/udp\``
        : `on ${node}: \`firewall-cmd --permanent --add-port=${port}/udp && firewall-cmd --reload\``
    if (verdict.state === 'closed') {
      if (!dialed && peersFailing.length === 0) continue // a NAT-ed node dials out; replies come back as established traffic
      const what = verdict.firewall === 'ufw' ? `ufw is active and does not allow ${port}/udp` : `firewalld is running and its zone does not open ${port}/udp`
      const effect = peersFailing.length > 0 ? `no handshake with ${peersFailing.join(', ')}` : `peers cannot start a handshake with ${node} (${nodePlan.endpoint}); live sessions last only while their conntrack entries do`
      add({node, severity: 'error', check: 'firewall-port-closed', message: `${what}: ${effect}`, fix})
    } else if (dialed) {
      add({
        node,
        severity: 'warning',
        check: 'firewall-port-not-permanent',
        message: `firewalld lets ${port}/udp in now, but not in its permanent configuration: the port closes at the next reload or reboot`,
        fix: `on ${node}: \`firewall-cmd --permanent --add-port=${port}/udp\``,
      })
    }
  }
}

/** A failing handshake that no other finding explains: said once per pair, on the first node that sees it. */
function checkUnexplainedHandshakes(plan: FleetPlan, views: ReadonlyMap<string, NodeView>, troubles: readonly Trouble[], findings: readonly Finding[], add: Add): void {
  const said = new Set<string>()
  const explained = (a: string, b: string) =>
    findings.some(
      (f) =>
        ((f.node === a || f.node === b) && NODE_BLOCKERS.has(f.check)) ||
        (PAIR_BLOCKERS.has(f.check) && ((f.node === a && f.peer === b) || (f.node === b && f.peer === a))),
    )
  for (const t of troubles) {
    const pair = [t.node, t.peer].sort().join('\n')
    if (said.has(pair)) continue
    said.add(pair)
    // Both sides must have been read: an unreachable peer may simply be down.
    if (!views.has(t.peer) || explained(t.node, t.peer)) continue
    const nodePlan = views.get(t.node)!.plan
    const peerPlan = plan.nodes.find((n) => n.name === t.peer)!
    const peerEntry = nodePlan.peers.find((p) => p.name === t.peer)!
    // The side with an endpoint is dialed; the other (or this one, when both have one) dials.
    const [listener, dialer] = peerEntry.endpoint !== null ? [peerPlan, nodePlan] : [nodePlan, peerPlan]
    const when = t.age === null ? 'never' : `last ${formatAge(t.age)} ago`
    add({
      node: t.node,
      severity: 'error',
      check: 'handshake-failing',
      peer: t.peer,
      message: `no recent handshake with ${t.peer} (${when}), and no other check explains it: something between them drops UDP to ${listener.endpoint ?? listener.name}`,
      fix: `on ${listener.name}: \`tcpdump -ni any udp port ${listener.listenPort}\` while \`ping -c 3 ${listener.address.split('/')[0]}\` runs on ${dialer.name}: no packets = blocked on the way (cloud security group, router)`,
    })
  }
}

// --- helpers ----------------------------------------------------------------------------------------

function liveEntry(p: WgDumpPeer): Entry {
  return {publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps, keepalive: p.keepalive, latestHandshake: p.latestHandshake}
}

function configEntries(parsed: ParsedConfig): Entry[] {
  return parsed.peers
    .filter((s) => (s.PublicKey?.[0] ?? '') !== '')
    .map((s) => ({
      publicKey: s.PublicKey![0]!,
      endpoint: s.Endpoint?.[0] ?? null,
      allowedIps: s.AllowedIPs ?? [],
      keepalive: s.PersistentKeepalive?.[0] === undefined || s.PersistentKeepalive[0] === 'off' ? 0 : Number(s.PersistentKeepalive[0]) || 0,
      latestHandshake: null,
    }))
}

/** "10.0.0.2" → "10.0.0.2/32"; lower case for IPv6. */
export function normalizeRange(range: string): string {
  const r = range.trim().toLowerCase()
  if (r.includes('/')) return r
  return r.includes(':') ? `${r}/128` : `${r}/32`
}

function endpointHost(endpoint: string | null): string | null {
  if (endpoint === null) return null
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(endpoint)
  if (v6) return v6[1]!
  const i = endpoint.lastIndexOf(':')
  return i === -1 ? endpoint : endpoint.slice(0, i)
}

function endpointHostIsIp(endpoint: string): boolean {
  return isIP(endpointHost(endpoint) ?? '') !== 0
}

function sameEndpoint(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.toLowerCase() === b.toLowerCase()
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a)
  const y = new Set(b)
  return x.size === y.size && [...x].every((v) => y.has(v))
}

function intOf(value: string | undefined): number | null {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : null
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h`
  return `${Math.floor(seconds / 86_400)} d`
}
