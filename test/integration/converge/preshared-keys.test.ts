/**
 * The converge with `preshared_keys = true` against scripted hosts (the scripts themselves: psk-script.test):
 * each pair that exists gets one key, made on its lower-named end and stored on both in the same run before
 * any config naming it is applied; a rerun is one probe per node; a node not reached leaves its pairs
 * alone (and an entry with no key on the reached side goes without one for now); renewing replaces only
 * the pairs asked for; a node leaving takes its pairs' keys with it; no value is anywhere wgfleet writes.
 */
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import type {Fleet} from '../../../src/inventory/model.js'
import {convergeToJson, renderConvergeText} from '../../../src/output/converge-view.js'
import {convergeFleet, type ConvergeOptions} from '../../../src/services/converge.js'
import {SshError} from '../../../src/ssh/errors.js'
import {FakeHost} from '../../fixtures/fake-host.js'
import {LAB_INVENTORY, LAB_KEYS} from '../../fixtures/lab-fleet.js'

const KEYS = LAB_KEYS

/** The lab's seed fleet: node-a relays for the NAT-ed node-c and node-d, which have no entry for each other (so no key of their own). */
const INVENTORY = LAB_INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = true')
const PAIRS = [['node-a', 'node-b'], ['node-a', 'node-c'], ['node-a', 'node-d'], ['node-b', 'node-c'], ['node-b', 'node-d']]

let dir: string
let fleet: Fleet
let hosts: Record<string, FakeHost>
let unreachable: Set<string>

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-psk-'))
  writeFileSync(join(dir, 'inventory.ini'), INVENTORY)
  fleet = parseInventory(INVENTORY, join(dir, 'inventory.ini'))
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key)]))
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
  unreachable = new Set()
})

function options(over: Partial<ConvergeOptions> = {}): ConvergeOptions {
  return {
    dryRun: false, adopt: false, concurrency: 10, silent: true, verifyTimeoutSeconds: 5, staleAfterSeconds: 180,
    openShell: async (node) => {
      if (unreachable.has(node.name)) throw new SshError('unreachable', node.name, `cannot connect to ${node.host}: connection refused`)
      return hosts[node.name]!.shell()
    },
    ...over,
  }
}

const psk = (node: string) => hosts[node]!.state.psk ?? {}
const pairKeys = () => Object.fromEntries(PAIRS.map(([a, b]) => [`${a}~${b}`, psk(a!)[b!]]))
function bothEndsAgree(): void {
  for (const [a, b] of PAIRS) {
    expect(psk(a!)[b!], `${a} for ${b}`).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(psk(b!)[a!], `${b} for ${a}`).toBe(psk(a!)[b!])
  }
  expect(psk('node-c')['node-d']).toBeUndefined()
  expect(psk('node-d')['node-c']).toBeUndefined()
}
/** Every file wgfleet wrote on the operator (state), every report: no value. */
function noValueOnTheOperator(...reports: unknown[]): void {
  const values = Object.values(hosts).flatMap((h) => Object.values(h.state.psk ?? {}))
  const written = readdirSync(join(dir, '.wgfleet'), {recursive: true, withFileTypes: true}).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
  const text = [...written, ...reports.map((r) => JSON.stringify(r) + renderConvergeText(r as never) + JSON.stringify(convergeToJson(r as never)))].join('\n')
  for (const value of values) expect(text).not.toContain(value)
}

describe('convergeFleet with preshared_keys = true', () => {
  it('fresh: one key per existing pair, made on the lower-named end, on both ends before the apply; the configs carry the marker', async () => {
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('ok')
    bothEndsAgree()
    expect(report.presharedKeys).toEqual(PAIRS.map((nodes) => ({nodes, result: 'created'})))
    expect(hosts['node-a']!.execs.map((e) => e.script)).toEqual(['probe', 'prepare', 'psk generate', 'psk store', 'apply', 'verify'])
    expect(hosts['node-c']!.execs.map((e) => e.script)).toEqual(['probe', 'prepare', 'psk store', 'apply', 'verify'])
    expect(hosts['node-a']!.execs.find((e) => e.script === 'psk generate')!.args).toEqual(['generate', 'wg0', '3'])
    expect(hosts['node-c']!.state.config).toMatch(/# node-a\n\[Peer\]\nPublicKey = \S+\nPresharedKey = @WGFLEET_PRESHARED_KEY@\n/)
    expect(report.nodes.find((n) => n.name === 'node-d')!.steps.presharedKeys).toEqual({stored: ['node-a', 'node-b']})
    expect(renderConvergeText(report)).toContain('node-d: new preshared key with node-a, node-b')
    noValueOnTheOperator(report)
  })

  it('a rerun is one probe per node and changes nothing', async () => {
    await convergeFleet(fleet, options())
    const before = pairKeys()
    for (const h of Object.values(hosts)) h.execs.length = 0
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.map((n) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged'])
    expect(report.presharedKeys).toBeUndefined()
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe'])
    expect(pairKeys()).toEqual(before)
  })

  it('keys turned on while node-c is away: the reached pairs get theirs, the entries for node-c go without one; the next run pairs it', async () => {
    const off = parseInventory(INVENTORY.replace('preshared_keys = true\n', ''), fleet.file)
    await convergeFleet(off, options())
    unreachable.add('node-c')
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('partial')
    expect(report.presharedKeys?.map((p) => p.nodes.join('~'))).toEqual(['node-a~node-b', 'node-a~node-d', 'node-b~node-d'])
    expect(hosts['node-a']!.state.config).toMatch(/# node-c\n\[Peer\]\nPublicKey = \S+\nAllowedIPs/)
    expect(hosts['node-a']!.state.config).toMatch(/# node-b\n\[Peer\]\nPublicKey = \S+\nPresharedKey = /)
    unreachable.clear()
    expect((await convergeFleet(fleet, options())).result).toBe('ok')
    bothEndsAgree()
    expect(hosts['node-a']!.state.config).toMatch(/# node-c\n\[Peer\]\nPublicKey = \S+\nPresharedKey = /)
  })

  it('two ends holding different keys (a store cut off half-way) get a new one; an unreached end keeps its own', async () => {
    await convergeFleet(fleet, options())
    hosts['node-b']!.state.psk!['node-a'] = 'eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg='
    const report = await convergeFleet(fleet, options())
    expect(report.presharedKeys).toEqual([{nodes: ['node-a', 'node-b'], result: 'created'}])
    bothEndsAgree()
  })

  it('renewing the pairs of node-c replaces exactly those, on both ends', async () => {
    await convergeFleet(fleet, options())
    const before = pairKeys()
    const report = await convergeFleet(fleet, options({renewPresharedKeys: (a, b) => a === 'node-c' || b === 'node-c'}))
    expect(report.presharedKeys).toEqual([{nodes: ['node-a', 'node-c'], result: 'created'}, {nodes: ['node-b', 'node-c'], result: 'created'}])
    bothEndsAgree()
    const after = pairKeys()
    for (const pair of Object.keys(before)) {
      if (pair.includes('node-c')) expect(after[pair]).not.toBe(before[pair])
      else expect(after[pair]).toBe(before[pair])
    }
    noValueOnTheOperator(report)
  })

  it('a dry run says which pairs would get a key and changes nothing', async () => {
    await convergeFleet(parseInventory(INVENTORY.replace('preshared_keys = true\n', ''), fleet.file), options())
    const report = await convergeFleet(fleet, options({dryRun: true}))
    expect(report.presharedKeys).toEqual(PAIRS.map((nodes) => ({nodes, result: 'would-create'})))
    for (const h of Object.values(hosts)) expect(h.state.psk).toBeUndefined()
    expect(report.nodes.find((n) => n.name === 'node-b')!.steps.presharedKeys).toEqual({wouldCreate: ['node-a', 'node-c', 'node-d']})
  })

  it('a node that leaves the inventory takes its pairs\' keys: the others remove their files for it, and only those', async () => {
    await convergeFleet(fleet, options())
    const smaller = parseInventory(INVENTORY.slice(0, INVENTORY.indexOf('[node-d]')), fleet.file)
    const report = await convergeFleet(smaller, options())
    expect(report.result).toBe('ok')
    expect(Object.keys(psk('node-a')).sort()).toEqual(['node-b', 'node-c'])
    expect(Object.keys(psk('node-b')).sort()).toEqual(['node-a', 'node-c'])
    expect(report.nodes.find((n) => n.name === 'node-a')!.steps.presharedKeys).toEqual({removed: ['node-d']})
    expect(report.presharedKeys).toBeUndefined()
  })

  it('each node names its new keys\' peers in inventory order, whichever generating end answered first', async () => {
    const original = hosts['node-a']!.shell.bind(hosts['node-a'])
    hosts['node-a']!.shell = () => {
      const shell = original()
      return {...shell, run: async (script, args = [], o) => {
        if (args[0] === 'generate') await new Promise((r) => setTimeout(r, 50)) // node-b's keys are made first
        return shell.run(script, args, o)
      }}
    }
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.find((n) => n.name === 'node-d')!.steps.presharedKeys).toEqual({stored: ['node-a', 'node-b']})
    expect(report.nodes.find((n) => n.name === 'node-b')!.steps.presharedKeys).toEqual({stored: ['node-a', 'node-c', 'node-d']})
  })

  it('a generating end that fails: it fails, its pairs are not half-made, the others converge', async () => {
    const original = hosts['node-a']!.shell.bind(hosts['node-a'])
    hosts['node-a']!.shell = () => {
      const shell = original()
      return {...shell, run: async (script, args = [], o) => (args[0] === 'generate' ? {code: 50, stdout: 'error=wg genpsk failed\n', stderr: ''} : shell.run(script, args, o))}
    }
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.find((n) => n.name === 'node-a')).toMatchObject({result: 'failed', error: expect.stringMatching(/generating preshared keys failed: wg genpsk failed/)})
    expect(report.presharedKeys?.filter((p) => p.result === 'failed').map((p) => p.nodes.join('~'))).toEqual(['node-a~node-b', 'node-a~node-c', 'node-a~node-d'])
    expect(psk('node-b')['node-a']).toBeUndefined()
    expect(psk('node-b')['node-c']).toBe(psk('node-c')['node-b'])
  })
})
