// Dual stack on the seed hosts: `cidr6 = fd42:42::/64` beside cidr. Every node gets cidr6 plus its IPv4
// host number (10.0.0.3 → fd42:42::3), one Address line with both, every peer entry /32 and /128; the
// relay (node-a) forwards IPv6 too, persistently, so node-c ↔ node-d (both behind the NAT) reach each other
// over IPv6 through it. Its own folder (variant); the seed inventory is converged again at the end.
import {afterAll, describe, expect, it} from 'vitest'

import {labExec} from './helpers.js'
import {SCENARIO_NODES, variant, wgfleet} from './wgfleet.js'

const ADDRESS6: Record<string, string> = {'node-a': 'fd42:42::1', 'node-b': 'fd42:42::2', 'node-c': 'fd42:42::3', 'node-d': 'fd42:42::4'}
const inventory = variant('dual', (t) => t.replace(/^cidr = 10\.0\.0\.0\/24$/m, 'cidr = 10.0.0.0/24\ncidr6 = fd42:42::/64'))

afterAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

describe('cidr6: a dual-stack overlay', () => {
  it('init converges; every node has both addresses on wg0', async () => {
    const r = await wgfleet(['init', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    for (const node of SCENARIO_NODES) {
      const addr = (await labExec(node, 'ip -o addr show dev wg0')).stdout
      expect(addr, node).toContain(`inet6 ${ADDRESS6[node]}/64`)
      expect((await labExec(node, 'grep ^Address /etc/wireguard/wg0.conf')).stdout.trim(), node).toMatch(new RegExp(`^Address = 10\\.0\\.0\\.\\d/24, ${ADDRESS6[node]}/64$`))
    }
  })

  it('every ordered pair pings over the IPv6 overlay (node-c ↔ node-d through the relay), and over IPv4 still', async () => {
    const failures: string[] = []
    for (const from of SCENARIO_NODES) {
      for (const to of SCENARIO_NODES) {
        if (from === to) continue
        for (const target of [ADDRESS6[to]!, `10.0.0.${SCENARIO_NODES.indexOf(to) + 1}`]) {
          const r = await labExec(from, ['ping', '-c', '2', '-W', '2', '-i', '0.3', target])
          if (r.code !== 0) failures.push(`${from} → ${to} (${target})`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('the relay forwards IPv6 persistently; a rerun changes nothing; doctor finds nothing wrong', async () => {
    expect((await labExec('node-a', 'cat /etc/sysctl.d/99-wgfleet.conf; cat /proc/sys/net/ipv6/conf/all/forwarding')).stdout).toMatch(/net\.ipv6\.conf\.all\.forwarding = 1\n[\s\S]*^1$/m)
    const again = await wgfleet(['init', '--json', '-i', inventory])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).nodes.map((n: {result: string}) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged'])
    const doctor = await wgfleet(['doctor', '--json', '-i', inventory])
    const findings = JSON.parse(doctor.stdout).findings as Array<{node: string; severity: string; check: string}>
    expect(findings.filter((f) => f.severity === 'error'), doctor.stdout).toEqual([])
    const status = await wgfleet(['status', '--json', '-i', inventory])
    expect(status.code, status.stdout).toBe(0)
  })
})
