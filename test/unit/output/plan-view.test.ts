/** `wgfleet plan` for people: every node's peers, routes through the relay, what changed since the last apply. */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {planToJson, renderPlanText} from '../../../src/output/plan-view.js'
import {planFleet} from '../../../src/plan/index.js'
import type {PlanReport} from '../../../src/services/plan.js'
import {LAB_INVENTORY} from '../../fixtures/lab-fleet.js'

const INVENTORY = LAB_INVENTORY
const KEYS = {
  'node-a': 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=',
  'node-b': 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=',
  'node-c': 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=',
  'node-d': 'ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ=',
}
const DIFF = '--- node-a\n+++ node-a\n-PersistentKeepalive = 15\n+PersistentKeepalive = 25\n'

function report(): PlanReport {
  const fleet = parseInventory(INVENTORY, '/srv/fleet/inventory.ini')
  const plan = planFleet(fleet, {publicKeys: KEYS, facts: {}})
  const change = ['changed', 'unchanged', 'new', 'new'] as const
  const nodes = plan.nodes.map((n, i) => ({...n, change: change[i]!, diff: i === 0 ? DIFF : ''}))
  return {fleet, plan, nodes, removed: ['node-z']}
}

describe('renderPlanText', () => {
  const text = renderPlanText(report(), {showConfig: false})
  const lines = text.split('\n').map((l) => l.trimEnd())

  it('heads with the network, then one block per node with its peers', () => {
    expect(lines[0]).toBe('Network 10.0.0.0/24, interface wg0, topology mesh, 4 nodes.')
    expect(lines).toContain('node-a  10.0.0.1/24  endpoint 203.0.113.1:51820  listen 51820  [forwards]')
    expect(lines).toContain('node-c  10.0.0.3/24  endpoint none (behind NAT)  listen 51820')
    expect(text).toMatch(/\n {2}node-b +203\.0\.113\.2:51820 +10\.0\.0\.2\/32 +25s +direct/)
  })

  it('shows the relay carrying the other NAT-ed node, and the routes through it', () => {
    const nodeC = text.slice(text.indexOf('node-c  10.0.0.3'), text.indexOf('node-d  10.0.0.4'))
    expect(nodeC).toMatch(/node-a +203\.0\.113\.1:51820 +10\.0\.0\.1\/32, 10\.0\.0\.4\/32 +25s +direct/)
    expect(nodeC).toMatch(/node-d +- +10\.0\.0\.4\/32 +- +relay node-a/)
    expect(nodeC).not.toMatch(/node-d +198\.51\.100\.8/)
  })

  it('says what changed since the last apply, and which nodes are only in state', () => {
    expect(text).toContain('  config: changes since last apply:\n    --- node-a\n    +++ node-a\n    -PersistentKeepalive = 15\n    +PersistentKeepalive = 25')
    expect(text).toContain('  config: unchanged since last apply')
    expect(text).toContain('  config: new (never applied)')
    expect(text.trimEnd().split('\n').at(-1)).toBe('node-z: in state but no longer in the inventory (run `wgfleet remove-node node-z` to clean it up)')
  })

  it('--show-config prints the rendered config with the private key as a marker', () => {
    const withConfig = renderPlanText(report(), {showConfig: true})
    expect(withConfig).toContain('  rendered config:\n    # Managed by wgfleet. Local changes are overwritten.\n    [Interface]')
    expect(withConfig).toContain('    PrivateKey = @WGFLEET_PRIVATE_KEY@')
  })
})

describe('planToJson', () => {
  it('has the documented shape: nodes[name, address, endpoint, peers[name, publicKey, endpoint, allowedIps, keepalive, via], config]', () => {
    const json = planToJson(report())
    const c = json.nodes.find((n) => n.name === 'node-c')!
    expect(c).toMatchObject({name: 'node-c', address: '10.0.0.3/24', endpoint: null})
    expect(c.peers.map((p) => p.name)).toEqual(['node-a', 'node-b'])
    expect(c.peers[0]).toMatchObject({name: 'node-a', publicKey: KEYS['node-a'], endpoint: '203.0.113.1:51820', allowedIps: ['10.0.0.1/32', '10.0.0.4/32'], keepalive: 25})
    expect(c.config).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    expect(json.removed).toEqual(['node-z'])
  })
})
