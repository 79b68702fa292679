/**
 * The firewall contract of src/remote/apply.sh, and of teardown.sh (which removes what apply adds), run by
 * a real bash in a host sandbox (test/helpers/host-sandbox.ts) against the shared fake `ufw` and
 * `firewall-cmd` (test/helpers/fake-bin), which record their calls and hold the firewall's rules, zones and
 * policies. Proves: apply.sh runs exactly the firewall actions it is given, in order, and nothing else — it
 * never asks a firewall for its status to decide on its own; what it leaves is what the verdict wanted (the
 * real probe.sh reads it back, and the verdict finds nothing left to do); a token outside the grammar stops
 * it before anything changes; a failing command fails the apply, saying which; and teardown --purge removes
 * each kind of thing apply adds.
 */
import {spawnSync} from 'node:child_process'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {actionCommands, encodeAction, type FirewallAction} from '../../../src/firewall/actions.js'
import {firewallVerdict, type FirewallNeeds} from '../../../src/firewall/verdict.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {probeHost} from '../../../src/tasks/host-steps.js'
import {readingsOf, firewalldLines, publicZone, type ZoneSpec} from '../../fixtures/firewall.js'
import {BASH} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {convergedNode, withKey} from '../remote/node-fixture.js'

let box: HostSandbox

beforeEach(() => {
  box = new HostSandbox({installed: ['wg', 'wg-quick', 'ufw', 'firewall-cmd']})
  // /etc/wireguard as prepare.sh leaves it: apply.sh's permission check finds nothing to fix.
  withKey(box)
  box.fakes.set('default-route', 'default via 203.0.113.254 dev eth0 onlink\n')
})
afterEach(() => box.destroy())

/** A script run as RemoteShell runs it (`bash -s -- ARGS`, the script on stdin): its output and the calls the fakes recorded. */
function runScript(script: 'apply' | 'teardown', args: string[]) {
  box.sh('true') // the pending set-up first, so its calls are not counted
  box.fakes.clearCalls()
  const result = box.run(loadScript(script), args)
  const calls = box.fakes.calls()
  return {code: result.code, stdout: result.stdout, stderr: result.stderr, calls, firewallCalls: calls.filter((c) => /^(ufw|firewall-cmd) /.test(c))}
}

/** apply.sh IFACE WRITE ACTION ENABLE FORWARD ADOPT LEN, then one token per firewall action. */
const runApply = (tokens: string[]) => runScript('apply', ['wg0', 'no', 'none', 'no', 'no', 'no', '0', ...tokens])

/** teardown.sh IFACE PORT PURGE on a converged node: the firewall changes it makes (queries left out). */
function runTeardown() {
  convergedNode(box)
  const run = runScript('teardown', ['wg0', '51820', 'yes'])
  return {...run, changes: run.firewallCalls.filter((c) => !/ (status|--state|--get-[a-z-]+(=\S+)?)$/.test(c))}
}

/** A fresh relay and exit: node-a's needs, dialed over IPv4, uplink eth0. */
const RELAY_EXIT: FirewallNeeds = {port: 51820, iface: 'wg0', forward: true, exit: true, uplink: 'eth0', family: 'ipv4'}

/** The verdict on what the real probe.sh reads from the fake firewalls now. */
async function verdictNow() {
  return firewallVerdict(await probeHost(box.shell(), 'wg0'), RELAY_EXIT)
}

/** The calls apply.sh makes for an action: its commands, quiet (-q), with ufw's comment. */
function expectedCalls(action: FirewallAction): string[] {
  return actionCommands(action).map((c) => (c.startsWith('ufw ') ? `${c} comment wgfleet` : c.replace(/^firewall-cmd /, 'firewall-cmd -q ')))
}

const UFW_RELAY_EXIT: FirewallAction[] = [
  {kind: 'ufw-allow', port: 51820},
  {kind: 'ufw-route', in: 'wg0', out: 'wg0'},
  {kind: 'ufw-route', in: 'wg0', out: 'eth0'},
]

describe('apply.sh runs exactly the firewall actions it is given', () => {
  it('ufw: the port and the route rules, in order, each reported; no status read, nothing else; the probe then finds nothing to do', async () => {
    box.fakes.ufw('active', ['22/tcp                     ALLOW IN    Anywhere'])
    const run = runApply(UFW_RELAY_EXIT.map(encodeAction))
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual(['ufw allow 51820/udp comment wgfleet', 'ufw route allow in on wg0 out on wg0 comment wgfleet', 'ufw route allow in on wg0 out on eth0 comment wgfleet'])
    expect(run.stdout.split('\n').filter((l) => l.startsWith('firewall='))).toEqual(UFW_RELAY_EXIT.map((a) => `firewall=${encodeAction(a)}`))
    expect(run.stdout).toMatch(/^done=yes$/m)
    expect(box.fakes.ufwRules()).toHaveLength(4)
    expect(await verdictNow()).toMatchObject({firewall: 'ufw', port: 'open', forward: 'allowed', exitForward: 'allowed', actions: []})
  })

  it('firewalld: a fresh exit node as the verdict plans it — zone, forwarding, interface, policy, reload — runtime and permanent exactly as told; the probe then finds nothing to do', async () => {
    const zones: ZoneSpec[] = [publicZone(), {name: 'trusted', target: 'ACCEPT'}]
    box.fakes.firewalld('running', {runtime: zones, permanent: zones})
    const verdict = await verdictNow()
    // The probe read what the listings say (the verdict table's own input, built the same way).
    expect(verdict).toEqual(firewallVerdict(readingsOf(firewalldLines({runtime: zones})), RELAY_EXIT))
    const run = runApply(verdict.actions.map(encodeAction))
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual(verdict.actions.flatMap(expectedCalls))
    expect(run.firewallCalls).toEqual([
      'firewall-cmd -q --zone=public --add-port=51820/udp',
      'firewall-cmd -q --permanent --zone=public --add-port=51820/udp',
      'firewall-cmd -q --permanent --new-zone=wgfleet',
      'firewall-cmd -q --permanent --zone=wgfleet --add-service=ssh',
      'firewall-cmd -q --permanent --zone=wgfleet --add-forward',
      'firewall-cmd -q --permanent --zone=wgfleet --change-interface=wg0',
      'firewall-cmd -q --permanent --new-policy=wgfleet-exit',
      'firewall-cmd -q --permanent --policy=wgfleet-exit --set-target=ACCEPT',
      'firewall-cmd -q --permanent --policy=wgfleet-exit --add-ingress-zone=wgfleet',
      'firewall-cmd -q --permanent --policy=wgfleet-exit --add-egress-zone=ANY',
      'firewall-cmd -q --reload',
    ])
    for (const scope of ['runtime', 'permanent'] as const) {
      // Peers forward to each other inside zone wgfleet (intra-zone forwarding); the exit's policy lets them out.
      expect(box.fakes.firewalldZone(scope, 'wgfleet')).toEqual({name: 'wgfleet', target: 'default', interfaces: ['wg0'], services: ['ssh'], ports: [], forward: true})
      expect(box.fakes.firewalldPolicy(scope, 'wgfleet-exit')).toEqual({name: 'wgfleet-exit', target: 'ACCEPT', ingress: ['wgfleet'], egress: ['ANY']})
      expect(box.fakes.firewalldPolicy(scope, 'wgfleet-forward')).toBeNull()
      expect(box.fakes.firewalldZone(scope, 'public')?.ports).toEqual(['51820/udp'])
      expect(box.fakes.firewalldZone(scope, 'trusted')?.interfaces).toEqual([])
    }
    expect(await verdictNow()).toMatchObject({firewall: 'firewalld', port: 'open', forward: 'allowed', exitForward: 'allowed', actions: [], blocker: null})
  })

  it('runtime only, permanent only: one call each', () => {
    const zones: ZoneSpec[] = [publicZone(), {name: 'external', target: 'default'}, {name: 'wgfleet', services: ['ssh']}]
    const policies = [{name: 'wgfleet-forward', target: 'ACCEPT', ingress: ['wgfleet'], egress: ['wgfleet']}]
    box.fakes.firewalld('running', {runtime: zones, permanent: zones, policies})
    const actions: FirewallAction[] = [
      {kind: 'firewalld-port', zone: 'external', port: 51821, runtime: true, permanent: false},
      {kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: false, permanent: true},
      {kind: 'firewalld-zone-forward', zone: 'wgfleet', runtime: true, permanent: true},
      {kind: 'firewalld-policy-zone', policy: 'wgfleet-forward', side: 'egress', zone: 'external', runtime: true, permanent: false},
    ]
    const run = runApply(actions.map(encodeAction))
    expect(run.code, run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual([
      'firewall-cmd -q --zone=external --add-port=51821/udp',
      'firewall-cmd -q --permanent --zone=wgfleet --change-interface=wg0',
      'firewall-cmd -q --zone=wgfleet --add-forward',
      'firewall-cmd -q --permanent --zone=wgfleet --add-forward',
      'firewall-cmd -q --policy=wgfleet-forward --add-egress-zone=external',
    ])
    expect([box.fakes.firewalldZone('runtime', 'external')?.ports, box.fakes.firewalldZone('permanent', 'external')?.ports]).toEqual([['51821/udp'], []])
    expect([box.fakes.firewalldZone('runtime', 'wgfleet')?.interfaces, box.fakes.firewalldZone('permanent', 'wgfleet')?.interfaces]).toEqual([[], ['wg0']])
    expect([box.fakes.firewalldZone('runtime', 'wgfleet')?.forward, box.fakes.firewalldZone('permanent', 'wgfleet')?.forward]).toEqual([true, true])
    expect([box.fakes.firewalldPolicy('runtime', 'wgfleet-forward')?.egress, box.fakes.firewalldPolicy('permanent', 'wgfleet-forward')?.egress]).toEqual([['wgfleet', 'external'], ['wgfleet']])
  })

  it('no actions: no firewall command at all (an active ufw or firewalld is not even asked)', () => {
    box.fakes.ufw('active')
    box.fakes.firewalld('running')
    const run = runApply([])
    expect(run.code, run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual([])
    expect(run.stdout).not.toMatch(/^firewall=/m)
  })

  it.each([
    ['a zone that is an option', 'firewalld-port:--reload:51820:runtime'],
    ['a shell word in an interface', 'ufw-route:wg0:eth0;reboot'],
    ['a zone other than wgfleet\'s to create', 'firewalld-new-zone:trusted'],
    ['a policy other than wgfleet\'s', 'firewalld-policy-zone:allow-host-ipv6:egress:ANY:runtime'],
    ['the trusted zone for the interface', 'firewalld-interface:trusted:wg0:runtime,permanent'],
    ['a port out of range', 'ufw-allow:0'],
    ['an unknown scope', 'firewalld-port:public:51820:always'],
    ['an unknown action', 'iptables-flush'],
    ['a space', 'ufw-allow:51820 51821'],
  ])('refuses %s before anything changes (exit 2, no firewall call, not even the valid ones before it)', (_name, bad) => {
    const run = runApply([encodeAction({kind: 'ufw-allow', port: 51820}), bad])
    expect(run.code).toBe(2)
    expect(run.stdout).toContain(`error=bad firewall action ${bad}`)
    expect(run.calls).toEqual([])
  })

  it('a failing command fails the apply, saying which; nothing after it runs', () => {
    box.fakes.set('ufw.fail', 'route allow in on wg0 out on wg0 comment wgfleet\n')
    const run = runApply(UFW_RELAY_EXIT.map(encodeAction))
    expect(run.code).toBe(30)
    expect(run.stdout).toContain('error=ufw route allow in on wg0 out on wg0 failed')
    expect(run.firewallCalls).toEqual(['ufw allow 51820/udp comment wgfleet', 'ufw route allow in on wg0 out on wg0 comment wgfleet'])
    expect(run.stdout).not.toMatch(/^done=yes$/m)
  })

  it('is valid bash (bash -n)', () => {
    const check = spawnSync(BASH, ['-n'], {input: loadScript('apply'), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})

describe('teardown.sh --purge removes what apply.sh adds', () => {
  it('ufw: the port, the route on the interface and an exit\'s route to the uplink', () => {
    box.fakes.ufw('active', ['22/tcp                     ALLOW IN    Anywhere'])
    expect(runApply(UFW_RELAY_EXIT.map(encodeAction)).code).toBe(0)
    const run = runTeardown()
    expect(run.code, run.stderr).toBe(0)
    expect(run.changes).toEqual([
      'ufw delete allow 51820/udp',
      'ufw route delete allow in on wg0 out on wg0',
      'ufw route delete allow in on wg0 out on eth0',
    ])
    expect(box.fakes.ufwRules()).toEqual(['22/tcp                     ALLOW IN    Anywhere'])
  })

  it('firewalld: the port in the uplink\'s zone, the interface out of zone wgfleet, policies and zone deleted — the trusted zone untouched, no reload', async () => {
    const zones: ZoneSpec[] = [publicZone(), {name: 'trusted', target: 'ACCEPT', interfaces: ['lo']}]
    box.fakes.firewalld('running', {runtime: zones, permanent: zones})
    expect(runApply((await verdictNow()).actions.map(encodeAction)).code).toBe(0)
    const run = runTeardown()
    expect(run.code, run.stderr).toBe(0)
    expect(run.changes).toEqual([
      'firewall-cmd -q --permanent --zone=public --remove-port=51820/udp',
      'firewall-cmd -q --zone=public --remove-port=51820/udp',
      'firewall-cmd -q --zone=wgfleet --remove-interface=wg0',
      'firewall-cmd -q --permanent --delete-policy=wgfleet-exit',
      'firewall-cmd -q --permanent --delete-policy=wgfleet-forward',
      'firewall-cmd -q --permanent --delete-policy=wgfleet-subnets',
      'firewall-cmd -q --permanent --delete-zone=wgfleet',
    ])
    expect(run.stdout).toContain('firewall=firewalld removed 51820/udp (public)')
    expect(box.fakes.firewalldZone('permanent', 'wgfleet')).toBeNull()
    expect(box.fakes.firewalldPolicy('permanent', 'wgfleet-exit')).toBeNull()
    expect(box.fakes.firewalldPolicy('permanent', 'wgfleet-forward')).toBeNull()
    expect(box.fakes.firewalldZone('runtime', 'wgfleet')?.interfaces).toEqual([])
    for (const scope of ['runtime', 'permanent'] as const) {
      expect(box.fakes.firewalldZone(scope, 'public')?.ports).toEqual([])
      expect(box.fakes.firewalldZone(scope, 'trusted')?.interfaces).toEqual(['lo'])
    }
  })
})
