/**
 * rotate-psk, add-node and remove-node with preshared keys, as whole flows over scripted hosts (openShell
 * and the lock injected): rotate-psk renews every pair, or only the pairs of the NODEs named, under the
 * inventory's lock, and is refused (exit 2, nothing opened) when keys are off or a NODE is unknown; a node
 * added gets keys for its own pairs only, a node removed takes its pairs' keys with it; no value is in any
 * report.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {lockInventory} from '../../../src/lib/lock.js'
import {renderRotatePskText, rotatePskToJson} from '../../../src/output/rotate-psk-view.js'
import type {FleetDependencies} from '../../../src/services/connections.js'
import {runInit} from '../../../src/services/init.js'
import {addNode, removeNode, type MembershipRequest} from '../../../src/services/membership.js'
import {presharedKeyTargets, runRotatePsk} from '../../../src/services/rotate-psk.js'
import {FakeHost} from '../../fixtures/fake-host.js'
import {LAB_INVENTORY, LAB_KEYS, SPARE_KEY} from '../../fixtures/lab-fleet.js'

const INVENTORY = LAB_INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = true')
const KEYS: Record<string, string> = {...LAB_KEYS, 'node-e': SPARE_KEY}

let file: string
let hosts: Record<string, FakeHost>
let locks: number
beforeEach(() => {
  file = join(mkdtempSync(join(tmpdir(), 'wgfleet-rotate-psk-')), 'inventory.ini')
  writeFileSync(file, INVENTORY)
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key)]))
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
  locks = 0
})

const request = (): MembershipRequest => ({inventory: file, concurrency: 4, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false})
const lock: typeof lockInventory = async (...args) => {
  locks++
  return lockInventory(...args)
}
const deps = (over: FleetDependencies = {}): FleetDependencies => ({openShell: async (node) => hosts[node.name]!.shell(), clock: () => 0, lock, ...over})
const keysOf = (node: string) => ({...(hosts[node]!.state.psk ?? {})})
const allKeys = () => Object.fromEntries(Object.keys(hosts).map((n) => [n, keysOf(n)]))
const values = () => Object.values(hosts).flatMap((h) => Object.values(h.state.psk ?? {}))

describe('rotate-psk', () => {
  it('renews every pair: a new key on both ends of each, under the lock; the report names pairs, never a value', async () => {
    await runInit({...request(), dryRun: false, adopt: false}, deps())
    const before = allKeys()
    for (const h of Object.values(hosts)) h.execs.length = 0
    locks = 0
    const report = await runRotatePsk({...request(), nodes: []}, deps())
    expect(locks).toBe(1)
    expect(report.result).toBe('ok')
    expect(report.pairs.map((p) => `${p.nodes.join('~')} ${p.result}`)).toEqual([
      'node-a~node-b created', 'node-a~node-c created', 'node-a~node-d created', 'node-b~node-c created', 'node-b~node-d created',
    ])
    for (const [node, keys] of Object.entries(allKeys())) {
      for (const [peer, key] of Object.entries(keys)) {
        expect(key).not.toBe(before[node]![peer])
        expect(keysOf(peer)[node]).toBe(key)
      }
    }
    // One generate per generating end, one store per node; no apply (the store updated the interface and config).
    expect(hosts['node-a']!.execs.map((e) => e.script)).toEqual(['probe', 'psk generate', 'psk store'])
    expect(hosts['node-d']!.execs.map((e) => e.script)).toEqual(['probe', 'psk store'])
    const printed = renderRotatePskText(report) + JSON.stringify(rotatePskToJson(report))
    for (const value of [...values(), ...Object.values(before).flatMap((k) => Object.values(k))]) expect(printed).not.toContain(value)
    expect(renderRotatePskText(report)).toContain('node-a <-> node-c: new preshared key on both ends')
    expect(renderRotatePskText(report)).toContain('rotate-psk: ok — 5 of 5 pairs renewed')
  })

  it('with NODEs: only their pairs', async () => {
    await runInit({...request(), dryRun: false, adopt: false}, deps())
    const before = allKeys()
    const report = await runRotatePsk({...request(), nodes: ['node-d']}, deps())
    expect(report.pairs.map((p) => p.nodes.join('~'))).toEqual(['node-a~node-d', 'node-b~node-d'])
    expect(keysOf('node-a')['node-b']).toBe(before['node-a']!['node-b'])
    expect(keysOf('node-a')['node-c']).toBe(before['node-a']!['node-c'])
    expect(keysOf('node-a')['node-d']).not.toBe(before['node-a']!['node-d'])
    expect(keysOf('node-d')['node-a']).toBe(keysOf('node-a')['node-d'])
  })

  it('refused with exit 2 before anything is opened: keys off, an unknown NODE, a NODE twice', async () => {
    expect(() => presharedKeyTargets(['node-a'], [], false)).toThrow(/preshared keys are off/)
    writeFileSync(file, LAB_INVENTORY)
    await expect(runRotatePsk({...request(), nodes: []}, deps())).rejects.toMatchObject({exitCode: 2, hint: expect.stringMatching(/preshared_keys = true/)})
    writeFileSync(file, INVENTORY)
    await expect(runRotatePsk({...request(), nodes: ['node-z']}, deps())).rejects.toMatchObject({exitCode: 2})
    await expect(runRotatePsk({...request(), nodes: ['node-a', 'node-a']}, deps())).rejects.toMatchObject({exitCode: 2})
    expect(Object.values(hosts).reduce((n, h) => n + h.connections, 0)).toBe(0)
    expect(locks).toBe(0)
  })
})

describe('add-node and remove-node with preshared keys', () => {
  it('a node added gets keys for its own pairs only; removed, it takes them with it', async () => {
    await runInit({...request(), dryRun: false, adopt: false}, deps())
    const before = allKeys()
    const added = await addNode({...request(), name: 'node-e', values: {host: '203.0.113.5'}}, deps())
    expect(added.result).toBe('ok')
    expect(added.presharedKeys?.map((p) => p.nodes.join('~'))).toEqual(['node-a~node-e', 'node-b~node-e', 'node-c~node-e', 'node-d~node-e'])
    for (const [node, keys] of Object.entries(before)) for (const [peer, key] of Object.entries(keys)) expect(keysOf(node)[peer]).toBe(key)
    expect(keysOf('node-e')['node-a']).toBe(keysOf('node-a')['node-e'])

    const removed = await removeNode({...request(), name: 'node-e', purge: false}, deps())
    expect(removed.result).toBe('ok')
    expect(allKeys()).toEqual({...before, 'node-e': {}})
  })
})
