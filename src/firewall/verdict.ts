/**
 * Firewall judgements (pure): does this node's firewall let the WireGuard port in, and forward between
 * peers? Answered here, from the listings the host printed (listings.ts), and nowhere else.
 */
import {isIP} from 'node:net'

import {parseUfwStatus, type FirewalldReading, type FirewalldZone, type UfwReading} from './listings.js'

/** What a host reported about its firewalls. */
export interface FirewallReadings {
  ufw: UfwReading
  firewalld: FirewalldReading
}

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

export type PortState = 'open' | 'closed' | 'not-permanent'

export interface FirewallVerdict {
  state: PortState
  /** 'ufw' | 'firewalld' */
  firewall: 'ufw' | 'firewalld'
}

/** The node's firewall and the WireGuard port: null when no firewall filters (none active). */
export function portVerdict(reading: FirewallReadings, port: number): FirewallVerdict | null {
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
