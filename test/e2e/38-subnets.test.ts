// Site-to-site subnets on the lab's `network` scenario (test/lab/README.md): seed's hosts, node-a with a
// second leg on a site LAN 198.19.1.0/24, and lan-1 (198.19.1.10) on it — no WireGuard, in no inventory,
// and no route to the overlay (only its LAN). `subnets = 198.19.1.0/24` on node-a: node-b (public,
// firewalld), node-c and node-d (behind the NAT, through the relay) reach lan-1 through the mesh. With the
// default masquerade lan-1 answers without any route back; with `subnet_snat = false` it answers only once
// it has one (the overlay source arrives as it is). At the end the seed scenario comes back, converged, as
// the files after this one expect it.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {lab, labExec} from './helpers.js'
import {variant, wgfleet} from './wgfleet.js'

const LAN_HOST = '198.19.1.10'
const SUBNET = '198.19.1.0/24'
const FROM = ['node-b', 'node-c', 'node-d'] as const
let inventory: string
const started = Date.now()

const withSubnet = (extra = '') => (t: string) => t.replace(/^\[node-a\]$/m, `[node-a]\nsubnets = ${SUBNET}${extra}`)

async function unreachable(): Promise<string[]> {
  const failures: string[] = []
  for (const from of FROM) {
    const r = await labExec(from, ['ping', '-c', '2', '-W', '2', '-i', '0.3', LAN_HOST])
    if (r.code !== 0) failures.push(from)
  }
  return failures
}

beforeAll(async () => {
  const t0 = Date.now()
  const up = await lab(['up', '--scenario', 'network'], {timeoutMs: 900_000})
  console.log(`lab up --scenario network: ${Date.now() - t0} ms\n${up.stderr}`)
  expect(up.code, up.stderr).toBe(0)
  inventory = variant('subnets', withSubnet())
}, 1_200_000)

afterAll(async () => {
  const t0 = Date.now()
  const up = await lab(['up', '--scenario', 'seed'], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  console.log(`seed back up and converged: ${Date.now() - t0} ms; 38-subnets in all: ${Date.now() - started} ms`)
}, 900_000)

describe('subnets = 198.19.1.0/24 on node-a', () => {
  it('before init, the LAN is unreachable from the other nodes (nothing of the lab routes it)', async () => {
    expect(await unreachable()).toEqual([...FROM])
  })

  it('init converges; node-b, node-c and node-d (NAT-ed, through the relay) ping lan-1, which has no route back to the overlay', async () => {
    const t0 = Date.now()
    const r = await wgfleet(['init', '-i', inventory])
    console.log(`init with subnets: ${Date.now() - t0} ms`)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((await labExec('lan-1', 'ip route get 10.0.0.3 2>&1; true')).stdout).toMatch(/unreachable/)
    expect(await unreachable()).toEqual([])
  })

  it('node-a: persistent forwarding, the masquerade towards the subnet, ufw routes wg0 out to the LAN leg', async () => {
    expect((await labExec('node-a', 'cat /etc/sysctl.d/99-wgfleet.conf /proc/sys/net/ipv4/ip_forward')).stdout).toMatch(/^net\.ipv4\.ip_forward = 1\n[\s\S]*^1$/m)
    expect((await labExec('node-a', 'iptables -t nat -S POSTROUTING')).stdout).toContain(`-A POSTROUTING -s 10.0.0.0/24 -d ${SUBNET} -j MASQUERADE`)
    expect((await labExec('node-a', 'ufw status')).stdout).toMatch(/^Anywhere on br-slan\s+ALLOW FWD\s+Anywhere on wg0\s+# wgfleet$/m)
    // The peers' entries for node-a carry the subnet (through the relay's entry on the NAT-ed nodes too).
    for (const node of FROM) expect((await labExec(node, 'wg show wg0 allowed-ips')).stdout, node).toContain(SUBNET)
  })

  it('a rerun changes nothing; doctor finds nothing wrong; status is healthy', async () => {
    const again = await wgfleet(['init', '--json', '-i', inventory])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).nodes.map((n: {result: string}) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged'])
    const doctor = await wgfleet(['doctor', '--json', '-i', inventory])
    const findings = JSON.parse(doctor.stdout).findings as Array<{severity: string}>
    expect(findings.filter((f) => f.severity === 'error'), doctor.stdout).toEqual([])
    expect((await wgfleet(['status', '-i', inventory])).code).toBe(0)
  })

  it('doctor says so when the subnet node stops forwarding', async () => {
    await labExec('node-a', 'sysctl -qw net.ipv4.ip_forward=0')
    try {
      const doctor = await wgfleet(['doctor', '--json', '-i', inventory])
      expect(doctor.code).toBe(1)
      const findings = JSON.parse(doctor.stdout).findings as Array<{node: string; check: string; message: string}>
      expect(findings.find((f) => f.node === 'node-a' && f.check === 'relay-no-forwarding')?.message).toMatch(/net\.ipv4\.ip_forward = 0/)
    } finally {
      await labExec('node-a', 'sysctl -qw net.ipv4.ip_forward=1')
    }
  })

  it('subnet_snat = false: no masquerade; lan-1 answers only once it has a route back (it sees the overlay source)', async () => {
    const noSnat = variant('subnets-no-snat', withSubnet('\nsubnet_snat = false'))
    const r = await wgfleet(['init', '-i', noSnat])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((await labExec('node-a', 'iptables -t nat -S POSTROUTING')).stdout).not.toContain('MASQUERADE')
    expect(await unreachable()).toEqual([...FROM])
    await labExec('lan-1', `ip route add 10.0.0.0/24 via 198.19.1.1`)
    expect(await unreachable()).toEqual([])
  })
})
