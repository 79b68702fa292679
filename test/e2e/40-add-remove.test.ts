// add-node / remove-node on the live seed fleet, with a 5-per-second ping between node-a and node-b over
// the overlay running all along: no packet may be lost, and no existing tunnel restarted.
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, fault, labExec, spare} from './helpers.js'
import {SCENARIO_NODES, interfaceIdentity, overlayAddresses, wgfleet} from './wgfleet.js'

let original: string
let addresses: Record<string, string>

/** Start a 5/s ping on FROM to TO in the background (inside the host); returns a stopper giving the summary. */
async function startPing(from: string, to: string): Promise<() => Promise<{sent: number; received: number}>> {
  const r = await labExec(from, `ping -i 0.2 -w 600 ${to} >/tmp/wgfleet-e2e-ping.log 2>&1 & echo $!`)
  const pid = r.stdout.trim()
  expect(pid).toMatch(/^\d+$/)
  return async () => {
    await labExec(from, `kill -INT ${pid}; for i in $(seq 50); do kill -0 ${pid} 2>/dev/null || break; sleep 0.1; done`)
    const log = (await labExec(from, 'cat /tmp/wgfleet-e2e-ping.log')).stdout
    const m = /(\d+) packets transmitted, (\d+) received/.exec(log)
    if (!m) throw new Error(`no ping summary: ${log.slice(-300)}`)
    return {sent: Number(m[1]), received: Number(m[2])}
  }
}

beforeAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  original = readFileSync(INVENTORY, 'utf8')
  addresses = await overlayAddresses()
}, 300_000)

afterAll(async () => {
  await fault('node-e', 'heal').catch(() => undefined)
})

describe('add-node node-e, then remove-node node-e', () => {
  let identities: string[]

  it('add-node converges node-e and adds it everywhere live: no ping lost, no tunnel restarted', async () => {
    identities = await Promise.all(SCENARIO_NODES.map((n) => interfaceIdentity(n)))
    const stopPing = await startPing('node-a', addresses['node-b']!)
    await new Promise((r) => setTimeout(r, 1000))
    const r = await wgfleet(['add-node', 'node-e', '--host', spare().host])
    await new Promise((r) => setTimeout(r, 1000))
    const ping = await stopPing()
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/node-e .*changed/)
    expect(ping.sent).toBeGreaterThan(10)
    expect(ping.received).toBe(ping.sent)
    expect(await Promise.all(SCENARIO_NODES.map((n) => interfaceIdentity(n)))).toEqual(identities)
  })

  it('the inventory gained exactly the node-e section at its end; no other byte changed', () => {
    const now = readFileSync(INVENTORY, 'utf8')
    expect(now.startsWith(original)).toBe(true)
    expect(now.slice(original.length)).toBe(`\n[node-e]\nhost = ${spare().host}\naddress = 10.0.0.5\n`)
  })

  it('node-e pings every node and every node pings node-e', async () => {
    const failures: string[] = []
    for (const node of SCENARIO_NODES) {
      if ((await labExec('node-e', ['ping', '-c', '2', '-W', '2', '-i', '0.3', addresses[node]!])).code !== 0) failures.push(`node-e → ${node}`)
      if ((await labExec(node, ['ping', '-c', '2', '-W', '2', '-i', '0.3', '10.0.0.5'])).code !== 0) failures.push(`${node} → node-e`)
    }
    expect(failures).toEqual([])
  })

  it('remove-node drops node-e everywhere live: no node lists its key, no ping lost, no tunnel restarted', async () => {
    const key = (await labExec('node-e', 'wg show wg0 public-key')).stdout.trim()
    expect(key).toMatch(/=$/)
    const stopPing = await startPing('node-a', addresses['node-b']!)
    await new Promise((r) => setTimeout(r, 1000))
    const r = await wgfleet(['remove-node', 'node-e'])
    await new Promise((r) => setTimeout(r, 1000))
    const ping = await stopPing()
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(ping.received).toBe(ping.sent)
    for (const node of SCENARIO_NODES) {
      expect((await labExec(node, 'wg show wg0 peers')).stdout, node).not.toContain(key)
      expect((await labExec(node, 'cat /etc/wireguard/wg0.conf')).stdout, node).not.toContain(key)
    }
    expect(await Promise.all(SCENARIO_NODES.map((n) => interfaceIdentity(n)))).toEqual(identities)
    // node-e itself: stopped, disabled, config gone, key kept (no --purge).
    const e = await labExec('node-e', 'systemctl is-enabled wg-quick@wg0; systemctl is-active wg-quick@wg0; ls /etc/wireguard')
    expect(e.stdout).toMatch(/^disabled\ninactive\n/)
    expect(e.stdout).toMatch(/wg0\.key/)
    expect(e.stdout).not.toMatch(/^wg0\.conf$/m)
    expect(readFileSync(INVENTORY, 'utf8')).toBe(original)
  })

  it('remove-node of an unreachable node: the others are updated, the summary says it was not cleaned, exit 1', async () => {
    const add = await wgfleet(['add-node', 'node-e', '--host', spare().host])
    expect(add.code, add.stdout + add.stderr).toBe(0)
    await fault('node-e', 'cut')
    const r = await wgfleet(['remove-node', 'node-e', '--connect-timeout', '3'])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/node-e was not cleaned/)
    expect(readFileSync(INVENTORY, 'utf8')).toBe(original)
    for (const node of SCENARIO_NODES) expect((await labExec(node, 'grep -c "# node-e" /etc/wireguard/wg0.conf || true')).stdout.trim()).toBe('0')
    await fault('node-e', 'heal')
    // Clean node-e by hand, as the hint says.
    await labExec('node-e', 'systemctl disable --now wg-quick@wg0; rm -f /etc/wireguard/wg0.conf')
  }, 300_000)

  it('add-node with bad input: exit 2, the inventory untouched, nothing contacted', async () => {
    for (const args of [
      ['add-node', 'Node_E', '--host', spare().host],
      ['add-node', 'node-e', '--host', 'x;reboot'],
      ['add-node', 'node-e', '--host', spare().host, '--address', '10.0.0.1'],
      ['add-node', 'node-a', '--host', spare().host],
    ]) {
      const r = await wgfleet(args)
      expect(r.code, args.join(' ') + r.stderr).toBe(2)
      expect(r.stderr).toMatch(/Error/)
    }
    expect(readFileSync(INVENTORY, 'utf8')).toBe(original)
  })
})
