/** Checks of one node on its own: reachability, the interface, its unit, config drift, path MTU. */
import {type Add, type Finding, type NodeView, SOURCE_TEXT, type Source, endpointHost, endpointHostIsIp, intOf, normalizeRange, sameEndpoint, sameSet} from './model.js'
import {type KeyNames, type NodeProblem, WG_MISSING} from '../status.js'
import {decideHosts} from '../../plan/hosts-file.js'
export function unreachableFinding(node: string, problem: NodeProblem): Finding {
  const ssh = !['script-failed', 'bad-output', 'output-too-large', 'error'].includes(problem.kind)
  return {
    node,
    severity: 'error',
    check: ssh ? 'unreachable' : 'read-failed',
    message: ssh ? `not reached over SSH (${problem.kind}): ${problem.message}` : `could not read the node: ${problem.message}`,
    fix: problem.hint ?? (ssh ? 'check that the host is up and that `ssh` to it works, then run `wgfleet doctor` again' : 'run the doctor again; check that bash, ip and wg work on the node'),
  }
}

export function checkInterface(view: NodeView, iface: string, add: Add): void {
  const {plan, reading} = view
  const node = plan.name
  const unit = `wg-quick@${iface}`
  if (!reading.wgInstalled) {
    // Nothing of wgfleet is on the host: no config and no enabled unit follow from it, so they are not
    // findings of their own (an admin would be sent to `systemctl enable` a unit that cannot run).
    add({node, severity: 'error', check: 'wg-missing', message: WG_MISSING.message, fix: WG_MISSING.hint(node)})
    return
  }
  if (reading.link !== 'up') {
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
  } else {
    add({
      node,
      severity: 'warning',
      check: 'no-systemd',
      message: 'no systemd on this host: nothing brings the tunnel back after a reboot',
      fix: `start \`wg-quick up ${iface}\` from the host's init system at boot`,
    })
  }
}

/** The config file against the running interface (interface up, both read). */
export function checkDrift(view: NodeView, iface: string, names: KeyNames, add: Add): void {
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

/** Peer names by endpoint host and by overlay address (the first peer listed wins, as `find` did). */
function peerNamesByHost(peers: NodeView['plan']['peers']): {underlay: Map<string, string>; overlay: Map<string, string>} {
  const underlay = new Map<string, string>()
  const overlay = new Map<string, string>()
  for (const p of peers) {
    const host = endpointHost(p.endpoint)
    if (host !== null && !underlay.has(host)) underlay.set(host, p.name)
    const first = p.allowedIps[0]
    if (first?.endsWith('/32') && !overlay.has(first.slice(0, -3))) overlay.set(first.slice(0, -3), p.name)
  }
  return {underlay, overlay}
}

/**
 * Don't-fragment pings: a big one (a full-size tunnel packet) failing while a small one gets through
 * means the path cannot carry the interface's MTU. Suggested MTU: the path MTU ping reported minus the
 * WireGuard overhead (60 bytes over IPv4, 80 over IPv6), else 1280 (always safe).
 */
export function checkPathMtu(view: NodeView, add: Add): void {
  const {plan, reading} = view
  const node = plan.name
  const byPeer = new Map<string, {peer: string; kinds: string[]; suggest: number | null}>()
  // Indexed once (a find per failing ping was O(peers) each: O(N²) per node when a whole path is too small).
  let byHost: {underlay: Map<string, string>; overlay: Map<string, string>} | undefined
  for (const ping of reading.pings) {
    if (ping.big !== 'fail' || ping.small !== 'ok') continue
    byHost ??= peerNamesByHost(plan.peers)
    const name = (ping.kind === 'underlay' ? byHost.underlay : byHost.overlay).get(ping.host) ?? ping.host
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

/** wgfleet's block of /etc/hosts is as planned (hosts_file): a host that reports its digest only. */
export function checkHostsFile(view: NodeView, add: Add): void {
  const {plan, reading} = view
  if (reading.hostsBlock === undefined || reading.hostsBlock === 'unknown') return
  const action = decideHosts(reading.hostsBlock, plan.hostsBlock)
  if (action === 'none') return
  add({
    node: plan.name,
    severity: 'warning',
    check: 'hosts-file-drift',
    message:
      action === 'write'
        ? reading.hostsBlock === 'none'
          ? "/etc/hosts has no block of the fleet's names (hosts_file = true)"
          : "wgfleet's block in /etc/hosts differs from the inventory's names (edited by hand, or the fleet changed since)"
        : "/etc/hosts still has wgfleet's block of names, but the inventory no longer asks for one (hosts_file)",
    fix: '`wgfleet init` (writes or removes the block; no other line of /etc/hosts is touched)',
  })
}
