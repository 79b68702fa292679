import {mkdtempSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {openStateStore} from '../../../src/state/state.js'

const KEY = (i: number) => Buffer.alloc(32, i).toString('base64')

describe('the state store', () => {
  it('keeps every one of many concurrent node updates, merged into few writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgfleet-state-'))
    const store = openStateStore(dir)
    await Promise.all(Array.from({length: 200}, (_, i) => store.updateNode(`node-${i}`, {publicKey: KEY(i)})))
    await store.updateNode('node-3', {facts: {uplink: 'eth0'}})
    const state = await store.load()
    expect(Object.keys(state.nodes)).toHaveLength(200)
    expect(state.nodes['node-3']).toEqual({publicKey: KEY(3), facts: {uplink: 'eth0'}})
    expect(state.nodes['node-199']).toEqual({publicKey: KEY(199)})
  })

  it('does not rewrite an applied config that is already on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgfleet-state-'))
    const store = openStateStore(dir)
    await store.saveAppliedConfig('node-a', 'config one\n')
    const file = join(store.dir, 'configs', 'node-a.conf')
    const first = statSync(file)
    await store.saveAppliedConfig('node-a', 'config one\n')
    expect(statSync(file).ino).toBe(first.ino)
    await store.saveAppliedConfig('node-a', 'config two\n')
    expect(readFileSync(file, 'utf8')).toBe('config two\n')
    expect(statSync(file).ino).not.toBe(first.ino)
  })
})
