/** The state store: what a malformed state.json does (left out, reported, never written back) and what it refuses to write. */
import {mkdtempSync, readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {openStateStore, stateDirFor, type StateStore} from '../../../src/state/state.js'
import {KEYS} from '../plan/fixtures.js'

let dir: string
let store: StateStore
const file = () => join(stateDirFor(dir), 'state.json')

function writeState(nodes: unknown): void {
  mkdirSync(stateDirFor(dir), {recursive: true})
  writeFileSync(file(), JSON.stringify({version: 1, nodes}))
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-state-'))
  store = openStateStore(dir)
})

describe('state store', () => {
  it('a malformed public key is left out and reported, not fatal; the other nodes load as they are', async () => {
    writeState({
      'node-a': {publicKey: KEYS['node-a'], facts: {uplink: 'eth0'}},
      'node-b': {publicKey: 'not-a-key', facts: {uplink: 'eth0'}},
      'node-c': {publicKey: KEYS['node-c'], pendingPublicKey: `${KEYS['node-d']}\nPostUp = x`},
    })
    const {state, ignored} = await store.read()
    expect(state.nodes).toEqual({
      'node-a': {publicKey: KEYS['node-a'], facts: {uplink: 'eth0'}},
      'node-b': {facts: {uplink: 'eth0'}},
      'node-c': {publicKey: KEYS['node-c']},
    })
    expect(ignored).toEqual([{node: 'node-b', field: 'publicKey'}, {node: 'node-c', field: 'pendingPublicKey'}])
    expect((await store.load()).nodes['node-b']).toEqual({facts: {uplink: 'eth0'}})
  })

  it('what was left out is never written back: the next write drops it', async () => {
    writeState({'node-a': {publicKey: KEYS['node-a']}, 'node-b': {publicKey: 'not-a-key'}})
    await store.updateNode('node-a', {appliedAt: '2024-01-01T00:00:00Z'})
    const text = readFileSync(file(), 'utf8')
    expect(text).not.toContain('not-a-key')
    expect(JSON.parse(text).nodes['node-a']).toEqual({publicKey: KEYS['node-a'], appliedAt: '2024-01-01T00:00:00Z'})
  })

  it('entries that are no node name or no object, facts a config cannot carry and odd field types are left out', async () => {
    writeState({
      '../../etc': {publicKey: KEYS['node-a']},
      'Node-A': {publicKey: KEYS['node-a']},
      'node-a': 'a string',
      'node-b': {publicKey: KEYS['node-b'], facts: {uplink: 'eth0; reboot'}},
      'node-c': {publicKey: KEYS['node-c'], facts: {managementSources: ['203.0.113.100', 'not an ip']}, appliedAt: 7},
      'node-d': {publicKey: 42},
    })
    const {state, ignored} = await store.read()
    expect(state.nodes).toEqual({'node-b': {publicKey: KEYS['node-b']}, 'node-c': {publicKey: KEYS['node-c']}, 'node-d': {}})
    expect(ignored).toEqual([
      {node: '../../etc', field: 'entry'},
      {node: 'Node-A', field: 'entry'},
      {node: 'node-a', field: 'entry'},
      {node: 'node-b', field: 'facts'},
      {node: 'node-c', field: 'facts'},
      {node: 'node-c', field: 'appliedAt'},
      {node: 'node-d', field: 'publicKey'},
    ])
  })

  it('fields this version does not know are kept', async () => {
    writeState({'node-a': {publicKey: KEYS['node-a'], keyCreatedAt: '2024-01-01'}})
    await store.updateNode('node-a', {appliedAt: 'x'})
    expect(JSON.parse(readFileSync(file(), 'utf8')).nodes['node-a'].keyCreatedAt).toBe('2024-01-01')
  })

  it('a pending rotation is recorded, and cleared by writing it as undefined', async () => {
    await store.updateNode('node-a', {publicKey: KEYS['node-a']})
    await store.updateNode('node-a', {pendingPublicKey: KEYS['node-d']})
    expect((await store.load()).nodes['node-a']).toEqual({publicKey: KEYS['node-a'], pendingPublicKey: KEYS['node-d']})
    await store.updateNode('node-a', {publicKey: KEYS['node-d'], pendingPublicKey: undefined})
    expect((await store.load()).nodes['node-a']).toEqual({publicKey: KEYS['node-d']})
  })

  it('refuses to record a malformed key (a bug), and the file is left as it was', async () => {
    await store.updateNode('node-a', {publicKey: KEYS['node-a']})
    const before = readFileSync(file(), 'utf8')
    await expect(store.updateNode('node-b', {publicKey: 'not-a-key'})).rejects.toThrow(/bug in wgfleet/)
    await expect(store.updateNode('node-b', {pendingPublicKey: 'x'})).rejects.toThrow(/bug in wgfleet/)
    expect(readFileSync(file(), 'utf8')).toBe(before)
  })

  it('a file that is not JSON, or of another layout, is still an error with a hint', async () => {
    mkdirSync(stateDirFor(dir), {recursive: true})
    for (const text of ['{', JSON.stringify({version: 2, nodes: {}}), JSON.stringify({version: 1, nodes: []})]) {
      writeFileSync(file(), text)
      await expect(store.load()).rejects.toThrow(/state file .* is unreadable/)
    }
  })
})
