/**
 * The firewall listings a host prints (src/remote/firewall-listings.sh: `ufw status verbose`,
 * `firewall-cmd --list-all-zones`, `--list-all-policies`, `--info-service`, runtime and permanent),
 * parsed (pure). The host's output is untrusted: names are validated, unknown lines ignored. What is judged
 * from them lives in verdict.ts beside this file.
 *
 * Written by hand: no maintained JavaScript library parses these listings (they are meant for people), and
 * their formats are fixed by ufw's and firewalld's own printing code (ufw 0.36, firewalld 0.9–2.x).
 */
import {isIP} from 'node:net'

import {isInterfaceName} from '../wireguard/interface-name.js'

// --- ufw --------------------------------------------------------------------------------------------

export interface UfwReading {
  state: 'absent' | 'inactive' | 'active'
  /** Lines of `ufw status verbose` (when active). */
  status: string[]
  /** DEFAULT_FORWARD_POLICY of /etc/default/ufw (ACCEPT, DROP, REJECT); null when not read. */
  forwardPolicy: string | null
}

export type UfwDirection = 'in' | 'out' | 'fwd'
export type UfwAction = 'allow' | 'deny' | 'reject' | 'limit'
export type Family = 'ipv4' | 'ipv6'

/** One side of a rule, as `ufw status` prints it: `51820/udp`, `Anywhere (v6) on wg0`, `203.0.113.1 51828/udp`, `22/tcp (OpenSSH)`. */
export interface UfwEndpoint {
  /** An address or network; null = Anywhere. */
  address: string | null
  /** A port spec (`51820`, `51820/udp`, `51800:51900/udp`, `80,443/tcp`); null = every port. */
  ports: string | null
  /** `on IFACE`: the interface (in for the From side of a route, out for its To side; in for an incoming rule). */
  iface: string | null
  /** An application profile name, or anything else ufw printed that is neither address nor port. */
  other: string | null
}

export interface UfwRule {
  direction: UfwDirection
  action: UfwAction
  family: Family
  to: UfwEndpoint
  from: UfwEndpoint
  comment: string | null
}

export interface UfwStatus {
  /** incoming / outgoing / routed → allow, deny, reject, disabled (routed: disabled while the kernel does not forward). */
  defaults: Map<string, string>
  /** In the order ufw lists (and evaluates) them. */
  rules: UfwRule[]
}

const UFW_RULE = /^(.+?)\s+(ALLOW|DENY|REJECT|LIMIT)(?: (IN|OUT|FWD))?\s+(.+?)(?:\s+#\s?(.*))?$/
const PORT_SPEC = /^\d[\d,:]*(?:\/(?:tcp|udp))?$/

export function parseUfwStatus(lines: readonly string[]): UfwStatus {
  const defaults = new Map<string, string>()
  const rules: UfwRule[] = []
  let inRules = false
  for (const raw of lines) {
    const line = raw.trimEnd()
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
    const m = UFW_RULE.exec(line.trim())
    if (!m) continue
    const to = parseUfwEndpoint(m[1]!)
    const from = parseUfwEndpoint(m[4]!)
    const v6 = /\(v6\)/.test(m[1]!) || /\(v6\)/.test(m[4]!) || [to.address, from.address].some((a) => a !== null && isIP(a.replace(/\/\d+$/, '')) === 6)
    rules.push({
      direction: m[3] === 'OUT' ? 'out' : m[3] === 'FWD' ? 'fwd' : 'in',
      action: m[2]!.toLowerCase() as UfwAction,
      family: v6 ? 'ipv6' : 'ipv4',
      to,
      from,
      comment: m[5] ?? null,
    })
  }
  return {defaults, rules}
}

function parseUfwEndpoint(cell: string): UfwEndpoint {
  let rest = cell.trim()
  let iface: string | null = null
  const on = /\s+on\s+(\S+)$/.exec(rest)
  if (on) {
    iface = on[1]!
    rest = rest.slice(0, on.index)
  }
  rest = rest.replace(/\s*\(v6\)/g, '')
  let other: string | null = null
  const app = /\s*\(([^()]*)\)$/.exec(rest)
  if (app) {
    other = app[1]!
    rest = rest.slice(0, app.index)
  }
  let address: string | null = null
  let ports: string | null = null
  for (const token of rest.split(/\s+/).filter(Boolean)) {
    if (token === 'Anywhere') continue
    if (PORT_SPEC.test(token) && isIP(token) === 0) ports = token
    else if (isIP(token.replace(/\/\d+$/, '')) !== 0) address = token
    else other = other ?? token
  }
  return {address, ports, iface, other}
}

// --- firewalld ----------------------------------------------------------------------------------------

/** A zone of `firewall-cmd [--permanent] --list-all-zones`. */
export interface FirewalldZone {
  name: string
  /** default | ACCEPT | DROP | REJECT (`%%REJECT%%` in the listing). */
  target: string
  interfaces: string[]
  sources: string[]
  services: string[]
  /** `51820/udp`, `51800-51900/udp` */
  ports: string[]
  protocols: string[]
  /** Intra-zone forwarding (firewalld ≥ 1.0); null when the listing has no `forward:` line (older firewalld). */
  forward: boolean | null
  richRules: string[]
  /** Every setting but the interfaces, canonical: equal for runtime and permanent when they agree. */
  settings: string
}

/** A policy of `firewall-cmd [--permanent] --list-all-policies` (firewalld ≥ 0.9). */
export interface FirewalldPolicy {
  name: string
  /** CONTINUE | ACCEPT | DROP | REJECT */
  target: string
  ingressZones: string[]
  egressZones: string[]
  services: string[]
  ports: string[]
  protocols: string[]
  richRules: string[]
  settings: string
}

/** A service definition (`firewall-cmd --info-service=NAME`). */
export interface FirewalldService {
  name: string
  ports: string[]
  protocols: string[]
  includes: string[]
}

export interface FirewalldConfig {
  zones: FirewalldZone[]
  /** null when firewalld could not list policies (older than 0.9, or the listing failed). */
  policies: FirewalldPolicy[] | null
}

export interface FirewalldReading {
  state: 'absent' | 'stopped' | 'running'
  defaultZone: string
  runtime: FirewalldConfig
  permanent: FirewalldConfig
  /** Definitions (runtime) of the services the listed zones and policies use. */
  services: FirewalldService[]
}

/** Zone, policy and service names as firewalld allows them (anything else a host prints is dropped). */
export function isFirewalldName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,31}$/.test(name)
}

interface ListedObject {
  name: string
  fields: Map<string, string>
  /** Continuation lines (a tab first) of list fields such as `rich rules:`. */
  lists: Map<string, string[]>
}

/**
 * The objects of a firewalld listing: a header line (`public (active)`, `wgfleet`), then indented
 * `  key: value` lines; `rich rules:` and `forward-ports:` continue on tab-indented lines.
 */
function parseObjects(lines: readonly string[] | undefined): ListedObject[] {
  const objects: ListedObject[] = []
  let current: ListedObject | null = null
  let lastField: string | null = null
  for (const raw of lines ?? []) {
    const line = raw.replace(/\r$/, '')
    if (line.trim() === '') continue
    if (!/^\s/.test(line)) {
      const name = line.trim().split(/\s+/)[0]!
      current = isFirewalldName(name) ? {name, fields: new Map(), lists: new Map()} : null
      if (current) objects.push(current)
      lastField = null
      continue
    }
    if (!current) continue
    if (line.startsWith('\t') && lastField !== null) {
      current.lists.get(lastField)!.push(line.trim())
      continue
    }
    const m = /^\s+([a-z][a-z -]*):\s?(.*)$/.exec(line)
    if (!m) continue
    lastField = m[1]!
    current.fields.set(lastField, m[2]!.trim())
    current.lists.set(lastField, [])
  }
  return objects
}

const words = (o: ListedObject, key: string) => (o.fields.get(key) ?? '').split(/\s+/).filter(Boolean)
const names = (o: ListedObject, key: string) => words(o, key).filter((w) => isFirewalldName(w))

function canonicalSettings(o: ListedObject, skip: readonly string[]): string {
  return [...o.fields.keys()]
    .filter((k) => !skip.includes(k))
    .sort()
    .map((k) => `${k}: ${[...words(o, k)].sort().join(' ')}${o.lists.get(k)!.length ? ` [${[...o.lists.get(k)!].sort().join(' | ')}]` : ''}`)
    .join('\n')
}

function target(value: string | undefined, fallback: string): string {
  const t = (value ?? fallback).replace(/^%%(.*)%%$/, '$1')
  return t === 'default' ? t : t.toUpperCase()
}

export function parseFirewalldZones(lines: readonly string[] | undefined): FirewalldZone[] {
  return parseObjects(lines).map((o) => {
    const forward = o.fields.get('forward')
    return {
      name: o.name,
      target: target(o.fields.get('target'), 'default'),
      interfaces: words(o, 'interfaces').filter(isInterfaceName),
      sources: words(o, 'sources'),
      services: names(o, 'services'),
      ports: words(o, 'ports'),
      protocols: words(o, 'protocols'),
      forward: forward === 'yes' ? true : forward === 'no' ? false : null,
      richRules: o.lists.get('rich rules') ?? [],
      settings: canonicalSettings(o, ['interfaces', 'summary', 'description']),
    }
  })
}

export function parseFirewalldPolicies(lines: readonly string[] | undefined): FirewalldPolicy[] {
  return parseObjects(lines).map((o) => ({
    name: o.name,
    target: target(o.fields.get('target'), 'CONTINUE'),
    ingressZones: names(o, 'ingress-zones'),
    egressZones: names(o, 'egress-zones'),
    services: names(o, 'services'),
    ports: words(o, 'ports'),
    protocols: words(o, 'protocols'),
    richRules: o.lists.get('rich rules') ?? [],
    settings: canonicalSettings(o, ['summary', 'description']),
  }))
}

export function parseFirewalldServices(lines: readonly string[] | undefined): FirewalldService[] {
  return parseObjects(lines).map((o) => ({name: o.name, ports: words(o, 'ports'), protocols: words(o, 'protocols'), includes: names(o, 'includes')}))
}

// --- both, as the host printed them ---------------------------------------------------------------

/** What a host reported about its firewalls. */
export interface FirewallReadings {
  ufw: UfwReading
  firewalld: FirewalldReading
}

/** The `--- NAME` blocks firewall-listings.sh prints. */
export const FIREWALL_BLOCKS = [
  'ufw',
  'firewalld zones',
  'firewalld permanent zones',
  'firewalld policies',
  'firewalld permanent policies',
  'firewalld services',
] as const

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback
}

/**
 * The readings from what firewall-listings.sh printed: `value(key)` gives a `key=value` line's value,
 * `block(name)` a block's lines (undefined when the host printed none).
 */
export function parseFirewallListings(value: (key: string) => string | undefined, block: (name: (typeof FIREWALL_BLOCKS)[number]) => string[] | undefined): FirewallReadings {
  const ufwState = oneOf(value('ufw'), ['absent', 'inactive', 'active'] as const, 'absent')
  const forwardPolicy = value('ufw.forward_policy') ?? ''
  const state = oneOf(value('firewalld'), ['absent', 'stopped', 'running'] as const, 'absent')
  const defaultZone = value('firewalld.default_zone') ?? ''
  const policies = (name: 'firewalld policies' | 'firewalld permanent policies') => {
    const lines = block(name)
    return lines === undefined ? null : parseFirewalldPolicies(lines)
  }
  return {
    ufw: {
      state: ufwState,
      status: ufwState === 'active' ? (block('ufw') ?? []) : [],
      forwardPolicy: /^(ACCEPT|DROP|REJECT)$/.test(forwardPolicy) ? forwardPolicy : null,
    },
    firewalld: {
      state,
      defaultZone: isFirewalldName(defaultZone) ? defaultZone : '',
      runtime: {zones: parseFirewalldZones(block('firewalld zones')), policies: policies('firewalld policies')},
      permanent: {zones: parseFirewalldZones(block('firewalld permanent zones')), policies: policies('firewalld permanent policies')},
      services: parseFirewalldServices(block('firewalld services')),
    },
  }
}

/** The zone an interface is bound to in a configuration (null: none, so the default zone handles it). */
export function zoneOfInterface(config: FirewalldConfig, iface: string | null): string | null {
  if (iface === null) return null
  return config.zones.find((z) => z.interfaces.includes(iface))?.name ?? null
}
