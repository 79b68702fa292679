import {describe, expect, it} from 'vitest'

import {classifyConfigChange, diffConfig, maskSecrets, parseRenderedConfig, planFleet, PRIVATE_KEY_MARKER} from '../../../src/plan/index.js'
import {sameSection} from '../../../src/plan/parse-config.js'
import {allKeys, fleet, NODE_D, SCENARIO} from './fixtures.js'

const REAL_LOOKING_KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='

function configOf(name: string, ...args: Parameters<typeof fleet>): string {
  return planFleet(fleet(...args), {publicKeys: allKeys()}).nodes.find((n) => n.name === name)!.config
}

describe('diffConfig', () => {
  const before = configOf('node-a', SCENARIO)
  const after = configOf('node-a', [...SCENARIO, NODE_D])

  it('is empty when equal', () => {
    expect(diffConfig(before, before, 'node-a')).toBe('')
  })

  it('is a unified diff of the change', () => {
    const diff = diffConfig(before, after, 'node-a')
    expect(diff).toMatch(/^--- node-a\tapplied\n\+\+\+ node-a\tplanned\n@@ /)
    expect(diff).toContain('+# node-d\n+[Peer]\n')
    expect(diff).toContain('+AllowedIPs = 10.0.0.4/32\n')
    // Adding a node only adds lines.
    expect(diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'))).toEqual([])
  })

  it('diffs a never-applied config against /dev/null', () => {
    const diff = diffConfig(null, before, 'node-a')
    expect(diff).toMatch(/^--- \/dev\/null\n\+\+\+ node-a\tplanned\n/)
    expect(diff).toContain('+[Interface]\n')
  })

  it('masks private keys on both sides, whatever their spelling', () => {
    const withKey = before.replace(`PrivateKey = ${PRIVATE_KEY_MARKER}`, `PrivateKey = ${REAL_LOOKING_KEY}`)
    expect(diffConfig(withKey, before, 'node-a')).toBe('')
    const changed = after.replace(`PrivateKey = ${PRIVATE_KEY_MARKER}`, `privatekey=${REAL_LOOKING_KEY}`)
    const diff = diffConfig(withKey, changed, 'node-a')
    expect(diff).not.toContain(REAL_LOOKING_KEY)
    expect(diff).not.toBe('')
  })

  it('maskSecrets hides private and preshared keys only', () => {
    const text = `[Interface]\nPrivateKey = ${REAL_LOOKING_KEY}\n[Peer]\nPublicKey = ${REAL_LOOKING_KEY}\n  PresharedKey= ${REAL_LOOKING_KEY}\n`
    expect(maskSecrets(text)).toBe(
      `[Interface]\nPrivateKey = ${PRIVATE_KEY_MARKER}\n[Peer]\nPublicKey = ${REAL_LOOKING_KEY}\nPresharedKey = (hidden)\n`,
    )
  })
})

describe('parseRenderedConfig', () => {
  it('reads the interface and peers, splitting comma lists, ignoring comments', () => {
    const parsed = parseRenderedConfig(configOf('node-c', [...SCENARIO, NODE_D], {dns: ['10.0.0.1', '10.0.0.2']}))
    expect(parsed.interface).toEqual({
      Address: ['10.0.0.3/24'],
      ListenPort: ['51820'],
      PrivateKey: [PRIVATE_KEY_MARKER],
      DNS: ['10.0.0.1', '10.0.0.2'],
    })
    expect(parsed.peers).toHaveLength(2)
    expect(parsed.peers[0]).toEqual({
      PublicKey: [allKeys()['node-a']],
      Endpoint: ['1.1.1.1:51820'],
      AllowedIPs: ['10.0.0.1/32', '10.0.0.4/32'],
      PersistentKeepalive: ['25'],
    })
  })

  it('accepts hand-written spelling and repeated keys, and never keeps a private key', () => {
    const parsed = parseRenderedConfig(
      `[interface]\r\nprivatekey = ${REAL_LOOKING_KEY}\r\naddress=10.0.0.9/24 # trailing comment\r\n\r\n[Peer]\r\nallowedips = 10.0.0.1/32\r\nAllowedIPs = 10.0.0.2/32, 10.0.0.3/32\r\n`,
    )
    expect(parsed.interface).toEqual({PrivateKey: [PRIVATE_KEY_MARKER], Address: ['10.0.0.9/24']})
    expect(parsed.peers).toEqual([{AllowedIPs: ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32']}])
    expect(JSON.stringify(parsed)).not.toContain(REAL_LOOKING_KEY)
  })
})

describe('classifyConfigChange', () => {
  const base = configOf('node-a', SCENARIO)

  it("'new' when nothing was applied", () => {
    expect(classifyConfigChange(null, base)).toBe('new')
  })

  it("'none' when identical", () => {
    expect(classifyConfigChange(base, base)).toBe('none')
  })

  it("'peers' when only peers changed (a node added)", () => {
    expect(classifyConfigChange(base, configOf('node-a', [...SCENARIO, NODE_D]))).toBe('peers')
  })

  it("'peers' for a keepalive or endpoint change", () => {
    expect(classifyConfigChange(base, configOf('node-a', SCENARIO, {keepalive: 15}))).toBe('peers')
    const moved = SCENARIO.map((n) => (n.name === 'node-b' ? {...n, endpointHost: '9.9.9.9'} : n))
    expect(classifyConfigChange(base, configOf('node-a', moved))).toBe('peers')
  })

  it("'interface' when address, port, MTU or DNS changed", () => {
    expect(classifyConfigChange(base, configOf('node-a', SCENARIO, {mtu: 1380}))).toBe('interface')
    expect(classifyConfigChange(base, configOf('node-a', SCENARIO, {port: 51821}))).toBe('interface')
    expect(classifyConfigChange(base, configOf('node-a', SCENARIO, {dns: ['10.0.0.1']}))).toBe('interface')
    const renumbered = SCENARIO.map((n) => (n.name === 'node-a' ? {...n, address: '10.0.0.11'} : n))
    expect(classifyConfigChange(base, configOf('node-a', renumbered))).toBe('interface')
  })

  it("'interface' when a PostUp changed (exit node gains masquerade)", () => {
    const exiting = SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-a'} : n))
    expect(classifyConfigChange(base, configOf('node-a', exiting))).toBe('interface')
  })

  it("'interface' when the full tunnel is switched on, even with no PostUp", () => {
    const c = configOf('node-c', SCENARIO)
    const exiting = SCENARIO.map((n) => (n.name === 'node-c' ? {...n, exitVia: 'node-a'} : n))
    const cExiting = configOf('node-c', exiting)
    expect(cExiting).not.toContain('PostUp')
    expect(classifyConfigChange(c, cExiting)).toBe('interface')
    expect(classifyConfigChange(cExiting, c)).toBe('interface')
  })

  it("'none' when only the private-key line differs (a host's config holds the real key)", () => {
    expect(classifyConfigChange(base.replace(PRIVATE_KEY_MARKER, REAL_LOOKING_KEY), base)).toBe('none')
    expect(classifyConfigChange(base.replace(`PrivateKey = ${PRIVATE_KEY_MARKER}`, `privatekey=${REAL_LOOKING_KEY}`), base)).toBe('none')
  })

  it("'peers' for a comment-only change (rewrite the file; syncconf is a no-op)", () => {
    expect(classifyConfigChange(base.replace('# node-b', '# old name'), base)).toBe('peers')
  })
})

describe('sameSection', () => {
  it('ignores the order of keys, not the order of values, and can leave one key out', () => {
    expect(sameSection({A: ['1'], B: ['x', 'y']}, {B: ['x', 'y'], A: ['1']})).toBe(true)
    expect(sameSection({B: ['x', 'y']}, {B: ['y', 'x']})).toBe(false)
    expect(sameSection({A: ['1']}, {A: ['1'], B: ['2']})).toBe(false)
    expect(sameSection({A: ['1'], B: ['2']}, {A: ['1']})).toBe(false)
    expect(sameSection({A: ['1']}, {A: ['1', '1']})).toBe(false)
    expect(sameSection({A: ['1']}, {C: ['1']})).toBe(false)
    expect(sameSection({}, {})).toBe(true)
    expect(sameSection({A: ['1'], AllowedIPs: ['a']}, {AllowedIPs: ['a', 'b'], A: ['1']}, 'AllowedIPs')).toBe(true)
    expect(sameSection({A: ['1'], AllowedIPs: ['a']}, {A: ['1']}, 'AllowedIPs')).toBe(true)
    expect(sameSection({A: ['1']}, {A: ['2'], AllowedIPs: ['a']}, 'AllowedIPs')).toBe(false)
  })
})
