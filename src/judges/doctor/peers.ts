/** Checks of a node's peer entries against the plan: keys, AllowedIPs, NAT endpoints and keepalive. */
import {type Add, type Entry, type NodeView, SOURCE_TEXT, type Source, normalizeRange, sameEndpoint} from './model.js'
import {type KeyNames} from '../status.js'
import {type PeerPlan} from '../../plan/model.js'
export function checkPeers(view: NodeView, iface: string, names: KeyNames, hostRoutes: ReadonlyMap<string, string>, add: Add): void {
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

export function checkAllowedIps(node: string, peer: PeerPlan, entry: Entry, where: string, add: Add): void {
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
export function checkNat(view: NodeView, add: Add): void {
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
