/**
 * THE firewall judge (pure): from the listings a host printed (listings.ts), does its firewall let the
 * WireGuard port in and forward what the node must forward — and if not, which explicit actions
 * (actions.ts) make it so. `init` (tasks/decide.ts) and `doctor` (judges/doctor) both ask here and nowhere
 * else, so they cannot disagree.
 *
 * How it decides:
 * - No active ufw and no running firewalld: nothing filters; nothing to do (an inactive firewall is never
 *   enabled).
 * - ufw (first match, as ufw evaluates): the first incoming rule of the node's address family that covers
 *   PORT/udp — an exact port, a range (`51800:51900/udp`), a list (`80,443,51820/udp`), a bare port (any
 *   protocol), an app profile with that port, or a rule for every port — decides: ALLOW or LIMIT lets it
 *   in (even for some sources only: wgfleet does not second-guess a restriction the admin chose); a DENY or
 *   REJECT for everyone keeps it out. Rules on the WireGuard interface itself, or on an interface that is
 *   not the uplink, do not count (peers' packets arrive on the uplink). Else the incoming default decides.
 *   Forwarding: an `ALLOW FWD` rule for every port between the interfaces (or `Anywhere`), or a routed
 *   default of allow (`disabled` while the kernel does not forward: then /etc/default/ufw's policy).
 * - firewalld: the port must be open in the zone of the uplink (its binding, else the default zone) — by
 *   target ACCEPT, a port or range, a service whose definition (read from firewalld, not assumed) has the
 *   port, the udp protocol, or a rich rule accepting the port or such a service (a rich drop/reject for
 *   everyone closes it) — or in a zone bound to sources, or by a policy to HOST; runtime and permanent
 *   are judged apart (open now but not permanently: `not-permanent`). Forwarding: the interface's zone has
 *   target ACCEPT, or (both interfaces bound to it) intra-zone forwarding, or an ACCEPT policy covers it —
 *   a policy dispatches only on interfaces bound to its zones (or ANY), not on those the default zone
 *   catches (as firewalld 1.3 does). When it does not forward, wgfleet binds the interface to its own zone
 *   `wgfleet` (ssh in, nothing else: the interface is not trusted; intra-zone forwarding on: peer to peer),
 *   and an exit node also gets policy `wgfleet-exit` (ingress wgfleet → egress the uplink's zone when the
 *   uplink is bound to one, else ANY; ACCEPT). A firewalld without intra-zone forwarding (0.9) gets policy
 *   `wgfleet-forward` (wgfleet → wgfleet) instead. A new zone or policy exists only after a reload (and
 *   firewalld 1.3 loses a policy's dispatch when its zones change at runtime), and a reload drops
 *   runtime-only settings: wgfleet reloads only when runtime and permanent agree (else the node fails,
 *   saying which zones differ). An interface bound to a zone wgfleet did not create is never moved.
 */
import {
  parseUfwStatus,
  zoneOfInterface,
  type Family,
  type FirewalldConfig,
  type FirewalldPolicy,
  type FirewalldReading,
  type FirewalldService,
  type FirewalldZone,
  type FirewallReadings,
  type UfwEndpoint,
  type UfwReading,
  type UfwStatus,
} from './listings.js'
import {WGFLEET_ZONE, isWgfleetPolicy, type FirewallAction, type WgfleetPolicy} from './actions.js'
import {subnetRouteInterface, type Route} from './routes.js'

export type {FirewallReadings} from './listings.js'

/** What the node needs from its firewall. */
export interface FirewallNeeds {
  /** The WireGuard ListenPort (udp). */
  port: number
  /** The WireGuard interface. */
  iface: string
  /** Peers' traffic is forwarded in and out of the interface (relay, hub, exit). */
  forward: boolean
  /** Exit node: peers' traffic is also forwarded from the interface out to the uplink. */
  exit: boolean
  /** The default route's interface: where peers' packets arrive, and where an exit's traffic leaves; null when unknown. */
  uplink: string | null
  /** The address family the node is dialed over (its endpoint's). */
  family: Family
  /**
   * Site-to-site subnets: peers' traffic is forwarded from the interface out to the interface each subnet
   * is routed through (null: the host has no route for it). Empty when the node has none.
   */
  subnets?: Array<{subnet: string; out: string | null}>
}

/**
 * A node's needs, from its plan: the one derivation init (tasks/decide.ts) and doctor (judges/doctor) both
 * use, so that they ask the verdict the same question. UPLINK: the validated uplink name, or null.
 */
export function firewallNeedsOf(
  node: {interface: string; forwarding: boolean; masquerade: boolean; endpoint: string | null; subnets?: readonly string[]},
  port: number,
  uplink: string | null,
  routes: readonly Route[] = [],
): FirewallNeeds {
  return {
    port,
    iface: node.interface,
    forward: node.forwarding,
    exit: node.masquerade,
    uplink,
    family: node.endpoint?.startsWith('[') ? 'ipv6' : 'ipv4',
    subnets: (node.subnets ?? []).map((subnet) => ({subnet, out: subnetRouteInterface(routes, subnet)})),
  }
}

/** The distinct interfaces the subnets go out of (null first when one has no route). */
function subnetOuts(needs: FirewallNeeds): Array<string | null> {
  return [...new Set((needs.subnets ?? []).map((s) => s.out))].sort((a, b) => (a === null ? -1 : b === null ? 1 : 0))
}

/** The worst of several forward states (blocked, then unknown, then not-permanent). */
function worst(states: ForwardState[]): ForwardState {
  for (const state of ['blocked', 'unknown', 'not-permanent', 'allowed'] as const) if (states.includes(state)) return state
  return 'not-needed'
}

export type FirewallName = 'ufw' | 'firewalld'
/** closed: peers cannot start a handshake; not-permanent: open now, closed after a reload or reboot. */
export type PortState = 'open' | 'closed' | 'not-permanent'
/** not-needed: the node forwards nothing; unknown: it cannot be judged (e.g. an exit node whose uplink is unknown). */
export type ForwardState = 'not-needed' | 'allowed' | 'blocked' | 'not-permanent' | 'unknown'

/** Why wgfleet cannot make forwarding work itself (the node fails with it; doctor says it). */
export type FirewallBlocker =
  /** The interface is bound to a firewalld zone wgfleet did not create, and that zone does not forward. */
  | {kind: 'foreign-zone'; zone: string}
  /** Loading wgfleet's zone or policy needs a reload, which would drop these zones' (and policies') runtime-only settings. */
  | {kind: 'runtime-differs'; objects: string[]}
  /** firewalld lists no policies (older than 0.9). */
  | {kind: 'no-policies'}

export interface FirewallVerdict {
  /** The firewall that filters; null when none is active. */
  firewall: FirewallName | null
  port: PortState
  /** Between peers, in and out of the interface. */
  forward: ForwardState
  /** From the interface out to the uplink (exit node). */
  exitForward: ForwardState
  /** From the interface out to the site-to-site subnets' interfaces (unknown: a subnet has no route). */
  subnetForward: ForwardState
  /** In order, what makes the firewall let the node work; empty when nothing is needed. */
  actions: FirewallAction[]
  blocker: FirewallBlocker | null
}

export function firewallVerdict(readings: FirewallReadings, needs: FirewallNeeds): FirewallVerdict {
  if (readings.ufw.state === 'active') return ufwVerdict(readings.ufw, needs)
  if (readings.firewalld.state === 'running') return firewalldVerdict(readings.firewalld, needs)
  return {
    firewall: null,
    port: 'open',
    forward: needs.forward ? 'allowed' : 'not-needed',
    exitForward: needs.exit ? 'allowed' : 'not-needed',
    subnetForward: (needs.subnets ?? []).length === 0 ? 'not-needed' : subnetOuts(needs).includes(null) ? 'unknown' : 'allowed',
    actions: [],
    blocker: null,
  }
}

// --- ufw --------------------------------------------------------------------------------------------

/** Does a ufw port spec ("51820", "51820/udp", "51000:52000/udp", "80,51820/udp") cover PORT/udp? */
export function ufwSpecCovers(spec: string, port: number): boolean {
  const m = /^([\d,:]+)(?:\/(\w+))?$/.exec(spec)
  if (!m) return false
  if (m[2] && m[2] !== 'udp') return false
  return m[1]!.split(',').some((part) => {
    const [lo, hi] = part.split(':').map(Number)
    return hi === undefined ? lo === port : lo! <= port && port <= hi
  })
}

/** Whether a rule's To side covers PORT/udp: a covering port spec, or no port at all (every port). */
function ufwToCovers(to: UfwEndpoint, port: number): boolean {
  if (to.ports !== null) return ufwSpecCovers(to.ports, port)
  // No port: every port of "Anywhere" or an address — unless it names something ufw could not resolve.
  return to.other === null
}

/** Whether active ufw lets PORT/udp in (first match). */
export function ufwAllowsPort(status: UfwStatus, needs: Pick<FirewallNeeds, 'port' | 'iface' | 'uplink' | 'family'>): boolean {
  for (const rule of status.rules) {
    if (rule.direction !== 'in' || rule.family !== needs.family || !ufwToCovers(rule.to, needs.port)) continue
    const on = rule.to.iface
    if (on !== null && (on === needs.iface || (needs.uplink !== null && on !== needs.uplink))) continue
    if (rule.action === 'allow' || rule.action === 'limit') return true
    // A DENY for some sources only leaves the others to later rules.
    if (rule.from.address === null && rule.from.ports === null) return false
  }
  return status.defaults.get('incoming') === 'allow'
}

/** Whether active ufw forwards from interface IN out to OUT (IPv4: the overlay). */
export function ufwForwards(reading: UfwReading, inIface: string, outIface: string): boolean {
  const status = parseUfwStatus(reading.status)
  const routed = status.defaults.get('routed')
  if (routed === 'allow' || (routed === 'disabled' && reading.forwardPolicy === 'ACCEPT')) return true
  for (const rule of status.rules) {
    if (rule.direction !== 'fwd' || rule.family !== 'ipv4' || rule.to.ports !== null || rule.from.ports !== null) continue
    if ((rule.to.iface !== null && rule.to.iface !== outIface) || (rule.from.iface !== null && rule.from.iface !== inIface)) continue
    if (rule.action === 'allow' || rule.action === 'limit') return true
    if (rule.to.address === null && rule.from.address === null) return false
  }
  return false
}

function ufwVerdict(ufw: UfwReading, needs: FirewallNeeds): FirewallVerdict {
  const actions: FirewallAction[] = []
  const open = ufwAllowsPort(parseUfwStatus(ufw.status), needs)
  if (!open) actions.push({kind: 'ufw-allow', port: needs.port})
  let forward: ForwardState = 'not-needed'
  if (needs.forward) {
    forward = ufwForwards(ufw, needs.iface, needs.iface) ? 'allowed' : 'blocked'
    if (forward === 'blocked') actions.push({kind: 'ufw-route', in: needs.iface, out: needs.iface})
  }
  let exitForward: ForwardState = 'not-needed'
  if (needs.exit) {
    if (needs.uplink === null) exitForward = 'unknown'
    else {
      exitForward = ufwForwards(ufw, needs.iface, needs.uplink) ? 'allowed' : 'blocked'
      if (exitForward === 'blocked') actions.push({kind: 'ufw-route', in: needs.iface, out: needs.uplink})
    }
  }
  const subnetStates = subnetOuts(needs).map((out): ForwardState => {
    if (out === null) return 'unknown'
    if (ufwForwards(ufw, needs.iface, out)) return 'allowed'
    if (!actions.some((a) => a.kind === 'ufw-route' && a.out === out)) actions.push({kind: 'ufw-route', in: needs.iface, out})
    return 'blocked'
  })
  return {firewall: 'ufw', port: open ? 'open' : 'closed', forward, exitForward, subnetForward: worst(subnetStates), actions, blocker: null}
}

// --- firewalld ----------------------------------------------------------------------------------------

/** Does a firewalld port list ("51820/udp", "51800-51900/udp") cover PORT/udp? */
export function firewalldPortsCover(ports: readonly string[], port: number): boolean {
  return ports.some((p) => {
    const m = /^(\d+)(?:-(\d+))?\/udp$/.exec(p)
    if (!m) return false
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    return lo <= port && port <= hi
  })
}

/** Does service NAME (its definition as firewalld reports it, includes followed) cover PORT/udp? */
function serviceCovers(name: string, services: readonly FirewalldService[], port: number, seen = new Set<string>()): boolean {
  if (seen.has(name) || seen.size > 16) return false
  seen.add(name)
  const service = services.find((s) => s.name === name)
  if (!service) return false
  return firewalldPortsCover(service.ports, port) || service.protocols.includes('udp') || service.includes.some((i) => serviceCovers(i, services, port, seen))
}

type RichVerdict = {action: 'accept' | 'deny'; everyone: boolean} | null

/** What a rich rule says about PORT/udp: `rule [family=…] [source …] port port="P" protocol="udp" accept`, `rule service name="S" drop`, … */
export function richRuleOnPort(rule: string, port: number, services: readonly FirewalldService[], family: Family): RichVerdict {
  const fam = /\bfamily="(ipv4|ipv6)"/.exec(rule)?.[1]
  if (fam !== undefined && fam !== family) return null
  const portMatch = /(?<![-\w])port port="(\d+)(?:-(\d+))?" protocol="udp"/.exec(rule)
  const covered =
    (portMatch !== null && Number(portMatch[1]) <= port && port <= Number(portMatch[2] ?? portMatch[1])) ||
    serviceCovers(/\bservice name="([^"]+)"/.exec(rule)?.[1] ?? '', services, port) ||
    /\bprotocol value="udp"/.test(rule)
  if (!covered || /\bforward-port\b/.test(rule)) return null
  const action = /\s(accept|reject|drop)\b/.exec(rule)?.[1]
  if (action === undefined) return null
  return {action: action === 'accept' ? 'accept' : 'deny', everyone: !/\b(source|destination)\b/.test(rule)}
}

/** Whether a zone (or policy) lets PORT/udp in: its ports, protocols, services, rich rules (a drop or reject for everyone wins). */
function settingsAllowPort(obj: FirewalldZone | FirewalldPolicy, port: number, services: readonly FirewalldService[], family: Family): boolean {
  const rich = obj.richRules.map((r) => richRuleOnPort(r, port, services, family))
  if (rich.some((r) => r?.action === 'deny' && r.everyone)) return false
  return (
    firewalldPortsCover(obj.ports, port) ||
    obj.protocols.includes('udp') ||
    obj.services.some((s) => serviceCovers(s, services, port)) ||
    rich.some((r) => r?.action === 'accept')
  )
}

/** Whether, in one configuration (runtime or permanent), PORT/udp arriving in zone ZONE is let in. */
export function firewalldAllowsPort(config: FirewalldConfig, zoneName: string, services: readonly FirewalldService[], port: number, family: Family): boolean {
  const zone = config.zones.find((z) => z.name === zoneName)
  if (zone && (zone.target === 'ACCEPT' || settingsAllowPort(zone, port, services, family))) return true
  // A zone bound to sources takes the packets of those sources first: opened there counts (some peers at least).
  if (config.zones.some((z) => z.name !== zoneName && z.sources.length > 0 && (z.target === 'ACCEPT' || settingsAllowPort(z, port, services, family)))) return true
  return (config.policies ?? []).some(
    (p) =>
      p.egressZones.includes('HOST') &&
      (p.ingressZones.includes('ANY') || p.ingressZones.includes(zoneName)) &&
      (p.target === 'ACCEPT' || settingsAllowPort(p, port, services, family)),
  )
}

/**
 * Whether, in one configuration, traffic arriving on IFACE is forwarded out of interface OUT (null: IFACE
 * itself, peer to peer).
 */
export function firewalldForwards(config: FirewalldConfig, defaultZone: string, iface: string, out: string | null): boolean {
  const inBound = zoneOfInterface(config, iface)
  const outBound = out === null ? inBound : zoneOfInterface(config, out)
  const ingress = inBound ?? defaultZone
  const egress = outBound ?? defaultZone
  const zone = config.zones.find((z) => z.name === ingress)
  if (!zone) return false
  if (zone.target === 'ACCEPT') return true
  // Intra-zone forwarding applies to interfaces bound to the zone, not to those the default zone catches.
  if (egress === ingress && inBound !== null && outBound !== null && zone.forward === true) return true
  // A policy dispatches on the interfaces bound to its zones (or on ANY): not on the default zone's catch-all.
  return (config.policies ?? []).some(
    (p) =>
      p.target === 'ACCEPT' &&
      (p.ingressZones.includes('ANY') || (inBound !== null && p.ingressZones.includes(ingress))) &&
      (p.egressZones.includes('ANY') || (outBound !== null && p.egressZones.includes(egress))),
  )
}

function combine(runtime: boolean, permanent: boolean): 'allowed' | 'not-permanent' | 'blocked' {
  return runtime ? (permanent ? 'allowed' : 'not-permanent') : 'blocked'
}

/**
 * Zones and policies whose runtime settings differ from their permanent ones (interfaces aside: those a
 * network manager binds at runtime are bound again after a reload), wgfleet's own objects aside.
 */
export function runtimeOnlyDifferences(fw: FirewalldReading): string[] {
  const differ = <T extends {name: string; settings: string}>(runtime: readonly T[], permanent: readonly T[]) => {
    const names = new Set([...runtime, ...permanent].map((o) => o.name))
    return [...names].filter((name) => name !== WGFLEET_ZONE && !isWgfleetPolicy(name) && runtime.find((o) => o.name === name)?.settings !== permanent.find((o) => o.name === name)?.settings)
  }
  return [...differ(fw.runtime.zones, fw.permanent.zones), ...differ(fw.runtime.policies ?? [], fw.permanent.policies ?? [])].sort()
}

function firewalldVerdict(fw: FirewalldReading, needs: FirewallNeeds): FirewallVerdict {
  const {runtime, permanent} = fw
  const actions: FirewallAction[] = []

  // The port, in the uplink's zone (its runtime binding also holds permanently when a network manager makes it).
  const portZone = {runtime: zoneOfInterface(runtime, needs.uplink) ?? fw.defaultZone, permanent: zoneOfInterface(permanent, needs.uplink) ?? zoneOfInterface(runtime, needs.uplink) ?? fw.defaultZone}
  const open = {
    runtime: firewalldAllowsPort(runtime, portZone.runtime, fw.services, needs.port, needs.family),
    permanent: firewalldAllowsPort(permanent, portZone.permanent, fw.services, needs.port, needs.family),
  }
  if (!open.runtime && !open.permanent && portZone.runtime === portZone.permanent) {
    actions.push({kind: 'firewalld-port', zone: portZone.runtime, port: needs.port, runtime: true, permanent: true})
  } else {
    if (!open.runtime) actions.push({kind: 'firewalld-port', zone: portZone.runtime, port: needs.port, runtime: true, permanent: false})
    if (!open.permanent) actions.push({kind: 'firewalld-port', zone: portZone.permanent, port: needs.port, runtime: false, permanent: true})
  }
  const port: PortState = open.runtime ? (open.permanent ? 'open' : 'not-permanent') : 'closed'

  // Forwarding: between peers, and (exit) out of the uplink.
  const judge = (out: string | null) => combine(firewalldForwards(runtime, fw.defaultZone, needs.iface, out), firewalldForwards(permanent, fw.defaultZone, needs.iface, out))
  const forward: ForwardState = needs.forward ? judge(null) : 'not-needed'
  const exitForward: ForwardState = !needs.exit ? 'not-needed' : needs.uplink === null ? 'unknown' : judge(needs.uplink)
  const subnetForward = worst(subnetOuts(needs).map((out) => (out === null ? 'unknown' : judge(out))))
  const states = [forward, exitForward, subnetForward]
  let blocker: FirewallBlocker | null = null
  if (states.includes('blocked') || states.includes('not-permanent')) {
    const planned = planForwarding(fw, needs, {runtime: states.includes('blocked')})
    if ('blocker' in planned) blocker = planned.blocker
    else actions.push(...planned.actions)
  }
  return {firewall: 'firewalld', port, forward, exitForward, subnetForward, actions, blocker}
}

/** A policy wgfleet wants, with the zones it must list. */
interface WantedPolicy {
  name: WgfleetPolicy
  zones: Array<['ingress' | 'egress', string]>
}

/**
 * Forwarding through wgfleet's zone (and policies): the interface bound to zone `wgfleet`, which forwards
 * within itself; on an exit, policy `wgfleet-exit`; on a firewalld without intra-zone forwarding, policy
 * `wgfleet-forward`. Created where missing, in the scopes that need it (runtime: now; permanent: after a
 * reload). Runtime never changes a policy's zones: a reload does (see the module comment).
 */
function planForwarding(fw: FirewalldReading, needs: FirewallNeeds, need: {runtime: boolean}): {actions: FirewallAction[]} | {blocker: FirewallBlocker} {
  const {runtime, permanent} = fw
  const foreign = [zoneOfInterface(runtime, needs.iface), zoneOfInterface(permanent, needs.iface)].find((z) => z !== null && z !== WGFLEET_ZONE)
  if (foreign) return {blocker: {kind: 'foreign-zone', zone: foreign}}

  const zoneForward = runtime.zones.some((z) => z.forward !== null)
  const wanted: WantedPolicy[] = []
  if (!zoneForward && needs.forward) wanted.push({name: 'wgfleet-forward', zones: [['ingress', WGFLEET_ZONE], ['egress', WGFLEET_ZONE]]})
  if (needs.exit && needs.uplink !== null) wanted.push({name: 'wgfleet-exit', zones: [['ingress', WGFLEET_ZONE], ['egress', zoneOfInterface(runtime, needs.uplink) ?? 'ANY']]})
  // Site-to-site subnets: wgfleet → each subnet interface's zone (ANY when the default zone catches it).
  const subnetZones = [...new Set(subnetOuts(needs).flatMap((out) => (out === null ? [] : [zoneOfInterface(runtime, out) ?? 'ANY'])))]
  if (subnetZones.length > 0) wanted.push({name: 'wgfleet-subnets', zones: [['ingress', WGFLEET_ZONE], ...subnetZones.map((zone): ['egress', string] => ['egress', zone])]})
  if (wanted.length > 0 && (runtime.policies === null || permanent.policies === null)) return {blocker: {kind: 'no-policies'}}

  const state = (config: FirewalldConfig) => {
    const zone = config.zones.find((z) => z.name === WGFLEET_ZONE)
    const policy = (name: WgfleetPolicy) => config.policies?.find((p) => p.name === name) ?? null
    const lists = (name: WgfleetPolicy, [side, zone]: ['ingress' | 'egress', string]) => (side === 'ingress' ? policy(name)?.ingressZones : policy(name)?.egressZones)?.includes(zone) ?? false
    return {zone: zone !== undefined, forward: zone?.forward === true, bound: zoneOfInterface(config, needs.iface) === WGFLEET_ZONE, policy, lists}
  }
  const rt = state(runtime)
  const perm = state(permanent)
  // Runtime needs the zone and each policy (with its zones) to exist there: a reload makes them so.
  const reload = need.runtime && (!rt.zone || wanted.some((p) => p.zones.some((z) => !rt.lists(p.name, z))))
  if (reload) {
    const objects = runtimeOnlyDifferences(fw)
    if (objects.length > 0) return {blocker: {kind: 'runtime-differs', objects}}
  }
  const now = need.runtime && !reload
  const actions: FirewallAction[] = []
  if (!perm.zone) actions.push({kind: 'firewalld-new-zone', zone: WGFLEET_ZONE})
  if (needs.forward && zoneForward && (!perm.forward || (now && !rt.forward))) actions.push({kind: 'firewalld-zone-forward', zone: WGFLEET_ZONE, runtime: now && !rt.forward, permanent: !perm.forward})
  if (!perm.bound || (now && !rt.bound)) actions.push({kind: 'firewalld-interface', zone: WGFLEET_ZONE, iface: needs.iface, runtime: now && !rt.bound, permanent: !perm.bound})
  for (const p of wanted) {
    if (perm.policy(p.name) === null) actions.push({kind: 'firewalld-new-policy', policy: p.name})
    for (const [side, zone] of p.zones) {
      if (!perm.lists(p.name, [side, zone])) actions.push({kind: 'firewalld-policy-zone', policy: p.name, side, zone, runtime: false, permanent: true})
    }
  }
  if (reload) actions.push({kind: 'firewalld-reload'})
  return {actions}
}
