/** The node the host-script contract tests converge: node-a of a small fleet, relaying for node-c. */
import {planFleet, PRIVATE_KEY_MARKER, type NodePlan} from '../../../src/plan/index.js'
import {PEER_B, PEER_C, PRIVATE_KEY, PUBLIC_KEY} from '../../helpers/host-fakes.js'
import type {HostSandbox} from '../../helpers/host-sandbox.js'
import {fleet} from '../../unit/plan/fixtures.js'

export const KEYS = {'node-a': PUBLIC_KEY, 'node-b': PEER_B, 'node-c': PEER_C}

/** node-a relays for node-c, which is behind NAT; node-b is a plain peer. */
export const PLAN = planFleet(
  fleet([
    {name: 'node-a', address: '10.0.0.1', relay: true},
    {name: 'node-b', address: '10.0.0.2'},
    {name: 'node-c', address: '10.0.0.3', nat: true},
  ]),
  {publicKeys: KEYS},
)
export const NODE_A: NodePlan = PLAN.nodes[0]!
/** node-a of the same fleet with a dual-stack overlay (cidr6): a relay of both families. */
export const DUAL_NODE_A: NodePlan = planFleet(
  fleet(
    [
      {name: 'node-a', address: '10.0.0.1', address6: 'fd42:42::1', relay: true},
      {name: 'node-b', address: '10.0.0.2', address6: 'fd42:42::2'},
      {name: 'node-c', address: '10.0.0.3', address6: 'fd42:42::3', nat: true},
    ],
    {cidr6: 'fd42:42::/64'},
  ),
  {publicKeys: KEYS},
).nodes[0]!

/** node-a's plan before node-c joined: one peer fewer. */
export const NODE_A_BEFORE_C: NodePlan = planFleet(
  fleet([
    {name: 'node-a', address: '10.0.0.1'},
    {name: 'node-b', address: '10.0.0.2'},
  ]),
  {publicKeys: KEYS},
).nodes[0]!

/** A rendered config with the private key filled in, as apply.sh installs it. */
export function filled(config: string): string {
  return config.replace(`PrivateKey = ${PRIVATE_KEY_MARKER}`, `PrivateKey = ${PRIVATE_KEY}`)
}

/** The key pair as prepare.sh leaves it: /etc/wireguard 0700, the key 0600. */
export function withKey(box: HostSandbox): void {
  box.write('/etc/wireguard/wg0.key', `${PRIVATE_KEY}\n`, 0o600)
  box.sh('chmod 700 /etc/wireguard')
}

/** node-a as wgfleet leaves it: key, config (CONFIG, rendered), the unit enabled and running it. */
export function convergedNode(box: HostSandbox, config: string = NODE_A.config): void {
  withKey(box)
  box.write('/etc/wireguard/wg0.conf', filled(config), 0o600)
  const started = box.sh('systemctl enable wg-quick@wg0 && systemctl start wg-quick@wg0')
  if (started.code !== 0) throw new Error(`cannot start the fake interface: ${started.stderr}`)
  box.fakes.clearCalls()
}
