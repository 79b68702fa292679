/** Checks of a relay (or exit): forwarding on, persistent, and allowed by the firewall. */
import {actionCommands} from '../../firewall/actions.js'
import type {FirewallBlocker, ForwardState} from '../../firewall/verdict.js'
import {type Add, type NodeView} from './model.js'
export function checkForwarding(view: NodeView, iface: string, relayed: readonly string[], add: Add): void {
  const {plan, reading} = view
  if (!plan.forwarding) return
  const node = plan.name
  const role = relayed.length > 0 ? `${node} relays for ${relayed.join(', ')}` : plan.masquerade ? `${node} is an exit node` : `${node} is a relay`
  const persist = `echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-wgfleet.conf`
  if (reading.ipForward === false) {
    add({
      node,
      severity: 'error',
      check: 'relay-no-forwarding',
      message: `${role}, but net.ipv4.ip_forward = 0: the traffic it should pass on is dropped`,
      fix: `on ${node}: \`sysctl -w net.ipv4.ip_forward=1 && ${persist}\` (or \`wgfleet init\`)`,
    })
  } else if (plan.address6 !== undefined && reading.ip6Forward !== true) {
    // Dual stack: the IPv6 overlay passes through the relay too.
    add({
      node,
      severity: 'error',
      check: 'relay-no-forwarding',
      message: `${role}, but net.ipv6.conf.all.forwarding is ${reading.ip6Forward === false ? '0' : 'unreadable (IPv6 disabled?)'}: the IPv6 overlay traffic it should pass on is dropped`,
      fix: `on ${node}: \`sysctl -w net.ipv6.conf.all.forwarding=1\` and add it to /etc/sysctl.d/99-wgfleet.conf (or \`wgfleet init\`)`,
    })
  } else if (reading.ipForward === true && reading.forwardFiles.length === 0) {
    add({
      node,
      severity: 'warning',
      check: 'relay-forwarding-not-persistent',
      message: `${role} and forwards now, but no sysctl file sets net.ipv4.ip_forward = 1: forwarding stops after a reboot`,
      fix: `on ${node}: \`${persist}\` (or \`wgfleet init\`)`,
    })
  }

  // Relaying passes packets in and out of the interface (and an exit's out to the uplink): the firewall, as
  // the verdict init also asks judges it, must let that through.
  const verdict = view.firewall
  if (verdict.firewall === null) return
  const commands = verdict.actions.filter((a) => a.kind !== 'ufw-allow' && a.kind !== 'firewalld-port').flatMap(actionCommands)
  const fix = verdict.blocker ? blockerFix(node, iface, verdict.blocker) : `on ${node}: \`${commands.join(' && ')}\` (or \`wgfleet init\`)`
  const paths: Array<[ForwardState, string]> = [
    [verdict.forward, `in and out of ${iface}`],
    [verdict.exitForward, `from ${iface} out to ${reading.uplink ?? 'the uplink'}`],
  ]
  for (const [state, path] of paths) {
    if (state === 'blocked') {
      const how = verdict.firewall === 'ufw' ? 'ufw routes nothing' : 'firewalld forwards nothing'
      add({node, severity: 'error', check: 'relay-forward-blocked', message: `${role}, but ${how} ${path}: that traffic is dropped`, fix})
    } else if (state === 'not-permanent') {
      add({node, severity: 'warning', check: 'relay-forward-blocked', message: `${role}: firewalld forwards ${path} now, but not in its permanent configuration (it stops at the next reload or reboot)`, fix})
    }
  }
}

function blockerFix(node: string, iface: string, blocker: FirewallBlocker): string {
  switch (blocker.kind) {
    case 'foreign-zone':
      return `on ${node}: \`firewall-cmd --zone=${blocker.zone} --add-forward && firewall-cmd --permanent --zone=${blocker.zone} --add-forward\`, or move ${iface} out of zone ${blocker.zone}`
    case 'runtime-differs':
      return `on ${node}: keep or drop firewalld's runtime-only changes (${blocker.objects.join(', ')}: \`firewall-cmd --runtime-to-permanent\` or \`firewall-cmd --reload\`), then \`wgfleet init\``
    case 'no-policies':
      return `on ${node}: put ${iface} in a zone that forwards, or update firewalld (0.9 or later)`
  }
}
