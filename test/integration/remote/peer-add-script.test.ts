/**
 * Contract of src/remote/peer-add.sh with peerAddHost (src/tasks/host-steps.ts) and plan/peer-add: the real
 * script under a real bash in a host sandbox against the fake wg, wg-quick, ip. Proves: when the host's
 * file (private key masked by lib.sh's mask_secrets, as probe.sh prints it) is the one last applied, the
 * planned file is installed (key filled in, 0600, root's) and the newcomer's entry is set live with exactly
 * the plan's values (no route: the interface prefix's covers it), and a probe then finds nothing to do; a file edited by hand, an
 * interface that is down or an unfinished apply are refused with nothing changed; no secret is printed.
 */
import {readdirSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {planFleet, planPeerAdd, type PeerAddPlan} from '../../../src/plan/index.js'
import {hostRoutes} from '../../../src/plan/planner.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {decideApply} from '../../../src/tasks/decide.js'
import {peerAddHost, probeHost} from '../../../src/tasks/host-steps.js'
import {PEER_B, PEER_C, PRIVATE_KEY, PUBLIC_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {fleet} from '../../unit/plan/fixtures.js'
import {convergedNode, filled} from './node-fixture.js'

const KEYS = {'node-a': PUBLIC_KEY, 'node-b': PEER_B, 'node-c': PEER_C}
const TWO = [
  {name: 'node-a', address: '10.0.0.1'},
  {name: 'node-b', address: '10.0.0.2'},
]
const GROWN = fleet([...TWO, {name: 'node-c', address: '10.0.0.3'}])
const BEFORE = planFleet(fleet(TWO), {publicKeys: KEYS}).nodes[0]!
const AFTER = planFleet(GROWN, {publicKeys: KEYS}).nodes[0]!

function fastPlan(): PeerAddPlan {
  const decision = planPeerAdd(BEFORE.config, AFTER.config, {publicKey: PEER_C, routes: hostRoutes(GROWN.nodes[2]!)})
  if (decision.kind !== 'peer-add') throw new Error(`expected the fast path, got ${JSON.stringify(decision)}`)
  return decision.plan
}

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
})
afterEach(() => box.destroy())

const noLeftovers = () => expect(readdirSync(box.outside('/etc/wireguard')).filter((f) => f.startsWith('.'))).toEqual([])

describe('peer-add.sh → peerAddHost', () => {
  it('the file is the one last applied: the planned file installed, the entry set with the plan\'s values (its route is the interface prefix\'s: none added); nothing left to do', async () => {
    convergedNode(box, BEFORE.config)
    const shell = box.shell()
    const outcome = await peerAddHost(shell, 'wg0', fastPlan())
    expect(outcome).toEqual({kind: 'added'})
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(AFTER.config))
    expect(box.stat('/etc/wireguard/wg0.conf')).toMatchObject({mode: '600', uid: 0})
    const sets = box.fakes.calls().filter((c) => c.startsWith('wg set'))
    expect(sets).toEqual([`wg set wg0 peer ${PEER_C} endpoint 198.51.100.12:51820 allowed-ips 10.0.0.3/32 persistent-keepalive 25`])
    expect(box.fakes.calls().filter((c) => c.startsWith('ip '))).toEqual([])
    noLeftovers()
    // The interface is what the file says: a probe and the apply decision find nothing to do.
    expect(decideApply(await probeHost(box.shell(), 'wg0'), AFTER, 51820)).toMatchObject({needed: false})
    for (const run of shell.runs) expect(run.result.stdout + run.result.stderr).not.toContain(PRIVATE_KEY)
  })

  it('a relay entry gains the newcomer\'s route: its AllowedIPs set as the plan says', async () => {
    const nodes = [{name: 'node-a', address: '10.0.0.1', nat: true}, {name: 'node-b', address: '10.0.0.2', relay: true}]
    const grown = fleet([...nodes, {name: 'node-c', address: '10.0.0.3', nat: true}])
    const before = planFleet(fleet(nodes), {publicKeys: KEYS}).nodes[0]!
    const after = planFleet(grown, {publicKeys: KEYS}).nodes[0]!
    const decision = planPeerAdd(before.config, after.config, {publicKey: PEER_C, routes: hostRoutes(grown.nodes[2]!)})
    expect(decision.kind).toBe('peer-add')
    if (decision.kind !== 'peer-add') return
    convergedNode(box, before.config)
    expect(await peerAddHost(box.shell(), 'wg0', decision.plan)).toMatchObject({kind: 'added'})
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual([`wg set wg0 peer ${PEER_B} allowed-ips 10.0.0.2/32,10.0.0.3/32`])
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(after.config))
  })

  it('a file edited by hand: refused (digest), nothing written or set', async () => {
    convergedNode(box, BEFORE.config)
    const edited = filled(BEFORE.config).replace('PersistentKeepalive = 25', 'PersistentKeepalive = 15')
    box.write('/etc/wireguard/wg0.conf', edited, 0o600)
    box.fakes.clearCalls()
    expect(await peerAddHost(box.shell(), 'wg0', fastPlan())).toEqual({kind: 'refused', reason: 'digest'})
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(edited)
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set') || c.startsWith('ip route add'))).toEqual([])
    noLeftovers()
  })

  it('the interface down, or an apply unfinished: refused, nothing written', async () => {
    convergedNode(box, BEFORE.config)
    box.write('/etc/wireguard/.wg0.pending', '', 0o600)
    expect(await peerAddHost(box.shell(), 'wg0', fastPlan())).toEqual({kind: 'refused', reason: 'pending'})
    box.remove('/etc/wireguard/.wg0.pending')
    box.fakes.link('wg0', 'absent')
    expect(await peerAddHost(box.shell(), 'wg0', fastPlan())).toEqual({kind: 'refused', reason: 'down'})
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(BEFORE.config))
  })

  it('a payload cut short, or a malformed operation: refused before anything changes; an inherited xtrace prints no secret', async () => {
    convergedNode(box, BEFORE.config)
    const plan = fastPlan()
    const script = loadScript('peer-add')
    const args = ['wg0', plan.expectedDigest, String(Buffer.byteLength(plan.config)), '1']
    const line = `peer ${PEER_C} 198.51.100.12:51820 10.0.0.3/32 25\n`
    const cut = box.run(script, args, {input: line + plan.config.slice(0, 40), env: box.fakes.env()})
    expect(cut.code).not.toBe(0)
    expect(cut.stdout).toContain('error=the config arrived incomplete')
    // More than LEN bytes, no marker first, or two private key markers: each refused by the one awk that fills the key in.
    const refusedWith = (config: string, len = Buffer.byteLength(config)) => box.run(script, ['wg0', plan.expectedDigest, String(len), '1'], {input: line + config, env: box.fakes.env()})
    expect(refusedWith(plan.config + 'PostUp = reboot\n', Buffer.byteLength(plan.config)).stdout).toContain('error=the config arrived incomplete')
    expect(refusedWith('#' + plan.config.slice(plan.config.indexOf('\n'))).stdout).toContain('error=rendered config lacks the wgfleet marker')
    const twoKeys = plan.config.replace('ListenPort = 51820', 'PrivateKey = @WGFLEET_PRIVATE_KEY@')
    expect(refusedWith(twoKeys).stdout).toContain('error=rendered config must hold exactly one private key marker')
    expect(readdirSync(box.outside('/etc/wireguard')).filter((f) => f.startsWith('.'))).toEqual([])
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual([])
    expect(box.run(script, args, {input: `peer ${PEER_C} 198.51.100.12:51820 10.0.0.3/32;reboot 25\n` + plan.config, env: box.fakes.env()}).stdout).toContain('error=bad peer line')
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(BEFORE.config))
    const traced = box.run(script, args, {input: line + plan.config, env: {...box.fakes.env(), SHELLOPTS: 'xtrace'}})
    expect(traced.code).toBe(0)
    expect(traced.stdout + traced.stderr).not.toContain(PRIVATE_KEY)
  })
})
