// Key rotation on real hosts, measured: a 20 packets/s ping in both directions of every pair runs while
// `rotate-key` rotates one node; the node's own pairs (and pairs relayed through it) may lose at most
// 20 packets (1 s), every other pair none. Afterwards every pair pings, every config on disk says what the
// live interface runs, state pins the new key. Then a rotation killed mid-way is finished by the next init.
// Self-contained: starts with an init of the seed fleet and leaves it converged (on new keys).
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, RUN_DIR, labExec, labOp} from './helpers.js'
import {BIN, SCENARIO_NODES, overlayPingFailures, wgfleet} from './wgfleet.js'

const STATE = join(RUN_DIR, '.wgfleet', 'state.json')
const stateOf = (node: string): {publicKey?: string; pendingPublicKey?: string; keyCreatedAt?: string} => JSON.parse(readFileSync(STATE, 'utf8')).nodes[node] ?? {}
const interfaceKey = async (node: string) => (await labExec(node, 'wg show wg0 public-key')).stdout.trim()
const PATIENT_VERIFY = ['--verify-timeout', '180']
/** Relayed pairs: the NAT-ed nodes reach each other through the relay. */
const RELAY = 'node-a'
const RELAYED = new Set(['node-c|node-d', 'node-d|node-c'])

let addresses: Record<string, string>

/** Every pair the rotation of NODE may cost packets: its own, and those relayed through it. */
function throughNode(node: string, from: string, to: string): boolean {
  return from === node || to === node || (node === RELAY && RELAYED.has(`${from}|${to}`))
}

interface Loss {
  from: string
  to: string
  sent: number
  received: number
}

/** `ping -i 0.05` (20 packets/s) COUNT times from every node to every other, all at once; resolves to each pair's loss. */
function pingAllPairs(count: number): Promise<Loss[]> {
  const runs: Array<Promise<Loss>> = []
  for (const from of SCENARIO_NODES) {
    for (const to of SCENARIO_NODES) {
      if (from === to) continue
      runs.push(
        labExec(from, ['ping', '-n', '-q', '-c', String(count), '-i', '0.05', '-W', '1', addresses[to]!], {timeoutMs: (count / 20 + 30) * 1000}).then((r) => {
          const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout)
          if (!m) throw new Error(`ping ${from} → ${to}: ${r.stdout}${r.stderr}`)
          return {from, to, sent: Number(m[1]), received: Number(m[2])}
        }),
      )
    }
  }
  return Promise.all(runs)
}

/** On the host, the config file (as wg-quick reads it) against `wg showconf`: public parts only, and whether the private keys agree. */
const COMPARE = String.raw`
import json, subprocess, sys
def parse(text):
    iface, peers, cur = {}, {}, None
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line: continue
        if line.lower() == '[peer]': cur = {}; continue
        if line.lower() == '[interface]': continue
        k, v = [s.strip() for s in line.split('=', 1)]
        k = k.lower()
        if cur is None: iface[k] = v
        elif k == 'publickey': peers[v] = cur
        else: cur[k] = sorted(x.strip() for x in v.split(',')) if k == 'allowedips' else v
    return iface, peers
fi, fp = parse(subprocess.run(['wg-quick', 'strip', 'wg0'], capture_output=True, text=True, check=True).stdout)
li, lp = parse(subprocess.run(['wg', 'showconf', 'wg0'], capture_output=True, text=True, check=True).stdout)
for peers in (fp, lp):
    for p in peers.values(): p.pop('endpoint', None)  # learned endpoints (NAT) are live only
print(json.dumps({'privateKeyMatches': fi.get('privatekey') == li.get('privatekey'), 'file': fp, 'live': lp}))
`

async function configsMatchLive(): Promise<void> {
  for (const node of SCENARIO_NODES) {
    const r = await labExec(node, ['python3', '-c', COMPARE])
    expect(r.code, r.stderr).toBe(0)
    const seen = JSON.parse(r.stdout) as {privateKeyMatches: boolean; file: unknown; live: unknown}
    expect(seen.privateKeyMatches, node).toBe(true)
    expect(seen.live, node).toEqual(seen.file)
    // The key file, the interface and state agree; no new key file is left.
    const keys = await labExec(node, 'wg pubkey < /etc/wireguard/wg0.key; wg show wg0 public-key; test ! -e /etc/wireguard/wg0.key.new && echo clean')
    const [file, live, clean] = keys.stdout.trim().split('\n')
    expect([file, clean], node).toEqual([live, 'clean'])
    expect(stateOf(node).publicKey, node).toBe(live)
    expect(stateOf(node).pendingPublicKey, node).toBeUndefined()
  }
}

beforeAll(async () => {
  const r = await wgfleet(['init', ...PATIENT_VERIFY])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  addresses = Object.fromEntries(
    (JSON.parse((await wgfleet(['plan', '--json'])).stdout) as {nodes: Array<{name: string; address: string}>}).nodes.map((n) => [n.name, n.address.split('/')[0]!]),
  )
}, 600_000)

describe('rotate-key', () => {
  // The relay (its pairs and the relayed pair c ↔ d may lose), then a NAT-ed node (its peers dial nothing for it).
  for (const node of ['node-a', 'node-c']) {
    it(`rotating ${node} under a 20/s ping: ≤ 20 lost on its pairs, 0 on the others; configs match the live interfaces`, async () => {
      const oldKey = await interfaceKey(node)
      const count = 900 // 45 s of pings
      const pingsStarted = Date.now()
      const pings = pingAllPairs(count)
      await new Promise((r) => setTimeout(r, 3000))
      const started = Date.now()
      const r = await wgfleet(['rotate-key', node, '--json'])
      const ended = Date.now()
      const losses = await pings
      const doc = JSON.parse(r.stdout) as {result: string; rotations: Array<{node: string; result: string; newPublicKey: string; switchToMoveMs: number}>}
      const rotation = doc.rotations.find((x) => x.node === node)
      const lines = losses.map((l) => `${l.from} → ${l.to}: ${l.sent - l.received} lost of ${l.sent}${throughNode(node, l.from, l.to) ? ' (through the rotated node)' : ''}`)
      console.log(`rotate-key ${node}: ${ended - started} ms, switch → last move ${rotation?.switchToMoveMs} ms\n${lines.join('\n')}`)
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(doc.result).toBe('ok')
      expect(rotation?.result).toBe('rotated')
      // The whole run (rotation and the converge after it) happened while every ping was running.
      expect(ended + 2000).toBeLessThan(pingsStarted + (count / 20) * 1000)
      for (const l of losses) {
        const lost = l.sent - l.received
        if (throughNode(node, l.from, l.to)) expect(lost, `${l.from} → ${l.to}`).toBeLessThanOrEqual(20)
        else expect(lost, `${l.from} → ${l.to}`).toBe(0)
      }
      const newKey = await interfaceKey(node)
      expect(newKey).not.toBe(oldKey)
      expect(newKey).toBe(rotation?.newPublicKey)
      expect(Date.parse(stateOf(node).keyCreatedAt ?? '')).toBeGreaterThanOrEqual(started - 1000)
      for (const other of SCENARIO_NODES) {
        const conf = (await labExec(other, ['cat', '/etc/wireguard/wg0.conf'])).stdout
        expect(conf, other).not.toContain(oldKey)
      }
      await configsMatchLive()
      expect(await overlayPingFailures(SCENARIO_NODES, addresses)).toEqual([])
      const status = await wgfleet(['status', '--json'])
      expect(status.code, status.stdout).toBe(0)
    }, 300_000)
  }

  it('a rotation killed mid-way (once the pending key is recorded; once the node has switched) is finished by the next init: exactly the pending key is accepted', async () => {
    const node = 'node-b'
    for (const moment of ['pending recorded', 'switched'] as const) {
      const oldKey = stateOf(node).publicKey
      const pidFile = join(RUN_DIR, 'rotate-key.pid')
      rmSync(pidFile, {force: true})
      // wgfleet in the operator namespace, its pid written first (the namespace shares this machine's pids).
      const running = labOp(['bash', '-c', 'echo $$ >"$0"; exec "$@" >/dev/null 2>&1', pidFile, process.execPath, BIN, 'rotate-key', node, '-i', INVENTORY], {timeoutMs: 120_000})
      let pending: string | undefined
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        pending = stateOf(node).pendingPublicKey
        if (pending !== undefined && (moment === 'pending recorded' || (await interfaceKey(node)) === pending)) break
        await new Promise((r) => setTimeout(r, 5))
      }
      const pid = Number(readFileSync(pidFile, 'utf8'))
      process.kill(pid, 'SIGKILL')
      await running
      expect(pending, 'the pending key was recorded').toBeDefined()
      const stillPending = stateOf(node).pendingPublicKey
      const where = (await labExec(node, 'wg show wg0 public-key; wg pubkey < /etc/wireguard/wg0.key; test -e /etc/wireguard/wg0.key.new && echo new-key-file')).stdout
      console.log(`killed once ${moment}: interface / key file / new key file on ${node}: ${where.trim().replace(/\n/g, ' / ')} (pending ${pending}, old ${oldKey}; state still pending: ${stillPending !== undefined})`)
      if (stillPending !== undefined) expect(stillPending).toBe(pending)
      // The killed run's lock goes stale after 30 s: init is refused (exit 1, at once) until then.
      let init = await wgfleet(['init', ...PATIENT_VERIFY])
      for (let i = 0; i < 20 && init.code !== 0 && /lock/i.test(init.stderr + init.stdout); i++) {
        await new Promise((r) => setTimeout(r, 3000))
        init = await wgfleet(['init', ...PATIENT_VERIFY])
      }
      console.log(init.stdout)
      expect(init.code, init.stdout + init.stderr).toBe(0)
      if (stillPending !== undefined) expect(init.stdout).toContain(`${node}: key rotation finished (it had been interrupted)`)
      expect(stateOf(node).publicKey).toBe(pending)
      expect(await interfaceKey(node)).toBe(pending)
      await configsMatchLive()
      expect(await overlayPingFailures(SCENARIO_NODES, addresses)).toEqual([])
    }
  }, 600_000)
})
