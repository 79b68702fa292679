/**
 * The node status.sh reads in these tests: wg0 up with two peers, on the shared fake programs
 * (test/helpers/host-fakes.ts). `wg show wg0 dump` prints the interface line first — with PRIVATE_KEY —
 * as wg does; node-c's peer carries a preshared key.
 */
import {DUMP_INTERFACE_LINE, FakeMachine, NODE_CLOCK, PEER_B, PEER_C, PRESHARED_KEY, type FakeMachineOptions} from '../../helpers/host-fakes.js'

export {BASH, NODE_CLOCK, PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY, PUBLIC_KEY} from '../../helpers/host-fakes.js'

export const PEER_LINES = [
  [PEER_B, '(none)', '203.0.113.2:51820', '10.0.0.2/32', NODE_CLOCK - 12, 1234, 5678, 25].join('\t'),
  [PEER_C, PRESHARED_KEY, '(none)', '10.0.0.3/32,10.0.0.4/32', 0, 0, 92, 'off'].join('\t'),
]

export function statusHost(dir: string, tools: FakeMachineOptions['tools']): FakeMachine {
  const host = new FakeMachine(dir, {tools, installed: ['wg']})
  host.link('wg0', 'up')
  host.dump('wg0', [DUMP_INTERFACE_LINE, ...PEER_LINES])
  return host
}
