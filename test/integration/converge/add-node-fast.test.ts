/**
 * add-node's fast path as a whole flow against scripted hosts (test/fixtures/fake-host): after an init, an
 * existing node whose change is only the newcomer's entry gets exactly one exec (peer-add), the newcomer
 * its four (probe, prepare, apply, verify), and only the newcomer verifies — waiting for the handshakes
 * the existing nodes start; a node whose file was edited by hand refuses and takes the full path in the
 * same run; a fleet with preshared keys takes the full path everywhere.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import type {FleetDependencies} from '../../../src/services/connections.js'
import {runInit} from '../../../src/services/init.js'
import {addNode, type MembershipRequest} from '../../../src/services/membership.js'
import {openStateStore} from '../../../src/state/state.js'
import {FakeHost, verifyRequest} from '../../fixtures/fake-host.js'
import {LAB_INVENTORY, LAB_KEYS, SPARE_KEY} from '../../fixtures/lab-fleet.js'

const KEYS: Record<string, string> = {...LAB_KEYS, 'node-e': SPARE_KEY}
const INVENTORY = LAB_INVENTORY

let dir: string
let file: string
let hosts: Record<string, FakeHost>

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-add-fast-'))
  file = join(dir, 'inventory.ini')
  writeFileSync(file, INVENTORY)
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key)]))
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
})

const request = (): MembershipRequest => ({inventory: file, concurrency: 4, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false})
const deps = (): FleetDependencies => ({openShell: async (node) => hosts[node.name]!.shell(), clock: () => 0})
const EXISTING = ['node-a', 'node-b', 'node-c', 'node-d']

async function initThenClear(): Promise<void> {
  const init = await runInit({...request(), dryRun: false, adopt: false}, deps())
  expect(init.result).toBe('ok')
  for (const host of Object.values(hosts)) host.execs.length = 0
}

const scripts = (name: string) => hosts[name]!.execs.map((e) => e.script)

describe('add-node: the fast path', () => {
  it('one connection per node; the existing nodes\' open while the newcomer installs, before its apply', async () => {
    await initThenClear()
    const events: string[] = []
    const opened: Record<string, number> = {}
    const traced: FleetDependencies = {
      clock: () => 0,
      openShell: async (node) => {
        opened[node.name] = (opened[node.name] ?? 0) + 1
        events.push(`open ${node.name}`)
        const shell = hosts[node.name]!.shell()
        const run = shell.run.bind(shell)
        shell.run = (async (script: string, ...rest: unknown[]) => {
          const name = hosts[node.name]!.execs.length
          const result = await (run as (...args: unknown[]) => Promise<unknown>)(script, ...rest)
          events.push(`exec ${node.name} ${hosts[node.name]!.execs[name]?.script}`)
          return result
        }) as typeof shell.run
        return shell
      },
    }
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, traced)
    expect(report.result).toBe('ok')
    for (const name of [...EXISTING, 'node-e']) expect(opened[name]).toBe(1)
    const applyAt = events.indexOf('exec node-e apply')
    for (const name of EXISTING) expect(events.indexOf(`open ${name}`)).toBeLessThan(applyAt)
  })


  it('each existing node gets exactly one exec (peer-add), the newcomer four; only the newcomer verifies; state records the new configs', async () => {
    await initThenClear()
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(report.result).toBe('ok')
    for (const name of EXISTING) expect(scripts(name)).toEqual(['peer-add'])
    expect(scripts('node-e')).toEqual(['probe', 'prepare', 'apply', 'verify'])
    for (const name of EXISTING) {
      expect(report.nodes.find((n) => n.name === name)).toEqual({name, result: 'changed', steps: {config: 'changed', service: 'peer-added'}})
      expect(hosts[name]!.state.config).toContain(`PublicKey = ${KEYS['node-e']}`)
      expect(await openStateStore(dir).appliedConfig(name)).toBe(hosts[name]!.state.config)
    }
    // The existing nodes dial the newcomer and start each pair (their keepalive, set by peer-add): it waits.
    const verify = verifyRequest(hosts['node-e']!.execs.at(-1)!)
    expect(verify.modes).toEqual(Object.fromEntries(EXISTING.map((name) => [KEYS[name], 'await'])))
    expect(verify.finish).toBe('yes')
    // What peer-add was given: the newcomer's entry with the plan's values; the NAT-ed node's relay entry unchanged (the newcomer is public).
    const ops = (name: string) => (hosts[name]!.execs[0]!.input ?? '').split('\n').slice(0, Number(hosts[name]!.execs[0]!.args[3]))
    expect(ops('node-b')).toEqual([`peer ${KEYS['node-e']} 203.0.113.5:51820 10.0.0.5/32 25`])
    expect(ops('node-d')).toEqual([`peer ${KEYS['node-e']} 203.0.113.5:51820 10.0.0.5/32 25`])
    // A rerun of init after it finds nothing to change.
    for (const host of Object.values(hosts)) host.execs.length = 0
    const again = await runInit({...request(), dryRun: false, adopt: false}, deps())
    expect(again.result).toBe('ok')
    expect(again.nodes.every((n) => n.result === 'unchanged')).toBe(true)
    for (const name of [...EXISTING, 'node-e']) expect(scripts(name)).toEqual(['probe'])
  })

  it('a NAT-ed newcomer: the public nodes cannot dial it, so it starts those pairs; the NAT-ed node\'s relay entry gains its /32', async () => {
    await initThenClear()
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5', nat: true}}, deps())
    expect(report.result).toBe('ok')
    for (const name of ['node-a', 'node-b', 'node-c', 'node-d']) expect(scripts(name)).toEqual(['peer-add'])
    const d = hosts['node-d']!.execs[0]!
    expect((d.input ?? '').split('\n').slice(0, Number(d.args[3]))).toEqual([`allowed-ips ${KEYS['node-a']} 10.0.0.1/32,10.0.0.3/32,10.0.0.5/32`])
    const verify = verifyRequest(hosts['node-e']!.execs.at(-1)!)
    expect(verify.modes).toEqual({[KEYS['node-a']!]: 'initiate', [KEYS['node-b']!]: 'initiate'})
  })

  it('a node whose file was edited by hand refuses; it is probed, applied and verified in the same run and ends as planned', async () => {
    await initThenClear()
    const edited = hosts['node-b']!.state.config!.replace('PersistentKeepalive = 25', 'PersistentKeepalive = 15')
    hosts['node-b']!.state.config = edited
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(report.result).toBe('ok')
    expect(scripts('node-b')).toEqual(['peer-add', 'probe', 'apply', 'verify'])
    for (const name of ['node-a', 'node-c', 'node-d']) expect(scripts(name)).toEqual(['peer-add'])
    const b = report.nodes.find((n) => n.name === 'node-b')!
    expect(b).toMatchObject({result: 'changed', steps: {peerAddRefused: 'digest', config: 'changed', service: 'synced'}})
    expect(hosts['node-b']!.state.config).toBe(await openStateStore(dir).appliedConfig('node-b'))
    expect(hosts['node-b']!.state.config).not.toContain('PersistentKeepalive = 15')
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-e']}`)
  })

  it('a refused node whose uplink moved since init is planned anew, alone, and ends as that plan says', async () => {
    await initThenClear()
    hosts['node-b']!.state.config = hosts['node-b']!.state.config!.replace('PersistentKeepalive = 25', 'PersistentKeepalive = 15')
    hosts['node-b']!.state.uplinkAddresses = ['203.0.113.22']
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(report.result).toBe('ok')
    expect(scripts('node-b')).toEqual(['peer-add', 'probe', 'apply', 'verify'])
    const store = openStateStore(dir)
    expect(hosts['node-b']!.state.config).toBe(await store.appliedConfig('node-b'))
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-e']}`)
    expect(hosts['node-b']!.state.config).not.toContain('PersistentKeepalive = 15')
    expect((await store.load()).nodes['node-b']?.facts?.uplinkAddresses).toEqual(['203.0.113.22'])
  })

  it('a node with no applied config on record takes the full path from the start', async () => {
    await initThenClear()
    const {rmSync} = await import('node:fs')
    rmSync(join(dir, '.wgfleet', 'configs', 'node-c.conf'))
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(report.result).toBe('ok')
    expect(scripts('node-c')).toEqual(['probe', 'apply', 'verify'])
    for (const name of ['node-a', 'node-b', 'node-d']) expect(scripts(name)).toEqual(['peer-add'])
  })

  it('preshared_keys = true: the whole fleet takes the full path (probe, apply, verify on every node)', async () => {
    writeFileSync(file, INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = true'))
    await initThenClear()
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(report.result).toBe('ok')
    for (const name of EXISTING) {
      expect(scripts(name)[0]).toBe('probe')
      expect(scripts(name)).not.toContain('peer-add')
      expect(scripts(name)).toContain('apply')
    }
    expect(readFileSync(file, 'utf8')).toContain('[node-e]')
  })
})
