/** The key rotation planner (pure): what rotate-key does next, from state, the node's three keys and the plan. */
import {describe, expect, it} from 'vitest'

import {planFleet} from '../../../src/plan/planner.js'
import {pendingRotations, planRotation, type RotationInput} from '../../../src/plan/rotation.js'
import {fleet, KEYS, SCENARIO} from './fixtures.js'

const [A, B, C, NEW, OTHER] = [KEYS['node-a'], KEYS['node-b'], KEYS['node-c'], KEYS['node-d'], KEYS['node-e']]
const FLEET = fleet(SCENARIO)
const NODES = FLEET.nodes.map((n) => n.name)
const PINNED = {'node-a': {publicKey: A}, 'node-b': {publicKey: B}, 'node-c': {publicKey: C}}
const PLAN = planFleet(FLEET, {publicKeys: {'node-a': A, 'node-b': B, 'node-c': C}})

function decide(overrides: Partial<RotationInput> & Pick<RotationInput, 'report'>) {
  return planRotation({node: 'node-a', nodes: NODES, pinned: PINNED, requested: true, plan: PLAN, ...overrides})
}

describe('planRotation', () => {
  it('a fresh rotation: a new key is generated first', () => {
    expect(decide({report: {keyFile: A, interface: A}})).toEqual({kind: 'generate', clearPending: false})
  })

  it('with the new key generated: record it as pending, then every step; each peer keeps its endpoint, keepalive and AllowedIPs for the node', () => {
    const d = decide({report: {keyFile: A, interface: A, newKey: NEW}})
    expect(d).toEqual({
      kind: 'rotate',
      plan: {
        node: 'node-a',
        oldPublicKey: A,
        newPublicKey: NEW,
        recordPending: true,
        resumed: false,
        switchInterface: true,
        commit: true,
        peers: [
          // node-b dials the relay; node-c (NAT-ed) dials it too, and reaches node-b... directly (b is public).
          {peer: 'node-b', endpoint: '1.1.1.1:51820', keepalive: 25, allowedIps: ['10.0.0.1/32']},
          {peer: 'node-c', endpoint: '1.1.1.1:51820', keepalive: 25, allowedIps: ['10.0.0.1/32']},
        ],
      },
    })
  })

  it('preshared keys on: each peer\'s extra entry carries the pair\'s key (the peer\'s file for the rotated node)', () => {
    const withPsk = planFleet(fleet(SCENARIO, {presharedKeys: true}), {publicKeys: {'node-a': A, 'node-b': B, 'node-c': C}})
    const d = decide({plan: withPsk, report: {keyFile: A, interface: A, newKey: NEW}})
    expect(d.kind === 'rotate' && d.plan.peers).toEqual([
      {peer: 'node-b', endpoint: '1.1.1.1:51820', keepalive: 25, allowedIps: ['10.0.0.1/32'], presharedKey: true},
      {peer: 'node-c', endpoint: '1.1.1.1:51820', keepalive: 25, allowedIps: ['10.0.0.1/32'], presharedKey: true},
    ])
  })

  it('rotating a NAT-ed node: its peers have no endpoint for it (learned from its handshake)', () => {
    const d = decide({node: 'node-c', report: {keyFile: C, interface: C, newKey: NEW}})
    expect(d.kind === 'rotate' && d.plan.peers).toEqual([
      {peer: 'node-a', endpoint: null, keepalive: 25, allowedIps: ['10.0.0.3/32']},
      {peer: 'node-b', endpoint: null, keepalive: 25, allowedIps: ['10.0.0.3/32']},
    ])
  })

  it('the relay of two NAT-ed nodes: each NAT-ed node moves the relayed address with the relay\'s entry', () => {
    const four = fleet([...SCENARIO, {name: 'node-d', host: '4.4.4.4', address: '10.0.0.4', nat: true}])
    const plan = planFleet(four, {publicKeys: {'node-a': A, 'node-b': B, 'node-c': C, 'node-d': OTHER}})
    const d = planRotation({node: 'node-a', nodes: four.nodes.map((n) => n.name), pinned: {...PINNED, 'node-d': {publicKey: OTHER}}, requested: true, plan, report: {keyFile: A, interface: A, newKey: NEW}})
    expect(d.kind === 'rotate' && d.plan.peers.map((p) => [p.peer, p.allowedIps])).toEqual([
      ['node-b', ['10.0.0.1/32']],
      ['node-c', ['10.0.0.1/32', '10.0.0.4/32']],
      ['node-d', ['10.0.0.1/32', '10.0.0.3/32']],
    ])
  })

  describe('an interrupted rotation (state holds the pending key)', () => {
    const pinned = {...PINNED, 'node-a': {publicKey: A, pendingPublicKey: NEW}}

    it('cut before the switch: resumed, nothing recorded again, every step run', () => {
      const d = decide({pinned, requested: false, report: {keyFile: A, interface: A, newKey: NEW}})
      expect(d.kind === 'rotate' && [d.plan.resumed, d.plan.recordPending, d.plan.switchInterface, d.plan.commit]).toEqual([true, false, true, true])
    })

    it('cut after the switch (key file and interface differ: the one case key trust allows it): no second switch, committed', () => {
      const d = decide({pinned, requested: false, report: {keyFile: A, interface: NEW, newKey: NEW}})
      expect(d.kind === 'rotate' && [d.plan.resumed, d.plan.switchInterface, d.plan.commit, d.plan.newPublicKey]).toEqual([true, false, true, NEW])
    })

    it('cut after the commit: only the peers (idempotent) and state are left', () => {
      const d = decide({pinned, requested: false, report: {keyFile: NEW, interface: NEW}})
      expect(d.kind === 'rotate' && [d.plan.switchInterface, d.plan.commit, d.plan.peers.length]).toEqual([false, false, 2])
    })

    it('the host has no trace of the pending key: rolled back (not asked), or a new key generated (asked)', () => {
      expect(decide({pinned, requested: false, report: {keyFile: A, interface: A}})).toEqual({kind: 'rolled-back', pendingPublicKey: NEW})
      expect(decide({pinned, requested: true, report: {keyFile: A, interface: A}})).toEqual({kind: 'generate', clearPending: true})
    })

    it('exactly the pending key and no other: an interface on a third key is refused', () => {
      const d = decide({pinned, requested: false, report: {keyFile: A, interface: OTHER, newKey: NEW}})
      expect(d).toEqual({kind: 'refused', refusal: {reason: 'key-refused', refusal: {reason: 'changed-from-pinned', reported: OTHER, pinned: A, pending: NEW}}})
    })
  })

  it('a new key that another node holds is refused (key trust: duplicate)', () => {
    const d = decide({report: {keyFile: A, interface: A, newKey: B}})
    expect(d.kind).toBe('refused')
    expect(d.kind === 'refused' && d.refusal.reason === 'key-refused' && d.refusal.refusal.reason).toBe('duplicate-of-other-node')
  })

  it('a malformed key from the host is refused', () => {
    const d = decide({report: {keyFile: A, interface: A, newKey: 'not a key; rm -rf /'}})
    expect(d.kind === 'refused' && d.refusal.reason === 'key-refused' && d.refusal.refusal.reason).toBe('malformed')
  })

  it('no pinned key (never converged), or the interface down: refused before anything changes', () => {
    expect(decide({pinned: {}, report: {keyFile: A, interface: A, newKey: NEW}})).toEqual({kind: 'refused', refusal: {reason: 'not-converged'}})
    expect(decide({report: {keyFile: A, newKey: NEW}})).toEqual({kind: 'refused', refusal: {reason: 'interface-down'}})
  })

  it('pendingRotations: the nodes with a pending key, in inventory order', () => {
    expect(pendingRotations(NODES, {'node-c': {publicKey: C, pendingPublicKey: NEW}, 'node-a': {publicKey: A}})).toEqual(['node-c'])
  })
})
