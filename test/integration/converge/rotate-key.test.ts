/**
 * The rotation orchestration (services/rotate-key rotateNodes) over scripted hosts that model the three
 * keys of a node and the peer entries of the others: the order of the steps (state records the pending
 * key before the switch; every peer has the extra entry before the switch; the moves after it), the
 * preflight (a peer not reached: nothing changes), an interrupted rotation finished from where it stopped,
 * and a stale pending key rolled back.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {loadInventory} from '../../../src/inventory/index.js'
import type {Fleet, NodeSpec} from '../../../src/inventory/model.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {finishPendingRotations, rotateNodes, rotationTargets, runRotateKey} from '../../../src/services/rotate-key.js'
import {lockInventory} from '../../../src/lib/lock.js'
import {LockedError} from '../../../src/lib/errors.js'
import {stateDirFor} from '../../../src/state/state.js'
import {openStateStore, type StateStore} from '../../../src/state/state.js'
import type {ExecResult, RemoteShell} from '../../../src/tasks/remote-shell.js'
import {LAB_INVENTORY, LAB_KEYS, SPARE_KEY} from '../../fixtures/lab-fleet.js'

const NEW = SPARE_KEY
const STRANGER = 'WIf5yPvDn3r6j0h9vDz1hEXLEcNXUeS5u3nTNz7PqVw='
const NOW = Date.parse('2026-12-01T12:00:00Z')

interface Host {
  keyFile: string
  newKey?: string
  /** What `generate` makes. */
  generates?: string
  iface: string
  /** public key → AllowedIPs ('' = none) */
  peers: Map<string, string>
}

let dir: string
let fleet: Fleet
let store: StateStore
let hosts: Record<string, Host>
let events: string[]
let unreachable: Set<string>
let pendingAtSwitch: Array<string | undefined>

function hostFor(name: keyof typeof LAB_KEYS): Host {
  const peers = new Map(Object.entries(LAB_KEYS).filter(([n]) => n !== name).map(([n, key]) => [key, `10.0.0.${n.at(-1)!.charCodeAt(0) - 96}/32`]))
  return {keyFile: LAB_KEYS[name], iface: LAB_KEYS[name], peers, generates: NEW}
}

function shellOf(node: NodeSpec): RemoteShell {
  const host = hosts[node.name]!
  const rotate = loadScript('rotate')
  return {
    node: node.name,
    user: 'root',
    async close() {},
    async run(script, args = []): Promise<ExecResult> {
      if (script !== rotate) throw new Error(`unexpected script on ${node.name}`)
      const [mode, , a, b, c] = args
      events.push(`${node.name} ${mode}`)
      const report = () => ({code: 0, stdout: `keyfile_pubkey=${host.keyFile}\nnew_pubkey=${host.newKey ?? ''}\ninterface_pubkey=${host.iface}\n`, stderr: ''})
      switch (mode) {
        case 'read':
          return report()
        case 'generate':
          host.newKey ??= host.generates
          return report()
        case 'switch':
          pendingAtSwitch.push((await store.load()).nodes[node.name]?.pendingPublicKey)
          host.iface = a!
          return {code: 0, stdout: 'switched=yes\n', stderr: ''}
        case 'commit':
          host.keyFile = a!
          delete host.newKey
          return {code: 0, stdout: 'committed=yes\n', stderr: ''}
        case 'add':
          if (!host.peers.has(a!)) host.peers.set(a!, '')
          return {code: 0, stdout: 'added=yes\n', stderr: ''}
        case 'move':
          host.peers.set(a!, c!)
          host.peers.delete(b!)
          return {code: 0, stdout: 'moved=yes\n', stderr: ''}
      }
      throw new Error(`unexpected mode ${mode}`)
    },
  }
}

const options = (requested: string[]) => ({
  requested,
  clock: () => NOW,
  openShell: async (node: NodeSpec) => {
    if (unreachable.has(node.name)) throw new Error(`cannot reach ${node.name}`)
    return shellOf(node)
  },
})

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-rotate-'))
  writeFileSync(join(dir, 'inventory.ini'), LAB_INVENTORY)
  fleet = await loadInventory(join(dir, 'inventory.ini'))
  store = openStateStore(dir)
  for (const [name, key] of Object.entries(LAB_KEYS)) await store.updateNode(name, {publicKey: key})
  hosts = Object.fromEntries(Object.keys(LAB_KEYS).map((n) => [n, hostFor(n as keyof typeof LAB_KEYS)]))
  events = []
  unreachable = new Set()
  pendingAtSwitch = []
})

describe('rotateNodes', () => {
  it('rotating node-b: pending recorded before the switch, the extra entry on every peer before it, the moves after it, then the commit', async () => {
    const [outcome] = await rotateNodes(fleet, options(['node-b']))
    expect(outcome).toMatchObject({node: 'node-b', result: 'rotated', resumed: false, oldPublicKey: LAB_KEYS['node-b'], newPublicKey: NEW})
    expect(pendingAtSwitch).toEqual([NEW])
    const at = (e: string) => events.indexOf(e)
    expect(events.slice(0, 2)).toEqual(['node-b read', 'node-b generate'])
    for (const peer of ['node-a', 'node-c', 'node-d']) {
      expect(at(`${peer} add`)).toBeLessThan(at('node-b switch'))
      expect(at(`${peer} move`)).toBeGreaterThan(at('node-b switch'))
      expect(at(`${peer} move`)).toBeLessThan(at('node-b commit'))
      expect(hosts[peer]!.peers.get(NEW)).toBe('10.0.0.2/32')
      expect(hosts[peer]!.peers.has(LAB_KEYS['node-b'])).toBe(false)
    }
    expect(hosts['node-b']).toMatchObject({keyFile: NEW, iface: NEW})
    expect((await store.load()).nodes['node-b']).toMatchObject({publicKey: NEW, keyCreatedAt: new Date(NOW).toISOString()})
    expect((await store.load()).nodes['node-b']?.pendingPublicKey).toBeUndefined()
  })

  it('the relay: each NAT-ed node moves the other NAT-ed node\'s address with it', async () => {
    await rotateNodes(fleet, options(['node-a']))
    expect(hosts['node-c']!.peers.get(NEW)).toBe('10.0.0.1/32,10.0.0.4/32')
    expect(hosts['node-d']!.peers.get(NEW)).toBe('10.0.0.1/32,10.0.0.3/32')
  })

  it('a peer not reached: nothing switched, nothing added, no pending key recorded', async () => {
    unreachable.add('node-d')
    const [outcome] = await rotateNodes(fleet, options(['node-b']))
    expect(outcome).toMatchObject({node: 'node-b', result: 'failed', stage: 'preflight'})
    expect(events).toEqual(['node-b read', 'node-b generate'])
    expect(hosts['node-b']!.iface).toBe(LAB_KEYS['node-b'])
    expect((await store.load()).nodes['node-b']).toEqual({publicKey: LAB_KEYS['node-b']})
  })

  it('killed after the switch: the next run (init\'s finishPendingRotations) finishes it — no second switch, no new key', async () => {
    await store.updateNode('node-b', {pendingPublicKey: NEW})
    Object.assign(hosts['node-b']!, {newKey: NEW, iface: NEW, generates: STRANGER})
    const [outcome] = await finishPendingRotations(fleet, options([]))
    expect(outcome).toMatchObject({node: 'node-b', result: 'rotated', resumed: true, newPublicKey: NEW})
    expect(events).not.toContain('node-b switch')
    expect(events).not.toContain('node-b generate')
    expect(hosts['node-b']).toMatchObject({keyFile: NEW, iface: NEW})
    expect((await store.load()).nodes['node-b']).toMatchObject({publicKey: NEW})
  })

  it('killed mid-way with the interface on a third key: refused, exactly the pending key is accepted', async () => {
    await store.updateNode('node-b', {pendingPublicKey: NEW})
    Object.assign(hosts['node-b']!, {newKey: NEW, iface: STRANGER})
    const [outcome] = await finishPendingRotations(fleet, options([]))
    expect(outcome).toMatchObject({node: 'node-b', result: 'failed', stage: 'read', keyRefusal: {reason: 'changed-from-pinned', reported: STRANGER}})
    expect(events).toEqual(['node-b read'])
  })

  it('a pending key the host has no trace of: rolled back (state cleared), nothing run but the read', async () => {
    await store.updateNode('node-b', {pendingPublicKey: NEW})
    const [outcome] = await finishPendingRotations(fleet, options([]))
    expect(outcome).toEqual({node: 'node-b', result: 'rolled-back', pendingPublicKey: NEW})
    expect(events).toEqual(['node-b read'])
    expect((await store.load()).nodes['node-b']?.pendingPublicKey).toBeUndefined()
  })

  it('nothing pending: init runs no rotation step at all', async () => {
    expect(await finishPendingRotations(fleet, options([]))).toEqual([])
    expect(events).toEqual([])
  })
})

describe('rotationTargets', () => {
  const names = ['node-a', 'node-b', 'node-c']
  it('NODE... in inventory order, or --all; never both, never neither, never an unknown node or one twice (exit 2)', () => {
    expect(rotationTargets(names, ['node-c', 'node-a'], false)).toEqual(['node-a', 'node-c'])
    expect(rotationTargets(names, [], true)).toEqual(names)
    for (const [nodes, all, message] of [[['node-a'], true, /not both/], [[], false, /no node to rotate/], [['node-x'], false, /"node-x": no such node/], [['node-a', 'node-a'], false, /node-a given more than once/]] as const) {
      expect(() => rotationTargets(names, nodes, all)).toThrow(message)
      try {
        rotationTargets(names, nodes, all)
      } catch (error) {
        expect((error as {exitCode: number}).exitCode).toBe(2)
      }
    }
  })
})

describe('runRotateKey', () => {
  it('takes the inventory\'s lock like init: another run holding it → refused at once (exit 1), no host contacted', async () => {
    const unlock = await lockInventory(fleet.file, stateDirFor(fleet.dir))
    let opened = 0
    try {
      const run = runRotateKey(
        {inventory: fleet.file, nodes: ['node-b'], all: false, concurrency: 10, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false},
        {openShell: async (node) => (opened++, shellOf(node))},
      )
      await expect(run).rejects.toBeInstanceOf(LockedError)
      expect(opened).toBe(0)
    } finally {
      await unlock()
    }
  })
})
