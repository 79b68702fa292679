// Variants of the seed inventory converged on the same hosts: exit_via (full tunnel through node-a, SSH
// path kept) and dns (resolvconf). Each variant is a copy of the lab inventory in its own folder (its own
// .wgfleet state); the seed inventory is converged again at the end, so later files find the seed fleet.
import {readFileSync} from 'node:fs'
import {afterAll, describe, expect, it} from 'vitest'

import {labExec, spare, ssh} from './helpers.js'
import {variant, wgfleet} from './wgfleet.js'

afterAll(async () => {
  // Back to the seed fleet for the files that follow.
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

describe('exit_via = node-a on node-c', () => {
  const inventory = variant('exit', (t) => t.replace(/(\[node-c\][^[]*nat = true\n)/, '$1exit_via = node-a\n'))

  it('--dry-run first: exit 0, shows the config diff (private key masked) and changes nothing', async () => {
    const before = (await labExec('node-c', 'stat -c %Y.%i /etc/wireguard/wg0.conf; cat /etc/wireguard/wg0.conf')).stdout
    const r = await wgfleet(['init', '--dry-run', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\+AllowedIPs = 10\.0\.0\.1\/32, 10\.0\.0\.4\/32, 0\.0\.0\.0\/0/)
    expect(r.stdout).toMatch(/node-c .*would change/)
    expect(r.stdout).not.toMatch(/PrivateKey = (?!@WGFLEET_PRIVATE_KEY@)/)
    expect((await labExec('node-c', 'stat -c %Y.%i /etc/wireguard/wg0.conf; cat /etc/wireguard/wg0.conf')).stdout).toBe(before)
  })

  it('converges: exit 0', async () => {
    expect(readFileSync(inventory, 'utf8')).toMatch(/nat = true\nexit_via = node-a\n/)
    const r = await wgfleet(['init', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
  })

  it('node-c routes an address outside the overlay (node-e) through wg0', async () => {
    const r = await labExec('node-c', ['ip', 'route', 'get', spare().host])
    expect(r.stdout).toMatch(/dev wg0/)
  })

  it('node-a masquerades it: node-e sees node-a\'s address, not the NAT router\'s', async () => {
    // A one-shot TCP listener on node-e prints the address of whoever connects.
    const listener = labExec(
      'node-e',
      ['timeout', '20', 'python3', '-c', 'import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("0.0.0.0",9099))\ns.listen(1)\nc,a=s.accept()\nprint(a[0])'],
      {timeoutMs: 30_000},
    )
    await new Promise((r) => setTimeout(r, 1000))
    const connect = await labExec('node-c', ['timeout', '10', 'bash', '-c', `exec 3<>/dev/tcp/${spare().host}/9099`])
    expect(connect.code).toBe(0)
    const seen = await listener
    expect(seen.stdout.trim()).toBe('203.0.113.1')
  })

  it('the operator\'s SSH to node-c (through the port forward) still works', async () => {
    // The replies of this very session leave from the address it came to (SSH_CONNECTION's third word):
    // wgfleet's rule keeps those on the main table; an unbound socket still goes through the tunnel.
    const r = await ssh('node-c', 'set -- $SSH_CONNECTION; ip route get "$1" from "$3"; ip route get "$1"')
    expect(r.code, r.stderr).toBe(0)
    const [reply, unbound] = r.stdout.split(/\n(?=\S)/)
    expect(reply).not.toMatch(/dev wg0/)
    expect(unbound).toMatch(/dev wg0/)
  })

  it('init again is a no-op', async () => {
    const r = await wgfleet(['init', '--json', '-i', inventory])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).nodes.map((n: {result: string}) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged'])
  })
})

describe('dns = 10.0.0.1', () => {
  const inventory = variant('dns', (t) => t.replace('keepalive = 25\n', 'keepalive = 25\ndns = 10.0.0.1\n'))

  it('converges (installs resolvconf) and the resolver lists it while the interface is up', async () => {
    const r = await wgfleet(['init', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const resolv = await labExec('node-b', 'cat /etc/resolv.conf')
    expect(resolv.stdout).toMatch(/^nameserver 10\.0\.0\.1$/m)
    const again = await wgfleet(['init', '--json', '-i', inventory])
    expect(JSON.parse(again.stdout).result).toBe('ok')
  })
})

describe('hosts_file = true, domain = wg', () => {
  const inventory = variant('names', (t) => t.replace('keepalive = 25\n', 'keepalive = 25\nhosts_file = true\ndomain = wg\n'))

  it('every node\'s /etc/hosts names every node; node-c reaches node-b.wg; the machine\'s own lines stay', async () => {
    const before = (await labExec('node-c', 'cat /etc/hosts')).stdout
    const r = await wgfleet(['init', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/node-c: the fleet's names written to \/etc\/hosts/)
    for (const node of ['node-a', 'node-b', 'node-c', 'node-d']) {
      const hosts = (await labExec(node, 'cat /etc/hosts')).stdout
      expect(hosts, node).toContain('# BEGIN wgfleet wg0\n10.0.0.1 node-a node-a.wg\n10.0.0.2 node-b node-b.wg\n10.0.0.3 node-c node-c.wg\n10.0.0.4 node-d node-d.wg\n# END wgfleet wg0\n')
    }
    expect((await labExec('node-c', 'cat /etc/hosts')).stdout.startsWith(before)).toBe(true)
    const ping = await labExec('node-c', ['ping', '-c', '2', '-W', '2', '-i', '0.3', 'node-b.wg'])
    expect(ping.code, ping.stdout + ping.stderr).toBe(0)
    // ping prints the first name of the line that resolved (node-b): the address is what matters.
    expect(ping.stdout).toMatch(/^PING node-b(\.wg)? \(10\.0\.0\.2\)/)
  })

  it('a rerun changes nothing; doctor finds the names in place', async () => {
    const again = await wgfleet(['init', '--json', '-i', inventory])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).nodes.map((n: {result: string}) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged'])
    await labExec('node-d', "sed -i 's/node-a.wg/node-a.lan/' /etc/hosts")
    const doctor = await wgfleet(['doctor', '--json', '-i', inventory])
    const findings = JSON.parse(doctor.stdout).findings as Array<{node: string; check: string}>
    expect(findings.filter((f) => f.check === 'hosts-file-drift').map((f) => f.node)).toEqual(['node-d'])
  })

  it('back to the seed inventory (no hosts_file): the block is taken out again, nothing else touched', async () => {
    const before = (await labExec('node-b', 'cat /etc/hosts')).stdout
    const r = await wgfleet(['init'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const after = (await labExec('node-b', 'cat /etc/hosts')).stdout
    expect(after).not.toContain('wgfleet')
    expect(after).toBe(before.replace(/# BEGIN wgfleet wg0\n[\s\S]*?# END wgfleet wg0\n/, ''))
  })
})
