/**
 * The status model: every peer state of docs/design.md §6, judged against the plan (not the inventory) and the
 * node's own clock; the fleet's health; and the parser of status.sh output.
 */
import {describe, expect, it} from 'vitest'

import {planFleet} from '../../../src/plan/index.js'
import type {FleetPlan, NodePlan} from '../../../src/plan/model.js'
import type {WgDumpPeer} from '../../../src/wireguard/index.js'
import {buildFleetStatus, buildNodeStatus, downNodeStatus, judgePeer, nodeProblemCount, nodeStatusFromReading, statusExitCode, unreachableNodeStatus} from '../../../src/judges/status.js'
import {parseStatusOutput, StatusOutputError, type NodeReading} from '../../../src/remote/status.js'
import {fleet, KEYS} from '../plan/fixtures.js'

const NOW = 1_700_000_000
const STALE = 180

/** node-a relay (public), node-b public, node-c and node-d behind NAT: c and d meet through a. */
const RELAY_FLEET = fleet([
  {name: 'node-a', address: '10.0.0.1', relay: true},
  {name: 'node-b', address: '10.0.0.2'},
  {name: 'node-c', address: '10.0.0.3', nat: true},
  {name: 'node-d', address: '10.0.0.4', nat: true},
])

function planOf(f = RELAY_FLEET, keys: Record<string, string> = {...KEYS}): FleetPlan {
  return planFleet(f, {publicKeys: keys}, {omitPeersWithoutKey: true})
}

function nodePlan(name: string, plan = planOf()): NodePlan {
  return plan.nodes.find((n) => n.name === name)!
}

const NAMES = new Map(Object.entries(KEYS).map(([name, key]) => [key as string, name]))

function peer(key: string, over: Partial<WgDumpPeer> = {}): WgDumpPeer {
  return {publicKey: key, presharedKey: false, endpoint: '198.51.100.1:51820', allowedIps: ['10.0.0.9/32'], latestHandshake: NOW - 10, rxBytes: 1000, txBytes: 2000, keepalive: 25, ...over}
}

const stateOf = (status: ReturnType<typeof buildNodeStatus>) => status.peers.map((p) => [p.name, p.state])

describe('judgePeer', () => {
  it('ok within --stale-after (inclusive), stale after, never at 0', () => {
    expect(judgePeer(NOW - 180, NOW, 180, 25)).toBe('ok')
    expect(judgePeer(NOW - 181, NOW, 180, 25)).toBe('stale')
    expect(judgePeer(0, NOW, 180, 25)).toBe('never')
  })

  it('keepalive off in the plan: no recent handshake is idle, a recent one is still ok', () => {
    expect(judgePeer(NOW - 5, NOW, 180, 0)).toBe('ok')
    expect(judgePeer(NOW - 5000, NOW, 180, 0)).toBe('idle')
    expect(judgePeer(0, NOW, 180, 0)).toBe('idle')
  })

  it('a handshake "in the future" (node clock stepped back) counts as just now', () => {
    expect(judgePeer(NOW + 30, NOW, 180, 25)).toBe('ok')
  })
})

describe('buildNodeStatus', () => {
  it('every expected peer fresh: ok, named by inventory name, in plan order', () => {
    const status = buildNodeStatus(nodePlan('node-a'), [peer(KEYS['node-d']), peer(KEYS['node-b']), peer(KEYS['node-c'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-b', 'ok'], ['node-c', 'ok'], ['node-d', 'ok']])
    expect(status).toMatchObject({name: 'node-a', reachable: true, interfaceUp: true, nodeTime: NOW})
    expect(nodeProblemCount(status)).toBe(0)
    expect(status.peers[0]).toEqual({
      name: 'node-b', publicKey: KEYS['node-b'], expected: true, endpoint: '198.51.100.1:51820',
      latestHandshake: NOW - 10, ageSeconds: 10, rxBytes: 1000, txBytes: 2000, keepalive: 25, state: 'ok',
    })
  })

  it('stale and never', () => {
    const status = buildNodeStatus(
      nodePlan('node-a'),
      [peer(KEYS['node-b'], {latestHandshake: NOW - 600}), peer(KEYS['node-c'], {latestHandshake: 0, endpoint: null}), peer(KEYS['node-d'])],
      NOW, STALE, NAMES,
    )
    expect(stateOf(status)).toEqual([['node-b', 'stale'], ['node-c', 'never'], ['node-d', 'ok']])
    expect(status.peers[0]!.ageSeconds).toBe(600)
    expect(status.peers[1]).toMatchObject({latestHandshake: null, ageSeconds: null, endpoint: null})
    expect(nodeProblemCount(status)).toBe(2)
  })

  it('the relay case: node-c expects node-a and node-b only — no node-d peer is not missing', () => {
    const status = buildNodeStatus(nodePlan('node-c'), [peer(KEYS['node-a']), peer(KEYS['node-b'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-a', 'ok'], ['node-b', 'ok']])
    expect(nodeProblemCount(status)).toBe(0)
  })

  it('the relay case: a node-d peer on node-c is not expected: unknown-peer, still named', () => {
    const status = buildNodeStatus(nodePlan('node-c'), [peer(KEYS['node-a']), peer(KEYS['node-b']), peer(KEYS['node-d'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-a', 'ok'], ['node-b', 'ok'], ['node-d', 'unknown-peer']])
    expect(status.peers[2]!.expected).toBe(false)
  })

  it('a key nobody knows: unknown-peer with no name, live data kept, after the expected peers', () => {
    const stranger = 'c3RyYW5nZXJzdHJhbmdlcnN0cmFuZ2Vyc3RyYW5nZXI='
    const status = buildNodeStatus(nodePlan('node-c'), [peer(stranger, {rxBytes: 5}), peer(KEYS['node-a']), peer(KEYS['node-b'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-a', 'ok'], ['node-b', 'ok'], [null, 'unknown-peer']])
    expect(status.peers[2]).toMatchObject({publicKey: stranger, rxBytes: 5, expected: false})
    expect(nodeProblemCount(status)).toBe(1)
  })

  it('a peer the plan expects but the interface lacks: missing-peer, no live data', () => {
    const status = buildNodeStatus(nodePlan('node-c'), [peer(KEYS['node-a'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-a', 'ok'], ['node-b', 'missing-peer']])
    expect(status.peers[1]).toEqual({
      name: 'node-b', publicKey: KEYS['node-b'], expected: true, endpoint: null,
      latestHandshake: null, ageSeconds: null, rxBytes: null, txBytes: null, keepalive: 25, state: 'missing-peer',
    })
  })

  it('a peer whose key is not known yet is left out of the plan, so it is neither missing nor judged', () => {
    const {'node-b': _unknown, ...keys} = KEYS
    const plan = planOf(RELAY_FLEET, keys)
    const status = buildNodeStatus(nodePlan('node-c', plan), [peer(KEYS['node-a'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-a', 'ok']])
  })

  it('clock skew: ages use the node clock, not the operator clock', () => {
    // The node's clock runs two hours behind the operator's: its handshake times are on its own clock.
    const nodeNow = NOW - 7200
    const dump = [peer(KEYS['node-b'], {latestHandshake: nodeNow - 12}), peer(KEYS['node-c'], {latestHandshake: nodeNow - 20}), peer(KEYS['node-d'], {latestHandshake: nodeNow - 300})]
    const status = buildNodeStatus(nodePlan('node-a'), dump, nodeNow, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-b', 'ok'], ['node-c', 'ok'], ['node-d', 'stale']])
    expect(status.peers.map((p) => p.ageSeconds)).toEqual([12, 20, 300])
    // Judged against the operator's clock instead, every link would look two hours stale.
    const wrong = buildNodeStatus(nodePlan('node-a'), dump, NOW, STALE, NAMES)
    expect(wrong.peers.every((p) => p.state === 'stale')).toBe(true)
  })

  it('keepalive off in the network: silent peers are idle, and idle is healthy', () => {
    const quiet = fleet([{name: 'node-a', address: '10.0.0.1'}, {name: 'node-b', address: '10.0.0.2'}, {name: 'node-c', address: '10.0.0.3'}], {keepalive: 0})
    const plan = planOf(quiet)
    const status = buildNodeStatus(
      nodePlan('node-a', plan),
      [peer(KEYS['node-b'], {latestHandshake: 0, keepalive: 0}), peer(KEYS['node-c'], {latestHandshake: NOW - 5, keepalive: 0})],
      NOW, STALE, NAMES,
    )
    expect(stateOf(status)).toEqual([['node-b', 'idle'], ['node-c', 'ok']])
    expect(status.peers[0]!.keepalive).toBe(0)
    expect(nodeProblemCount(status)).toBe(0)
  })

  it('keepalive on in the plan but off on the interface is judged by the plan (not idle)', () => {
    const status = buildNodeStatus(nodePlan('node-c'), [peer(KEYS['node-a'], {latestHandshake: 0, keepalive: 0}), peer(KEYS['node-b'])], NOW, STALE, NAMES)
    expect(stateOf(status)).toEqual([['node-a', 'never'], ['node-b', 'ok']])
  })

  it('carries the listen port and public key the node reported', () => {
    const status = buildNodeStatus(nodePlan('node-c'), [], NOW, STALE, NAMES, {listenPort: 51820, publicKey: KEYS['node-c']})
    expect(status).toMatchObject({listenPort: 51820, publicKey: KEYS['node-c']})
    expect(stateOf(status)).toEqual([['node-a', 'missing-peer'], ['node-b', 'missing-peer']])
  })
})

describe('down and unreachable nodes', () => {
  it('down: interface not up; expected peers listed as down; one problem', () => {
    const status = downNodeStatus(nodePlan('node-c'), {kind: 'interface-down', message: 'interface wg0 is down'}, NOW)
    expect(status).toMatchObject({reachable: true, interfaceUp: false, nodeTime: NOW, problem: {kind: 'interface-down'}})
    expect(stateOf(status)).toEqual([['node-a', 'down'], ['node-b', 'down']])
    expect(nodeProblemCount(status)).toBe(1)
  })

  it('unreachable: expected peers listed as unreachable, with the reason; one problem', () => {
    const status = unreachableNodeStatus(nodePlan('node-d'), {kind: 'unreachable', message: 'cannot reach 203.0.113.4:22: connection refused', hint: 'check'})
    expect(status).toMatchObject({reachable: false, interfaceUp: false, nodeTime: null, problem: {kind: 'unreachable', hint: 'check'}})
    expect(stateOf(status)).toEqual([['node-a', 'unreachable'], ['node-b', 'unreachable']])
    expect(nodeProblemCount(status)).toBe(1)
  })
})

describe('nodeStatusFromReading', () => {
  const reading = (over: Partial<NodeReading> = {}): NodeReading => ({link: 'up', wgInstalled: true, now: NOW, listenPort: 51820, publicKey: KEYS['node-c'], peers: [peer(KEYS['node-a']), peer(KEYS['node-b'])], ...over})

  it('interface up: peers judged', () => {
    const status = nodeStatusFromReading(nodePlan('node-c'), reading(), STALE, NAMES)
    expect(status).toMatchObject({interfaceUp: true, listenPort: 51820, publicKey: KEYS['node-c']})
    expect(stateOf(status)).toEqual([['node-a', 'ok'], ['node-b', 'ok']])
  })

  it.each([
    ['absent', {link: 'absent', peers: null}, 'interface-absent', 'interface wg0 does not exist'],
    ['down', {link: 'down'}, 'interface-down', 'interface wg0 is down'],
    ['wg missing', {wgInstalled: false, peers: null}, 'wg-missing', 'WireGuard is not installed (wg not found)'],
    ['wg failing', {peers: null, wgError: 'wg show wg0 failed'}, 'wg-error', 'wg show wg0 failed'],
  ] as const)('%s → down', (_name, over, kind, message) => {
    const status = nodeStatusFromReading(nodePlan('node-c'), reading(over as Partial<NodeReading>), STALE, NAMES)
    expect(status).toMatchObject({reachable: true, interfaceUp: false, problem: {kind, message}})
    expect(status.peers.every((p) => p.state === 'down')).toBe(true)
  })
})

describe('buildFleetStatus', () => {
  it('healthy when every node is up and every peer ok or idle: exit 0', () => {
    const plan = planOf()
    const nodes = plan.nodes.map((n) => buildNodeStatus(n, n.peers.map((p) => peer(p.publicKey!)), NOW, STALE, NAMES))
    const status = buildFleetStatus(nodes, {staleAfterSeconds: STALE, checkedAt: NOW})
    expect(status).toMatchObject({healthy: true, problems: 0, staleAfterSeconds: STALE, checkedAt: NOW})
    expect(statusExitCode(status)).toBe(0)
  })

  it('any problem makes it unhealthy: exit 1; problems counted per node and per peer', () => {
    const plan = planOf()
    const nodes = [
      buildNodeStatus(nodePlan('node-a', plan), [peer(KEYS['node-b']), peer(KEYS['node-c'], {latestHandshake: NOW - 999})], NOW, STALE, NAMES), // c stale, d missing
      downNodeStatus(nodePlan('node-b', plan), {kind: 'interface-down', message: 'down'}, NOW),
      unreachableNodeStatus(nodePlan('node-c', plan), {kind: 'timeout', message: 'timed out'}),
      buildNodeStatus(nodePlan('node-d', plan), [peer(KEYS['node-a']), peer(KEYS['node-b'])], NOW, STALE, NAMES),
    ]
    const status = buildFleetStatus(nodes, {staleAfterSeconds: STALE, checkedAt: NOW})
    expect(status).toMatchObject({healthy: false, problems: 4})
    expect(statusExitCode(status)).toBe(1)
  })

  it('an unreachable node alone is enough to be unhealthy', () => {
    const status = buildFleetStatus([unreachableNodeStatus(nodePlan('node-a'), {kind: 'auth', message: 'no'})], {staleAfterSeconds: STALE, checkedAt: NOW})
    expect(status.healthy).toBe(false)
  })
})

describe('parseStatusOutput', () => {
  const dumpLine = (key: string, hs: number) => `${key}\t(none)\t203.0.113.2:51820\t10.0.0.2/32\t${hs}\t100\t200\t25`
  const output = (body: string) => `interface=up\nwg=yes\nnow=${NOW}\nlisten_port=51820\npubkey=${KEYS['node-a']}\n${body}end=ok\n`

  it('reads clock, interface, port, key and peers', () => {
    const reading = parseStatusOutput(output(`--- peers\n${dumpLine(KEYS['node-b'], NOW - 3)}\n${dumpLine(KEYS['node-c'], 0)}\n--- end peers\n`))
    expect(reading).toMatchObject({link: 'up', wgInstalled: true, now: NOW, listenPort: 51820, publicKey: KEYS['node-a']})
    expect(reading.peers!.map((p) => [p.publicKey, p.latestHandshake, p.rxBytes, p.txBytes, p.keepalive])).toEqual([
      [KEYS['node-b'], NOW - 3, 100, 200, 25],
      [KEYS['node-c'], 0, 100, 200, 25],
    ])
  })

  it('an empty peer block is no peers; no block at all is "not read"', () => {
    expect(parseStatusOutput(output('--- peers\n--- end peers\n')).peers).toEqual([])
    const absent = parseStatusOutput(`interface=absent\nwg=yes\nnow=${NOW}\nend=ok\n`)
    expect(absent).toMatchObject({link: 'absent', peers: null, listenPort: null, publicKey: null})
  })

  it('tolerates CRLF', () => {
    expect(parseStatusOutput(output(`--- peers\n${dumpLine(KEYS['node-b'], 1)}\n--- end peers\n`).replace(/\n/g, '\r\n')).peers).toHaveLength(1)
  })

  it('reports wg_error and a missing wg', () => {
    expect(parseStatusOutput(`interface=up\nwg=yes\nnow=${NOW}\nwg_error=wg show wg0 failed\nend=ok\n`)).toMatchObject({peers: null, wgError: 'wg show wg0 failed'})
    expect(parseStatusOutput(`interface=up\nwg=no\nnow=${NOW}\nend=ok\n`)).toMatchObject({wgInstalled: false, peers: null})
  })

  it('refuses output that was cut off, or lacks the clock or interface state', () => {
    expect(() => parseStatusOutput(output('--- peers\n').replace('end=ok\n', ''))).toThrow(StatusOutputError)
    expect(() => parseStatusOutput(`interface=up\nwg=yes\nnow=${NOW}\n`)).toThrow(/incomplete/)
    expect(() => parseStatusOutput(`interface=up\nwg=yes\nnow=soon\nend=ok\n`)).toThrow(/clock/)
    expect(() => parseStatusOutput(`wg=yes\nnow=${NOW}\nend=ok\n`)).toThrow(/interface/)
  })

  it('refuses an interface line (private key) that slipped through, without quoting it', () => {
    const secret = 'cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY='
    const leaked = output(`--- peers\n${secret}\t${KEYS['node-a']}\t51820\toff\n--- end peers\n`)
    let message = ''
    try {
      parseStatusOutput(leaked)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/interface line/)
    expect(message).not.toContain(secret)
  })
})
