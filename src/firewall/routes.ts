/**
 * The routes a host prints (firewall-listings.sh `route_listing`: `route=4 198.19.1.0/24 eth1`), parsed
 * (pure; the host's output is untrusted: prefixes and interface names are validated), and the interface a
 * site-to-site subnet is routed through: the longest prefix of the main table that contains it, as the
 * kernel picks for the subnet's addresses.
 */
import {isInterfaceName} from '../wireguard/interface-name.js'
import {overlaps, parseSubnet, subnetOf, type Subnet} from '../inventory/subnets.js'

export interface Route {
  destination: Subnet
  iface: string
}

/** The `route` values (`FAMILY DEST IFACE`), as many as the host printed (it prints at most 256 per family). */
export function parseRoutes(values: readonly string[]): Route[] {
  const routes: Route[] = []
  for (const value of values.slice(0, 512)) {
    const [family, dest, iface, extra] = value.split(' ')
    if (extra !== undefined || (family !== '4' && family !== '6') || !isInterfaceName(iface ?? '')) continue
    const text = dest === 'default' ? (family === '4' ? '0.0.0.0/0' : '::/0') : dest?.includes('/') ? dest : `${dest}/${family === '4' ? 32 : 128}`
    const destination = parseRoute(text)
    if (destination && destination.family === (family === '4' ? 'ipv4' : 'ipv6')) routes.push({destination, iface: iface!})
  }
  return routes
}

/** A route's prefix; the default route (/0) too, which parseSubnet refuses as a subnet. */
function parseRoute(text: string): Subnet | undefined {
  if (text === '0.0.0.0/0') return {family: 'ipv4', base: 0n, prefixLength: 0, text}
  if (text === '::/0') return {family: 'ipv6', base: 0n, prefixLength: 0, text}
  const parsed = parseSubnet(text)
  return parsed.ok ? parsed.value : undefined
}

/** The interface SUBNET (normalised text) is routed through: the longest route containing it; null when none does. */
export function subnetRouteInterface(routes: readonly Route[], subnet: string): string | null {
  const target = subnetOf(subnet)
  if (!target) return null
  let best: Route | null = null
  for (const route of routes) {
    if (route.destination.prefixLength > target.prefixLength || !overlaps(route.destination, target)) continue
    if (best === null || route.destination.prefixLength > best.destination.prefixLength) best = route
  }
  return best?.iface ?? null
}
