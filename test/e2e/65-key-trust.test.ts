// Key trust on real hosts: node-b cloned from node-a (node-a's key file, and node-b's interface running
// it, as a VM cloned from a golden image would) is refused, node-a and the others stay converged and peered
// with each other, state keeps both pinned keys; then the fix the hint gives (a new key on node-b) is a key
// change: refused without --accept-key-change, accepted with it. Self-contained: starts with an init of
// the seed fleet and leaves it converged (node-b on its new key).
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {RUN_DIR, labExec} from './helpers.js'
import {SCENARIO_NODES, hostFile, overlayAddresses, overlayPingFailures, wgfleet} from './wgfleet.js'

const STATE = join(RUN_DIR, '.wgfleet', 'state.json')
const pinned = (node: string): string | undefined => JSON.parse(readFileSync(STATE, 'utf8')).nodes[node]?.publicKey
const interfaceKey = async (node: string) => (await labExec(node, 'wg show wg0 public-key')).stdout.trim()
const keyLines = (config: string, key: string) => config.split('\n').filter((l) => l === `PublicKey = ${key}`).length

let keyA: string
let keyB: string
let addresses: Record<string, string>

/**
 * Until verify is deterministic (issue 10, "a fresh init must not flake"): a node restarted while a NAT-ed
 * peer syncs to it may have that peer re-added by verify.sh while its first handshake is in flight, and then
 * waits for the peer's rekey (after 120 s). Runs that (re)start nodes allow verify that long: this file is
 * about which key is trusted, not about timing.
 */
const PATIENT_VERIFY = ['--verify-timeout', '180']

beforeAll(async () => {
  const r = await wgfleet(['init', ...PATIENT_VERIFY])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  addresses = await overlayAddresses()
  keyA = await interfaceKey('node-a')
  keyB = await interfaceKey('node-b')
  expect([pinned('node-a'), pinned('node-b')]).toEqual([keyA, keyB])
}, 600_000)

describe('key trust', () => {
  it('node-b cloned from node-a (same key): node-b refused with the fix; the others converged and peered; state keeps both keys', async () => {
    // The clone: node-a's private key in node-b's key file and config (as a cloned image has it), and
    // node-b's interface restarted on it (wg-quick starts from the config's PrivateKey).
    const privateA = await hostFile('node-a', '/etc/wireguard/wg0.key')
    const clone = await labExec(
      'node-b',
      'set -e; umask 077; read -r k; printf "%s\\n" "$k" > /etc/wireguard/wg0.key; sed -i "s#^PrivateKey = .*#PrivateKey = $k#" /etc/wireguard/wg0.conf; systemctl restart wg-quick@wg0',
      {input: privateA},
    )
    expect(clone.code, clone.stderr).toBe(0)
    expect(await interfaceKey('node-b')).toBe(keyA)

    const started = Date.now()
    const r = await wgfleet(['init'])
    console.log(`init with a cloned node-b: ${Date.now() - started} ms\n${r.stdout}`)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`node-b: FAILED: its key file has the public key of node-a (${keyA}): a clone of node-a, or a host posing as it`)
    expect(r.stdout).toContain('hint: if node-b was cloned (a VM image), give it a key of its own: on node-b `systemctl stop wg-quick@wg0; rm /etc/wireguard/wg0.key`, then `wgfleet init --accept-key-change node-b`')
    for (const node of ['node-a', 'node-c', 'node-d']) expect(r.stdout).toMatch(new RegExp(`${node} .*unchanged`))

    // Every other config has node-a once, under node-a's key, and node-b under its own pinned key.
    for (const node of ['node-a', 'node-c', 'node-d']) {
      const conf = await hostFile(node, '/etc/wireguard/wg0.conf')
      if (node !== 'node-a') expect(keyLines(conf, keyA), node).toBe(1)
      expect(keyLines(conf, keyB), node).toBe(1)
    }
    expect([pinned('node-a'), pinned('node-b')]).toEqual([keyA, keyB])
    expect(await overlayPingFailures(['node-a', 'node-c', 'node-d'], addresses)).toEqual([])

    const doctor = await wgfleet(['doctor', '--json'])
    const findings = JSON.parse(doctor.stdout).findings as Array<{node: string; check: string}>
    expect(findings).toContainEqual(expect.objectContaining({node: 'node-b', check: 'key-not-trusted'}))
  }, 300_000)

  it('the hint\'s fix is a key change: refused without --accept-key-change, accepted with it; the fleet converges on node-b\'s new key', async () => {
    const fix = await labExec('node-b', 'systemctl stop wg-quick@wg0; rm /etc/wireguard/wg0.key')
    expect(fix.code, fix.stderr).toBe(0)

    const refused = await wgfleet(['init'])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/node-b: FAILED: reports public key \S+, but this machine's state pins .* to node-b: a changed key is not trusted without your consent/)
    expect(refused.stdout).toContain('`wgfleet init --accept-key-change node-b`')
    const keyNew = (await labExec('node-b', 'wg pubkey < /etc/wireguard/wg0.key')).stdout.trim()
    expect(keyNew).not.toBe(keyB)
    expect(keyNew).not.toBe(keyA)
    expect(pinned('node-b')).toBe(keyB)
    expect(await hostFile('node-a', '/etc/wireguard/wg0.conf')).not.toContain(keyNew)

    // node-b restarts on its new key while the others sync to it (see PATIENT_VERIFY).
    const started = Date.now()
    const accepted = await wgfleet(['init', '--accept-key-change', 'node-b', ...PATIENT_VERIFY])
    console.log(`init --accept-key-change node-b: ${Date.now() - started} ms\n${accepted.stdout}`)
    expect(accepted.code, accepted.stdout + accepted.stderr).toBe(0)
    expect(pinned('node-b')).toBe(keyNew)
    expect(await interfaceKey('node-b')).toBe(keyNew)
    for (const node of ['node-a', 'node-c', 'node-d']) {
      const conf = await hostFile(node, '/etc/wireguard/wg0.conf')
      expect(keyLines(conf, keyNew), node).toBe(1)
      expect(conf, node).not.toContain(keyB)
    }
    expect(await overlayPingFailures(SCENARIO_NODES, addresses)).toEqual([])
    const status = await wgfleet(['status'])
    expect(status.code, status.stdout).toBe(0)
  }, 300_000)
})
