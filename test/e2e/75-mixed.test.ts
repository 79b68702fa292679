// The mixed scenario: Debian 11, 12 and 13 side by side, and a host without systemd (test/lab/README.md,
// scenario mixed). relay-12 (Debian 12, ufw, relay), fw-13 (Debian 13, firewalld), nat-13 (Debian 13
// behind the NAT), init-13 (Debian 13, PID 1 a shell init that runs only sshd) converge; old-11 (Debian
// 11: the lab's kernel has no WireGuard module and bullseye packages no wireguard-go) is refused with
// what to do, is never waited for and stops nobody. At the end the seed scenario comes back fresh, as the
// files after this one expect it.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {lab, labExec} from './helpers.js'
import {interfaceIdentity, overlayAddresses, overlayPingFailures, wgfleet} from './wgfleet.js'

const CONVERGING = ['relay-12', 'fw-13', 'nat-13', 'init-13'] as const
const REFUSED = 'old-11'
let addresses: Record<string, string>
let first: {code: number; stdout: string; stderr: string; ms: number}

interface NodeJson {
  name: string
  result: string
  error?: string
}

beforeAll(async () => {
  const started = Date.now()
  const up = await lab(['up', '--scenario', 'mixed'], {timeoutMs: 900_000})
  console.log(`lab up --scenario mixed: ${Date.now() - started} ms\n${up.stderr}`)
  expect(up.code, up.stderr).toBe(0)
  addresses = await overlayAddresses()
  const t0 = Date.now()
  const r = await wgfleet(['init'])
  first = {...r, ms: Date.now() - t0}
  console.log(`mixed init: ${first.ms} ms\n${r.stdout}`)
}, 1_200_000)

afterAll(async () => {
  // Later files (99-teardown) expect the seed lab, fresh.
  const up = await lab(['up', '--scenario', 'seed'], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
}, 900_000)

describe('init on a mixed fleet', () => {
  it('the four converge; Debian 11 fails with what to do; exit 1', () => {
    expect(first.stderr).not.toMatch(/internal error/)
    expect(first.code, first.stdout + first.stderr).toBe(1)
    for (const node of CONVERGING) expect(first.stdout).toMatch(new RegExp(`${node} .*changed`))
    expect(first.stdout).toMatch(/old-11.*no WireGuard module and Debian GNU\/Linux 11 \(bullseye\) packages no wireguard-go/)
    expect(first.stdout).toMatch(/old-11.*boot a kernel with WireGuard/)
    // Its row still shows what the probe found, and claims no install that did not happen.
    expect(first.stdout).toMatch(/│ old-11 +│ Debian GNU\/Linux 11 \(bullseye\) +│ - +│/)
  })

  it('nobody waits for Debian 11: each of the four checks its 3 peers, all 3 handshake', () => {
    for (const node of CONVERGING) {
      expect(first.stderr).toMatch(new RegExp(`${node}: waiting for handshakes \\(3 peers\\)`)) // progress: stderr
      expect(first.stdout).toMatch(new RegExp(`│ ${node} .*│ 3/3 +│ changed`))
    }
    expect(first.stderr).not.toMatch(/old-11: waiting for handshakes/)
  })

  it('the host without systemd came up with wg-quick, and the summary says it will not survive a reboot', async () => {
    expect(first.stdout).toMatch(/init-13: warning: no systemd: the interface was brought up with wg-quick and will not come back after a reboot/)
    const r = await labExec('init-13', 'test -d /run/systemd/system && echo systemd; cat /proc/1/comm; wg show wg0 listen-port')
    expect(r.stdout.trim().split('\n')).toEqual(['wgfleet-lab-ini', '51820'])
  })

  it('Debian 11 is left as it was: nothing installed, no key, no interface', async () => {
    const r = await labExec(REFUSED, 'command -v wg; ls /etc/wireguard 2>/dev/null; ip link show wg0 2>/dev/null; true')
    expect(r.stdout.trim()).toBe('')
  })

  it('every pair of the four pings over the overlay', async () => {
    expect(await overlayPingFailures(CONVERGING, addresses)).toEqual([])
  })

  it('per release: ufw (Debian 12) and firewalld (Debian 13) allow the port; the relay forwards persistently', async () => {
    expect((await labExec('relay-12', 'ufw status')).stdout).toMatch(/^51820\/udp\s+ALLOW/m)
    const fw = await labExec('fw-13', 'firewall-cmd --list-ports; firewall-cmd --permanent --list-ports')
    expect(fw.stdout.split('\n').slice(0, 2).map((l) => l.split(' ').includes('51820/udp'))).toEqual([true, true])
    expect((await labExec('relay-12', 'cat /proc/sys/net/ipv4/ip_forward /etc/sysctl.d/99-wgfleet.conf')).stdout).toMatch(/^1\nnet\.ipv4\.ip_forward = 1/)
  })

  it('a second init changes nothing: the four unchanged, no interface restarted, Debian 11 refused again', async () => {
    const before = await Promise.all(CONVERGING.map((n) => interfaceIdentity(n)))
    const r = await wgfleet(['init', '--json'])
    expect(r.code, r.stderr).toBe(1)
    const doc = JSON.parse(r.stdout) as {nodes: NodeJson[]}
    const results = Object.fromEntries(doc.nodes.map((n) => [n.name, n.result]))
    expect(results).toEqual({'relay-12': 'unchanged', 'fw-13': 'unchanged', 'nat-13': 'unchanged', 'init-13': 'unchanged', 'old-11': 'failed'})
    expect(await Promise.all(CONVERGING.map((n) => interfaceIdentity(n)))).toEqual(before)
  })
})

/** What wgfleet leaves on a host after remove-node --purge: must be nothing (the packages stay). */
async function leftovers(node: string): Promise<string> {
  const r = await labExec(
    node,
    [
      'ls -A /etc/wireguard 2>/dev/null',
      'ip link show wg0 2>/dev/null',
      'pgrep -a wireguard-go',
      'ls /etc/sysctl.d/99-wgfleet.conf 2>/dev/null',
      'if command -v ufw >/dev/null; then ufw status | grep -E "51820|wg0"; fi',
      'if command -v firewall-cmd >/dev/null; then firewall-cmd --list-ports; firewall-cmd --permanent --list-ports; fi',
      'grep -n "wgfleet" /etc/hosts',
      'true',
    ].join('; '),
  )
  return r.stdout.trim()
}


describe('while the refused Debian 11 host is still in the inventory', () => {
  it('init words it as failed, never as not reached', () => {
    expect(first.stdout).toMatch(/old-11: public key unknown \(not pinned in this machine's state, and it failed before it had a key: see its failure below\)/)
    expect(first.stdout).not.toMatch(/old-11[^\n]*not reached/)
  })

  it('status: only old-11 is a problem, WireGuard not installed, with init or remove-node as the fix (no unit to start)', async () => {
    const r = await wgfleet(['status', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(1)
    const doc = JSON.parse(r.stdout) as {healthy: boolean; problems: number; nodes: Array<{name: string; errorKind?: string; hint?: string}>}
    expect(doc.problems, r.stdout).toBe(1)
    const old = doc.nodes.find((n) => n.name === REFUSED)!
    expect(old.errorKind).toBe('wg-missing')
    expect(old.hint).toMatch(/wgfleet remove-node old-11/)
    expect(old.hint).not.toMatch(/systemctl/)
    for (const n of doc.nodes.filter((n) => n.name !== REFUSED)) expect(n.errorKind, n.name).toBeUndefined()
  })

  it('doctor: one finding on old-11 (WireGuard not installed), not a unit to enable; nothing new on the four', async () => {
    const r = await wgfleet(['doctor', '--json'])
    const doc = JSON.parse(r.stdout) as {findings: Array<{node: string; severity: string; check: string; fix: string}>}
    expect(doc.findings.filter((f) => f.node === REFUSED).map((f) => f.check), r.stdout).toEqual(['wg-missing'])
    expect(doc.findings.find((f) => f.node === REFUSED)!.fix).toMatch(/wgfleet remove-node old-11/)
    expect(doc.findings.filter((f) => f.node !== REFUSED).map((f) => `${f.node} ${f.check}`), r.stdout).toEqual(['init-13 no-systemd'])
  })
})

describe('taking the refused host out, then status, doctor, remove-node and add-node live', () => {
  it('remove-node --purge old-11: exit 0, the Debian 11 host is clean (nothing was ever put on it)', async () => {
    const r = await wgfleet(['remove-node', REFUSED, '--purge'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(await leftovers(REFUSED)).toBe('')
  })

  it('status is healthy on the four', async () => {
    const r = await wgfleet(['status', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as {healthy: boolean}).healthy).toBe(true)
  })

  it('doctor finds nothing wrong: no error; its one warning is the host without systemd', async () => {
    const r = await wgfleet(['doctor', '--json'])
    const doc = JSON.parse(r.stdout) as {findings: Array<{node: string; severity: string; check: string}>}
    expect(doc.findings.filter((f) => f.severity === 'error')).toEqual([])
    expect(doc.findings.map((f) => `${f.node} ${f.check}`)).toEqual(['init-13 no-systemd'])
  })

  it('remove-node --purge of the Debian 13 hosts (firewalld; no systemd): each left clean, the others still ping', async () => {
    for (const node of ['fw-13', 'init-13']) {
      const r = await wgfleet(['remove-node', node, '--purge'])
      expect(r.code, `${node}: ${r.stdout}${r.stderr}`).toBe(0)
      expect(await leftovers(node), node).toBe('')
    }
    expect(await overlayPingFailures(['relay-12', 'nat-13'], addresses)).toEqual([])
  })

  it('add-node brings both back live: every pair of the four pings again, status healthy', async () => {
    for (const [node, host] of [['fw-13', '203.0.113.2'], ['init-13', '203.0.113.4']] as const) {
      const r = await wgfleet(['add-node', node, '--host', host])
      expect(r.code, `${node}: ${r.stdout}${r.stderr}`).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`${node} .*changed`))
    }
    addresses = await overlayAddresses()
    expect(await overlayPingFailures(CONVERGING, addresses)).toEqual([])
    const status = await wgfleet(['status'])
    expect(status.code, status.stdout).toBe(0)
  })

  it('remove-node --purge of the Debian 12 relay: ufw rules and forwarding taken back', async () => {
    const r = await wgfleet(['remove-node', 'relay-12', '--purge'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(await leftovers('relay-12')).toBe('')
    expect((await labExec('relay-12', 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim()).toBe('0')
  })
})
