/** Checks across nodes: the firewall of a node whose peers cannot reach it, and handshakes nothing else explains. */
import {actionCommands} from '../../firewall/actions.js'
import {type Add, type Finding, NODE_BLOCKERS, type NodeView, PAIR_BLOCKERS, type Trouble, formatAge} from './model.js'
import {type FleetPlan} from '../../plan/model.js'
export function checkFirewalls(views: ReadonlyMap<string, NodeView>, troubles: readonly Trouble[], add: Add): void {
  for (const view of views.values()) {
    const {plan: nodePlan, reading, firewall: verdict} = view
    const node = nodePlan.name
    const port = reading.listenPort ?? nodePlan.listenPort
    if (verdict.firewall === null || verdict.port === 'open') continue
    const dialed = nodePlan.endpoint !== null
    const failing = troubles.filter((t) => t.node === node || t.peer === node).map((t) => (t.node === node ? t.peer : t.node))
    const peersFailing = [...new Set(failing)]
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
export function checkUnexplainedHandshakes(plan: FleetPlan, views: ReadonlyMap<string, NodeView>, troubles: readonly Trouble[], findings: readonly Finding[], add: Add): void {
  const said = new Set<string>()
  const explained = (a: string, b: string) =>
    findings.some(
      (f) =>
        ((f.node === a || f.node === b) && NODE_BLOCKERS.has(f.check)) ||
        (PAIR_BLOCKERS.has(f.check) && ((f.node === a && f.peer === b) || (f.node === b && f.peer === a))),
    )
  for (const t of troubles) {
    const pair = [t.node, t.peer].sort().join('\n')
    if (said.has(pair)) continue
    said.add(pair)
    // Both sides must have been read: an unreachable peer may simply be down.
    if (!views.has(t.peer) || explained(t.node, t.peer)) continue
    const nodePlan = views.get(t.node)!.plan
    const peerPlan = plan.nodes.find((n) => n.name === t.peer)!
    const peerEntry = nodePlan.peers.find((p) => p.name === t.peer)!
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

// --- helpers ----------------------------------------------------------------------------------------
