/**
 * Contract of src/remote/teardown.sh (remove-node): the real script, run by a real bash in a host sandbox
 * after the real apply.sh converged the node, its output read by parseKeyValues (as remove-node does).
 * Proves: the unit stopped and disabled, the config set aside (0600), the key kept unless purged; with
 * --purge, wgfleet's firewall rules and sysctl file removed and net.ipv4.ip_forward set back to what it
 * was before wgfleet — left on when something else (Docker, libvirt, networkd, the system's own sysctl
 * configuration) had it on.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {parseKeyValues} from '../../../src/remote/output.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {decideApply} from '../../../src/tasks/decide.js'
import {applyHost, probeHost} from '../../../src/tasks/host-steps.js'
import {PRIVATE_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {convergedNode, DUAL_NODE_A, filled, NODE_A, withKey} from './node-fixture.js'
import type {NodePlan} from '../../../src/plan/index.js'

const FORWARD_RECORD = '/etc/wireguard/.ip_forward.before-wgfleet'

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
})
afterEach(() => box.destroy())

/** node-a converged by the real probe and apply scripts. */
async function initNode(plan: NodePlan = NODE_A): Promise<void> {
  withKey(box)
  const shell = box.shell()
  const decision = decideApply(await probeHost(shell, 'wg0'), plan, 51820)
  await applyHost(shell, {iface: 'wg0', decision, config: plan.config, adopt: false})
  box.fakes.clearCalls()
}

function teardown(purge: boolean) {
  const run = box.run(loadScript('teardown'), ['wg0', '51820', purge ? 'yes' : 'no'])
  expect(run.stdout + run.stderr).not.toContain(PRIVATE_KEY)
  return {...run, values: new Map(parseKeyValues(run.stdout))}
}

describe('teardown.sh', () => {
  it('without --purge: unit stopped and disabled, config set aside, key and forwarding kept', async () => {
    await initNode()
    const {code, values} = teardown(false)
    expect(code).toBe(0)
    expect([...values.keys()]).toEqual(['service', 'config', 'done'])
    expect(box.fakes.unitState('wg-quick@wg0')).toEqual({enabled: 'disabled', active: 'inactive'})
    expect(box.fakes.linkState('wg0')).toBe('absent')
    expect(box.exists('/etc/wireguard/wg0.conf')).toBe(false)
    expect(box.read('/etc/wireguard/wg0.conf.removed-by-wgfleet')).toBe(filled(NODE_A.config))
    expect(box.stat('/etc/wireguard/wg0.conf.removed-by-wgfleet').mode).toBe('600')
    expect(box.exists('/etc/wireguard/wg0.key')).toBe(true)
    expect(box.ipForward).toBe('1')
    expect(box.exists('/etc/sysctl.d/99-wgfleet.conf')).toBe(true)
    expect(box.read(FORWARD_RECORD)).toBe('0\n')
  })

  it('--purge after wgfleet turned forwarding on: key, sysctl file and record gone, forwarding back off', async () => {
    await initNode()
    expect(box.ipForward).toBe('1')
    const {values} = teardown(true)
    expect(values.get('key')).toBe('removed')
    expect(values.get('forward_file')).toBe('removed')
    expect(values.get('forward')).toBe('restored 0')
    expect(box.ipForward).toBe('0')
    for (const gone of ['/etc/wireguard/wg0.key', '/etc/wireguard/wg0.conf.removed-by-wgfleet', '/etc/sysctl.d/99-wgfleet.conf', FORWARD_RECORD]) expect(box.exists(gone)).toBe(false)
  })

  it('--purge of a dual-stack relay: IPv6 forwarding back off too, its record gone', async () => {
    await initNode(DUAL_NODE_A)
    expect([box.ipForward, box.ip6Forward]).toEqual(['1', '1'])
    const {values} = teardown(true)
    expect(values.get('forward')).toBe('restored 0')
    expect(values.get('forward6')).toBe('restored 0')
    expect([box.ipForward, box.ip6Forward]).toEqual(['0', '0'])
    for (const gone of ['/etc/sysctl.d/99-wgfleet.conf', FORWARD_RECORD, '/etc/wireguard/.ipv6_forward.before-wgfleet']) expect(box.exists(gone)).toBe(false)
  })

  it('--purge leaves forwarding on when it was on before wgfleet (Docker, libvirt, networkd)', async () => {
    box.ipForward = '1'
    await initNode()
    const {values} = teardown(true)
    expect(values.get('forward')).toBe('kept on (it was on before wgfleet)')
    expect(box.ipForward).toBe('1')
    expect(box.fakes.calls().some((c) => c.startsWith('sysctl'))).toBe(false)
    expect(box.exists('/etc/sysctl.d/99-wgfleet.conf')).toBe(false)
    expect(box.exists(FORWARD_RECORD)).toBe(false)
  })

  it('--purge leaves forwarding on when the system\'s own sysctl configuration turns it on', async () => {
    await initNode()
    box.write('/etc/sysctl.conf', '# set by the admin\nnet.ipv4.ip_forward=1\n')
    const {values} = teardown(true)
    expect(values.get('forward')).toBe('kept on (/etc/sysctl.conf turns it on)')
    expect(box.ipForward).toBe('1')
  })

  it('--purge with no record of the value before wgfleet (an older wgfleet set it): forwarding left as it is, with a warning', () => {
    convergedNode(box)
    box.write('/etc/sysctl.d/99-wgfleet.conf', 'net.ipv4.ip_forward = 1\n')
    box.ipForward = '1'
    const {values} = teardown(true)
    expect(values.get('warning')).toBe('net.ipv4.ip_forward left at 1: no record of its value before wgfleet')
    expect(box.ipForward).toBe('1')
    expect(box.exists('/etc/sysctl.d/99-wgfleet.conf')).toBe(false)
  })

  it('--purge removes the ufw rules wgfleet added, and only those', async () => {
    box.fakes.install('ufw')
    box.fakes.ufw('active', ['22/tcp                     ALLOW IN    Anywhere'])
    await initNode()
    expect(box.fakes.ufwRules()).toHaveLength(3)
    const {values} = teardown(true)
    expect(values.get('firewall')).toBeDefined()
    expect(box.fakes.ufwRules()).toEqual(['22/tcp                     ALLOW IN    Anywhere'])
  })

  it('a config wgfleet did not write is left in place, with a warning', () => {
    box.write('/etc/wireguard/wg0.conf', '[Interface]\nPrivateKey = hand-made\n', 0o600)
    const {values} = teardown(false)
    expect(values.get('warning')).toBe('/etc/wireguard/wg0.conf was not written by wgfleet: left in place')
    expect(box.read('/etc/wireguard/wg0.conf')).toBe('[Interface]\nPrivateKey = hand-made\n')
  })

  it('an interface brought up by hand (no unit): taken down', () => {
    withKey(box)
    box.write('/etc/wireguard/wg0.conf', filled(NODE_A.config), 0o600)
    box.sh('wg-quick up wg0')
    const {values} = teardown(false)
    expect(values.get('interface')).toBe('removed')
    expect(values.has('service')).toBe(false)
    expect(box.fakes.linkState('wg0')).toBe('absent')
  })
})
