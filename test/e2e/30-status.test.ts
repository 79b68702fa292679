// wgfleet status on the converged seed fleet: healthy → exit 0; a cut link → node-b unreachable and its
// peers stale on the others (exit 1); healed → exit 0 again. Also the Prometheus text and --output.
import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fault} from './helpers.js'
import {wgfleet} from './wgfleet.js'

interface StatusDoc {
  healthy: boolean
  nodes: Array<{name: string; reachable: boolean; interfaceUp: boolean; peers: Array<{name: string; state: string; ageSeconds: number | null}>}>
}

async function status(args: string[] = []): Promise<{code: number; doc: StatusDoc; stderr: string}> {
  const r = await wgfleet(['status', '--json', ...args])
  return {code: r.code, doc: JSON.parse(r.stdout) as StatusDoc, stderr: r.stderr}
}

/** Poll (bounded) until `done` holds for a status reading. */
async function waitFor(what: string, done: (s: {code: number; doc: StatusDoc}) => boolean, seconds: number) {
  const deadline = Date.now() + seconds * 1000
  let last: {code: number; doc: StatusDoc} | undefined
  while (Date.now() < deadline) {
    last = await status()
    if (done(last)) return last
    await new Promise((r) => setTimeout(r, 10_000))
  }
  throw new Error(`timed out waiting for ${what}; last reading: ${JSON.stringify(last?.doc)}`)
}

beforeAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  await fault('node-b', 'heal')
})

describe('wgfleet status', () => {
  it('a converged fleet: exit 0, every expected pair ok, peers by name, relay pairs as planned', async () => {
    const {code, doc} = await status()
    expect(code).toBe(0)
    expect(doc.healthy).toBe(true)
    const pairs = doc.nodes.flatMap((n) => n.peers.map((p) => `${n.name}→${p.name}:${p.state}`))
    // node-c and node-d have no peer entry for each other (relay): 3+3+2+2 pairs.
    expect(pairs).toHaveLength(10)
    expect(pairs.every((p) => p.endsWith(':ok'))).toBe(true)
    expect(pairs).not.toContain('node-c→node-d:missing-peer')
  })

  it('the table is plain text when not on a TTY: no colour codes, stable columns, healthy', async () => {
    const r = await wgfleet(['status'])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/\u001B\[/)
    expect(r.stdout).toMatch(/node-a\s+node-b\s+203\.0\.113\.2:51820\s+\d+ s ago|node-a.*node-b.*ago/)
    expect(r.stdout).toMatch(/healthy/)
  })

  it('--format prometheus --output FILE: written atomically, HELP/TYPE lines, node and peer labels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgfleet-prom-'))
    const file = join(dir, 'wgfleet.prom')
    const r = await wgfleet(['status', '--format', 'prometheus', '--output', file])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^# HELP wgfleet_peer_last_handshake_seconds /m)
    expect(text).toMatch(/^# TYPE wgfleet_peer_receive_bytes_total counter$/m)
    expect(text).toMatch(/^wgfleet_peer_up\{node="node-a",peer="node-b"\} 1$/m)
    expect(text).toMatch(/^wgfleet_node_reachable\{node="node-d"\} 1$/m)
    expect(readdirSync(dir)).toEqual(['wgfleet.prom']) // no temp file left behind
  })

  it('node-b cut: node-b unreachable, its peers stale on the others, exit 1; healed: exit 0 again', async () => {
    await fault('node-b', 'cut')
    // Past the stale threshold (180 s) since node-b's last handshakes: poll, bounded.
    const broken = await waitFor(
      'node-b unreachable and stale on every other node',
      (s) => {
        const others = s.doc.nodes.filter((n) => n.name !== 'node-b')
        return (
          s.doc.nodes.find((n) => n.name === 'node-b')?.reachable === false &&
          others.every((n) => n.peers.find((p) => p.name === 'node-b')?.state === 'stale')
        )
      },
      300,
    )
    expect(broken.code).toBe(1)
    expect(broken.doc.healthy).toBe(false)
    // Links not involving node-b stay ok.
    const a = broken.doc.nodes.find((n) => n.name === 'node-a')!
    expect(a.peers.filter((p) => p.name !== 'node-b').every((p) => p.state === 'ok')).toBe(true)

    await fault('node-b', 'heal')
    const healed = await waitFor('a healthy fleet after heal', (s) => s.code === 0, 150)
    expect(healed.doc.healthy).toBe(true)
  }, 600_000)

  it('status never waits for the inventory lock (cron must not block)', async () => {
    const {lockInventory} = await import('../../src/lib/lock.js')
    const {INVENTORY, RUN_DIR} = await import('./helpers.js')
    const unlock = await lockInventory(INVENTORY, join(RUN_DIR, '.wgfleet'))
    try {
      const r = await wgfleet(['status', '--json'])
      expect(JSON.parse(r.stdout).healthy).toBe(true)
      expect(existsSync(join(RUN_DIR, '.wgfleet', 'run.lock'))).toBe(true)
    } finally {
      await unlock()
    }
  })
})
