// add-node's fast path on the live seed fleet: the spare host joins; every existing node whose file is the
// one last applied gets the new peer with one exec (peer-add.sh: no probe, no verify), while node-b, whose
// wg0.conf was edited by hand just before, refuses it and is probed, applied and verified in the same run.
// Then every ordered pair of the five pings over the overlay, a rerun of init changes nothing, status is
// healthy. The spare is removed again at the end (later files expect the seed fleet of four).
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, labExec, spare} from './helpers.js'
import {SCENARIO_NODES, hostFile, overlayAddresses, overlayPingFailures, wgfleet} from './wgfleet.js'

interface NodeJson {
  name: string
  result: string
  steps: {service?: string; config?: string; peerAddRefused?: string; handshakes?: {verified: number; expected: number}}
}

let original: string

beforeAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  original = readFileSync(INVENTORY, 'utf8')
}, 300_000)

afterAll(async () => {
  const r = await wgfleet(['remove-node', 'node-e'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  expect(readFileSync(INVENTORY, 'utf8')).toBe(original)
}, 300_000)

describe('add-node node-e: the fast path, and the full path for a node edited by hand', () => {
  let nodes: Map<string, NodeJson>

  it('exit 0: node-a, node-c, node-d add the peer live; node-b (edited by hand) refuses and converges in full; node-e converges', async () => {
    const edit = await labExec('node-b', "sed -i 's/^PersistentKeepalive = .*/PersistentKeepalive = 21/' /etc/wireguard/wg0.conf && grep -c 'PersistentKeepalive = 21' /etc/wireguard/wg0.conf")
    expect(Number(edit.stdout.trim())).toBeGreaterThan(0)
    const started = Date.now()
    const r = await wgfleet(['add-node', 'node-e', '--host', spare().host, '--json'])
    console.log(`add-node (fast path, 4 existing nodes): ${Date.now() - started} ms`)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {result: string; nodes: NodeJson[]}
    expect(doc.result).toBe('ok')
    nodes = new Map(doc.nodes.map((n) => [n.name, n]))
    for (const name of ['node-a', 'node-c', 'node-d']) expect(nodes.get(name), name).toEqual({name, result: 'changed', steps: {config: 'changed', service: 'peer-added'}})
    expect(nodes.get('node-b')).toMatchObject({result: 'changed', steps: {peerAddRefused: 'digest', config: 'changed', service: 'synced'}})
    expect(nodes.get('node-e')).toMatchObject({result: 'changed', steps: {config: 'new', service: 'started', handshakes: {verified: 4, expected: 4}}})
  }, 300_000)

  it('every node\'s file names node-e; node-b\'s hand edit is gone', async () => {
    const key = (await labExec('node-e', 'wg show wg0 public-key')).stdout.trim()
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    for (const node of SCENARIO_NODES) {
      expect(await hostFile(node, '/etc/wireguard/wg0.conf'), node).toContain(`PublicKey = ${key}`)
      expect((await labExec(node, 'wg show wg0 peers')).stdout, node).toContain(key)
    }
    expect(await hostFile('node-b', '/etc/wireguard/wg0.conf')).not.toContain('PersistentKeepalive = 21')
    // The existing nodes' keepalive for node-e is what their file says (peer-add set it; verify never ran there).
    for (const node of ['node-a', 'node-c', 'node-d']) {
      const dump = (await labExec(node, 'wg show wg0 persistent-keepalive')).stdout
      expect(dump, node).toMatch(new RegExp(`^${key.replace(/[+/]/g, '\\$&')}\\t25$`, 'm'))
    }
  })

  it('every ordered pair of the five nodes pings over the overlay', async () => {
    const addresses = await overlayAddresses()
    expect(await overlayPingFailures([...SCENARIO_NODES, 'node-e'], addresses)).toEqual([])
  }, 120_000)

  it('a rerun of init changes nothing; status is healthy', async () => {
    const again = await wgfleet(['init', '--json'])
    expect(again.code, again.stdout + again.stderr).toBe(0)
    const doc = JSON.parse(again.stdout) as {nodes: NodeJson[]}
    expect(doc.nodes.map((n) => [n.name, n.result])).toEqual([...SCENARIO_NODES, 'node-e'].map((n) => [n, 'unchanged']))
    const status = await wgfleet(['status', '--json'])
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect((JSON.parse(status.stdout) as {healthy: boolean}).healthy).toBe(true)
  }, 300_000)
})
