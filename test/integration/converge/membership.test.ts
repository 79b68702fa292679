/**
 * add-node and remove-node as whole flows, with scripted hosts injected (openShell) and the lock step
 * injected where a test must act at that moment: what they write to the inventory and what they report.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {lockInventory} from '../../../src/lib/lock.js'
import type {FleetDependencies} from '../../../src/services/connections.js'
import {runInit} from '../../../src/services/init.js'
import {addNode, removeNode, type MembershipRequest} from '../../../src/services/membership.js'
import {FakeHost} from '../../fixtures/fake-host.js'

const KEYS: Record<string, string> = {
  'node-a': 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=',
  'node-b': 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=',
  'node-c': 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=',
  'node-e': 'ZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWU=',
}

const INVENTORY = `[network]
cidr = 10.0.0.0/24

; the relay
[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true

[node-b]
host = 203.0.113.2
address = 10.0.0.2

[node-c]
host = 203.0.113.3
address = 10.0.0.3
`

let file: string
let hosts: Record<string, FakeHost>

beforeEach(() => {
  file = join(mkdtempSync(join(tmpdir(), 'wgfleet-membership-')), 'inventory.ini')
  writeFileSync(file, INVENTORY)
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key)]))
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
})

const request = (): MembershipRequest => ({inventory: file, concurrency: 4, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false})
const deps = (over: FleetDependencies = {}): FleetDependencies => ({openShell: async (node) => hosts[node.name]!.shell(), clock: () => 0, ...over})

describe('add-node', () => {
  it('appends only its section, with the next free address, and converges it (the others peer with it)', async () => {
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(report.result).toBe('ok')
    expect(report.command).toBe('add-node')
    expect(readFileSync(file, 'utf8')).toBe(`${INVENTORY}\n[node-e]\nhost = 203.0.113.5\naddress = 10.0.0.4\n`)
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-e']}`)
    expect(hosts['node-e']!.state.config).toContain('Address = 10.0.0.4/24')
  })

  it('dual stack: the new node gets cidr6 plus its host number, or the --address6 given; the others route both to it', async () => {
    writeFileSync(file, INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ncidr6 = fd42:42::/64'))
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5', address6: 'fd42:42::e'}}, deps())
    expect(report.result).toBe('ok')
    expect(readFileSync(file, 'utf8')).toMatch(/\n\[node-e\]\nhost = 203\.0\.113\.5\naddress = 10\.0\.0\.4\naddress6 = fd42:42::e\n$/)
    expect(hosts['node-e']!.state.config).toContain('Address = 10.0.0.4/24, fd42:42::e/64')
    expect(hosts['node-b']!.state.config).toContain('AllowedIPs = 10.0.0.4/32, fd42:42::e/128')
    expect(hosts['node-b']!.state.config).toContain('Address = 10.0.0.2/24, fd42:42::2/64')
  })

  it('--subnets: written into the new section; the others route the subnet to the new node', async () => {
    const report = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5', subnets: '198.19.7.0/24'}}, deps())
    expect(report.nodes.find((n) => n.name === 'node-b')!.result).not.toBe('failed')
    expect(readFileSync(file, 'utf8')).toMatch(/\n\[node-e\]\nhost = 203\.0\.113\.5\naddress = 10\.0\.0\.4\n(?:.*\n)*subnets = 198\.19\.7\.0\/24\n$/)
    expect(hosts['node-b']!.state.config).toContain('AllowedIPs = 10.0.0.4/32, 198.19.7.0/24')
  })

  it('writes nothing when the file no longer reads back as the fleet plus the node (edited before the lock was taken)', async () => {
    // Another admin adds a node-e of their own between validation and the lock.
    const racing = `${INVENTORY}\n[node-e]\nhost = 203.0.113.9\naddress = 10.0.0.9\n`
    const lock: typeof lockInventory = async (inventory, stateDir) => {
      writeFileSync(file, racing)
      return lockInventory(inventory, stateDir)
    }
    await expect(addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps({lock}))).rejects.toMatchObject({exitCode: 2})
    expect(readFileSync(file, 'utf8')).toBe(racing)
    expect(hosts['node-e']!.connections).toBe(0)
  })
})

describe('remove-node', () => {
  it('drops the node from every peer, tears it down, and removes its section — keeping an edit made to the file during the run', async () => {
    await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    const before = readFileSync(file, 'utf8')
    const edited = before.replace('; the relay', '; the relay (edited while remove-node ran)')
    const report = await removeNode({...request(), name: 'node-e', purge: false}, deps({
      openShell: async (node) => {
        // The admin edits another section while the others are being converged.
        if (node.name === 'node-e') writeFileSync(file, edited)
        return hosts[node.name]!.shell()
      },
    }))
    expect(report.result).toBe('ok')
    expect(readFileSync(file, 'utf8')).toBe(edited.replace('\n[node-e]\nhost = 203.0.113.5\naddress = 10.0.0.4\n', ''))
    expect(hosts['node-a']!.state.config).not.toContain(KEYS['node-e'])
    const teardown = report.nodes.find((n) => n.name === 'node-e')!
    expect(teardown.steps).toMatchObject({service: 'stopped', unit: 'disabled'})
    expect(hosts['node-e']!.state.up).toBe(false)
  })

  it('restores the inventory byte for byte when nothing else changed it', async () => {
    await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    await removeNode({...request(), name: 'node-e', purge: false}, deps())
    expect(readFileSync(file, 'utf8')).toBe(INVENTORY)
  })
})

describe('names in /etc/hosts (hosts_file = true)', () => {
  const named = () => writeFileSync(file, INVENTORY.replace('cidr = 10.0.0.0/24\n', 'cidr = 10.0.0.0/24\nhosts_file = true\ndomain = wg\n'))
  const block = (...lines: string[]) => ['# BEGIN wgfleet wg0', ...lines, '# END wgfleet wg0', ''].join('\n')
  const ABC = ['10.0.0.1 node-a node-a.wg', '10.0.0.2 node-b node-b.wg', '10.0.0.3 node-c node-c.wg']
  const hostsExecs = (name: string) => hosts[name]!.execs.filter((e) => e.script === 'hosts').length

  it('init writes the same block on every node; a rerun writes nothing; add-node and remove-node keep every node\'s block current', async () => {
    named()
    const first = await runInit({...request(), dryRun: false, adopt: false}, deps())
    expect(first.result).toBe('ok')
    for (const name of ['node-a', 'node-b', 'node-c']) {
      expect(hosts[name]!.state.hostsBlock).toBe(block(...ABC))
      expect(first.nodes.find((n) => n.name === name)?.steps.hosts).toBe('written')
    }
    const again = await runInit({...request(), dryRun: false, adopt: false}, deps())
    expect(again.nodes.map((n) => [n.result, n.steps.hosts])).toEqual(Array(3).fill(['unchanged', undefined]))
    expect(['node-a', 'node-b', 'node-c'].map(hostsExecs)).toEqual([1, 1, 1])

    await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    const withE = block(...ABC, '10.0.0.4 node-e node-e.wg')
    for (const name of ['node-a', 'node-b', 'node-c', 'node-e']) expect(hosts[name]!.state.hostsBlock, name).toBe(withE)

    const removed = await removeNode({...request(), name: 'node-b', purge: false}, deps())
    expect(removed.result).toBe('ok')
    expect(hosts['node-b']!.state.hostsBlock).toBeNull()
    for (const name of ['node-a', 'node-c', 'node-e']) expect(hosts[name]!.state.hostsBlock, name).toBe(block(ABC[0]!, ABC[2]!, '10.0.0.4 node-e node-e.wg'))
  })

  it('hosts_file turned off: init takes the block out everywhere; --dry-run only says it would', async () => {
    named()
    await runInit({...request(), dryRun: false, adopt: false}, deps())
    writeFileSync(file, INVENTORY)
    const dry = await runInit({...request(), dryRun: true, adopt: false}, deps())
    expect(dry.nodes.map((n) => n.steps.hosts)).toEqual(Array(3).fill('would-remove'))
    expect(hosts['node-a']!.state.hostsBlock).toBe(block(...ABC))
    const off = await runInit({...request(), dryRun: false, adopt: false}, deps())
    expect(off.nodes.map((n) => [n.result, n.steps.hosts])).toEqual(Array(3).fill(['changed', 'removed']))
    for (const name of ['node-a', 'node-b', 'node-c']) expect(hosts[name]!.state.hostsBlock).toBeNull()
  })
})
