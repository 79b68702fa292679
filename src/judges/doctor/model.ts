/** What the doctor's checks share (pure): findings, the per-node view of a reading, and small helpers. */
import {isIP} from 'node:net'

import type {FirewallVerdict} from '../../firewall/verdict.js'
import type {ParsedConfig} from '../../plan/parse-config.js'
import type {NodePlan} from '../../plan/model.js'
import type {DoctorReading} from '../../remote/doctor.js'
import type {WgDumpPeer} from '../../wireguard/dump.js'
import type {NodeProblem} from '../status.js'
import {type KeyNames} from '../status.js'
import type {KeyAge} from '../key-age.js'

// --- findings ---------------------------------------------------------------------------------------

export type Severity = 'error' | 'warning'

/** Check ids, in the order a node's findings are listed (errors before warnings first). */
export const CHECKS = [
  'unreachable',
  'read-failed',
  'key-not-trusted',
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
  'psk-mismatch',
  'firewall-port-closed',
  'firewall-port-not-permanent',
  'relay-no-forwarding',
  'relay-forwarding-not-persistent',
  'relay-forward-blocked',
  'subnet-no-forwarding',
  'subnet-no-route',
  'subnet-forward-blocked',
  'handshake-failing',
  'config-drift',
  'hosts-file-drift',
  'path-mtu',
  'key-too-old',
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
  /** Nodes whose reported key plan/key-trust refused, worded (the plan judges their peers by the pinned key). */
  untrustedKeys?: ReadonlyMap<string, {message: string; fix: string}>
  /** Each node's key age (judges/key-age), and `[network] key_max_age_days` (unset: no limit). */
  keyAges?: ReadonlyMap<string, KeyAge>
  keyMaxAgeDays?: number
}

export interface Entry {
  publicKey: string
  endpoint: string | null
  allowedIps: string[]
  keepalive: number
  /** Unix seconds on the node's clock; 0 = never; null for a config entry. */
  latestHandshake: number | null
}

export type Source = 'interface' | 'config'

export const SOURCE_TEXT: Record<Source, string> = {interface: 'the running interface', config: 'the config file'}

export interface NodeView {
  plan: NodePlan
  reading: DoctorReading
  /** The running interface's peers (interface up and read). */
  live: Entry[] | null
  /** The config file's peers. */
  config: Entry[] | null
  parsedConfig: ParsedConfig | null
  /** The node's firewall judged by the one verdict init also asks (src/firewall/verdict.ts). */
  firewall: FirewallVerdict
}

/** A handshake that is not fresh, seen by `node` on its (correct) entry for `peer`. */
export interface Trouble {
  node: string
  peer: string
  /** Seconds since the handshake on the node's clock; null = never. */
  age: number | null
}

/** Node-level checks that keep every tunnel of the node from handshaking. */
export const NODE_BLOCKERS = new Set<CheckId>(['unreachable', 'read-failed', 'wg-missing', 'interface-down', 'wg-error', 'own-key-mismatch', 'firewall-port-closed'])
/** Peer-level checks that keep that one tunnel from handshaking. */
export const PAIR_BLOCKERS = new Set<CheckId>(['wrong-peer-key', 'missing-peer', 'nat-no-endpoint', 'nat-no-keepalive', 'psk-mismatch'])

export type Add = (f: Finding) => void


export function liveEntry(p: WgDumpPeer): Entry {
  return {publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps, keepalive: p.keepalive, latestHandshake: p.latestHandshake}
}

export function configEntries(parsed: ParsedConfig): Entry[] {
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

export function endpointHost(endpoint: string | null): string | null {
  if (endpoint === null) return null
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(endpoint)
  if (v6) return v6[1]!
  const i = endpoint.lastIndexOf(':')
  return i === -1 ? endpoint : endpoint.slice(0, i)
}

export function endpointHostIsIp(endpoint: string): boolean {
  return isIP(endpointHost(endpoint) ?? '') !== 0
}

export function sameEndpoint(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.toLowerCase() === b.toLowerCase()
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a)
  const y = new Set(b)
  return x.size === y.size && [...x].every((v) => y.has(v))
}

export function intOf(value: string | undefined): number | null {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : null
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h`
  return `${Math.floor(seconds / 86_400)} d`
}
