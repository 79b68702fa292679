/**
 * The firewall changes wgfleet makes, as explicit typed actions: the verdict (verdict.ts) chooses them,
 * apply.sh executes exactly these and decides nothing. Each action travels to the host as one argument in a
 * fixed token grammar (`ufw-allow:51820`, `firewalld-port:public:51820:runtime,permanent`, …), checked here
 * before sending and again by apply.sh before running: only names that passed validation, never a value
 * pasted from the inventory or a host into a command line.
 */
import {BugError} from '../lib/errors.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {isFirewalldName} from './listings.js'

/**
 * The firewalld zone wgfleet creates for the WireGuard interface of a node that forwards: ssh in, nothing
 * else (target default), and intra-zone forwarding (firewalld >= 1.0): peer to peer, and nothing more.
 */
export const WGFLEET_ZONE = 'wgfleet'
/** The policies wgfleet creates (target ACCEPT): peer to peer where zones cannot forward (firewalld 0.9), an exit's traffic out, and traffic out to site-to-site subnets. */
export const WGFLEET_POLICIES = ['wgfleet-forward', 'wgfleet-exit', 'wgfleet-subnets'] as const
export type WgfleetPolicy = (typeof WGFLEET_POLICIES)[number]

/** runtime: now; permanent: after a reload or reboot. */
export interface FirewalldScope {
  runtime: boolean
  permanent: boolean
}

export type FirewallAction =
  /** `ufw allow PORT/udp comment wgfleet` */
  | {kind: 'ufw-allow'; port: number}
  /** `ufw route allow in on IN out on OUT comment wgfleet` */
  | {kind: 'ufw-route'; in: string; out: string}
  /** `firewall-cmd [--permanent] --zone=ZONE --add-port=PORT/udp` */
  | ({kind: 'firewalld-port'; zone: string; port: number} & FirewalldScope)
  /** `firewall-cmd --permanent --new-zone=wgfleet`, then `--permanent --zone=wgfleet --add-service=ssh` (a new zone is permanent only; a reload loads it). */
  | {kind: 'firewalld-new-zone'; zone: typeof WGFLEET_ZONE}
  /** `firewall-cmd [--permanent] --zone=wgfleet --add-forward` (intra-zone forwarding) */
  | ({kind: 'firewalld-zone-forward'; zone: typeof WGFLEET_ZONE} & FirewalldScope)
  /** `firewall-cmd [--permanent] --zone=wgfleet --change-interface=IFACE` */
  | ({kind: 'firewalld-interface'; zone: typeof WGFLEET_ZONE; iface: string} & FirewalldScope)
  /** `firewall-cmd --permanent --new-policy=POLICY`, then `--permanent --policy=POLICY --set-target=ACCEPT` */
  | {kind: 'firewalld-new-policy'; policy: WgfleetPolicy}
  /** `firewall-cmd [--permanent] --policy=POLICY --add-ingress-zone=ZONE` (or egress; ZONE may be ANY) */
  | ({kind: 'firewalld-policy-zone'; policy: WgfleetPolicy; side: 'ingress' | 'egress'; zone: string} & FirewalldScope)
  /** `firewall-cmd --reload`: loads the zone or policy just created (only when runtime and permanent agree). */
  | {kind: 'firewalld-reload'}

function scopeToken(s: FirewalldScope): string {
  if (!s.runtime && !s.permanent) throw new BugError('a firewalld action with neither scope')
  return [s.runtime ? 'runtime' : '', s.permanent ? 'permanent' : ''].filter(Boolean).join(',')
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new BugError(`bad port ${port}`)
  return port
}

function checkZone(zone: string): string {
  if (!isFirewalldName(zone)) throw new BugError(`unvalidated firewalld zone ${JSON.stringify(zone)}`)
  return zone
}

function checkPolicy(policy: string): WgfleetPolicy {
  if (!isWgfleetPolicy(policy)) throw new BugError(`not a policy of wgfleet: ${JSON.stringify(policy)}`)
  return policy
}

export function isWgfleetPolicy(name: string): name is WgfleetPolicy {
  return (WGFLEET_POLICIES as readonly string[]).includes(name)
}

function checkIface(iface: string): string {
  if (!isInterfaceName(iface)) throw new BugError(`unvalidated interface name ${JSON.stringify(iface)}`)
  return iface
}

/** The argument apply.sh receives for an action (validated: a bad value here is a bug, never sent). */
export function encodeAction(action: FirewallAction): string {
  switch (action.kind) {
    case 'ufw-allow':
      return `ufw-allow:${checkPort(action.port)}`
    case 'ufw-route':
      return `ufw-route:${checkIface(action.in)}:${checkIface(action.out)}`
    case 'firewalld-port':
      return `firewalld-port:${checkZone(action.zone)}:${checkPort(action.port)}:${scopeToken(action)}`
    case 'firewalld-new-zone':
      return `firewalld-new-zone:${WGFLEET_ZONE}`
    case 'firewalld-zone-forward':
      return `firewalld-zone-forward:${WGFLEET_ZONE}:${scopeToken(action)}`
    case 'firewalld-interface':
      return `firewalld-interface:${WGFLEET_ZONE}:${checkIface(action.iface)}:${scopeToken(action)}`
    case 'firewalld-new-policy':
      return `firewalld-new-policy:${checkPolicy(action.policy)}`
    case 'firewalld-policy-zone':
      return `firewalld-policy-zone:${checkPolicy(action.policy)}:${action.side}:${checkZone(action.zone)}:${scopeToken(action)}`
    case 'firewalld-reload':
      return 'firewalld-reload'
  }
}

/** The action a token stands for; null for anything that is not exactly one (apply.sh's `firewall=` lines are read back with it). */
export function decodeAction(token: string): FirewallAction | null {
  const parts = token.split(':')
  const scope = (s: string | undefined): FirewalldScope | null =>
    s === 'runtime' ? {runtime: true, permanent: false} : s === 'permanent' ? {runtime: false, permanent: true} : s === 'runtime,permanent' ? {runtime: true, permanent: true} : null
  const port = (s: string | undefined): number | null => (s !== undefined && /^[1-9]\d{0,4}$/.test(s) && Number(s) <= 65_535 ? Number(s) : null)
  const [kind, a, b, c, d] = parts
  let action: FirewallAction | null = null
  switch (kind) {
    case 'ufw-allow':
      if (parts.length === 2 && port(a) !== null) action = {kind, port: port(a)!}
      break
    case 'ufw-route':
      if (parts.length === 3 && isInterfaceName(a ?? '') && isInterfaceName(b ?? '')) action = {kind, in: a!, out: b!}
      break
    case 'firewalld-port':
      if (parts.length === 4 && isFirewalldName(a ?? '') && port(b) !== null && scope(c)) action = {kind, zone: a!, port: port(b)!, ...scope(c)!}
      break
    case 'firewalld-new-zone':
      if (parts.length === 2 && a === WGFLEET_ZONE) action = {kind, zone: WGFLEET_ZONE}
      break
    case 'firewalld-zone-forward':
      if (parts.length === 3 && a === WGFLEET_ZONE && scope(b)) action = {kind, zone: WGFLEET_ZONE, ...scope(b)!}
      break
    case 'firewalld-interface':
      if (parts.length === 4 && a === WGFLEET_ZONE && isInterfaceName(b ?? '') && scope(c)) action = {kind, zone: WGFLEET_ZONE, iface: b!, ...scope(c)!}
      break
    case 'firewalld-new-policy':
      if (parts.length === 2 && isWgfleetPolicy(a ?? '')) action = {kind, policy: a as WgfleetPolicy}
      break
    case 'firewalld-policy-zone':
      if (parts.length === 5 && isWgfleetPolicy(a ?? '') && (b === 'ingress' || b === 'egress') && isFirewalldName(c ?? '') && scope(d)) {
        action = {kind, policy: a as WgfleetPolicy, side: b, zone: c!, ...scope(d)!}
      }
      break
    case 'firewalld-reload':
      if (parts.length === 1) action = {kind}
      break
  }
  return action
}

/** The firewall's own commands an action runs (for people: the converge report, doctor's fixes). */
export function actionCommands(action: FirewallAction): string[] {
  const scoped = (s: FirewalldScope, rest: string) => [...(s.runtime ? [`firewall-cmd ${rest}`] : []), ...(s.permanent ? [`firewall-cmd --permanent ${rest}`] : [])]
  switch (action.kind) {
    case 'ufw-allow':
      return [`ufw allow ${action.port}/udp`]
    case 'ufw-route':
      return [`ufw route allow in on ${action.in} out on ${action.out}`]
    case 'firewalld-port':
      return scoped(action, `--zone=${action.zone} --add-port=${action.port}/udp`)
    case 'firewalld-new-zone':
      return [`firewall-cmd --permanent --new-zone=${action.zone}`, `firewall-cmd --permanent --zone=${action.zone} --add-service=ssh`]
    case 'firewalld-zone-forward':
      return scoped(action, `--zone=${action.zone} --add-forward`)
    case 'firewalld-interface':
      return scoped(action, `--zone=${action.zone} --change-interface=${action.iface}`)
    case 'firewalld-new-policy':
      return [`firewall-cmd --permanent --new-policy=${action.policy}`, `firewall-cmd --permanent --policy=${action.policy} --set-target=ACCEPT`]
    case 'firewalld-policy-zone':
      return scoped(action, `--policy=${action.policy} --add-${action.side}-zone=${action.zone}`)
    case 'firewalld-reload':
      return ['firewall-cmd --reload']
  }
}
