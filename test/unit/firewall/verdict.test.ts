/**
 * The one firewall verdict (src/firewall/verdict.ts), as a table: real `ufw status verbose` and
 * `firewall-cmd --list-all-zones` / `--list-all-policies` / `--info-service` outputs — as ufw 0.36 and
 * firewalld 1.3 print them on Debian 12 (captured on the lab's hosts; column padding, `(v6)` placement,
 * `%%REJECT%%`, tab-indented rich rules included) — each with the verdict init and doctor both get.
 */
import {describe, expect, it} from 'vitest'

import {decodeAction, encodeAction, type FirewallAction} from '../../../src/firewall/actions.js'
import {firewallNeedsOf, firewallVerdict, type FirewallNeeds, type FirewallVerdict} from '../../../src/firewall/verdict.js'
import {readingsOf} from '../../fixtures/firewall.js'
import {parseRoutes} from '../../../src/firewall/routes.js'

const NEEDS: FirewallNeeds = {port: 51820, iface: 'wg0', forward: false, exit: false, uplink: 'eth0', family: 'ipv4'}
const RELAY: Partial<FirewallNeeds> = {forward: true}
const EXIT: Partial<FirewallNeeds> = {forward: true, exit: true}

const lines = (text: string) => text.replace(/^\n/, '').split('\n')

/** What firewall-listings.sh prints around an active ufw's `ufw status verbose`. */
function ufw(status: string, forwardPolicy = 'DROP') {
  return readingsOf(['ufw=active', `ufw.forward_policy=${forwardPolicy}`, '--- ufw', ...lines(status), '--- end ufw', 'firewalld=absent'])
}

const UFW_HEAD = `Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
`

// --- ufw: the WireGuard port ----------------------------------------------------------------------------

const UFW_PORT: Array<[string, string, Partial<FirewallNeeds>, 'open' | 'closed']> = [
  ['wgfleet\'s own rule', `${UFW_HEAD}22/tcp                     ALLOW IN    Anywhere                  
51820/udp                  ALLOW IN    Anywhere                   # wgfleet
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
51820/udp (v6)             ALLOW IN    Anywhere (v6)              # wgfleet
`, {}, 'open'],
  ['no rule for it (only SSH, as the lab starts)', `${UFW_HEAD}22/tcp                     ALLOW IN    Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
`, {}, 'closed'],
  ['a range that covers it', `${UFW_HEAD}22/tcp                     ALLOW IN    Anywhere                  
51800:51900/udp            ALLOW IN    Anywhere                  
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
51800:51900/udp (v6)       ALLOW IN    Anywhere (v6)             
`, {}, 'open'],
  ['a range that does not', `${UFW_HEAD}51800:51810/udp            ALLOW IN    Anywhere                  
`, {}, 'closed'],
  ['a list holding it', `${UFW_HEAD}80,443,51820/udp           ALLOW IN    Anywhere                  
80,443,51820/udp (v6)      ALLOW IN    Anywhere (v6)             
`, {}, 'open'],
  ['a list of ranges holding it (a long To cell: one space before the action)', `${UFW_HEAD}1,2,51000:51900,60000:61000/udp ALLOW IN    Anywhere                  
`, {}, 'open'],
  ['a bare port (any protocol)', `${UFW_HEAD}51820                      ALLOW IN    Anywhere                  
51820 (v6)                 ALLOW IN    Anywhere (v6)             
`, {}, 'open'],
  ['the port for tcp only', `${UFW_HEAD}51820/tcp                  ALLOW IN    Anywhere                  
`, {}, 'closed'],
  ['a v6 row only: closed over IPv4', `${UFW_HEAD}51820/udp (v6)             ALLOW IN    Anywhere (v6)             
`, {}, 'closed'],
  ['a v6 row only: open over IPv6', `${UFW_HEAD}51820/udp (v6)             ALLOW IN    Anywhere (v6)             
`, {family: 'ipv6'}, 'open'],
  ['every port on wg0 (`ufw allow in on wg0`): not where peers\' packets arrive', `${UFW_HEAD}Anywhere on wg0            ALLOW IN    Anywhere                  
Anywhere (v6) on wg0       ALLOW IN    Anywhere (v6)             
`, {}, 'closed'],
  ['the port on the uplink', `${UFW_HEAD}51820/udp on eth0          ALLOW IN    Anywhere                  
51820/udp (v6) on eth0     ALLOW IN    Anywhere (v6)             
`, {}, 'open'],
  ['the port on another interface than the uplink', `${UFW_HEAD}51820/udp on eth1          ALLOW IN    Anywhere                  
`, {}, 'closed'],
  ['LIMIT (rate-limited, still let in)', `${UFW_HEAD}51820/udp                  LIMIT IN    Anywhere                  
51820/udp (v6)             LIMIT IN    Anywhere (v6)             
`, {}, 'open'],
  ['DENY', `${UFW_HEAD}51820/udp                  DENY IN     Anywhere                  
51820/udp (v6)             DENY IN     Anywhere (v6)             
`, {}, 'closed'],
  ['REJECT', `${UFW_HEAD}51820/udp                  REJECT IN   Anywhere                  
`, {}, 'closed'],
  ['DENY first, a covering range after: the first match wins', `${UFW_HEAD}51820/udp                  DENY IN     Anywhere                  
51800:51900/udp            ALLOW IN    Anywhere                  
`, {}, 'closed'],
  ['the range first, a DENY after: the first match wins', `${UFW_HEAD}51800:51900/udp            ALLOW IN    Anywhere                  
51820/udp                  DENY IN     Anywhere                  
`, {}, 'open'],
  ['DENY for one source only, then an ALLOW: the others get in', `${UFW_HEAD}51820/udp                  DENY IN     198.51.100.9              
51820/udp                  ALLOW IN    Anywhere                  
`, {}, 'open'],
  ['ALLOW from some sources only (the admin\'s restriction stands)', `${UFW_HEAD}51820/udp                  ALLOW IN    203.0.113.0/24            
`, {}, 'open'],
  ['every port from a network', `${UFW_HEAD}Anywhere                   ALLOW IN    203.0.113.0/24            
`, {}, 'open'],
  ['the port on one of the host\'s addresses', `${UFW_HEAD}203.0.113.1 51820/udp      ALLOW IN    Anywhere                  
`, {}, 'open'],
  ['outgoing only', `${UFW_HEAD}22/tcp                     ALLOW IN    Anywhere                  

51820/udp                  ALLOW OUT   Anywhere                  
51820/udp (v6)             ALLOW OUT   Anywhere (v6)             
`, {}, 'closed'],
  ['a forwarding rule for the port is not an incoming one', `${UFW_HEAD}22/tcp                     ALLOW IN    Anywhere                  

51820/udp                  ALLOW FWD   Anywhere                  
`, {}, 'closed'],
  ['an app profile: its ports, as verbose prints them (OpenSSH: 22/tcp)', `${UFW_HEAD}22/tcp (OpenSSH)           ALLOW IN    Anywhere                  
22/tcp (OpenSSH (v6))      ALLOW IN    Anywhere (v6)             
`, {}, 'closed'],
  ['an app profile with the port', `${UFW_HEAD}51820/udp (WireGuard)      ALLOW IN    Anywhere                  
`, {}, 'open'],
  ['a default of allow (incoming), no rule', `Status: active
Logging: on (low)
Default: allow (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                  
`, {}, 'open'],
  ['a default of allow, but a DENY for the port', `Status: active
Logging: on (low)
Default: allow (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
51820/udp                  DENY IN     Anywhere                  
`, {}, 'closed'],
  ['another ListenPort than the rule\'s', `${UFW_HEAD}51820/udp                  ALLOW IN    Anywhere                   # wgfleet
`, {port: 51821}, 'closed'],
]

describe('ufw: is the WireGuard port open?', () => {
  it.each(UFW_PORT)('%s', (_name, status, needs, expected) => {
    const v = firewallVerdict(ufw(status), {...NEEDS, ...needs})
    expect(v.firewall).toBe('ufw')
    expect(v.port).toBe(expected)
    expect(v.actions).toEqual(expected === 'open' ? [] : [{kind: 'ufw-allow', port: needs.port ?? 51820}])
  })
})

// --- ufw: forwarding -----------------------------------------------------------------------------------

const UFW_RELAY = `${UFW_HEAD}22/tcp                     ALLOW IN    Anywhere                  
51820/udp                  ALLOW IN    Anywhere                   # wgfleet
22/tcp (v6)                ALLOW IN    Anywhere (v6)             
51820/udp (v6)             ALLOW IN    Anywhere (v6)              # wgfleet

Anywhere on wg0            ALLOW FWD   Anywhere on wg0            # wgfleet
Anywhere (v6) on wg0       ALLOW FWD   Anywhere (v6) on wg0       # wgfleet
`
const UFW_EXIT = UFW_RELAY.replace(
  'Anywhere (v6) on wg0       ALLOW FWD',
  'Anywhere on eth0           ALLOW FWD   Anywhere on wg0            # wgfleet\nAnywhere (v6) on wg0       ALLOW FWD',
)
const withoutRoutes = (s: string) => s.split('\n').filter((l) => !l.includes('FWD')).join('\n')

const UFW_FORWARD: Array<[string, string, string, Partial<FirewallNeeds>, Partial<FirewallVerdict>]> = [
  ['a relay with wgfleet\'s route rule', UFW_RELAY, 'DROP', RELAY, {forward: 'allowed', actions: []}],
  ['a relay without it: add it', withoutRoutes(UFW_RELAY), 'DROP', RELAY, {forward: 'blocked', actions: [{kind: 'ufw-route', in: 'wg0', out: 'wg0'}]}],
  ['a routed default of allow', withoutRoutes(UFW_RELAY).replace('deny (routed)', 'allow (routed)'), 'ACCEPT', RELAY, {forward: 'allowed', actions: []}],
  ['routed disabled (the kernel does not forward yet), /etc/default/ufw ACCEPT', withoutRoutes(UFW_RELAY).replace('deny (routed)', 'disabled (routed)'), 'ACCEPT', RELAY, {forward: 'allowed', actions: []}],
  ['routed disabled, /etc/default/ufw DROP', withoutRoutes(UFW_RELAY).replace('deny (routed)', 'disabled (routed)'), 'DROP', RELAY, {forward: 'blocked', actions: [{kind: 'ufw-route', in: 'wg0', out: 'wg0'}]}],
  ['a route rule on another interface', UFW_RELAY.replaceAll('on wg0', 'on wg1'), 'DROP', RELAY, {forward: 'blocked'}],
  ['`ufw route allow in on wg0` (out anywhere) covers both', `${UFW_HEAD}51820/udp                  ALLOW IN    Anywhere                  

Anywhere                   ALLOW FWD   Anywhere on wg0           
`, 'DROP', EXIT, {forward: 'allowed', exitForward: 'allowed', actions: []}],
  ['a route rule for one port does not forward the overlay', `${UFW_HEAD}51820/udp                  ALLOW IN    Anywhere                  

51829/udp                  ALLOW FWD   Anywhere                  
`, 'DROP', RELAY, {forward: 'blocked'}],
  ['an exit node with its route to the uplink', UFW_EXIT, 'DROP', EXIT, {forward: 'allowed', exitForward: 'allowed', actions: []}],
  ['an exit node without it: add it', UFW_RELAY, 'DROP', EXIT, {forward: 'allowed', exitForward: 'blocked', actions: [{kind: 'ufw-route', in: 'wg0', out: 'eth0'}]}],
  ['an exit node whose uplink is unknown: nothing to judge (the apply fails on the config)', UFW_RELAY, 'DROP', {...EXIT, uplink: null}, {exitForward: 'unknown', actions: []}],
  ['a node that does not forward', withoutRoutes(UFW_RELAY), 'DROP', {}, {forward: 'not-needed', exitForward: 'not-needed', actions: []}],
]

describe('ufw: does it forward what the node must forward?', () => {
  it.each(UFW_FORWARD)('%s', (_name, status, policy, needs, expected) => {
    expect(firewallVerdict(ufw(status, policy), {...NEEDS, ...needs})).toMatchObject(expected)
  })
})

// --- firewalld ----------------------------------------------------------------------------------------

/** Debian 12's zones as `firewall-cmd --list-all-zones` prints them on a fresh host (nothing bound). */
const DEBIAN_ZONES = `
block
  target: %%REJECT%%
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: 
  ports: 
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 

external
  target: default
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: ssh
  ports: 
  protocols: 
  forward: yes
  masquerade: yes
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 

internal
  target: default
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: dhcpv6-client mdns samba-client ssh
  ports: 
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 

public
  target: default
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: dhcpv6-client ssh
  ports: 
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 

trusted
  target: ACCEPT
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: 
  ports: 
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 
`

const DEBIAN_POLICIES = `
allow-host-ipv6 (active)
  priority: -15000
  target: CONTINUE
  ingress-zones: ANY
  egress-zones: HOST
  services: 
  ports: 
  protocols: 
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 
\trule family="ipv6" icmp-type name="neighbour-advertisement" accept
\trule family="ipv6" icmp-type name="neighbour-solicitation" accept
\trule family="ipv6" icmp-type name="router-advertisement" accept
\trule family="ipv6" icmp-type name="redirect" accept
`

/** What init leaves on a firewalld relay: wgfleet's zone, with wg0 bound, ssh in and intra-zone forwarding. */
const WGFLEET_ZONE = `
wgfleet (active)
  target: default
  icmp-block-inversion: no
  interfaces: wg0
  sources: 
  services: ssh
  ports: 
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 
`

/** A policy of wgfleet's (forwarding from its zone). */
const wgfleetPolicy = (name: string, egress: string) => `
${name} (active)
  priority: -1
  target: ACCEPT
  ingress-zones: wgfleet
  egress-zones: ${egress}
  services: 
  ports: 
  protocols: 
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 
`

/** `firewall-cmd --info-service=NAME` for the stock definitions. */
const STOCK_SERVICES = `
dhcpv6-client
  ports: 546/udp
  protocols: 
  source-ports: 
  modules: 
  destination: ipv6:fe80::/64
  includes: 
  helpers: 
ssh
  ports: 22/tcp
  protocols: 
  source-ports: 
  modules: 
  destination: 
  includes: 
  helpers: 
wireguard
  ports: 51820/udp
  protocols: 
  source-ports: 
  modules: 
  destination: 
  includes: 
  helpers: 
`

interface Listings {
  zones: string
  /** Defaults to the runtime zones. */
  permanentZones?: string
  /** null: the policy listing failed (firewalld < 0.9). */
  policies?: string | null
  permanentPolicies?: string | null
  services?: string
  defaultZone?: string
}

/** What firewall-listings.sh prints around a running firewalld's listings. */
function firewalld(l: Listings) {
  const block = (name: string, text: string | null | undefined) => (text === null || text === undefined ? [] : [`--- ${name}`, ...lines(text), `--- end ${name}`])
  const policies = l.policies === undefined ? DEBIAN_POLICIES : l.policies
  return readingsOf([
    'ufw=absent',
    'firewalld=running',
    `firewalld.default_zone=${l.defaultZone ?? 'public'}`,
    ...block('firewalld zones', l.zones),
    ...block('firewalld permanent zones', l.permanentZones ?? l.zones),
    ...block('firewalld policies', policies),
    ...block('firewalld permanent policies', l.permanentPolicies === undefined ? policies : l.permanentPolicies),
    ...block('firewalld services', l.services ?? STOCK_SERVICES),
  ])
}

/** A zones listing with one zone edited: one `  key: value` line replaced, or a rich rule added. */
function zoneWith(zones: string, zone: string, field: string, value: string): string {
  const at = zones.search(new RegExp(`\n${zone}( \\(active\\))?\n`))
  const end = zones.indexOf('\n\n', at + 1)
  const [head, body, tail] = [zones.slice(0, at), zones.slice(at, end === -1 ? undefined : end), end === -1 ? '' : zones.slice(end)]
  const edited = field === 'rich rules' ? body.replace('  rich rules: ', `  rich rules: \n\t${value}`) : body.replace(new RegExp(`  ${field}: .*`), `  ${field}: ${value}`)
  return head + edited + tail
}
const publicWith = (field: string, value: string) => zoneWith(DEBIAN_ZONES, 'public', field, value)

const OPEN = publicWith('ports', '51820/udp')
/** The zones listing with IFACE bound to ZONE (as `--change-interface` leaves it). */
const bind = (zones: string, zone: string, iface: string) => zones.replace(new RegExp(`\\n${zone}\\n(  target: .*\\n  icmp-block-inversion: no\\n)  interfaces: \\n`), `\n${zone} (active)\n$1  interfaces: ${iface}\n`)
const PORT_BOTH: FirewallAction = {kind: 'firewalld-port', zone: 'public', port: 51820, runtime: true, permanent: true}

const FIREWALLD_PORT: Array<[string, Listings, Partial<FirewallNeeds>, 'open' | 'closed' | 'not-permanent', FirewallAction[]]> = [
  ['the port, runtime and permanent (what init adds)', {zones: OPEN}, {}, 'open', []],
  ['no port: add it to the default zone, now and permanently', {zones: DEBIAN_ZONES}, {}, 'closed', [PORT_BOTH]],
  ['a port range that covers it', {zones: publicWith('ports', '51800-51900/udp')}, {}, 'open', []],
  ['the port for tcp', {zones: publicWith('ports', '51820/tcp')}, {}, 'closed', [PORT_BOTH]],
  ['the wireguard service (its definition: 51820/udp)', {zones: publicWith('services', 'dhcpv6-client ssh wireguard')}, {}, 'open', []],
  ['the wireguard service, but another ListenPort', {zones: publicWith('services', 'dhcpv6-client ssh wireguard')}, {port: 51821}, 'closed', [{...PORT_BOTH, port: 51821}]],
  ['the wireguard service redefined by the admin (51821/udp): the definition counts, not 51820', {
    zones: publicWith('services', 'dhcpv6-client ssh wireguard'),
    services: STOCK_SERVICES.replace('  ports: 51820/udp', '  ports: 51821/udp'),
  }, {}, 'closed', [PORT_BOTH]],
  ['a service of the admin that includes wireguard', {
    zones: publicWith('services', 'dhcpv6-client ssh vpn'),
    services: `${STOCK_SERVICES}vpn\n  ports: 1194/udp\n  protocols: \n  source-ports: \n  modules: \n  destination: \n  includes: wireguard\n  helpers: \n`,
  }, {}, 'open', []],
  ['a service whose definition was not read does not count', {zones: publicWith('services', 'dhcpv6-client ssh wireguard'), services: ''}, {}, 'closed', [PORT_BOTH]],
  ['the udp protocol as a whole', {zones: publicWith('protocols', 'udp')}, {}, 'open', []],
  ['the default zone is trusted (target ACCEPT)', {zones: DEBIAN_ZONES, defaultZone: 'trusted'}, {}, 'open', []],
  ['the uplink bound to another zone, which lacks the port: open it there', {zones: bind(OPEN, 'external', 'eth0')}, {}, 'closed', [{...PORT_BOTH, zone: 'external'}]],
  ['runtime only (added without --permanent): not permanent', {zones: OPEN, permanentZones: DEBIAN_ZONES}, {}, 'not-permanent', [{...PORT_BOTH, runtime: false}]],
  ['permanent only (added with --permanent, no reload): closed now', {zones: DEBIAN_ZONES, permanentZones: OPEN}, {}, 'closed', [{...PORT_BOTH, permanent: false}]],
  ['a rich rule accepting the port', {zones: publicWith('rich rules', 'rule port port="51820" protocol="udp" accept')}, {}, 'open', []],
  ['a rich rule accepting the port from some sources', {zones: publicWith('rich rules', 'rule family="ipv4" source address="203.0.113.0/24" port port="51820" protocol="udp" accept')}, {}, 'open', []],
  ['a rich rule accepting the wireguard service', {zones: publicWith('rich rules', 'rule service name="wireguard" accept')}, {}, 'open', []],
  ['a rich rule for IPv6 only, over IPv4', {zones: publicWith('rich rules', 'rule family="ipv6" port port="51820" protocol="udp" accept')}, {}, 'closed', [PORT_BOTH]],
  ['a rich rule dropping the port beats the port', {zones: zoneWith(OPEN, 'public', 'rich rules', 'rule port port="51820" protocol="udp" drop')}, {}, 'closed', [PORT_BOTH]],
  ['a rich rule logging the port accepts nothing', {zones: publicWith('rich rules', 'rule port port="51820" protocol="udp" log prefix="wg" level="info"')}, {}, 'closed', [PORT_BOTH]],
  ['a zone bound to sources that opens it', {zones: zoneWith(zoneWith(DEBIAN_ZONES, 'internal', 'sources', '203.0.113.0/24'), 'internal', 'ports', '51820/udp').replace('\ninternal\n', '\ninternal (active)\n')}, {}, 'open', []],
  ['a policy from ANY to HOST that accepts it', {zones: DEBIAN_ZONES, policies: `${DEBIAN_POLICIES}\nwg-in (active)\n  priority: -1\n  target: CONTINUE\n  ingress-zones: ANY\n  egress-zones: HOST\n  services: \n  ports: 51820/udp\n  protocols: \n  masquerade: no\n  forward-ports: \n  source-ports: \n  icmp-blocks: \n  rich rules: \n`}, {}, 'open', []],
]

describe('firewalld: is the WireGuard port open?', () => {
  it.each(FIREWALLD_PORT)('%s', (_name, listings, needs, expected, actions) => {
    const v = firewallVerdict(firewalld(listings), {...NEEDS, ...needs})
    expect(v.firewall).toBe('firewalld')
    expect(v.port).toBe(expected)
    expect(v.actions).toEqual(actions)
  })
})

// --- firewalld: forwarding ---------------------------------------------------------------------------

const CONVERGED_RELAY = {zones: OPEN + WGFLEET_ZONE}
const FRESH_RELAY_ACTIONS: FirewallAction[] = [
  {kind: 'firewalld-new-zone', zone: 'wgfleet'},
  {kind: 'firewalld-zone-forward', zone: 'wgfleet', runtime: false, permanent: true},
  {kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: false, permanent: true},
  {kind: 'firewalld-reload'},
]
const exitPolicyActions = (egress: string): FirewallAction[] => [
  {kind: 'firewalld-new-policy', policy: 'wgfleet-exit'},
  {kind: 'firewalld-policy-zone', policy: 'wgfleet-exit', side: 'ingress', zone: 'wgfleet', runtime: false, permanent: true},
  {kind: 'firewalld-policy-zone', policy: 'wgfleet-exit', side: 'egress', zone: egress, runtime: false, permanent: true},
]
const unbound = (zone: string) => zone.replace('wgfleet (active)', 'wgfleet').replace('interfaces: wg0', 'interfaces: ')
/** firewalld 0.9: no intra-zone forwarding (no `forward:` lines), policies. */
const noZoneForward = (zones: string) => zones.replaceAll(/ {2}forward: (yes|no)\n/g, '')

const FIREWALLD_FORWARD: Array<[string, Listings, Partial<FirewallNeeds>, Partial<FirewallVerdict>]> = [
  ['a fresh relay (wg0 in no zone: the default zone catches it, and intra-zone forwarding does not apply to it): wgfleet\'s zone, then a reload', {zones: OPEN}, RELAY, {forward: 'blocked', actions: FRESH_RELAY_ACTIONS, blocker: null}],
  ['a converged relay: wg0 in zone wgfleet, which forwards within itself', CONVERGED_RELAY, RELAY, {forward: 'allowed', actions: []}],
  ['the zone there, wg0 taken out of it: bind it again, now and permanently, no reload', {zones: OPEN + unbound(WGFLEET_ZONE)}, RELAY, {
    forward: 'blocked',
    actions: [{kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: true, permanent: true}],
  }],
  ['the zone there, its forwarding turned off at runtime: on again, now only', {zones: OPEN + WGFLEET_ZONE.replace('forward: yes', 'forward: no'), permanentZones: CONVERGED_RELAY.zones}, RELAY, {
    forward: 'blocked',
    actions: [{kind: 'firewalld-zone-forward', zone: 'wgfleet', runtime: true, permanent: false}],
  }],
  ['the zone permanent only (created, never reloaded): a reload', {zones: OPEN, permanentZones: CONVERGED_RELAY.zones}, RELAY, {forward: 'blocked', actions: [{kind: 'firewalld-reload'}]}],
  ['wg0 in the trusted zone (target ACCEPT)', {zones: bind(OPEN, 'trusted', 'wg0')}, RELAY, {forward: 'allowed', actions: []}],
  ['wg0 bound to a zone with intra-zone forwarding', {zones: bind(OPEN, 'internal', 'wg0')}, RELAY, {forward: 'allowed', actions: []}],
  ['wg0 bound to a zone of the admin that does not forward: never moved, the node fails', {zones: zoneWith(bind(OPEN, 'internal', 'wg0'), 'internal', 'forward', 'no')}, RELAY, {
    forward: 'blocked',
    actions: [],
    blocker: {kind: 'foreign-zone', zone: 'internal'},
  }],
  ['wg0 in no zone, and a policy from the default zone to itself: a policy does not see the default zone\'s catch-all', {zones: OPEN, policies: DEBIAN_POLICIES + wgfleetPolicy('admins', 'public').replace('ingress-zones: wgfleet', 'ingress-zones: public')}, RELAY, {forward: 'blocked'}],
  ['a policy of the admin from ANY to ANY, ACCEPT', {zones: OPEN, policies: DEBIAN_POLICIES + wgfleetPolicy('open-forward', 'ANY').replace('ingress-zones: wgfleet', 'ingress-zones: ANY')}, EXIT, {forward: 'allowed', exitForward: 'allowed', actions: []}],
  ['a reload is needed but a runtime-only rich rule (fail2ban\'s) would be lost: the node fails, naming the zone', {zones: zoneWith(OPEN, 'public', 'rich rules', 'rule family="ipv4" source address="198.51.100.66" reject type="icmp-port-unreachable"'), permanentZones: OPEN}, RELAY, {
    forward: 'blocked',
    actions: [],
    blocker: {kind: 'runtime-differs', objects: ['public']},
  }],
  ['runtime forwards (trusted at runtime only), permanent not: not permanent, and wg0 is not moved', {zones: bind(OPEN, 'trusted', 'wg0'), permanentZones: OPEN}, RELAY, {
    forward: 'not-permanent',
    blocker: {kind: 'foreign-zone', zone: 'trusted'},
    actions: [],
  }],
  ['a fresh exit node (its uplink in no zone): wgfleet\'s zone, and policy wgfleet-exit to ANY', {zones: OPEN}, EXIT, {
    forward: 'blocked',
    exitForward: 'blocked',
    actions: [...FRESH_RELAY_ACTIONS.slice(0, 3), ...exitPolicyActions('ANY'), {kind: 'firewalld-reload'}],
  }],
  ['a relay becomes an exit whose uplink is bound to zone external: policy wgfleet-exit to external, loaded by a reload', {zones: zoneWith(bind(CONVERGED_RELAY.zones, 'external', 'eth0'), 'external', 'ports', '51820/udp')}, EXIT, {
    forward: 'allowed',
    exitForward: 'blocked',
    actions: [...exitPolicyActions('external'), {kind: 'firewalld-reload'}],
  }],
  ['a converged exit node', {zones: CONVERGED_RELAY.zones, policies: DEBIAN_POLICIES + wgfleetPolicy('wgfleet-exit', 'ANY')}, EXIT, {forward: 'allowed', exitForward: 'allowed', actions: []}],
  ['firewalld 0.9 (no intra-zone forwarding): policy wgfleet-forward from wgfleet to wgfleet instead', {zones: noZoneForward(OPEN)}, RELAY, {
    forward: 'blocked',
    actions: [
      {kind: 'firewalld-new-zone', zone: 'wgfleet'},
      {kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: false, permanent: true},
      {kind: 'firewalld-new-policy', policy: 'wgfleet-forward'},
      {kind: 'firewalld-policy-zone', policy: 'wgfleet-forward', side: 'ingress', zone: 'wgfleet', runtime: false, permanent: true},
      {kind: 'firewalld-policy-zone', policy: 'wgfleet-forward', side: 'egress', zone: 'wgfleet', runtime: false, permanent: true},
      {kind: 'firewalld-reload'},
    ],
  }],
  ['firewalld 0.9, converged: the policy forwards', {zones: noZoneForward(CONVERGED_RELAY.zones), policies: DEBIAN_POLICIES + wgfleetPolicy('wgfleet-forward', 'wgfleet')}, RELAY, {forward: 'allowed', actions: []}],
  ['a firewalld without policies or zone forwarding (older than 0.9): the node fails', {zones: noZoneForward(OPEN), policies: null}, RELAY, {forward: 'blocked', blocker: {kind: 'no-policies'}}],
  ['a node that does not forward: nothing', {zones: OPEN}, {}, {forward: 'not-needed', exitForward: 'not-needed', actions: []}],
]

describe('firewalld: does it forward what the node must forward (without trusting the interface)?', () => {
  it.each(FIREWALLD_FORWARD)('%s', (_name, listings, needs, expected) => {
    const v = firewallVerdict(firewalld(listings), {...NEEDS, ...needs})
    expect(v).toMatchObject(expected)
    expect(JSON.stringify(v.actions)).not.toContain('trusted')
  })
})

describe('no firewall, or both', () => {
  it('ufw inactive and firewalld stopped: nothing filters, nothing to do (an inactive firewall is never enabled)', () => {
    const v = firewallVerdict(readingsOf(['ufw=inactive', 'firewalld=stopped']), {...NEEDS, ...EXIT})
    expect(v).toEqual({firewall: null, port: 'open', forward: 'allowed', exitForward: 'allowed', subnetForward: 'not-needed', actions: [], blocker: null})
  })

  it('ufw active and firewalld running: ufw is judged (as ufw comes first everywhere)', () => {
    const both = readingsOf(['ufw=active', '--- ufw', ...lines(UFW_RELAY), '--- end ufw', 'firewalld=running', 'firewalld.default_zone=public', '--- firewalld zones', ...lines(DEBIAN_ZONES), '--- end firewalld zones'])
    expect(firewallVerdict(both, NEEDS)).toMatchObject({firewall: 'ufw', port: 'open', actions: []})
  })
})

describe('actions: the token each travels to apply.sh as', () => {
  const all: FirewallAction[] = [
    {kind: 'ufw-allow', port: 51820},
    {kind: 'ufw-route', in: 'wg0', out: 'eth0'},
    PORT_BOTH,
    ...FRESH_RELAY_ACTIONS,
    ...exitPolicyActions('ANY'),
    {kind: 'firewalld-new-policy', policy: 'wgfleet-forward'},
    {kind: 'firewalld-policy-zone', policy: 'wgfleet-forward', side: 'egress', zone: 'public', runtime: true, permanent: false},
  ]

  it('round trip: every action encodes to one token that decodes to it', () => {
    for (const action of all) expect(decodeAction(encodeAction(action))).toEqual(action)
    expect(all.map(encodeAction)).toContain('firewalld-port:public:51820:runtime,permanent')
  })

  it('a value that is not a validated name, port or scope is a bug, never sent', () => {
    expect(() => encodeAction({kind: 'ufw-route', in: 'wg0', out: 'eth0; reboot'})).toThrow(/bug in wgfleet/)
    expect(() => encodeAction({kind: 'firewalld-port', zone: '--reload', port: 51820, runtime: true, permanent: true})).toThrow(/bug in wgfleet/)
    expect(() => encodeAction({kind: 'ufw-allow', port: 70000})).toThrow(/bug in wgfleet/)
    expect(() => encodeAction({...PORT_BOTH, runtime: false, permanent: false})).toThrow(/bug in wgfleet/)
  })

  it('tokens that are not exactly an action decode to nothing', () => {
    for (const token of ['ufw-allow:0', 'ufw-allow:51820:x', 'ufw-route:wg0', 'firewalld-new-zone:trusted', 'firewalld-interface:trusted:wg0:runtime', 'firewalld-port:public:51820:always', 'firewalld-new-policy:allow-host-ipv6', 'firewalld-zone-forward:public:runtime', 'firewalld-reload:now', 'rm -rf /']) {
      expect(decodeAction(token), token).toBeNull()
    }
  })
})

describe('firewallNeedsOf: the one question init and doctor ask', () => {
  const node = {interface: 'wg0', forwarding: true, masquerade: false, endpoint: '[2001:db8::1]:51820'}
  it('a node dialed over IPv6 is judged by the v6 rules; a relay forwards, an exit also to the uplink', () => {
    expect(firewallNeedsOf(node, 51821, 'eth0')).toEqual({port: 51821, iface: 'wg0', forward: true, exit: false, uplink: 'eth0', family: 'ipv6', subnets: []})
    expect(firewallNeedsOf({...node, masquerade: true, endpoint: '203.0.113.10:51820'}, 51820, null)).toEqual({port: 51820, iface: 'wg0', forward: true, exit: true, uplink: null, family: 'ipv4', subnets: []})
    expect(firewallNeedsOf({...node, endpoint: null}, 51820, 'eth0').family).toBe('ipv4')
  })
})

// --- site-to-site subnets: forwarding from the interface out to where each subnet is routed ----------------

describe('subnets: does the firewall forward from wg0 out to the subnets\' interfaces?', () => {
  const LAN: Partial<FirewallNeeds> = {subnets: [{subnet: '198.19.1.0/24', out: 'eth1'}]}
  const toLan: FirewallAction = {kind: 'ufw-route', in: 'wg0', out: 'eth1'}
  const subnetPolicy = (egress: string): FirewallAction[] => [
    {kind: 'firewalld-new-policy', policy: 'wgfleet-subnets'},
    {kind: 'firewalld-policy-zone', policy: 'wgfleet-subnets', side: 'ingress', zone: 'wgfleet', runtime: false, permanent: true},
    {kind: 'firewalld-policy-zone', policy: 'wgfleet-subnets', side: 'egress', zone: egress, runtime: false, permanent: true},
  ]
  const UFW_LAN_ROUTE = `${withoutRoutes(UFW_RELAY)}
Anywhere on eth1           ALLOW FWD   Anywhere on wg0            # wgfleet
Anywhere (v6) on eth1      ALLOW FWD   Anywhere (v6) on wg0       # wgfleet
`
  const cases: Array<[string, ReturnType<typeof ufw>, Partial<FirewallNeeds>, Partial<FirewallVerdict>]> = [
    ['ufw, a subnet node that is no relay: `ufw route allow in on wg0 out on eth1` only', ufw(withoutRoutes(UFW_RELAY)), LAN, {forward: 'not-needed', subnetForward: 'blocked', actions: [toLan]}],
    ['ufw, the route rule there', ufw(UFW_LAN_ROUTE), LAN, {subnetForward: 'allowed', actions: []}],
    ['ufw, a relay with a subnet: both routes', ufw(withoutRoutes(UFW_RELAY)), {...RELAY, ...LAN}, {forward: 'blocked', subnetForward: 'blocked', actions: [{kind: 'ufw-route', in: 'wg0', out: 'wg0'}, toLan]}],
    ['ufw, an exit whose subnet is routed through its uplink: one rule', ufw(withoutRoutes(UFW_RELAY)), {...EXIT, subnets: [{subnet: '198.19.1.0/24', out: 'eth0'}]}, {exitForward: 'blocked', subnetForward: 'blocked', actions: [{kind: 'ufw-route', in: 'wg0', out: 'wg0'}, {kind: 'ufw-route', in: 'wg0', out: 'eth0'}]}],
    ['ufw, a subnet the host has no route for: unknown, nothing to add', ufw(withoutRoutes(UFW_RELAY)), {subnets: [{subnet: '198.19.1.0/24', out: null}]}, {subnetForward: 'unknown', actions: []}],
    ['firewalld, a fresh subnet node: wg0 to zone wgfleet, policy wgfleet-subnets to ANY (eth1 in no zone), a reload — no intra-zone forwarding needed', firewalld({zones: OPEN}), LAN, {
      forward: 'not-needed',
      subnetForward: 'blocked',
      actions: [{kind: 'firewalld-new-zone', zone: 'wgfleet'}, {kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: false, permanent: true}, ...subnetPolicy('ANY'), {kind: 'firewalld-reload'}],
      blocker: null,
    }],
    ['firewalld, the LAN interface bound to zone internal: the policy goes to internal', firewalld({zones: bind(OPEN, 'internal', 'eth1')}), LAN, {
      subnetForward: 'blocked',
      actions: [{kind: 'firewalld-new-zone', zone: 'wgfleet'}, {kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: false, permanent: true}, ...subnetPolicy('internal'), {kind: 'firewalld-reload'}],
    }],
    ['firewalld, converged: the policy forwards', firewalld({zones: CONVERGED_RELAY.zones, policies: DEBIAN_POLICIES + wgfleetPolicy('wgfleet-subnets', 'ANY')}), LAN, {subnetForward: 'allowed', actions: []}],
    ['no firewall: allowed', readingsOf(['ufw=inactive', 'firewalld=absent']), LAN, {firewall: null, subnetForward: 'allowed', actions: []}],
  ]
  it.each(cases)('%s', (_name, readings, needs, expected) => {
    const v = firewallVerdict(readings, {...NEEDS, ...needs})
    expect(v).toMatchObject(expected)
    expect(JSON.stringify(v.actions)).not.toContain('trusted')
  })

  it('firewallNeedsOf: each subnet goes out of its longest-matching route (the default route when nothing closer)', () => {
    const routes = parseRoutes(['4 default eth0', '4 198.19.0.0/16 eth2', '4 198.19.1.0/24 eth1', '6 fd10:1::/64 eth3', '4 bad/24 eth9', '4 198.19.7.0/24 $(id)'])
    const node = {interface: 'wg0', forwarding: false, masquerade: false, endpoint: '203.0.113.1:51820', subnets: ['198.19.1.0/24', '198.19.1.128/25', '198.19.9.0/24', '203.0.113.64/26', 'fd10:1::/64', 'fd20::/64']}
    expect(firewallNeedsOf(node, 51820, 'eth0', routes).subnets).toEqual([
      {subnet: '198.19.1.0/24', out: 'eth1'},
      {subnet: '198.19.1.128/25', out: 'eth1'},
      {subnet: '198.19.9.0/24', out: 'eth2'},
      {subnet: '203.0.113.64/26', out: 'eth0'},
      {subnet: 'fd10:1::/64', out: 'eth3'},
      {subnet: 'fd20::/64', out: null},
    ])
  })
})
