// [acl] on the seed fleet: node-a relay (ops), node-b (web), node-c (db, NAT-ed), node-d (web, NAT-ed);
// web = db, ops = web, db. After init: node-b and node-d have no entry for each other and no path (ping
// fails), node-c and node-d still meet through the relay, status is healthy (the left-out pair is not
// missing-peer), graph --live shows the five allowed edges up. Afterwards the full mesh is converged again.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, labExec} from './helpers.js'
import {wgfleet} from './wgfleet.js'

// Its own folder (and so its own .wgfleet state), removed afterwards.
const ACL_DIR = mkdtempSync(join(tmpdir(), 'wgfleet-acl-'))
const ACL_INVENTORY = join(ACL_DIR, 'inventory.ini')
const GROUPS: Record<string, string> = {'node-a': 'ops', 'node-b': 'web', 'node-c': 'db', 'node-d': 'web'}

/** Ping an overlay address from a lab host (bounded): true when it answers. */
async function pings(from: string, address: string): Promise<boolean> {
  const r = await labExec(from, `ping -c 2 -W 2 ${address} >/dev/null 2>&1`, {timeoutMs: 20_000})
  return r.code === 0
}

beforeAll(async () => {
  // The lab's inventory with a group per node and the rules (absolute paths: it works from another folder).
  const text = readFileSync(INVENTORY, 'utf8').replace(/^\[(node-[a-d])\]$/gm, (header, name: string) => `${header}\ngroups = ${GROUPS[name]}`)
  writeFileSync(ACL_INVENTORY, `${text.trimEnd()}\n\n[acl]\nweb = db\nops = web, db\n`)
  const r = await wgfleet(['init', '-i', ACL_INVENTORY])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  // Back to the full mesh for the files after this one.
  const r = await wgfleet(['init'])
  rmSync(ACL_DIR, {recursive: true, force: true})
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

describe('[acl] on the seed fleet', () => {
  it('node-b and node-d have no entry for each other; the allowed pairs do', async () => {
    const keys = Object.fromEntries(
      await Promise.all(['node-b', 'node-d'].map(async (n) => [n, (await labExec(n, 'wg show wg0 public-key')).stdout.trim()] as const)),
    )
    expect((await labExec('node-b', 'wg show wg0 peers')).stdout).not.toContain(keys['node-d'])
    expect((await labExec('node-d', 'wg show wg0 peers')).stdout).not.toContain(keys['node-b'])
    expect((await labExec('node-d', 'wg show wg0 peers')).stdout.trim().split('\n')).toHaveLength(1) // the relay only
  })

  it('no path between node-b and node-d; node-d reaches node-c through the relay, and node-a', async () => {
    expect(await pings('node-d', '10.0.0.2')).toBe(false)
    expect(await pings('node-b', '10.0.0.4')).toBe(false)
    expect(await pings('node-d', '10.0.0.3')).toBe(true)
    expect(await pings('node-d', '10.0.0.1')).toBe(true)
    expect(await pings('node-b', '10.0.0.3')).toBe(true)
  })

  it('status is healthy against the partial plan (no missing-peer); graph --live shows the five allowed edges up', async () => {
    const status = await wgfleet(['status', '--json', '-i', ACL_INVENTORY])
    expect(status.code, status.stdout + status.stderr).toBe(0)
    const doc = JSON.parse(status.stdout) as {healthy: boolean; nodes: Array<{name: string; peers: Array<{name: string; state: string}>}>}
    expect(doc.healthy).toBe(true)
    expect(doc.nodes.flatMap((n) => n.peers.map((p) => `${n.name}→${p.name}`)).sort()).toEqual(
      ['node-a→node-b', 'node-a→node-c', 'node-a→node-d', 'node-b→node-a', 'node-b→node-c', 'node-c→node-a', 'node-c→node-b', 'node-d→node-a'].sort(),
    )
    const graph = await wgfleet(['graph', '--live', '--json', '-i', ACL_INVENTORY])
    expect(graph.code, graph.stderr).toBe(0)
    const edges = (JSON.parse(graph.stdout) as {edges: Array<{from: string; to: string; state: string}>}).edges
    expect(edges.map((e) => `${e.from}–${e.to}:${e.state}`)).toEqual([
      'node-a–node-b:up',
      'node-a–node-c:up',
      'node-a–node-d:up',
      'node-b–node-c:up',
      'node-c–node-d:up',
    ])
  })
})
