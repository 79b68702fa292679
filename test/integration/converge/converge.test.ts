/**
 * The converge flow (phases, barrier, state, per-node results) against scripted hosts. What the scripts
 * do on a real host is proven in the lab e2e suite.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import type {Fleet} from '../../../src/inventory/model.js'
import {convergeFleet, type ConvergeOptions} from '../../../src/services/converge.js'
import {openStateStore} from '../../../src/state/state.js'
import {SshError} from '../../../src/ssh/errors.js'
import {FakeHost} from '../../fixtures/fake-host.js'

const KEYS = {
  'node-a': 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=',
  'node-b': 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=',
  'node-c': 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=',
} as const

const INVENTORY = `[network]
cidr = 10.0.0.0/24

[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true

[node-b]
host = 203.0.113.2
address = 10.0.0.2

[node-c]
host = 203.0.113.3
ssh_port = 2222
address = 10.0.0.3
nat = true
`

let fleet: Fleet
let hosts: Record<string, FakeHost>
let unreachable: Set<string>

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-converge-'))
  const file = join(dir, 'inventory.ini')
  writeFileSync(file, INVENTORY)
  fleet = parseInventory(INVENTORY, file)
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key, {ufw: name === 'node-a' ? 'active' : 'absent'})]))
  // Every host reports a handshake with every peer it has.
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
  unreachable = new Set()
})

function options(over: Partial<ConvergeOptions> = {}): ConvergeOptions {
  return {
    dryRun: false,
    adopt: false,
    concurrency: 10,
    silent: true,
    verifyTimeoutSeconds: 5,
    staleAfterSeconds: 180,
    openShell: async (node) => {
      if (unreachable.has(node.name)) throw new SshError('unreachable', node.name, `cannot connect to ${node.host}:${node.ssh.port}: connection refused`)
      return hosts[node.name]!.shell()
    },
    ...over,
  }
}

describe('convergeFleet', () => {
  it('converges fresh hosts: install, key, config, firewall, service; all changed', async () => {
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('ok')
    expect(report.nodes.map((n) => [n.name, n.result])).toEqual([['node-a', 'changed'], ['node-b', 'changed'], ['node-c', 'changed']])
    expect(report.nodes[0]!.steps).toMatchObject({wireguard: 'installed', key: 'new', config: 'new', handshakes: {verified: 2, expected: 2}})
    expect(hosts['node-a']!.state.ufwAllowed).toEqual(['51820/udp'])
    expect(hosts['node-a']!.state.ipForward).toBe(true) // the relay forwards
    expect(hosts['node-b']!.state.ipForward).toBe(false)
    // node-b's config carries node-c's real public key: the barrier waited for every key.
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect(hosts['node-b']!.state.config).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe', 'prepare', 'apply', 'verify'])
    const state = await openStateStore(fleet.dir).load()
    expect(state.nodes['node-c']?.publicKey).toBe(KEYS['node-c'])
  })

  it('a second run changes nothing: one probe per node, no other exec, every node unchanged', async () => {
    await convergeFleet(fleet, options())
    for (const h of Object.values(hosts)) h.execs.length = 0
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.map((n) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged'])
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('an unreachable node fails alone; its peers stay on the others (from state); a rerun converges', async () => {
    await convergeFleet(fleet, options())
    unreachable.add('node-c')
    // Something else changes meanwhile, so the others are rewritten while node-c is away.
    const bigger = parseInventory(INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nmtu = 1380'), fleet.file)
    const report = await convergeFleet(bigger, options())
    expect(report.result).toBe('partial')
    const c = report.nodes.find((n) => n.name === 'node-c')!
    expect(c.result).toBe('failed')
    expect(c.error).toMatch(/node-c: cannot connect/)
    expect(hosts['node-b']!.state.config).toContain('MTU = 1380')
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`) // not wiped
    unreachable.clear()
    const rerun = await convergeFleet(bigger, options())
    expect(rerun.result).toBe('ok')
  })

  it('an unreachable node missing from this machine\'s state keeps its peers: its key is read from the others\' configs', async () => {
    await convergeFleet(fleet, options())
    const {rmSync} = await import('node:fs')
    rmSync(join(fleet.dir, '.wgfleet'), {recursive: true, force: true}) // e.g. a fresh clone elsewhere
    unreachable.add('node-c')
    const changed = parseInventory(INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nmtu = 1380'), fleet.file)
    const report = await convergeFleet(changed, options())
    expect(report.result).toBe('partial')
    expect(hosts['node-b']!.state.config).toContain('MTU = 1380')
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect(hosts['node-a']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
  })

  it('a config not written by wgfleet is refused without --adopt, and replaced with it', async () => {
    hosts['node-b']!.state = {...hosts['node-b']!.state, wg: true, key: true, config: '[Interface]\nPrivateKey = x\n', managed: false}
    const refused = await convergeFleet(fleet, options())
    const b = refused.nodes.find((n) => n.name === 'node-b')!
    expect(b.result).toBe('failed')
    expect(b.hint).toMatch(/--adopt/)
    expect(hosts['node-b']!.execs.map((e) => e.script)).toEqual(['probe']) // nothing installed or written
    expect(refused.nodes.filter((n) => n.result !== 'failed')).toHaveLength(2)
    const adopted = await convergeFleet(fleet, options({adopt: true}))
    expect(adopted.nodes.find((n) => n.name === 'node-b')!.result).toBe('changed')
  })

  it('--dry-run probes and reports, but runs nothing that changes a host', async () => {
    const report = await convergeFleet(fleet, options({dryRun: true}))
    expect(report.nodes.every((n) => n.result === 'changed')).toBe(true)
    expect(report.nodes[1]!.steps.config).toBe('would-create')
    expect(report.nodes[1]!.steps.diff).toContain('+[Interface]')
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('a missing handshake fails that node with the peer named', async () => {
    hosts['node-b']!.handshakesWith = [KEYS['node-a']]
    const report = await convergeFleet(fleet, options())
    const b = report.nodes.find((n) => n.name === 'node-b')!
    expect(b.result).toBe('failed')
    expect(b.error).toMatch(/no handshake with node-c \(/)
    expect(b.steps.handshakes).toEqual({verified: 1, expected: 2})
  })

  it('an existing link named like the interface that is not WireGuard fails that node alone: nothing installed, written or deleted there', async () => {
    hosts['node-b']!.state = {...hosts['node-b']!.state, up: true, link: {kind: 'bridge', wireguard: false}}
    for (const dryRun of [true, false]) {
      const report = await convergeFleet(fleet, options({dryRun}))
      const b = report.nodes.find((n) => n.name === 'node-b')!
      expect(b.result).toBe('failed')
      expect(b.error).toMatch(/wg0 already exists on this host and is a bridge link, not a WireGuard interface/)
      expect(b.hint).toMatch(/choose another `interface` in \[network\]/)
      expect(report.nodes.filter((n) => n.result !== 'failed').map((n) => n.name)).toEqual(['node-a', 'node-c'])
      expect(hosts['node-b']!.execs.map((e) => e.script)).toEqual(['probe'])
      hosts['node-b']!.execs.length = 0
    }
  })

  it('a link named like the interface that carries the default route fails that node', async () => {
    hosts['node-a']!.state = {...hosts['node-a']!.state, up: true, link: {kind: 'wireguard', wireguard: true, defaultRoute: true}}
    const a = (await convergeFleet(fleet, options())).nodes.find((n) => n.name === 'node-a')!
    expect(a.result).toBe('failed')
    expect(a.error).toMatch(/wg0 carries this host's default route/)
    expect(hosts['node-a']!.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('a node managed from inside the overlay, or whose uplink address is inside it, fails alone', async () => {
    hosts['node-b']!.state.sshClient = '10.0.0.200'
    hosts['node-c']!.state.uplinkAddresses = ['10.0.0.77']
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('partial')
    const [a, b, c] = report.nodes
    expect(a!.result).toBe('changed')
    expect(b!.error).toMatch(/the SSH session comes from 10\.0\.0\.200, inside the overlay 10\.0\.0\.0\/24/)
    expect(c!.error).toMatch(/this host's own address 10\.0\.0\.77 \(on eth0\) is inside the overlay 10\.0\.0\.0\/24/)
    expect(b!.hint).toMatch(/\[network\] cidr/)
    for (const name of ['node-b', 'node-c']) expect(hosts[name]!.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('exit_via: replies from the uplink addresses the probe found stay on the main table; a run from another admin address changes nothing', async () => {
    const text = INVENTORY.replace('nat = true\n', 'nat = true\nexit_via = node-a\n')
    const exitFleet = parseInventory(text, fleet.file)
    hosts['node-c']!.state.uplinkAddresses = ['198.51.100.7']
    const first = await convergeFleet(exitFleet, options())
    expect(first.result, JSON.stringify(first.nodes)).toBe('ok')
    const config = hosts['node-c']!.state.config!
    expect(config).toContain('PostUp = ip -4 rule add from 198.51.100.7/32 lookup main\n')
    expect(config).not.toContain('203.0.113.100')
    for (const h of Object.values(hosts)) {
      h.execs.length = 0
      h.state.sshClient = '203.0.113.77'
    }
    const second = await convergeFleet(exitFleet, options())
    // (The scripted hosts never report iptables as installed, so prepare runs again: not what is looked at here.)
    expect(second.nodes.map((n) => [n.steps.config, n.steps.service])).toEqual(Array(3).fill(['unchanged', 'running']))
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).not.toContain('apply')
  })
})
