/** Checks of a relay (or exit): forwarding on, persistent, and allowed by the firewall. */
import {ufwForwardsOn} from '../../firewall/verdict.js'
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
  } else if (reading.ipForward === true && reading.forwardFiles.length === 0) {
    add({
      node,
      severity: 'warning',
      check: 'relay-forwarding-not-persistent',
      message: `${role} and forwards now, but no sysctl file sets net.ipv4.ip_forward = 1: forwarding stops after a reboot`,
      fix: `on ${node}: \`${persist}\` (or \`wgfleet init\`)`,
    })
  }

  // Relaying passes packets in and out of the same interface: the firewall must let that through.
  if (relayed.length === 0) return
  if (reading.ufw.state === 'active') {
    if (!ufwForwardsOn(reading.ufw.status, iface)) {
      add({
        node,
        severity: 'error',
        check: 'relay-forward-blocked',
        message: `${role}, but ufw routes nothing in and out of ${iface} (no \`ALLOW FWD\` rule on ${iface}, routed policy not allow): relayed traffic is dropped`,
        fix: `on ${node}: \`ufw route allow in on ${iface} out on ${iface}\``,
      })
    }
    return
  }
  const fw = reading.firewalld
  if (fw.state !== 'running') return
  const zone = fw.interfaceZone ? fw.interfaceZoneRuntime : fw.runtime
  const zoneName = fw.interfaceZone || fw.defaultZone || zone?.name || 'default'
  if (!zone || zone.name === 'trusted' || zone.target.toUpperCase() === 'ACCEPT' || zone.forward === true) return
  const fix = `on ${node}: \`firewall-cmd --zone=trusted --change-interface=${iface} && firewall-cmd --permanent --zone=trusted --change-interface=${iface}\``
  if (zone.forward === false) {
    add({
      node,
      severity: 'error',
      check: 'relay-forward-blocked',
      message: `${role}, but ${iface} is in firewalld zone ${zoneName}, which does not forward within the zone: relayed traffic is rejected`,
      fix,
    })
  } else {
    add({
      node,
      severity: 'warning',
      check: 'relay-forward-blocked',
      message: `${role}, and ${iface} is in firewalld zone ${zoneName}, which may reject forwarded traffic (this firewalld does not report intra-zone forwarding)`,
      fix,
    })
  }
}
