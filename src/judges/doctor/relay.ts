/** Checks of a relay (or exit, or a node routing site-to-site subnets): forwarding on, persistent, and allowed by the firewall. */
import {actionCommands} from '../../firewall/actions.js'
import {subnetRouteInterface} from '../../firewall/routes.js'
import type {FirewallBlocker, ForwardState} from '../../firewall/verdict.js'
import {isIPv6Subnet} from '../../inventory/subnets.js'
import {type Add, type CheckId, type NodeView} from './model.js'
export function checkForwarding(view: NodeView, iface: string, relayed: readonly string[], add: Add): void {
  const {plan, reading} = view
  const subnets = plan.subnets ?? []
  if (!plan.forwarding && subnets.length === 0) return
  const node = plan.name
  // A node that only routes subnets (no relay, no exit) has checks of its own, worded the same way.
  const subnetOnly = !plan.forwarding
  const noForwarding: CheckId = subnetOnly ? 'subnet-no-forwarding' : 'relay-no-forwarding'
  const routes = subnets.length > 0 ? `routes the subnets ${subnets.join(', ')}` : ''
  const role = subnetOnly
    ? `${node} ${routes}`
    : relayed.length > 0
      ? `${node} relays for ${relayed.join(', ')}`
      : plan.masquerade
        ? `${node} is an exit node`
        : `${node} is a relay`
  // A relay carries the IPv6 overlay (an exit only IPv4); an IPv6 subnet needs it too.
  const forward6 = (plan.relay === true && plan.address6 !== undefined) || subnets.some(isIPv6Subnet)
  const persist = `echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-wgfleet.conf`
  if (reading.ipForward === false) {
    add({
      node,
      severity: 'error',
      check: noForwarding,
      message: `${role}, but net.ipv4.ip_forward = 0: the traffic it should pass on is dropped`,
      fix: `on ${node}: \`sysctl -w net.ipv4.ip_forward=1 && ${persist}\` (or \`wgfleet init\`)`,
    })
  } else if (forward6 && reading.ip6Forward !== true) {
    // Dual stack: the IPv6 overlay passes through the relay too (and an IPv6 subnet's traffic).
    add({
      node,
      severity: 'error',
      check: noForwarding,
      message: `${role}, but net.ipv6.conf.all.forwarding is ${reading.ip6Forward === false ? '0' : 'unreadable (IPv6 disabled?)'}: the IPv6 ${subnetOnly ? 'subnet' : 'overlay'} traffic it should pass on is dropped`,
      fix: `on ${node}: \`sysctl -w net.ipv6.conf.all.forwarding=1\` and add it to /etc/sysctl.d/99-wgfleet.conf (or \`wgfleet init\`)`,
    })
  } else if (reading.ipForward === true && reading.forwardFiles.length === 0) {
    add({
      node,
      severity: 'warning',
      check: subnetOnly ? 'subnet-no-forwarding' : 'relay-forwarding-not-persistent',
      message: `${role} and forwards now, but no sysctl file sets net.ipv4.ip_forward = 1: forwarding stops after a reboot`,
      fix: `on ${node}: \`${persist}\` (or \`wgfleet init\`)`,
    })
  }

  // A subnet the host has no route for: init refuses the node; say it here too.
  for (const subnet of subnets) {
    if (subnetRouteInterface(reading.routes ?? [], subnet) !== null) continue
    add({
      node,
      severity: 'error',
      check: 'subnet-no-route',
      message: `${node} routes the subnet ${subnet}, but has no route for it: the traffic for it has nowhere to go`,
      fix: `on ${node}: give it its address on that network (or a route to it), or remove ${subnet} from its subnets`,
    })
  }

  // Relaying passes packets in and out of the interface (and an exit's out to the uplink, a subnet node's out
  // to its subnets): the firewall, as the verdict init also asks judges it, must let that through.
  const verdict = view.firewall
  if (verdict.firewall === null) return
  const commands = verdict.actions.filter((a) => a.kind !== 'ufw-allow' && a.kind !== 'firewalld-port').flatMap(actionCommands)
  const fix = verdict.blocker ? blockerFix(node, iface, verdict.blocker) : `on ${node}: \`${commands.join(' && ')}\` (or \`wgfleet init\`)`
  const paths: Array<[ForwardState, string, CheckId, string]> = [
    [verdict.forward, `in and out of ${iface}`, 'relay-forward-blocked', role],
    [verdict.exitForward, `from ${iface} out to ${reading.uplink ?? 'the uplink'}`, 'relay-forward-blocked', role],
    [verdict.subnetForward, `from ${iface} out to its subnets`, 'subnet-forward-blocked', `${node} ${routes}`],
  ]
  for (const [state, path, check, who] of paths) {
    if (state === 'blocked') {
      const how = verdict.firewall === 'ufw' ? 'ufw routes nothing' : 'firewalld forwards nothing'
      add({node, severity: 'error', check, message: `${who}, but ${how} ${path}: that traffic is dropped`, fix})
    } else if (state === 'not-permanent') {
      add({node, severity: 'warning', check, message: `${who}: firewalld forwards ${path} now, but not in its permanent configuration (it stops at the next reload or reboot)`, fix})
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
