/** `wgfleet plan` for people: every node's peers, routes through the relay, what changed since the last apply. */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {describeChange, PLAN_SUMMARY_THRESHOLD, planTextMode, planTextOf, planToJson} from '../../../src/output/plan-view.js'
import {planFleet, summarizeConfigChange} from '../../../src/plan/index.js'
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
  const list = plan.nodes.map((n, i) => ({...n, change: change[i]!, diff: i === 0 ? DIFF : '', summary: i === 0 ? summarizeConfigChange(n.config.replaceAll('PersistentKeepalive = 25', 'PersistentKeepalive = 15'), n.config) : null}))
  async function* nodes() {
    yield* list
  }
  return {fleet, interface: plan.interface, cidr: plan.cidr, nodes: nodes(), removed: ['node-z']}
}

describe('plan for people, full tables (up to the threshold)', async () => {
  const text = await planTextOf(report(), {showConfig: false, mode: 'full'})
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

  it('--show-config prints the rendered config with the private key as a marker', async () => {
    const withConfig = await planTextOf(report(), {showConfig: true, mode: 'full'})
    expect(withConfig).toContain('  rendered config:\n    # Managed by wgfleet. Local changes are overwritten.\n    [Interface]')
    expect(withConfig).toContain('    PrivateKey = @WGFLEET_PRIVATE_KEY@')
  })
})

describe('planToJson', () => {
  it('has the documented shape: nodes[name, address, endpoint, peers[name, publicKey, endpoint, allowedIps, keepalive, via], config]', async () => {
    const json = await planToJson(report())
    const c = json.nodes.find((n) => n.name === 'node-c')!
    expect(c).toMatchObject({name: 'node-c', address: '10.0.0.3/24', endpoint: null})
    expect(c.peers.map((p) => p.name)).toEqual(['node-a', 'node-b'])
    expect(c.peers[0]).toMatchObject({name: 'node-a', publicKey: KEYS['node-a'], endpoint: '203.0.113.1:51820', allowedIps: ['10.0.0.1/32', '10.0.0.4/32'], keepalive: 25})
    expect(c.config).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    expect(json.removed).toEqual(['node-z'])
    expect(c.peers[0]).not.toHaveProperty('presharedKey')
  })

  it('preshared keys on: each entry says it carries one (the config shows the marker; no value exists here)', async () => {
    const fleet = parseInventory(INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = true'), '/srv/fleet/inventory.ini')
    const plan = planFleet(fleet, {publicKeys: KEYS, facts: {}})
    async function* nodes() {
      yield* plan.nodes.map((n) => ({...n, change: 'new' as const, diff: '', summary: null}))
    }
    const json = await planToJson({fleet, interface: plan.interface, cidr: plan.cidr, nodes: nodes(), removed: []})
    const c = json.nodes.find((n) => n.name === 'node-c')!
    expect(c.peers.map((p) => [p.name, p.presharedKey])).toEqual([['node-a', true], ['node-b', true]])
    expect(c.config).toContain('PresharedKey = @WGFLEET_PRESHARED_KEY@')
  })
})

describe('plan for people past the threshold: one line per node, totals, changes per peer section', async () => {
  const text = await planTextOf(report(), {showConfig: false, mode: 'summary'})

  it('prints one line per node with its peer count, relays and change, then totals and how to see more', () => {
    expect(text).toContain('node-a  10.0.0.1/24  203.0.113.1:51820  3 peers  [forwards]  config changed: keepalive 15→25 on 3 peers\n')
    expect(text).toContain('node-c  10.0.0.3/24  behind NAT  2 peers, 1 through node-a  config new\n')
    expect(text).toContain('4 nodes, 10 peer entries, 2 routes through a relay; configs: 2 new, 1 changed, 1 unchanged.')
    expect(text).toContain('`wgfleet plan --all`')
    expect(text).not.toContain('allowed IPs')
  })

  it('chooses the summary past the threshold unless --all or --node, and on --summary', () => {
    expect(planTextMode(PLAN_SUMMARY_THRESHOLD, {})).toBe('full')
    expect(planTextMode(PLAN_SUMMARY_THRESHOLD + 1, {})).toBe('summary')
    expect(planTextMode(PLAN_SUMMARY_THRESHOLD + 1, {all: true})).toBe('full')
    expect(planTextMode(PLAN_SUMMARY_THRESHOLD + 1, {node: 'node-a'})).toBe('full')
    expect(planTextMode(3, {summary: true})).toBe('summary')
  })

  it('describes a change in words', () => {
    expect(describeChange({interfaceFields: ['ListenPort'], peersAdded: 3, peersRemoved: 1, fieldChanges: [{field: 'PersistentKeepalive', from: '15', to: '25', peers: 58}]})).toBe(
      '3 peers added; 1 peer removed; keepalive 15→25 on 58 peers; [Interface] ListenPort changed',
    )
  })
})

describe('plan with a roaming client', () => {
  const PHONE_KEY = 'mK2PaJ6sBcBmUqOxN7DFoMPL1fBmIdN0QGvYGpS1uHk='
  const withPhone = `${INVENTORY}\n[phone]\nclient = true\npublic_key = ${PHONE_KEY}\naddress = 10.0.0.50\nvia = node-a\n`
  const clientReport = (): PlanReport => {
    const fleet = parseInventory(withPhone, '/srv/fleet/inventory.ini')
    const plan = planFleet(fleet, {publicKeys: KEYS, facts: {}})
    async function* nodes() {
      yield* plan.nodes.map((n) => ({...n, change: 'new' as const, diff: '', summary: null}))
    }
    return {fleet, interface: plan.interface, cidr: plan.cidr, nodes: nodes(), removed: []}
  }

  it('lists the client on its via node as a roaming client entry, and the route on the others', async () => {
    const lines = (await planTextOf(clientReport(), {showConfig: false, mode: 'full'})).split('\n').map((l) => l.trimEnd())
    expect(lines.filter((l) => /^ {2}phone +roaming +10\.0\.0\.50\/32 +off +client$/.test(l))).toHaveLength(1)
    expect(lines.some((l) => /^ {2}node-a .*10\.0\.0\.1\/32, 10\.0\.0\.50\/32 /.test(l))).toBe(true)
  })

  it('--json marks the client entry and the clients a peer routes', async () => {
    const json = await planToJson(clientReport())
    expect(json.nodes.find((n) => n.name === 'node-a')!.peers.find((p) => p.name === 'phone')).toMatchObject({client: true, endpoint: null, keepalive: 0})
    expect(json.nodes.find((n) => n.name === 'node-b')!.peers.find((p) => p.name === 'node-a')).toMatchObject({clients: ['phone']})
  })
})
