/**
 * Contract of src/remote/apply.sh with its callers: the real probe.sh output read by parseProbeOutput,
 * the real decideApply, then the real apply.sh run by applyHost (src/tasks/host-steps.ts) — each script
 * by a real bash in a host sandbox against fake wg, wg-quick, ip, systemctl, sysctl, ufw. Proves: what
 * apply prints is what applyHost reads; the config is installed whole (private key filled in on the
 * host, 0600, root's) and a second probe finds nothing left to do; forwarding is recorded before it is
 * turned on; no secret is printed, even in an error or under an inherited xtrace; nothing lingers.
 */
import {readdirSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import type {NodePlan} from '../../../src/plan/index.js'
import {decideApply, type ApplyDecision} from '../../../src/tasks/decide.js'
import {applyHost, probeHost} from '../../../src/tasks/host-steps.js'
import type {RemoteShell} from '../../../src/tasks/remote-shell.js'
import {PEER_B, PRESHARED_KEY, PRIVATE_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {convergedNode, DUAL_NODE_A, filled, KEYS, NODE_A, NODE_A_BEFORE_C, withKey} from './node-fixture.js'
import {planFleet} from '../../../src/plan/index.js'
import {fleet} from '../../unit/plan/fixtures.js'

const FORWARD_RECORD = '/etc/wireguard/.ip_forward.before-wgfleet'

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
})
afterEach(() => box.destroy())

/** probe → decide → apply, as the converge does for one node. */
async function converge(plan: NodePlan = NODE_A, shell: RemoteShell = box.shell(), adopt = false) {
  const decision = decideApply(await probeHost(shell, 'wg0'), plan, 51820)
  const outcome = await applyHost(shell, {iface: 'wg0', decision, config: plan.config, adopt})
  return {decision, outcome}
}

async function nothingLeftToDo(plan: NodePlan = NODE_A): Promise<ApplyDecision> {
  return decideApply(await probeHost(box.shell(), 'wg0'), plan, 51820)
}

/** No temp file anywhere. The pending marker stays while keepalives are held back: verify.sh clears it. */
function noLeftovers(): void {
  expect(readdirSync(box.outside('/tmp/'))).toEqual([])
  expect(readdirSync(box.outside('/etc/wireguard')).filter((f) => f.startsWith('.wgfleet.'))).toEqual([])
}

/** What verify.sh's FINISH does once the handshakes are started: the interface is the file, the marker goes. */
function finishAsVerifyWould(): void {
  box.remove('/etc/wireguard/.wg0.pending')
}

describe('apply.sh → applyHost', () => {
  it('a fresh relay: config installed with the private key filled in, unit enabled and started, forwarding on; a second look finds nothing to do', async () => {
    withKey(box)
    const shell = box.shell()
    const {decision, outcome} = await converge(NODE_A, shell)
    expect(decision).toMatchObject({writeConfig: true, action: 'start', forward: true, enable: true})
    // Its peer entries come up fresh (no keepalive yet: verify starts one handshake per pair later).
    // Its routes are added after the bring-up (this fake has no prefix route of the Address to cover them).
    expect(outcome).toEqual({configWritten: true, backup: undefined, service: 'started', enabled: true, firewall: [], forwarding: true, routes: ['added 10.0.0.2/32', 'added 10.0.0.3/32'], warnings: [], fresh: NODE_A.peers.map((p) => p.publicKey), keepaliveHeld: true})

    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(NODE_A.config))
    expect(box.stat('/etc/wireguard/wg0.conf')).toEqual({mode: '600', uid: 0})
    expect(box.fakes.linkState('wg0')).toBe('up')
    expect(box.fakes.loaded('wg0')).toContain(`PrivateKey = ${PRIVATE_KEY}`)
    expect(box.fakes.unitState('wg-quick@wg0')).toEqual({enabled: 'enabled', active: 'active'})
    expect(box.read('/etc/sysctl.d/99-wgfleet.conf')).toBe('net.ipv4.ip_forward = 1\n')
    expect(box.ipForward).toBe('1')
    // What forwarding was before wgfleet turned it on: root's only.
    expect(box.read(FORWARD_RECORD)).toBe('0\n')
    expect(box.stat(FORWARD_RECORD).mode).toBe('600')

    for (const run of shell.runs) expect(run.result.stdout + run.result.stderr).not.toContain(PRIVATE_KEY)
    noLeftovers()
    finishAsVerifyWould()
    expect(await nothingLeftToDo()).toMatchObject({writeConfig: false, action: 'none', needed: false})
  })

  it('forwarding already on (Docker, libvirt, networkd): recorded as on, the running value left alone', async () => {
    withKey(box)
    box.ipForward = '1'
    const {outcome} = await converge()
    expect(outcome.forwarding).toBe(true) // the persistent file was written
    expect(box.read(FORWARD_RECORD)).toBe('1\n')
    expect(box.fakes.calls().some((c) => c.startsWith('sysctl'))).toBe(false)
  })

  it('the record is made once: a later apply (forwarding on by then) keeps the value from before wgfleet', async () => {
    withKey(box)
    await converge()
    box.remove('/etc/sysctl.d/99-wgfleet.conf') // someone removed the file: apply writes it again
    const {outcome} = await converge()
    expect(outcome.forwarding).toBe(true)
    expect(box.read(FORWARD_RECORD)).toBe('0\n')
  })

  it('a dual-stack relay: IPv6 forwarding on too, recorded, persistent; the RA-learnt uplink keeps accepting router advertisements', async () => {
    withKey(box)
    // lo plays the uplink whose IPv6 default route came from a router advertisement.
    box.fakes.set('default-route6-ra', 'default via fe80::1 dev lo proto ra metric 1024 expires 1790sec hoplimit 64 pref medium\n')
    const {decision, outcome} = await converge(DUAL_NODE_A)
    expect(decision).toMatchObject({forward: true, forward6: true})
    expect(outcome.forwarding).toBe(true)
    expect(box.read('/etc/sysctl.d/99-wgfleet.conf')).toBe('net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\nnet/ipv6/conf/lo/accept_ra = 2\n')
    expect([box.ipForward, box.ip6Forward, box.loAcceptRa]).toEqual(['1', '1', '2'])
    expect(box.read('/etc/wireguard/.ipv6_forward.before-wgfleet')).toBe('0\n')
    finishAsVerifyWould()
    expect(await nothingLeftToDo(DUAL_NODE_A)).toMatchObject({needed: false})
    // IPv6 forwarding lost (set by hand), and the RA route gone for now: put back; the accept_ra line made
    // earlier is kept (accept_ra reads 2 now, so it is no longer "1 and forwarding").
    box.ip6Forward = '0'
    box.fakes.set('default-route6-ra', null)
    expect(await nothingLeftToDo(DUAL_NODE_A)).toMatchObject({needed: true, forward6: true})
    await converge(DUAL_NODE_A)
    expect(box.ip6Forward).toBe('1')
    expect(box.read('/etc/sysctl.d/99-wgfleet.conf')).toBe('net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\nnet/ipv6/conf/lo/accept_ra = 2\n')
  })

  it('dual stack on a host with IPv6 disabled: refused before anything is written', async () => {
    withKey(box)
    box.write('/etc/sysctl.d/.keep', '')
    const shell = box.shell()
    const probe = await probeHost(shell, 'wg0')
    expect(() => decideApply({...probe, ipv6Disabled: true}, DUAL_NODE_A, 51820)).toThrow(/IPv6 is disabled on this host/)
    expect(box.exists('/etc/wireguard/wg0.conf')).toBe(false)
  })

  it('a node that is not a relay: no forwarding, no record', async () => {
    withKey(box)
    await converge(NODE_A_BEFORE_C)
    expect(box.exists('/etc/sysctl.d/99-wgfleet.conf')).toBe(false)
    expect(box.exists(FORWARD_RECORD)).toBe(false)
    expect(box.ipForward).toBe('0')
  })

  it('a syncconf clears a preshared key the config no longer gives (wg syncconf keeps what a file does not set)', async () => {
    convergedNode(box, NODE_A_BEFORE_C.config)
    // node-b's entry runs with a key from before (preshared keys since turned off): the file has none.
    box.write('/tmp/psk', `${PRESHARED_KEY}\n`, 0o600)
    box.sh(`wg set wg0 peer ${PEER_B} preshared-key /tmp/psk`)
    expect(box.fakes.loaded('wg0')).toContain(`PresharedKey = ${PRESHARED_KEY}`)
    const {decision} = await converge(NODE_A)
    expect(decision.action).toBe('syncconf')
    expect(box.fakes.loaded('wg0')).not.toContain('PresharedKey')
    expect(box.fakes.calls()).toContain(`wg set wg0 peer ${PEER_B} preshared-key /dev/null`)
  })

  it('a peer joins a running node: backup kept, wg syncconf from the stripped config, a route for the new AllowedIPs', async () => {
    convergedNode(box, NODE_A_BEFORE_C.config)
    const {decision, outcome} = await converge(NODE_A)
    expect(decision.action).toBe('syncconf')
    expect(outcome).toMatchObject({configWritten: true, backup: '/etc/wireguard/wg0.conf.bak', service: 'synced', routes: ['added 10.0.0.3/32']})
    expect(box.read('/etc/wireguard/wg0.conf.bak')).toBe(filled(NODE_A_BEFORE_C.config))
    expect(box.stat('/etc/wireguard/wg0.conf.bak').mode).toBe('600')
    // Synced from a held copy (keepalives of new entries left out until verify), in a private temp folder.
    expect(box.fakes.calls().some((c) => /^wg syncconf wg0 \/etc\/wireguard\/\.wgfleet\.\w+\/held$/.test(c))).toBe(true)
    expect(box.fakes.calls()).toContain('ip route add 10.0.0.3/32 dev wg0')
    // The interface runs the new peers, and no address-only keys (wg-quick's) reached wg.
    expect(box.fakes.loaded('wg0')).toContain('AllowedIPs = 10.0.0.3/32')
    expect(box.fakes.loaded('wg0')).not.toMatch(/^Address/m)
    noLeftovers()
    // verify.sh then sets the held keepalives from the file (the interface is what the file says).
    finishAsVerifyWould()
    expect(await nothingLeftToDo()).toMatchObject({needed: false})
  })

  it('routes in one pass: one read of the interface\'s routes, a covering prefix counts, no query per AllowedIP', async () => {
    convergedNode(box, NODE_A_BEFORE_C.config)
    box.fakes.set('routes', '10.0.0.0/25 dev wg0\n10.0.0.2/32 dev wg0\n')
    const {outcome} = await converge(NODE_A)
    expect(outcome).toMatchObject({service: 'synced', routes: []})
    // (The other `ip route` calls are the probe's and the link guard's default-route checks.)
    const routeCalls = box.fakes.calls().filter((c) => /^ip .*route (show dev wg0|add)|match/.test(c))
    expect(routeCalls).toEqual(['ip -4 route show dev wg0'])
  })

  it('a config wgfleet did not write: refused (exit 31) and left as it was; with --adopt backed up, then replaced', async () => {
    withKey(box)
    box.write('/etc/wireguard/wg0.conf', '[Interface]\nPrivateKey = hand-made\n', 0o600)
    const shell = box.shell()
    await expect(converge(NODE_A, shell)).rejects.toThrow(/was not written by wgfleet; rerun with --adopt/)
    expect(shell.runs.at(-1)!.result.code).toBe(31)
    expect(box.read('/etc/wireguard/wg0.conf')).toBe('[Interface]\nPrivateKey = hand-made\n')

    const {outcome} = await converge(NODE_A, box.shell(), true)
    expect(outcome).toMatchObject({configWritten: true, backup: '/etc/wireguard/wg0.conf.bak'})
    expect(box.read('/etc/wireguard/wg0.conf.bak')).toBe('[Interface]\nPrivateKey = hand-made\n')
  })

  it('enables the unit only when told (ENABLE is the decision, not asked of systemctl here); a bad ENABLE is refused', () => {
    convergedNode(box)
    box.sh('systemctl disable wg-quick@wg0')
    const run = (enable: string) => box.run(loadScript('apply'), ['wg0', 'no', 'none', enable, 'no', 'no', '0'])
    expect(run('no').stdout).not.toMatch(/^enabled=/m)
    expect(box.fakes.unitState('wg-quick@wg0').enabled).toBe('disabled')
    expect(run('yes').stdout).toMatch(/^enabled=yes$/m)
    expect(box.fakes.unitState('wg-quick@wg0').enabled).toBe('enabled')
    const bad = run('maybe')
    expect([bad.code, bad.stdout.trim()]).toEqual([2, 'error=bad ENABLE maybe'])
  })

  it('a payload cut short is refused: nothing changes', () => {
    withKey(box)
    const argv = ['wg0', 'yes', 'start', 'yes', 'no', 'no', String(Buffer.byteLength(NODE_A.config) + 10)]
    const run = box.run(loadScript('apply'), argv, {input: NODE_A.config})
    expect(run.code).toBe(30)
    expect(run.stdout).toMatch(/^error=the config arrived incomplete \(\d+ of \d+ bytes\): nothing changed$/m)
    expect(box.exists('/etc/wireguard/wg0.conf')).toBe(false)
    expect(box.fakes.linkState('wg0')).toBe('absent')
    noLeftovers()
  })

  it('an apply cut off after the rename: the next probe sees it pending, and the interface is restarted from the file', async () => {
    convergedNode(box)
    box.write('/etc/wireguard/.wg0.pending', '')
    const {decision, outcome} = await converge()
    expect(decision.action).toBe('restart')
    expect(outcome.service).toBe('restarted')
    // The keepalives are held back until verify has started the handshakes: the marker stays until then.
    expect(outcome.keepaliveHeld).toBe(true)
    expect(box.exists('/etc/wireguard/.wg0.pending')).toBe(true)
  })

  it('a restart drops the masquerade only the old config added (subnet_snat turned off); the one both have stays to the new PostDown', async () => {
    const two = fleet([{name: 'node-a', address: '10.0.0.1', relay: true}, {name: 'node-b', address: '10.0.0.2'}])
    const withSubnets = {...two, nodes: two.nodes.map((n, i) => (i === 0 ? {...n, subnets: ['198.19.1.0/24', '198.19.2.0/24'], subnetSnat: true} : n))}
    const before = planFleet(withSubnets, {publicKeys: KEYS}).nodes[0]!
    convergedNode(box, before.config)
    box.fakes.install('iptables')
    box.fakes.set('route-table', 'default via 203.0.113.254 dev eth0\n198.19.0.0/16 dev eth1 scope link\n')
    // The new config keeps one of the two masquerades (198.19.2.0/24 moved away is the other's).
    const after = {...before, subnets: ['198.19.1.0/24']}
    const text = before.config.split('\n').filter((l) => !l.includes('198.19.2.0/24')).join('\n')
    const {decision, outcome} = await converge({...after, config: text})
    expect(decision.action).toBe('restart')
    expect(outcome.service).toBe('restarted')
    expect(box.fakes.calls().filter((c) => c.startsWith('iptables'))).toEqual(['iptables -t nat -D POSTROUTING -s 10.0.0.0/24 -d 198.19.2.0/24 -j MASQUERADE'])
    // A backup that is not wgfleet's is never read for rules.
    box.write('/etc/wireguard/wg0.conf.bak', '[Interface]\nPostDown = iptables -t nat -D POSTROUTING -s 10.0.0.0/24 -d 198.19.9.0/24 -j MASQUERADE\n')
    box.write('/etc/wireguard/.wg0.pending', '')
    box.fakes.clearCalls()
    await converge({...after, config: text})
    expect(box.fakes.calls().filter((c) => c.startsWith('iptables'))).toEqual([])
  })

  it('no systemd: wg-quick up, and a warning that it will not survive a reboot', async () => {
    box.destroy()
    box = new HostSandbox({systemd: false})
    withKey(box)
    const {outcome} = await converge()
    expect(outcome).toMatchObject({service: 'started', enabled: false, warnings: [expect.stringMatching(/will not come back after a reboot/)]})
    expect(box.fakes.calls()).toContain('wg-quick up wg0')
  })

  it('a unit that fails to start: the journal lines in the error are masked like config text', async () => {
    withKey(box)
    box.fakes.set('wg-quick-fail', 'RTNETLINK answers: Operation not supported')
    box.fakes.set('journal', `wg-quick[1]: [#] wg set wg0 peer ${PEER_B} preshared-key <(echo ${PRESHARED_KEY})\nwg-quick[1]: PrivateKey = ${PRIVATE_KEY}\nsystemd[1]: Failed to start WireGuard via wg-quick(8) for wg0.\n`)
    const shell = box.shell()
    const failure = await converge(NODE_A, shell).catch((error: Error) => error)
    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toMatch(/systemctl start wg-quick@wg0 failed: .*\(hidden key\).*Failed to start/)
    for (const run of shell.runs) for (const secret of [PRIVATE_KEY, PRESHARED_KEY]) expect(run.result.stdout + run.result.stderr).not.toContain(secret)
  })

  it('an inherited xtrace (SHELLOPTS=xtrace) prints no secret', async () => {
    withKey(box)
    const shell = box.shell('node-a', {SHELLOPTS: 'xtrace'})
    await converge(NODE_A, shell)
    const apply = shell.runs.at(-1)!.result
    expect(apply.stderr).toContain('+ set +xv')
    expect(apply.stdout + apply.stderr).not.toContain(PRIVATE_KEY)
  })

  it('ufw active: the port and the forwarding between peers allowed, once', async () => {
    withKey(box)
    box.fakes.install('ufw')
    box.fakes.ufw('active', ['22/tcp                     ALLOW IN    Anywhere'])
    const {outcome} = await converge()
    expect(outcome.firewall).toEqual([
      {kind: 'ufw-allow', port: 51820},
      {kind: 'ufw-route', in: 'wg0', out: 'wg0'},
    ])
    expect(box.fakes.ufwRules()).toHaveLength(3)
    finishAsVerifyWould()
    expect(await nothingLeftToDo()).toMatchObject({firewall: {actions: []}, needed: false})
  })
})

describe('apply.sh: the MTU of a first bring-up (wg-quick\'s own choice, made once)', () => {
  const endpoints = (config: string) => [...config.matchAll(/^Endpoint = (.*):\d+$/gm)].map((m) => m[1]!.replace(/^\[|\]$/g, ''))
  const batches = () => box.fakes.calls().filter((c) => c.startsWith('ip ') && c.includes('-batch'))

  it('asks the routing table once for every endpoint and sets the largest MTU found less 80; the file keeps no MTU', async () => {
    withKey(box)
    const [first, ...others] = endpoints(NODE_A.config)
    expect(first).toBeDefined()
    // One endpoint goes out of a jumbo-frame link, one has no route (left out, as wg-quick's loop does).
    box.fakes.set('underlay', 'eth0 1500\neth1 9000\n')
    box.fakes.set('route-get', `${first}|${first} dev eth1 src 198.51.100.1 uid 0 \\    cache \n${others[0] ?? '-'}|unreachable\n`)
    const {outcome} = await converge()
    expect(outcome.service).toBe('started')
    expect(batches()).toEqual(['ip -o -force -batch -'])
    expect(box.fakes.calls().filter((c) => c.startsWith('ip batch: ')).sort()).toEqual(endpoints(NODE_A.config).map((e) => `ip batch: route get ${e}`).sort())
    expect(box.fakes.get('wg0.mtu')).toBe('8920\n')
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(NODE_A.config))
    noLeftovers()
  })

  it('a route\'s own mtu wins over its link\'s, as in wg-quick; the largest over all endpoints counts, past one without a route', async () => {
    withKey(box)
    const three = planFleet(fleet([{name: 'node-a', address: '10.0.0.1'}, {name: 'node-b', address: '10.0.0.2'}, {name: 'node-c', address: '10.0.0.3'}]), {publicKeys: KEYS}).nodes[0]!
    const [b, c] = endpoints(three.config)
    expect(c).toBeDefined()
    box.fakes.set('underlay', 'eth0 1500\neth1 1380\n')
    box.fakes.set('route-get', `${b}|${b} via 198.51.100.254 dev eth0 src 198.51.100.1 uid 0 \\    cache mtu 1400 \n${c}|${c} dev eth1 src 198.51.100.1 uid 0 \\    cache \n`)
    await converge(three)
    expect(box.fakes.get('wg0.mtu')).toBe('1320\n')
    box.sh('systemctl stop wg-quick@wg0')
    box.remove('/etc/wireguard/wg0.conf')
    box.fakes.set('route-get', `${b}|${b} dev eth1 src 198.51.100.1 uid 0 \\    cache \n`)
    await converge(three)
    expect(box.fakes.get('wg0.mtu')).toBe('1420\n')
    // An endpoint without a route does not hide the ones after it.
    box.sh('systemctl stop wg-quick@wg0')
    box.remove('/etc/wireguard/wg0.conf')
    box.fakes.set('underlay', 'eth0 1500\neth1 9000\n')
    box.fakes.set('route-get', `${b}|unreachable\n${c}|${c} dev eth1 src 198.51.100.1 uid 0 \\    cache \n`)
    await converge(three)
    expect(box.fakes.get('wg0.mtu')).toBe('8920\n')
  })

  it('left to wg-quick when the config names an MTU, when an endpoint is a name, and on a restart', async () => {
    withKey(box)
    const withMtu = planFleet(fleet([{name: 'node-a', address: '10.0.0.1'}, {name: 'node-b', address: '10.0.0.2'}], {mtu: 1380}), {publicKeys: KEYS}).nodes[0]!
    await converge(withMtu)
    expect(batches()).toEqual([])
    expect(box.fakes.get('wg0.mtu')).toBe('1380\n')

    const named = planFleet(fleet([{name: 'node-a', address: '10.0.0.1'}, {name: 'node-b', address: '10.0.0.2', host: 'node-b.example.net'}]), {publicKeys: KEYS}).nodes[0]!
    expect(named.config).toMatch(/^Endpoint = node-b\.example\.net:/m)
    box.sh('systemctl stop wg-quick@wg0')
    box.remove('/etc/wireguard/wg0.conf')
    box.fakes.clearCalls()
    await converge(named)
    expect(batches()).toEqual([])
    expect(box.fakes.get('wg0.mtu')).toBe('auto\n')

    convergedNode(box)
    box.write('/etc/wireguard/.wg0.pending', '')
    const {outcome} = await converge()
    expect(outcome.service).toBe('restarted')
    expect(batches()).toEqual([])
    expect(box.fakes.get('wg0.mtu')).toBe('auto\n')
  })
})

describe('apply.sh: the routes of a first bring-up (added in one pass after it, not by wg-quick per AllowedIP)', () => {
  const routeQueries = () => box.fakes.calls().filter((c) => /^ip .*route (show dev wg0|add)|match/.test(c))

  it('brings the interface up with Table = off, then reads its routes once and adds what is not covered; the file keeps no Table', async () => {
    withKey(box)
    // Routes already on the interface count (here node-b's /32; a covering prefix is the syncconf test's case,
    // the same add_missing_routes).
    box.fakes.set('routes', '10.0.0.0/31 dev wg0\n10.0.0.2/32 dev wg0\n')
    const {outcome} = await converge()
    expect(outcome).toMatchObject({service: 'started', routes: ['added 10.0.0.3/32']})
    expect(box.fakes.get('wg0.table')).toBe('off\n')
    expect(routeQueries()).toEqual(['ip -4 route show dev wg0', 'ip route add 10.0.0.3/32 dev wg0'])
    expect(box.fakes.get('routes')).toContain('10.0.0.3/32 dev wg0')
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(filled(NODE_A.config))
    noLeftovers()
    finishAsVerifyWould()
    expect(await nothingLeftToDo()).toMatchObject({needed: false})
  })

  it('a route that cannot be added fails the apply and leaves the pending marker: the next run brings the interface up again from the file', async () => {
    // Nothing else sets the marker here: the file is unchanged (the interface was only down) and no
    // keepalive is held back (keepalive 0).
    const quiet = planFleet(fleet([{name: 'node-a', address: '10.0.0.1'}, {name: 'node-b', address: '10.0.0.2'}], {keepalive: 0}), {publicKeys: KEYS}).nodes[0]!
    convergedNode(box, quiet.config)
    box.sh('systemctl stop wg-quick@wg0')
    box.fakes.set('route-add-fail', 'RTNETLINK answers: Invalid argument\n')
    const probe = await probeHost(box.shell(), 'wg0')
    const decision = decideApply(probe, quiet, 51820)
    expect(decision).toMatchObject({writeConfig: false, action: 'start'})
    await expect(applyHost(box.shell(), {iface: 'wg0', decision, config: quiet.config, adopt: false})).rejects.toThrow(/could not add the route 10\.0\.0\.2\/32 dev wg0/)
    expect(box.exists('/etc/wireguard/.wg0.pending')).toBe(true)
    box.fakes.set('route-add-fail', null)
    const {decision: again, outcome} = await converge(quiet)
    expect(again.action).toBe('restart')
    expect(outcome.service).toBe('restarted')
    expect(box.fakes.get('wg0.table')).toBe('auto\n')
    expect(box.fakes.get('routes')).toContain('10.0.0.2/32 dev wg0')
  })

  it('left to wg-quick when the config has hooks (an exit\'s PostUp), routes a /0 (its client, also behind a comment), names a Table, and on a restart', async () => {
    const exiting = planFleet(fleet([{name: 'node-a', address: '10.0.0.1'}, {name: 'node-b', address: '10.0.0.2', exitVia: 'node-a'}]), {publicKeys: KEYS})
    // The uplink as the converge fills it in from the probe.
    const [exit, client] = exiting.nodes.map((n) => ({...n, config: n.config.replaceAll('@WGFLEET_UPLINK@', 'eth0')}))
    expect(exit!.config).toMatch(/^PostUp = /m)
    expect(client!.config).toMatch(/^AllowedIPs = .*0\.0\.0\.0\/0/m)
    const ownTable = {...NODE_A, config: NODE_A.config.replace(/^\[Interface\]$/m, '[Interface]\nTable = 1234')}
    const commented = {...client!, config: client!.config.replace(/^(AllowedIPs = .*0\.0\.0\.0\/0.*)$/m, '$1 # the exit')}
    expect(commented.config).toMatch(/# the exit$/m)
    for (const plan of [exit!, client!, ownTable, commented]) {
      box.destroy()
      box = new HostSandbox()
      withKey(box)
      box.fakes.set('default-route', 'default via 198.51.100.254 dev eth0 proto static\n')
      await converge(plan)
      expect(box.fakes.get('wg0.table')).toBe(plan === ownTable ? '1234\n' : 'auto\n')
      expect(routeQueries()).not.toContain('ip -4 route show dev wg0')
    }

    box.destroy()
    box = new HostSandbox()
    convergedNode(box)
    box.write('/etc/wireguard/.wg0.pending', '')
    const {outcome} = await converge()
    expect(outcome.service).toBe('restarted')
    expect(box.fakes.get('wg0.table')).toBe('auto\n')
    expect(routeQueries()).not.toContain('ip -4 route show dev wg0')
  })
})
