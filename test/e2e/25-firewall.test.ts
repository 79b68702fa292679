// One firewall verdict for init and doctor, on the seed lab's real ufw (node-a) and firewalld 1.3 (node-b):
// whether the WireGuard port was opened (a) by wgfleet, (b) by hand as a ufw range that covers it, or (c) by
// firewalld's `wireguard` service, `doctor` reports no firewall finding and a second `init` changes nothing
// (and adds no rule of its own). Then, with node-b as the relay (a test-local inventory), a firewalld relay
// forwards between peers through wgfleet's own zone (intra-zone forwarding) without trusting the interface:
// node-c reaches node-d through it and SSH on it over the overlay, but not another service of it; as an exit
// node it also forwards out (policy wgfleet-exit). Everything is undone at the end, and the seed fleet
// converged again.
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, labExec, spare, type RunResult} from './helpers.js'
import {OVERLAY, variant, wgfleet, type Finding} from './wgfleet.js'


interface NodeResult {
  name: string
  result: 'changed' | 'unchanged' | 'failed'
  error?: string
  steps: {firewall?: string; firewallName?: string; firewallChanges?: string[]}
}

const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
  const started = Date.now()
  try {
    return await run()
  } finally {
    console.log(`${what}: ${Date.now() - started} ms`)
  }
}

/** `wgfleet doctor --json`: exit code and findings. */
async function doctor(inventory = INVENTORY): Promise<{code: number; findings: Finding[]; raw: RunResult}> {
  const r = await timed('doctor', () => wgfleet(['doctor', '--json', '-i', inventory], {timeoutMs: 120_000}))
  try {
    return {code: r.code, findings: (JSON.parse(r.stdout) as {findings: Finding[]}).findings, raw: r}
  } catch {
    throw new Error(`doctor --json printed no JSON document (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  }
}

/** `wgfleet init --json`: exit code and per-node results. */
async function init(inventory = INVENTORY): Promise<{code: number; nodes: NodeResult[]; raw: RunResult}> {
  const r = await timed('init', () => wgfleet(['init', '--json', '-i', inventory]))
  try {
    return {code: r.code, nodes: (JSON.parse(r.stdout) as {nodes: NodeResult[]}).nodes, raw: r}
  } catch {
    throw new Error(`init --json printed no JSON document (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  }
}

async function onHost(node: string, cmd: string | readonly string[]): Promise<string> {
  const r = await labExec(node, cmd, {timeoutMs: 60_000})
  expect(r.code, `${node}: ${String(cmd)}\n${r.stdout}${r.stderr}`).toBe(0)
  return r.stdout
}

/**
 * doctor says nothing about any firewall (nor anything else, unless `otherWarnings`), and a second init
 * changes nothing (exit 0 both).
 */
async function expectFirewallsAgree(inventory = INVENTORY, otherWarnings: string[] = []): Promise<NodeResult[]> {
  const d = await doctor(inventory)
  const context = JSON.stringify(d.findings, null, 2) + d.raw.stderr
  expect(d.findings.filter((f) => /firewall|forward/.test(f.check)), context).toEqual([])
  expect(d.findings.filter((f) => !(f.severity === 'warning' && otherWarnings.includes(f.check))), context).toEqual([])
  expect(d.code, context).toBe(0)
  const again = await init(inventory)
  expect(again.code, again.raw.stdout + again.raw.stderr).toBe(0)
  expect(again.nodes.map((n) => [n.name, n.result]), again.raw.stdout).toEqual(again.nodes.map((n) => [n.name, 'unchanged']))
  return again.nodes
}

/** TCP to HOST:PORT from a lab host, within 5 s: 'open' or 'refused' (a reject), else 'timeout'. */
async function tcpFrom(node: string, host: string, port: number): Promise<'open' | 'refused' | 'timeout'> {
  const r = await labExec(node, ['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', '_', host, String(port)], {timeoutMs: 15_000})
  return r.code === 0 ? 'open' : r.code === 124 ? 'timeout' : 'refused'
}

beforeAll(async () => {
  const r = await init()
  expect(r.code, r.raw.stdout + r.raw.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  // Undo what this file did on node-b beyond the seed fleet (zone, policy, forwarding), then the seed fleet.
  await labExec('node-b', [
    'bash',
    '-c',
    'firewall-cmd -q --permanent --delete-policy=wgfleet-exit; firewall-cmd -q --permanent --delete-zone=wgfleet; firewall-cmd -q --remove-service=wireguard; firewall-cmd -q --permanent --remove-service=wireguard; firewall-cmd -q --reload; rm -f /etc/sysctl.d/99-wgfleet.conf; sysctl -q -w net.ipv4.ip_forward=0; true',
  ])
  await labExec('node-a', 'ufw delete allow 51800:51900/udp >/dev/null; true')
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

describe('the WireGuard port: init and doctor agree on how it is open', () => {
  it('(a) opened by wgfleet: doctor finds nothing, a second init changes nothing', async () => {
    expect(await onHost('node-a', 'ufw status')).toMatch(/^51820\/udp\s+ALLOW\s.*# wgfleet$/m)
    expect((await onHost('node-b', 'firewall-cmd --list-ports; firewall-cmd --permanent --list-ports')).split('\n').slice(0, 2)).toEqual(['51820/udp', '51820/udp'])
    const nodes = await expectFirewallsAgree()
    expect(nodes.find((n) => n.name === 'node-a')!.steps).toMatchObject({firewall: 'open', firewallName: 'ufw'})
    expect(nodes.find((n) => n.name === 'node-b')!.steps).toMatchObject({firewall: 'open', firewallName: 'firewalld'})
  })

  it('(b) node-a: wgfleet\'s rule deleted, the port opened by hand as a ufw range: still open for both, and no rule added', async () => {
    await onHost('node-a', 'ufw delete allow 51820/udp && ufw allow 51800:51900/udp')
    expect(await onHost('node-a', 'ufw status')).not.toMatch(/^51820\/udp/m)
    await expectFirewallsAgree()
    const status = await onHost('node-a', 'ufw status')
    expect(status).toMatch(/^51800:51900\/udp\s+ALLOW/m)
    expect(status).not.toMatch(/^51820\/udp/m)
  })

  it('(b) the range gone: both see the port closed — doctor names it, init opens it again', async () => {
    await onHost('node-a', 'ufw delete allow 51800:51900/udp')
    const d = await doctor()
    // node-a is dialed: its closed port is an error even while live sessions still flow.
    expect(d.findings).toContainEqual(expect.objectContaining({node: 'node-a', check: 'firewall-port-closed', severity: 'error'}))
    const r = await init()
    expect(r.code, r.raw.stdout).toBe(0)
    expect(r.nodes.find((n) => n.name === 'node-a')!.steps).toMatchObject({firewall: 'opened', firewallChanges: ['ufw allow 51820/udp']})
    expect(await onHost('node-a', 'ufw status')).toMatch(/^51820\/udp\s+ALLOW/m)
  })

  it('(c) node-b: the port removed, firewalld\'s wireguard service added (runtime and permanent): still open for both, and no port added', async () => {
    // The service's port comes from its definition on the host: 51820/udp in Debian's firewalld 1.3.
    expect(await onHost('node-b', 'firewall-cmd --info-service=wireguard')).toMatch(/^ {2}ports: 51820\/udp$/m)
    await onHost('node-b', 'firewall-cmd -q --remove-port=51820/udp && firewall-cmd -q --permanent --remove-port=51820/udp && firewall-cmd -q --add-service=wireguard && firewall-cmd -q --permanent --add-service=wireguard')
    await expectFirewallsAgree()
    expect((await onHost('node-b', 'firewall-cmd --list-ports; firewall-cmd --permanent --list-ports')).trim()).toBe('')
  })

  it('(c) the service in the runtime only: both say "not permanent" — doctor warns, init adds the port permanently only', async () => {
    await onHost('node-b', 'firewall-cmd -q --permanent --remove-service=wireguard')
    const d = await doctor()
    expect(d.findings.map((f) => [f.node, f.check, f.severity])).toEqual([['node-b', 'firewall-port-not-permanent', 'warning']])
    const r = await init()
    expect(r.nodes.find((n) => n.name === 'node-b')!.steps).toMatchObject({firewall: 'opened', firewallChanges: ['firewall-cmd --permanent --zone=public --add-port=51820/udp']})
    expect((await onHost('node-b', 'firewall-cmd --list-ports; firewall-cmd --permanent --list-ports')).split('\n').slice(0, 2)).toEqual(['', '51820/udp'])
    await onHost('node-b', 'firewall-cmd -q --remove-service=wireguard && firewall-cmd -q --add-port=51820/udp')
    await expectFirewallsAgree()
  })
})

describe('a firewalld relay forwards between peers without trusting the interface', () => {
  // node-b (firewalld) relays for node-c and node-d instead of node-a.
  const toRelayB = (t: string) => t.replace('relay = true\n', '').replace(/(\[node-b\]\n(?:[^[\n]+\n)*)/, '$1relay = true\n')
  const relayB = variant('relay-b', toRelayB)

  it('converges: node-b gets wgfleet\'s zone (a reload, over the SSH session it runs in), not the trusted zone', async () => {
    expect(readFileSync(relayB, 'utf8')).toMatch(/\[node-b\]\n(?:[^[\n]+\n)*relay = true\n/)
    const r = await init(relayB)
    expect(r.code, r.raw.stdout + r.raw.stderr).toBe(0)
    const b = r.nodes.find((n) => n.name === 'node-b')!
    expect(b.steps.firewallChanges).toContain('firewall-cmd --permanent --new-zone=wgfleet')
    expect(b.steps.firewallChanges).toContain('firewall-cmd --reload')
    expect((await onHost('node-b', 'firewall-cmd --get-zone-of-interface=wg0')).trim()).toBe('wgfleet')
    const zone = await onHost('node-b', 'firewall-cmd --zone=wgfleet --list-all')
    expect(zone).toMatch(/^ {2}target: default$/m)
    expect(zone).toMatch(/^ {2}interfaces: wg0$/m)
    expect(zone).toMatch(/^ {2}services: ssh$/m)
    expect(zone).toMatch(/^ {2}forward: yes$/m)
    expect(await onHost('node-b', 'firewall-cmd --zone=trusted --list-interfaces')).not.toMatch(/wg0/)
  })

  it('node-c and node-d reach each other through node-b', async () => {
    for (const [from, to] of [['node-c', 'node-d'], ['node-d', 'node-c']] as const) {
      const r = await labExec(from, ['ping', '-c', '2', '-W', '2', '-i', '0.3', OVERLAY[to]!])
      expect(r.code, `${from} → ${to} through node-b\n${r.stdout}`).toBe(0)
    }
  })

  it('a peer reaches SSH on node-b over the overlay, but not another service of node-b (the interface is not trusted)', async () => {
    // A listener on every address of node-b, port 9099 (bounded: it exits after 10 s).
    const listener = labExec('node-b', ['timeout', '10', 'python3', '-c', 'import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("0.0.0.0",9099))\ns.listen(4)\nwhile True: s.accept()[0].close()'], {timeoutMs: 35_000})
    try {
      await new Promise((r) => setTimeout(r, 1000))
      // The listener is there (from node-b itself), and firewalld keeps it from node-c's overlay address.
      expect(await tcpFrom('node-b', '127.0.0.1', 9099)).toBe('open')
      expect(await tcpFrom('node-c', OVERLAY['node-b']!, 9099)).toBe('refused')
      expect(await tcpFrom('node-c', OVERLAY['node-b']!, 22)).toBe('open')
    } finally {
      await listener
    }
  })

  it('doctor finds nothing, a second init changes nothing', async () => {
    await expectFirewallsAgree(relayB)
  })

  describe('as the exit node of node-c', () => {
    const exitB = variant('exit-b', (t) => toRelayB(t).replace(/(\[node-c\][^[]*nat = true\n)/, '$1exit_via = node-b\n'))

    it('converges: policy wgfleet-exit forwards from wgfleet\'s zone out (the uplink is in no zone: to ANY), and node-e sees node-b\'s address', async () => {
      const r = await init(exitB)
      expect(r.code, r.raw.stdout + r.raw.stderr).toBe(0)
      expect(r.nodes.find((n) => n.name === 'node-b')!.steps.firewallChanges).toEqual([
        'firewall-cmd --permanent --new-policy=wgfleet-exit',
        'firewall-cmd --permanent --policy=wgfleet-exit --set-target=ACCEPT',
        'firewall-cmd --permanent --policy=wgfleet-exit --add-ingress-zone=wgfleet',
        'firewall-cmd --permanent --policy=wgfleet-exit --add-egress-zone=ANY',
        'firewall-cmd --reload',
      ])
      const listener = labExec('node-e', ['timeout', '20', 'python3', '-c', 'import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("0.0.0.0",9099))\ns.listen(1)\nc,a=s.accept()\nprint(a[0])'], {timeoutMs: 30_000})
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const connect = await labExec('node-c', ['timeout', '10', 'bash', '-c', `exec 3<>/dev/tcp/${spare().host}/9099`])
      expect(connect.code).toBe(0)
      expect((await listener).stdout.trim()).toBe('203.0.113.2')
    })

    it('doctor finds no firewall problem, a second init changes nothing', async () => {
      // (doctor's underlay ping from a full-tunnel node to its exit peer goes through the tunnel, so it
      // reports a path-mtu warning there: not a firewall matter.)
      await expectFirewallsAgree(exitB, ['path-mtu'])
    })
  })
})
