// wgfleet doctor on the converged seed fleet (node-a relay with ufw, node-b public with firewalld and the
// deploy user, node-c behind NAT, node-d through node-c): healthy first, then one thing broken on purpose
// at a time — and undone right after, whatever the assertions say — each named by node and check with
// exit 1; healthy again at the end. Every wait is bounded (the helpers kill a command after its timeout).
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {labExec, type RunResult} from './helpers.js'
import {wgfleet, type Finding} from './wgfleet.js'


/** `wgfleet doctor --json`: its exit code and findings (stdout must be one JSON document). */
async function doctor(): Promise<{code: number; findings: Finding[]; raw: RunResult}> {
  const r = await wgfleet(['doctor', '--json'], {timeoutMs: 120_000})
  let doc: {findings: Finding[]}
  try {
    doc = JSON.parse(r.stdout)
  } catch {
    throw new Error(`doctor --json printed no JSON document (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  }
  return {code: r.code, findings: doc.findings, raw: r}
}

/** Run a root command on a lab host and insist that it worked. */
async function onHost(node: string, cmd: string | readonly string[]): Promise<string> {
  const r = await labExec(node, cmd, {timeoutMs: 60_000})
  expect(r.code, `${node}: ${String(cmd)}\n${r.stdout}${r.stderr}`).toBe(0)
  return r.stdout
}

/** Doctor sees exactly the broken thing: exit 1, the finding on that node, and no error anywhere else. */
async function expectFinding(node: string, check: string, peer?: string): Promise<Finding[]> {
  const {code, findings, raw} = await doctor()
  const context = JSON.stringify(findings, null, 2) + raw.stderr
  expect(code, context).toBe(1)
  expect(findings, context).toContainEqual(expect.objectContaining({node, check, severity: 'error', ...(peer ? {peer} : {})}))
  expect(findings.filter((f) => f.severity === 'error' && f.node !== node), context).toEqual([])
  // The table for people names them too.
  const table = await wgfleet(['doctor'], {timeoutMs: 120_000})
  expect(table.code).toBe(1)
  expect(table.stdout).toMatch(new RegExp(`^${node} +error +${check} `, 'm'))
  return findings
}

async function expectHealthy(): Promise<void> {
  const {code, findings, raw} = await doctor()
  expect(findings, raw.stderr).toEqual([])
  expect(code).toBe(0)
  const table = await wgfleet(['doctor'], {timeoutMs: 120_000})
  expect(table.code, table.stdout + table.stderr).toBe(0)
  expect(table.stdout).toBe('no problems found\n')
}

beforeAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  // Whatever happened above: converge again, so later files find the seed fleet.
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

describe('wgfleet doctor', () => {
  it('a converged fleet: exit 0, no findings, "no problems found"', async () => {
    await expectHealthy()
  })

  it('node-b\'s firewalld port removed (runtime and permanent): firewall-port-closed on node-b', async () => {
    await onHost('node-b', 'firewall-cmd --remove-port=51820/udp; firewall-cmd --permanent --remove-port=51820/udp')
    try {
      const findings = await expectFinding('node-b', 'firewall-port-closed')
      expect(findings.find((f) => f.check === 'firewall-port-closed')!.fix).toContain('firewall-cmd --permanent --zone=public --add-port=51820/udp')
    } finally {
      await onHost('node-b', 'firewall-cmd --add-port=51820/udp && firewall-cmd --permanent --add-port=51820/udp')
    }
  })

  it('node-a\'s peer key for node-b replaced in its config and synced: wrong-peer-key on node-a', async () => {
    const real = (await onHost('node-b', 'wg show wg0 public-key')).trim()
    const fake = (await onHost('node-a', 'wg genkey | wg pubkey')).trim()
    expect(real).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    try {
      // Keys go in as arguments, not pasted into the script.
      await onHost('node-a', [
        'bash',
        '-c',
        'grep -qxF "PublicKey = $1" /etc/wireguard/wg0.conf && sed -i "s|^PublicKey = $1\\$|PublicKey = $2|" /etc/wireguard/wg0.conf && wg syncconf wg0 <(wg-quick strip wg0)',
        '_',
        real,
        fake,
      ])
      expect(await onHost('node-a', 'wg show wg0 peers')).toContain(fake)
      const findings = await expectFinding('node-a', 'wrong-peer-key', 'node-b')
      const finding = findings.find((f) => f.check === 'wrong-peer-key')!
      expect(finding.message).toContain(fake)
      expect(finding.message).toContain(real)
    } finally {
      const r = await wgfleet(['init'])
      expect(r.code, r.stdout + r.stderr).toBe(0)
    }
  })

  it('ip_forward off on the relay node-a: relay-no-forwarding', async () => {
    await onHost('node-a', 'sysctl -q -w net.ipv4.ip_forward=0')
    try {
      await expectFinding('node-a', 'relay-no-forwarding')
    } finally {
      await onHost('node-a', 'sysctl -q -w net.ipv4.ip_forward=1')
    }
  })

  it('wg-quick@wg0 disabled on node-c: unit-not-enabled', async () => {
    await onHost('node-c', 'systemctl disable -q wg-quick@wg0')
    try {
      const findings = await expectFinding('node-c', 'unit-not-enabled')
      expect(findings.find((f) => f.check === 'unit-not-enabled')!.fix).toBe('on node-c: `systemctl enable wg-quick@wg0`')
    } finally {
      await onHost('node-c', 'systemctl enable -q wg-quick@wg0')
    }
  })

  it('everything undone: healthy again, exit 0', async () => {
    await expectHealthy()
  })

  it('doctor never printed a private key', async () => {
    const {raw} = await doctor()
    for (const node of ['node-a', 'node-b', 'node-c', 'node-d']) {
      const key = (await onHost(node, 'cat /etc/wireguard/wg0.key')).trim()
      expect(raw.stdout.includes(key) || raw.stderr.includes(key), node).toBe(false)
    }
  })
})
