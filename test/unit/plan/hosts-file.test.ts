/** wgfleet's block of /etc/hosts (`hosts_file = true`): what is planned, and what each node then needs. */
import {describe, expect, it} from 'vitest'

import {decideHosts, hostsBlockDigest, planFleet, renderHostsBlock} from '../../../src/plan/index.js'
import {allKeys, fleet, SCENARIO} from './fixtures.js'

describe('the hosts block', () => {
  it('names every node by its overlay address, with NAME.DOMAIN, between markers naming the interface', () => {
    expect(renderHostsBlock(fleet(SCENARIO, {hostsFile: {domain: 'wg'}}))).toBe(
      ['# BEGIN wgfleet wg0', '10.0.0.1 node-a node-a.wg', '10.0.0.2 node-b node-b.wg', '10.0.0.3 node-c node-c.wg', '# END wgfleet wg0', ''].join('\n'),
    )
    expect(renderHostsBlock(fleet(SCENARIO, {hostsFile: {}, interface: 'mesh1'}))).toBe(
      ['# BEGIN wgfleet mesh1', '10.0.0.1 node-a', '10.0.0.2 node-b', '10.0.0.3 node-c', '# END wgfleet mesh1', ''].join('\n'),
    )
  })

  it('is not planned unless the inventory asks for it', () => {
    expect(renderHostsBlock(fleet(SCENARIO))).toBeUndefined()
    expect(planFleet(fleet(SCENARIO), {publicKeys: allKeys()}).nodes.every((n) => n.hostsBlock === undefined)).toBe(true)
  })

  it('every node of the plan carries the same block, one string (O(N) bytes for the fleet)', () => {
    const plan = planFleet(fleet(SCENARIO, {hostsFile: {domain: 'wg'}}), {publicKeys: allKeys()})
    const blocks = new Set(plan.nodes.map((n) => n.hostsBlock))
    expect(blocks.size).toBe(1)
    expect([...blocks][0]).toMatch(/^# BEGIN wgfleet wg0\n/)
  })

  it('digest: SHA-256 of the block text, as `sha256sum` prints it on the host', () => {
    expect(hostsBlockDigest('# BEGIN wgfleet wg0\n# END wgfleet wg0\n')).toMatch(/^[0-9a-f]{64}$/)
    expect(hostsBlockDigest('a\n')).toBe('87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7')
  })
})

describe('decideHosts: what a node needs, from the digest its probe reported', () => {
  const block = renderHostsBlock(fleet(SCENARIO, {hostsFile: {}}))!
  it.each([
    ['no block there, one planned', 'none', block, 'write'],
    ['the planned block there', hostsBlockDigest(block), block, 'none'],
    ['another block there (edited, or the fleet changed)', hostsBlockDigest('# BEGIN wgfleet wg0\n# END wgfleet wg0\n'), block, 'write'],
    ['the host cannot say (no sha256sum)', 'unknown', block, 'write'],
    ['an older probe said nothing', undefined, block, 'write'],
    ['a block there, none planned (hosts_file turned off)', hostsBlockDigest(block), undefined, 'remove'],
    ['nothing there, nothing planned', 'none', undefined, 'none'],
    ['an older probe, nothing planned', undefined, undefined, 'none'],
  ] as const)('%s → %s', (_, reported, planned, expected) => {
    expect(decideHosts(reported, planned)).toBe(expected)
  })
})
