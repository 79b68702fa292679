// The IPv6 underlay, on the network scenario: node-v6 has an IPv6 address only (segment wan6: SSH and
// WireGuard over 2001:db8::/64), node-b and the NAT-ed node-c and node-d IPv4 only, and the relay node-a
// both (role ip6). With `underlay` said per node (the lab's inventory says it), node-v6 peers directly only with node-a, which dials it
// over IPv6; node-v6 ↔ node-b, node-c, node-d share no family and meet through node-a. With cidr6 on, every
// pair pings over the IPv4 and the IPv6 overlay. The seed lab comes back at the end.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {lab, labExec} from './helpers.js'
import {variant, wgfleet} from './wgfleet.js'

const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-v6'] as const
const V4: Record<string, string> = {'node-a': '10.0.0.1', 'node-b': '10.0.0.2', 'node-c': '10.0.0.3', 'node-d': '10.0.0.4', 'node-v6': '10.0.0.6'}
const V6: Record<string, string> = {'node-a': 'fd42:42::1', 'node-b': 'fd42:42::2', 'node-c': 'fd42:42::3', 'node-d': 'fd42:42::4', 'node-v6': 'fd42:42::6'}
let inventory: string

/** The lab's network inventory (it says each host's underlay: node-a dual, node-v6 IPv6, the rest IPv4) with a dual-stack overlay. */
function withCidr6(text: string): string {
  return text.replace(/^cidr = 10\.0\.0\.0\/24$/m, 'cidr = 10.0.0.0/24\ncidr6 = fd42:42::/64')
}

beforeAll(async () => {
  const up = await lab(['up', '--scenario', 'network'], {timeoutMs: 900_000})
  expect(up.code, up.stderr).toBe(0)
  inventory = variant('underlay', withCidr6)
}, 1_000_000)

afterAll(async () => {
  const up = await lab(['up', '--scenario', 'seed'], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
}, 700_000)

describe('an IPv6-only node among IPv4-only ones, through a dual-stack relay', () => {
  it('node-v6 is reached over IPv6 only (no IPv4 on its uplink)', async () => {
    const r = await labExec('node-v6', 'ip -4 -o addr show dev eth0; ip -6 -o addr show dev eth0 scope global')
    expect(r.stdout).not.toMatch(/\binet /)
    expect(r.stdout).toMatch(/inet6 2001:db8::6\/64/)
  })

  it('plan: node-v6\'s only entry is the relay, without an Endpoint; the relay dials it at [2001:db8::6]', async () => {
    const r = await wgfleet(['plan', '--json', '-i', inventory])
    expect(r.code, r.stderr).toBe(0)
    const nodes = JSON.parse(r.stdout).nodes as Array<{name: string; peers: Array<{name: string; endpoint: string | null; allowedIps: string[]}>}>
    const v6 = nodes.find((n) => n.name === 'node-v6')!
    expect(v6.peers.map((p) => [p.name, p.endpoint])).toEqual([['node-a', null]])
    expect(v6.peers[0]!.allowedIps).toEqual(expect.arrayContaining(['10.0.0.2/32', '10.0.0.3/32', '10.0.0.4/32']))
    expect(nodes.find((n) => n.name === 'node-a')!.peers.find((p) => p.name === 'node-v6')!.endpoint).toBe('[2001:db8::6]:51820')
  })

  it('init converges all five, SSH to node-v6 over IPv6; a rerun changes nothing', async () => {
    const r = await wgfleet(['init', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const again = await wgfleet(['init', '--json', '-i', inventory])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).nodes.map((n: {result: string}) => n.result)).toEqual(NODES.map(() => 'unchanged'))
  })

  it('every ordered pair pings over the IPv4 and the IPv6 overlay', async () => {
    const failures: string[] = []
    for (const from of NODES) {
      for (const to of NODES) {
        if (from === to) continue
        for (const target of [V4[to]!, V6[to]!]) {
          const r = await labExec(from, ['ping', '-c', '2', '-W', '2', '-i', '0.3', target])
          if (r.code !== 0) failures.push(`${from} → ${to} (${target})`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('status is healthy and doctor finds no error', async () => {
    const status = await wgfleet(['status', '--json', '-i', inventory])
    expect(status.code, status.stdout).toBe(0)
    const doctor = await wgfleet(['doctor', '--json', '-i', inventory])
    const findings = JSON.parse(doctor.stdout).findings as Array<{severity: string}>
    expect(findings.filter((f) => f.severity === 'error'), doctor.stdout).toEqual([])
  })
})
