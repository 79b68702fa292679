/**
 * Task factories: each step of the converge as a function of a RemoteShell, so flows are tested with a
 * scripted fake shell and an in-process ssh2 server. Values passed to scripts are validated here again
 * (defence in depth: the inventory validated them first).
 */
import {parseKeyValues} from '../remote/output.js'
import {parseProbeOutput, type HostProbe} from '../remote/probe.js'
import {loadScript} from '../remote/scripts.js'
import {isWireGuardKey} from '../wireguard/index.js'
import {BugError, NodeFailure} from '../lib/errors.js'
import {KNOWN_PACKAGES, type ApplyDecision} from './decide.js'
import type {PeerAddPlan} from '../plan/peer-add.js'
import type {ExecResult, RemoteShell} from './remote-shell.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {decodeAction, encodeAction, type FirewallAction} from '../firewall/actions.js'


export const STEP_TIMEOUTS = {
  probe: 30_000,
  prepare: 15 * 60_000,
  apply: 120_000,
  verifyGraceMs: 20_000,
} as const

function checkIface(iface: string): string {
  if (!isInterfaceName(iface)) throw new BugError(`unvalidated interface name ${JSON.stringify(iface)}`)
  return iface
}

/** The `error=` line a script printed, else the last line of stderr, else the exit code. */
function scriptFailure(what: string, result: ExecResult): NodeFailure {
  const said = parseKeyValues(result.stdout).find(([k]) => k === 'error')?.[1]
  const stderr = result.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ')
  return new NodeFailure(`${what} failed: ${said ?? (stderr || `exit code ${result.code}`)}`)
}

export async function probeHost(shell: RemoteShell, iface: string): Promise<HostProbe> {
  const result = await shell.run(loadScript('probe'), [checkIface(iface)], {timeoutMs: STEP_TIMEOUTS.probe})
  if (result.code !== 0) throw scriptFailure('probe', result)
  return parseProbeOutput(result.stdout)
}

export interface PrepareOutcome {
  installed: string[]
  key: 'new' | 'kept'
  publicKey: string
}

export async function prepareHost(shell: RemoteShell, iface: string, manager: string, packages: string[]): Promise<PrepareOutcome> {
  for (const p of packages) if (!KNOWN_PACKAGES.has(p)) throw new BugError(`unexpected package ${p}`)
  if (!['apt', 'dnf', 'yum', 'none'].includes(manager)) throw new BugError(`unexpected package manager ${manager}`)
  const result = await shell.run(loadScript('prepare'), [checkIface(iface), manager, ...packages], {timeoutMs: STEP_TIMEOUTS.prepare})
  if (result.code !== 0) throw scriptFailure(packages.length ? `installing ${packages.join(', ')}` : 'key generation', result)
  const values = new Map(parseKeyValues(result.stdout))
  const publicKey = values.get('pubkey') ?? ''
  if (!isWireGuardKey(publicKey)) throw new NodeFailure('the host did not return a valid public key')
  return {installed: packages, key: values.get('key') === 'new' ? 'new' : 'kept', publicKey}
}

export interface ApplyOutcome {
  configWritten: boolean
  backup?: string
  service: 'started' | 'restarted' | 'synced' | 'unchanged'
  enabled: boolean
  /** The firewall actions the host reports it ran (of those it was given). */
  firewall: FirewallAction[]
  forwarding: boolean
  routes: string[]
  warnings: string[]
  /** Public keys of the peer entries this apply brought up fresh (no session yet; they send nothing). */
  fresh: string[]
  /** Keepalives were held back on those entries: verify sets the interface to its file at the end. */
  keepaliveHeld: boolean
}

export async function applyHost(
  shell: RemoteShell,
  args: {iface: string; decision: ApplyDecision; config: string; adopt: boolean},
): Promise<ApplyOutcome> {
  const {iface, decision, config, adopt} = args
  // One argument per firewall action, in its fixed token grammar (encodeAction validates every part).
  const firewall = decision.firewall.actions.map(encodeAction)
  const argv = [
    checkIface(iface),
    decision.writeConfig ? 'yes' : 'no',
    decision.action,
    decision.enable ? 'yes' : 'no',
    decision.forward ? (decision.forward6 ? 'dual' : 'yes') : 'no',
    adopt ? 'yes' : 'no',
    // The host refuses a payload cut short (a dropped link, Ctrl-C while sending).
    String(decision.writeConfig ? Buffer.byteLength(config, 'utf8') : 0),
    ...firewall,
  ]
  const result = await shell.run(loadScript('apply'), argv, {
    input: decision.writeConfig ? config : undefined,
    timeoutMs: STEP_TIMEOUTS.apply,
  })
  if (result.code !== 0) throw scriptFailure('applying the config', result)
  const values = parseKeyValues(result.stdout)
  const get = (k: string) => values.filter(([key]) => key === k).map(([, v]) => v)
  const service = get('service')[0]
  return {
    configWritten: get('config').includes('written'),
    backup: get('backup')[0],
    service: service === 'started' || service === 'restarted' || service === 'synced' ? service : 'unchanged',
    enabled: get('enabled').includes('yes'),
    // Only what was sent counts (the host's output is untrusted).
    firewall: get('firewall').filter((token) => firewall.includes(token)).map((token) => decodeAction(token)!),
    forwarding: get('forward').length > 0 || get('forward_file').length > 0,
    routes: get('route'),
    warnings: get('warning'),
    fresh: get('fresh').filter((key) => isWireGuardKey(key)),
    keepaliveHeld: get('keepalive').includes('held'),
  }
}

export interface HandshakeReading {
  /** The host's clock. */
  now: number
  /** public key → latest handshake (unix seconds, 0 = never). */
  latest: Record<string, number>
  /** Public keys the host verified as their mode asks (a handshake, or an answered ping). */
  verified: Set<string>
  /** What the host could not do (e.g. set the interface to its file at the end). */
  warnings: string[]
}

/** How verify.sh treats one peer (who starts the handshake is decided in services/first-handshake). */
export type VerifyMode = 'any' | 'live' | 'initiate' | 'await' | 'reset'
const VERIFY_MODES: ReadonlySet<string> = new Set<VerifyMode>(['any', 'live', 'initiate', 'await', 'reset'])

/**
 * One bounded exec: waits for every peer's handshake as its mode says; with `finish`, then sets the
 * interface to its config file (the keepalives apply held back) and clears the pending marker.
 */
export async function verifyHandshakes(
  shell: RemoteShell,
  iface: string,
  peers: Array<{publicKey: string; address: string; mode: VerifyMode; since?: number}>,
  timeoutSeconds: number,
  finish = false,
): Promise<HandshakeReading> {
  const argv = [checkIface(iface), String(timeoutSeconds), finish ? 'yes' : 'no', String(peers.length)]
  const lines: string[] = []
  for (const peer of peers) {
    if (!isWireGuardKey(peer.publicKey) || !/^\d{1,3}(\.\d{1,3}){3}$/.test(peer.address)) throw new BugError('unvalidated peer')
    if (!VERIFY_MODES.has(peer.mode)) throw new BugError(`unknown verify mode ${JSON.stringify(peer.mode)}`)
    const since = peer.since ?? 0
    if (!Number.isSafeInteger(since) || since < 0) throw new BugError(`bad handshake time ${since}`)
    lines.push(`${peer.publicKey} ${peer.address} ${peer.mode} ${since}\n`)
  }
  lines.push('end\n')
  const result = await shell.run(loadScript('verify'), argv, {
    privileged: true,
    // On stdin, not the command line: the peer list of a large node passes Linux's per-argument limit.
    input: lines.join(''),
    timeoutMs: timeoutSeconds * 1000 + STEP_TIMEOUTS.verifyGraceMs,
  })
  if (result.code !== 0) throw scriptFailure('verifying handshakes', result)
  return parseHandshakes(result.stdout)
}

export function parseHandshakes(stdout: string): HandshakeReading {
  let now = 0
  const latest: Record<string, number> = {}
  const verified = new Set<string>()
  const warnings: string[] = []
  for (const [k, v] of parseKeyValues(stdout)) {
    if (k === 'now') now = Number(v)
    if (k === 'warning') warnings.push(v)
    const [key, value] = v.split(/\s+/)
    if (!key || !isWireGuardKey(key)) continue
    if (k === 'hs') latest[key] = Number(value) || 0
    if (k === 'verified') verified.add(key)
  }
  return {now, latest, verified, warnings}
}

/** hosts.sh: wgfleet's block of /etc/hosts written (or taken out) as plan/hosts-file decided. */
export async function writeHostsBlock(shell: RemoteShell, iface: string, action: 'write' | 'remove', block: string): Promise<'written' | 'removed' | 'unchanged'> {
  const input = action === 'write' ? block : ''
  const result = await shell.run(loadScript('hosts'), [checkIface(iface), action, String(Buffer.byteLength(input, 'utf8'))], {input, timeoutMs: STEP_TIMEOUTS.probe})
  if (result.code !== 0) throw scriptFailure('updating /etc/hosts', result)
  const done = parseKeyValues(result.stdout).find(([key]) => key === 'hosts')?.[1]
  if (done !== 'written' && done !== 'removed' && done !== 'unchanged') throw new NodeFailure('hosts.sh did not say what it did')
  return done
}

/** What peer-add.sh did: the newcomer's entry added live (and its file written), or refused, nothing changed. */
export type PeerAddOutcome =
  | {kind: 'added'}
  /** digest: the host's file is not the one last applied; down: the interface is not up; pending: an earlier apply is unfinished. */
  | {kind: 'refused'; reason: PeerAddRefusalOnHost}

export type PeerAddRefusalOnHost = 'digest' | 'down' | 'pending'
const HOST_REFUSALS: ReadonlySet<string> = new Set<PeerAddRefusalOnHost>(['digest', 'down', 'pending'])

/**
 * add-node's fast path on an existing node (one exec): the planned file and the peer operations of
 * plan/peer-add, every value validated here again; the host refuses unless its file is the one last applied.
 */
export async function peerAddHost(shell: RemoteShell, iface: string, plan: PeerAddPlan): Promise<PeerAddOutcome> {
  const ipList = (ips: string[]) => {
    if (ips.length === 0 || ips.some((ip) => !/^[0-9A-Fa-f.:/]+$/.test(ip))) throw new BugError(`unvalidated allowed IPs ${JSON.stringify(ips)}`)
    return ips.join(',')
  }
  const key = (k: string) => {
    if (!isWireGuardKey(k)) throw new BugError(`unvalidated public key ${JSON.stringify(k)}`)
    return k
  }
  const lines = [
    ...plan.add.map((p) => {
      if (p.endpoint !== null && !/^([0-9.]+|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}$/.test(p.endpoint)) throw new BugError(`unvalidated endpoint ${JSON.stringify(p.endpoint)}`)
      if (!Number.isInteger(p.keepalive) || p.keepalive < 0 || p.keepalive > 65535) throw new BugError(`bad keepalive ${p.keepalive}`)
      return `peer ${key(p.publicKey)} ${p.endpoint ?? '-'} ${ipList(p.allowedIps)} ${p.keepalive}\n`
    }),
    ...plan.setAllowedIps.map((c) => `allowed-ips ${key(c.publicKey)} ${ipList(c.allowedIps)}\n`),
  ]
  if (!/^[0-9a-f]{64}$/.test(plan.expectedDigest)) throw new BugError('bad config digest')
  const argv = [checkIface(iface), plan.expectedDigest, String(Buffer.byteLength(plan.config, 'utf8')), String(lines.length)]
  const result = await shell.run(loadScript('peer-add'), argv, {input: lines.join('') + plan.config, timeoutMs: STEP_TIMEOUTS.apply})
  const values = parseKeyValues(result.stdout)
  const refused = values.find(([k]) => k === 'refused')?.[1]
  if (result.code === 3 && refused !== undefined && HOST_REFUSALS.has(refused)) return {kind: 'refused', reason: refused as PeerAddRefusalOnHost}
  if (result.code !== 0 || !values.some(([k, v]) => k === 'done' && v === 'yes')) throw scriptFailure('adding the new peer', result)
  return {kind: 'added'}
}
