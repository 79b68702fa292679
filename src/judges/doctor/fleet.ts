/** Checks across nodes: the firewall of a node whose peers cannot reach it, and handshakes nothing else explains. */
import {actionCommands} from '../../firewall/actions.js'
import {type Add, type Finding, NODE_BLOCKERS, type NodeView, PAIR_BLOCKERS, type Trouble, formatAge} from './model.js'
import {type FleetPlan} from '../../plan/model.js'
export function checkFirewalls(views: ReadonlyMap<string, Pick<NodeView, 'plan' | 'reading' | 'firewall'>>, troubles: readonly Trouble[], add: Add): void {
  // The peers each node has trouble with, either side seeing it: indexed once (and only when some
  // firewall is not open), not filtered per node.
  let troubledWith: Map<string, Set<string>> | undefined
  const troubledIndex = () => {
    if (troubledWith) return troubledWith
    const index = new Map<string, Set<string>>()
    const note = (a: string, b: string) => {
      const set = index.get(a)
      if (set) set.add(b)
      else index.set(a, new Set([b]))
    }
    for (const t of troubles) {
      note(t.node, t.peer)
      note(t.peer, t.node)
    }
    troubledWith = index
    return index
  }
  for (const view of views.values()) {
    const {plan: nodePlan, reading, firewall: verdict} = view
    const node = nodePlan.name
    const port = reading.listenPort ?? nodePlan.listenPort
    if (verdict.firewall === null || verdict.port === 'open') continue
    const dialed = nodePlan.endpoint !== null
    const peersFailing = [...(troubledIndex().get(node) ?? [])]
    // The fix is what init would run (the verdict's port actions).
    const commands = verdict.actions.filter((a) => a.kind === 'ufw-allow' || a.kind === 'firewalld-port').flatMap(actionCommands)
    const fix = `on ${node}: \`${commands.join(' && ')}\` (or \`wgfleet init\`)`
    if (verdict.port === 'closed') {
      if (!dialed && peersFailing.length === 0) continue // a NAT-ed node dials out; replies come back as established traffic
      const what = verdict.firewall === 'ufw' ? `ufw is active and does not allow ${port}/udp` : `firewalld is running and its zone does not open ${port}/udp`
      const effect = peersFailing.length > 0 ? `no handshake with ${peersFailing.join(', ')}` : `peers cannot start a handshake with ${node} (${nodePlan.endpoint}); live sessions last only while their conntrack entries do`
      add({node, severity: 'error', check: 'firewall-port-closed', message: `${what}: ${effect}`, fix})
    } else if (dialed) {
      add({
        node,
        severity: 'warning',
        check: 'firewall-port-not-permanent',
        message: `firewalld lets ${port}/udp in now, but not in its permanent configuration: the port closes at the next reload or reboot`,
        fix,
      })
    }
  }
}

/** A failing handshake that no other finding explains: said once per pair, on the first node that sees it. */
export function checkUnexplainedHandshakes(plan: FleetPlan, views: ReadonlyMap<string, Pick<NodeView, 'plan' | 'reading'>>, troubles: readonly Trouble[], findings: readonly Finding[], add: Add): void {
  // Pairs as numbers (index × N + index): half a million string keys cost more than the check itself.
  const index = new Map(plan.nodes.map((n, i) => [n.name, i]))
  const said = new Set<number>()
  // What the other checks found, indexed once (scanning every finding per failing pair is O(N⁴) in a mesh).
  const blockedNodes = new Set<string>()
  const blockedPairs = new Set<string>()
  for (const f of findings) {
    if (NODE_BLOCKERS.has(f.check)) blockedNodes.add(f.node)
    if (PAIR_BLOCKERS.has(f.check) && f.peer !== undefined) blockedPairs.add(`${f.node}\u0000${f.peer}`).add(`${f.peer}\u0000${f.node}`)
  }
  const explained = (a: string, b: string) => blockedNodes.has(a) || blockedNodes.has(b) || blockedPairs.has(`${a}\u0000${b}`)
  const plans = new Map(plan.nodes.map((n) => [n.name, n]))
  const entries = new Map<string, Map<string, FleetPlan['nodes'][number]['peers'][number]>>()
  const entryOf = (node: string, peer: string) => {
    let byName = entries.get(node)
    if (!byName) {
      byName = new Map(views.get(node)!.plan.peers.map((p) => [p.name, p]))
      entries.set(node, byName)
    }
    return byName.get(peer)!
  }
  const unexplained = new Map<string, Trouble[]>()
  for (const t of troubles) {
    const a = index.get(t.node)!
    const b = index.get(t.peer)!
    const pair = a < b ? a * plan.nodes.length + b : b * plan.nodes.length + a
    if (said.has(pair)) continue
    said.add(pair)
    // Both sides must have been read: an unreachable peer may simply be down.
    if (!views.has(t.peer) || explained(t.node, t.peer)) continue
    const list = unexplained.get(t.node)
    if (list) list.push(t)
    else unexplained.set(t.node, [t])
  }
  for (const [node, list] of unexplained) {
    if (list.length > MAX_PAIR_FINDINGS) {
      // One finding for a node that fails with many peers (a suspended machine, a blocked uplink): a
      // finding per pair would be N² lines that all say the same.
      const nodePlan = views.get(node)!.plan
      const shown = list.slice(0, MAX_PAIR_FINDINGS).map((t) => t.peer)
      add({
        node,
        severity: 'error',
        check: 'handshake-failing',
        message: `no recent handshake with ${list.length} peers (${shown.join(', ')}, …), and no other check explains it: UDP between ${node} and them is dropped, or ${node}'s clock or interface is wrong`,
        fix: `on ${node}: \`wg show ${plan.interface}\` and \`tcpdump -ni any udp port ${nodePlan.listenPort}\` while a peer pings ${nodePlan.address.split('/')[0]}`,
      })
      continue
    }
    for (const t of list) {
      const nodePlan = views.get(t.node)!.plan
      const peerPlan = plans.get(t.peer)!
      const peerEntry = entryOf(t.node, t.peer)
      // The side with an endpoint is dialed; the other (or this one, when both have one) dials.
      const [listener, dialer] = peerEntry.endpoint !== null ? [peerPlan, nodePlan] : [nodePlan, peerPlan]
      const when = t.age === null ? 'never' : `last ${formatAge(t.age)} ago`
      add({
        node: t.node,
        severity: 'error',
        check: 'handshake-failing',
        peer: t.peer,
        message: `no recent handshake with ${t.peer} (${when}), and no other check explains it: something between them drops UDP to ${listener.endpoint ?? listener.name}`,
        fix: `on ${listener.name}: \`tcpdump -ni any udp port ${listener.listenPort}\` while \`ping -c 3 ${listener.address.split('/')[0]}\` runs on ${dialer.name}: no packets = blocked on the way (cloud security group, router)`,
      })
    }
  }
}

/**
 * `preshared_keys = true`: the two ends of each pair (both read) must hold the same preshared key, and each
 * interface the one its file holds — else every handshake of the pair fails. Judged by the digests the
 * hosts report, never by value; said once per pair.
 */
export function checkPresharedKeys(plan: FleetPlan, views: ReadonlyMap<string, Pick<NodeView, 'plan' | 'reading'>>, add: Add): void {
  const fix = '`wgfleet init` (a new key for the pair, made on one end and set on both)'
  for (const [node, view] of views) {
    for (const peer of view.plan.peers) {
      const other = peer.presharedKey ? views.get(peer.name) : undefined
      if (!other || !(node < peer.name) || !other.plan.peers.some((p) => p.name === node && p.presharedKey)) continue
      const mine = view.reading.presharedKeys.get(peer.name)
      const theirs = other.reading.presharedKeys.get(node)
      const missing = !mine || mine.digest === 'invalid' ? node : !theirs || theirs.digest === 'invalid' ? peer.name : undefined
      if (missing !== undefined) {
        const away = missing === node ? peer.name : node
        add({node: missing, severity: 'error', check: 'psk-mismatch', peer: away, message: `${missing} holds no preshared key for ${away} (/etc/wireguard/${plan.interface}.psk/${away}): their handshakes fail while ${away} uses one`, fix})
      } else if (mine!.digest !== theirs!.digest) {
        add({node, severity: 'error', check: 'psk-mismatch', peer: peer.name, message: `${node} and ${peer.name} hold different preshared keys for their pair (digests ${mine!.digest} and ${theirs!.digest}): no handshake between them can complete`, fix})
      } else {
        for (const [end, far, file] of [[node, peer.name, mine!], [peer.name, node, theirs!]] as const) {
          if (file.live !== 'differs') continue
          add({node: end, severity: 'error', check: 'psk-mismatch', peer: far, message: `${end}'s interface uses another preshared key for ${far} than its file holds: their handshakes fail`, fix})
        }
      }
    }
  }
}

/** Past this many unexplained failing pairs on one node, the doctor says it once for the node. */
export const MAX_PAIR_FINDINGS = 5

// --- helpers ----------------------------------------------------------------------------------------
