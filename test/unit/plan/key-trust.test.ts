/** The one rule for "is this key trusted?" (pure): a table of states and reports, and what comes out. */
import {describe, expect, it} from 'vitest'

import {judgeKeys, MALFORMED_SHOWN, type KeyReport, type KeyTrustInput, type PinnedKey} from '../../../src/plan/key-trust.js'
import {KEYS} from './fixtures.js'

const A = KEYS['node-a']
const B = KEYS['node-b']
const C = KEYS['node-c']
const NEW = KEYS['node-d']
const OTHER = KEYS['node-e']
const NODES = ['node-a', 'node-b', 'node-c']

function judge(pinned: Record<string, PinnedKey>, reports: Record<string, KeyReport>, accept: string[] = [], nodes = NODES) {
  const input: KeyTrustInput = {nodes, pinned, reports: new Map(Object.entries(reports)), acceptKeyChange: new Set(accept)}
  return judgeKeys(input)
}

const PINNED = {'node-a': {publicKey: A}, 'node-b': {publicKey: B}, 'node-c': {publicKey: C}}

describe('judgeKeys', () => {
  it('first use: nothing pinned, every reported key is trusted and to be pinned', () => {
    const t = judge({}, {'node-a': {keyFile: A}, 'node-b': {keyFile: B, interface: B}, 'node-c': {interface: C}})
    expect(t.refusals.size).toBe(0)
    expect([...t.trusted]).toEqual([
      ['node-a', {publicKey: A, pin: 'first-use'}],
      ['node-b', {publicKey: B, pin: 'first-use'}],
      ['node-c', {publicKey: C, pin: 'first-use'}],
    ])
    expect(t.publicKeys).toEqual({'node-a': A, 'node-b': B, 'node-c': C})
    expect(t.names).toEqual(new Map([[A, 'node-a'], [B, 'node-b'], [C, 'node-c']]))
  })

  it('the pinned key reported again: unchanged; a node not reached keeps its pinned key', () => {
    const t = judge(PINNED, {'node-a': {keyFile: A, interface: A}})
    expect([...t.trusted]).toEqual([['node-a', {publicKey: A, pin: 'unchanged'}]])
    expect(t.publicKeys).toEqual({'node-a': A, 'node-b': B, 'node-c': C})
  })

  it('a node reporting another node\'s pinned key is refused; the holder keeps its key and its peer everywhere', () => {
    const t = judge(PINNED, {'node-a': {keyFile: A, interface: A}, 'node-b': {keyFile: A, interface: A}, 'node-c': {keyFile: C}})
    expect([...t.refusals]).toEqual([
      ['node-b', {reason: 'duplicate-of-other-node', source: 'key-file', publicKey: A, heldBy: 'node-a', alsoReportedBy: ['node-a'], pinned: B}],
    ])
    expect(t.trusted.get('node-a')).toEqual({publicKey: A, pin: 'unchanged'})
    // node-b stays in every plan under the key state pins to it, never under node-a's.
    expect(t.publicKeys).toEqual({'node-a': A, 'node-b': B, 'node-c': C})
    expect(t.names.get(A)).toBe('node-a')
  })

  it('the claimant is refused also when the holder is not reached, and also through its interface key', () => {
    const t = judge(PINNED, {'node-b': {keyFile: B, interface: A}})
    expect(t.refusals.get('node-b')).toEqual({reason: 'duplicate-of-other-node', source: 'interface', publicKey: A, heldBy: 'node-a', alsoReportedBy: [], pinned: B})
    expect(t.publicKeys['node-a']).toBe(A)
  })

  it('two nodes with one key and no pin for it (a cloned image): both refused, neither key in the plan', () => {
    const t = judge({}, {'node-a': {keyFile: A}, 'node-b': {keyFile: A}, 'node-c': {keyFile: C}})
    expect([...t.refusals]).toEqual([
      ['node-a', {reason: 'duplicate-of-other-node', source: 'key-file', publicKey: A, alsoReportedBy: ['node-b']}],
      ['node-b', {reason: 'duplicate-of-other-node', source: 'key-file', publicKey: A, alsoReportedBy: ['node-a']}],
    ])
    expect(t.publicKeys).toEqual({'node-c': C})
  })

  it('a key held as another node\'s pending rotation counts as held', () => {
    const t = judge({...PINNED, 'node-a': {publicKey: A, pendingPublicKey: NEW}}, {'node-b': {keyFile: NEW}})
    expect(t.refusals.get('node-b')).toMatchObject({reason: 'duplicate-of-other-node', heldBy: 'node-a'})
  })

  it('--accept-key-change never accepts another node\'s key', () => {
    const t = judge(PINNED, {'node-b': {keyFile: A}}, ['node-b'])
    expect(t.refusals.get('node-b')?.reason).toBe('duplicate-of-other-node')
  })

  it('key file and running interface disagree: refused (never one picked), also with --accept-key-change', () => {
    for (const accept of [[], ['node-b']]) {
      const t = judge(PINNED, {'node-b': {keyFile: NEW, interface: B}}, accept)
      expect(t.refusals.get('node-b')).toEqual({reason: 'file-and-interface-differ', keyFile: NEW, interface: B, pinned: B})
      expect(t.publicKeys['node-b']).toBe(B)
    }
    const fresh = judge({}, {'node-b': {keyFile: NEW, interface: B}})
    expect(fresh.refusals.get('node-b')).toEqual({reason: 'file-and-interface-differ', keyFile: NEW, interface: B})
    expect(fresh.publicKeys['node-b']).toBeUndefined()
  })

  it('a key that differs from the pinned one: refused without --accept-key-change, accepted with it (for that node only)', () => {
    const refused = judge(PINNED, {'node-b': {keyFile: NEW, interface: NEW}, 'node-c': {keyFile: OTHER}}, ['node-c'])
    expect(refused.refusals.get('node-b')).toEqual({reason: 'changed-from-pinned', reported: NEW, pinned: B})
    expect(refused.publicKeys['node-b']).toBe(B)
    expect(refused.trusted.get('node-c')).toEqual({publicKey: OTHER, pin: 'accepted-change'})
    expect(refused.publicKeys['node-c']).toBe(OTHER)
    const accepted = judge(PINNED, {'node-b': {keyFile: NEW, interface: NEW}}, ['node-b'])
    expect(accepted.refusals.size).toBe(0)
    expect(accepted.trusted.get('node-b')).toEqual({publicKey: NEW, pin: 'accepted-change'})
    expect(accepted.publicKeys['node-b']).toBe(NEW)
    expect(accepted.names.get(NEW)).toBe('node-b')
    expect(accepted.names.get(B)).toBe('node-b') // the old key is still named (a stale entry on an interface)
  })

  it('a rotation wgfleet started: exactly the pending key is accepted; any other new key is still refused', () => {
    const pinned = {...PINNED, 'node-b': {publicKey: B, pendingPublicKey: NEW}}
    expect(judge(pinned, {'node-b': {keyFile: NEW}}).trusted.get('node-b')).toEqual({publicKey: NEW, pin: 'rotated'})
    expect(judge(pinned, {'node-b': {keyFile: OTHER}}).refusals.get('node-b')).toEqual({reason: 'changed-from-pinned', reported: OTHER, pinned: B, pending: NEW})
    // Not switched yet: the old key is still the node's.
    const before = judge(pinned, {'node-b': {keyFile: B}})
    expect(before.trusted.get('node-b')).toEqual({publicKey: B, pin: 'unchanged'})
    expect(before.publicKeys['node-b']).toBe(B)
    // Not reached: the plan keeps the pinned key until the host reports the new one.
    expect(judge(pinned, {}).publicKeys['node-b']).toBe(B)
  })

  it('a malformed report is refused (cut for display); the node keeps its pinned key in the plan', () => {
    const t = judge(PINNED, {'node-b': {keyFile: 'not-a-key'}, 'node-c': {keyFile: C, interface: `${'x'.repeat(100)}\u001b]52;c;aGk=\u0007`}})
    expect(t.refusals.get('node-b')).toEqual({reason: 'malformed', source: 'key-file', value: 'not-a-key'})
    const c = t.refusals.get('node-c')
    expect(c).toMatchObject({reason: 'malformed', source: 'interface'})
    expect(c?.reason === 'malformed' && c.value.length).toBe(MALFORMED_SHOWN)
    expect(t.publicKeys).toEqual({'node-a': A, 'node-b': B, 'node-c': C})
  })

  it('an empty value is no report (the interface is down, or wg printed nothing)', () => {
    const t = judge(PINNED, {'node-b': {keyFile: B, interface: ''}, 'node-c': {keyFile: null, interface: null}})
    expect(t.refusals.size).toBe(0)
    expect(t.trusted.get('node-b')).toEqual({publicKey: B, pin: 'unchanged'})
    expect(t.trusted.has('node-c')).toBe(false)
    expect(t.publicKeys['node-c']).toBe(C)
  })

  it('a malformed pin is never trusted nor planned: the node is as if unpinned', () => {
    const t = judge({'node-a': {publicKey: 'garbage\nPostUp = rm -rf /'}}, {'node-a': {keyFile: A}})
    expect(t.trusted.get('node-a')).toEqual({publicKey: A, pin: 'first-use'})
    expect(judge({'node-a': {publicKey: 'garbage'}}, {}).publicKeys).toEqual({})
  })

  it('one key pinned to two nodes in state (the old duplicate bug): trusted for neither, with a warning; reports decide', () => {
    const pinned = {'node-a': {publicKey: A}, 'node-b': {publicKey: A}}
    const away = judge(pinned, {})
    expect(away.publicKeys).toEqual({})
    expect(away.warnings).toEqual([{kind: 'pinned-key-shared', publicKey: A, nodes: ['node-a', 'node-b']}])
    const healed = judge(pinned, {'node-a': {keyFile: A}, 'node-b': {keyFile: B}})
    expect(healed.trusted.get('node-a')).toEqual({publicKey: A, pin: 'first-use'})
    expect(healed.trusted.get('node-b')).toEqual({publicKey: B, pin: 'first-use'})
    const still = judge(pinned, {'node-a': {keyFile: A}, 'node-b': {keyFile: A}})
    expect([...still.refusals.keys()]).toEqual(['node-a', 'node-b'])
  })

  it('state entries of nodes no longer in the inventory: named, but holding nothing; reports of unknown nodes are ignored', () => {
    const t = judge({'old-node': {publicKey: NEW}}, {'node-a': {keyFile: NEW}, stranger: {keyFile: A}})
    expect(t.trusted.get('node-a')).toEqual({publicKey: NEW, pin: 'first-use'})
    expect(t.trusted.has('stranger')).toBe(false)
    expect(t.names.get(NEW)).toBe('node-a')
    expect(judge({'old-node': {publicKey: NEW}}, {}).names.get(NEW)).toBe('old-node')
  })

  it('own properties only: a node named constructor or __proto__ has no inherited pin', () => {
    const reports = new Map([['constructor', {keyFile: A}], ['__proto__', {keyFile: B}]])
    const t = judgeKeys({nodes: ['constructor', '__proto__'], pinned: JSON.parse('{"__proto__": {"publicKey": "x"}}') as Record<string, PinnedKey>, reports})
    expect(t.trusted.get('constructor')).toEqual({publicKey: A, pin: 'first-use'})
    expect(t.trusted.get('__proto__')).toEqual({publicKey: B, pin: 'first-use'}) // "x" is no key: as if unpinned
  })
})
