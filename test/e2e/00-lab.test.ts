// The lab itself: the seed scenario is what the design says it is, before any wgfleet test relies on it.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {
  IDENTITY,
  INVENTORY,
  KNOWN_HOSTS,
  SEED_NODES,
  inLabRange,
  labExec,
  labOp,
  rootRoutes,
  run,
  spare,
  ssh,
  tcpOpensFromOperator,
} from './helpers.js'

const STRICT = ['-o', 'StrictHostKeyChecking=yes']

describe('lab: seed scenario', () => {
  describe('SSH from the operator namespace, host keys checked', () => {
    it.each(SEED_NODES)('%s answers `ssh NODE true`', async (node) => {
      const r = await ssh(node, 'true', {sshArgs: STRICT})
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
    })

    it.each(SEED_NODES)('%s is the host it claims to be', async (node) => {
      const r = await ssh(node, 'hostname', {sshArgs: STRICT})
      expect(r.code).toBe(0)
      expect(r.stdout.trim()).toBe(node)
    })

    it('every host has its own host key, and a wrong one is refused', async () => {
      const lines = readFileSync(KNOWN_HOSTS, 'utf8').trim().split('\n')
      const keys = new Set(lines.filter((l) => !l.startsWith('[')).map((l) => l.split(' ')[2]))
      expect(keys.size).toBe(SEED_NODES.length)
      // node-b's key filed under node-a's address: ssh must refuse node-a
      const nodeB = lines.find((l) => l.startsWith('203.0.113.2 '))!
      const dir = mkdtempSync(join(tmpdir(), 'wgfleet-lab-kh-'))
      try {
        const wrong = join(dir, 'known_hosts')
        writeFileSync(wrong, nodeB.replace(/^203\.0\.113\.2 /, '203.0.113.1 ') + '\n')
        const r = await ssh('node-a', 'true', {sshArgs: [...STRICT, '-o', `UserKnownHostsFile=${wrong}`]})
        expect(r.code).toBe(255)
        expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  })

  describe('node-b: user deploy with sudo, no root login', () => {
    it('deploy logs in and runs `sudo -n true`', async () => {
      const r = await ssh('node-b', 'id -un && sudo -n true && echo sudo-ok')
      expect(r.code).toBe(0)
      expect(r.stdout.split('\n')).toEqual(['deploy', 'sudo-ok', ''])
      expect(r.stderr).toBe('') // no "unable to resolve host" noise from sudo
    })

    it('root login is refused', async () => {
      const r = await ssh('node-b', 'true', {sshArgs: ['-l', 'root']})
      expect(r.code).toBe(255)
      expect(r.stderr).toMatch(/Permission denied/)
    })
  })

  describe('the NAT: node-c and node-d behind the router', () => {
    it('the LAN addresses are not reachable from the operator', async () => {
      expect(await tcpOpensFromOperator('198.51.100.7', 22)).toBe(false)
      expect(await tcpOpensFromOperator('198.51.100.8', 22)).toBe(false)
    })

    it('node-c is reachable through the port forward 203.0.113.3:2222', async () => {
      expect(await tcpOpensFromOperator('203.0.113.3', 2222)).toBe(true)
      const r = await labOp(
        ['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${KNOWN_HOSTS}`,
          '-i', IDENTITY, '-o', 'IdentitiesOnly=yes', '-p', '2222', 'root@203.0.113.3',
          'hostname; echo "$SSH_CONNECTION"'],
      )
      expect(r.code).toBe(0)
      const [hostname, conn] = r.stdout.trim().split('\n')
      expect(hostname).toBe('node-c')
      // the DNAT keeps the operator's own address visible to the host
      expect(conn!.split(' ')[0]).toBe('203.0.113.100')
    })

    it('node-d is reachable only with node-c as jump host', async () => {
      const direct = await ssh('node-d', 'true', {sshArgs: ['-o', 'ProxyJump=none', '-o', 'ConnectTimeout=3'], timeoutMs: 20_000})
      expect(direct.code).not.toBe(0)
      const jumped = await ssh('node-d', 'hostname')
      expect(jumped.code).toBe(0)
      expect(jumped.stdout.trim()).toBe('node-d')
    })

    it('node-c reaches the internet through the NAT, masqueraded as 203.0.113.3', async () => {
      // node-c holds a TCP connection to node-a's sshd open for a few seconds; node-a sees the router's address
      const conn = labExec('node-c', 'exec 3<>/dev/tcp/203.0.113.1/22 && head -c 4 <&3 && sleep 5', {timeoutMs: 20_000})
      const seen = await labExec(
        'node-a',
        "for i in $(seq 50); do ss -Htn state established '( sport = :22 )' | grep -q ' 203.0.113.3:' && exit 0; sleep 0.1; done; exit 1",
      )
      expect(seen.code).toBe(0)
      expect((await conn).stdout).toBe('SSH-')
      const ping = await labExec('node-d', ['ping', '-c', '1', '-W', '3', '203.0.113.1'])
      expect(ping.code).toBe(0)
    })
  })

  describe('every host', () => {
    it.each(SEED_NODES)('%s: systemd is running (not degraded)', async (node) => {
      const r = await labExec(node, ['systemctl', 'is-system-running'])
      expect(r.stdout.trim()).toBe('running')
    })

    it.each(SEED_NODES)('%s: WireGuard is not installed', async (node) => {
      const r = await labExec(node, 'command -v wg || command -v wg-quick || dpkg-query -W wireguard-tools 2>/dev/null')
      expect(r.code).not.toBe(0)
    })

    it.each(SEED_NODES)('%s: ip_forward is 0', async (node) => {
      const r = await labExec(node, ['cat', '/proc/sys/net/ipv4/ip_forward'])
      expect(r.stdout.trim()).toBe('0')
    })

    it.each(SEED_NODES)('%s: IPv6 forwarding is 0', async (node) => {
      const r = await labExec(node, ['cat', '/proc/sys/net/ipv6/conf/all/forwarding'])
      expect(r.stdout.trim()).toBe('0')
    })

    it.each(SEED_NODES)('%s: the firewall is the scenario\'s', async (node) => {
      const ufw = await labExec(node, 'command -v ufw >/dev/null && ufw status | head -n1')
      const firewalld = await labExec(node, ['systemctl', 'is-active', 'firewalld.service'])
      if (node === 'node-a') {
        expect(ufw.stdout.trim()).toBe('Status: active')
        const rules = await labExec(node, ['ufw', 'status'])
        expect(rules.stdout).toMatch(/^22\/tcp\s+ALLOW\s+Anywhere/m)
      } else {
        expect(ufw.code).not.toBe(0) // ufw is not even installed
      }
      if (node === 'node-b') {
        expect(firewalld.stdout.trim()).toBe('active')
        const state = await labExec(node, ['firewall-cmd', '--state'])
        expect(state.stdout.trim()).toBe('running')
      } else {
        expect(firewalld.stdout.trim()).not.toBe('active')
      }
    })

    it.each(SEED_NODES)('%s: sshd takes keys only', async (node) => {
      const r = await labExec(node, ['sshd', '-T'])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^passwordauthentication no$/m)
      expect(r.stdout).toMatch(/^kbdinteractiveauthentication no$/m)
      expect(r.stdout).toMatch(node === 'node-b' ? /^permitrootlogin no$/m : /^permitrootlogin without-password$/m)
    })
  })

  it('apt-get installs wireguard-tools on a host from the offline repository (then it is removed again)', async () => {
    const node = spare().name
    const install = await labExec(
      node,
      'export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends wireguard-tools wireguard-go && wg --version && command -v wireguard-go',
      {timeoutMs: 180_000},
    )
    expect(install.stderr).not.toMatch(/^E:/m)
    expect(install.code).toBe(0)
    expect(install.stdout).toMatch(/wireguard-tools v/)
    const restore = await labExec(
      node,
      'export DEBIAN_FRONTEND=noninteractive; apt-get purge -y -q wireguard-tools wireguard-go && apt-get autoremove -y -q --purge && hash -r && ! command -v wg',
      {timeoutMs: 180_000},
    )
    expect(restore.code).toBe(0)
    const state = await labExec(node, ['systemctl', 'is-system-running'])
    expect(state.stdout.trim()).toBe('running')
  })

  describe('run files', () => {
    it('inventory.ini names node-a..node-d, not the spare', () => {
      const text = readFileSync(INVENTORY, 'utf8')
      const sections = [...text.matchAll(/^\[([^\]]+)\]$/gm)].map((m) => m[1])
      expect(sections).toEqual(['network', 'ssh', 'node-a', 'node-b', 'node-c', 'node-d'])
      expect(text).toMatch(/^host = 203\.0\.113\.3\nssh_port = 2222$/m)
      expect(text).toMatch(/^jump = node-c$/m)
    })

    it('known_hosts has the port-forward entry and node-d\'s LAN address', () => {
      const text = readFileSync(KNOWN_HOSTS, 'utf8')
      expect(text).toMatch(/^\[203\.0\.113\.3\]:2222 ssh-ed25519 /m)
      expect(text).toMatch(/^198\.51\.100\.8 ssh-ed25519 /m)
    })

    it('spare.env describes node-e', () => {
      expect(spare()).toEqual({name: 'node-e', host: '203.0.113.5', user: 'root'})
    })
  })

  it('IPv6: the root namespace blackholes the lab\'s 2001:db8::/64, and routes nothing else of it', async () => {
    const r = await run('ip', ['-6', '-o', 'route', 'show', 'table', 'all'])
    const lines = r.stdout.split('\n').filter((l) => /(^|\s)2001:db8:/.test(l))
    expect(lines.length, r.stdout).toBeGreaterThan(0)
    for (const line of lines) expect(line, line).toMatch(/^blackhole 2001:db8::\/64 /)
  })

  it('the root namespace routes no lab range anywhere: blackholes only', async () => {
    const routes = await rootRoutes()
    const lab = routes.filter((r) => r.dst !== 'default' && /^[0-9.]+(\/\d+)?$/.test(r.dst) && inLabRange(r.dst))
    expect(lab.length).toBeGreaterThan(0)
    for (const r of lab) expect(r.type, r.line).toBe('blackhole')
    // and every address the lab gives out is covered by one of them
    const covered = (ip: string) =>
      lab.some((r) => {
        const [a, l] = r.dst.split('/')
        const len = l === undefined ? 32 : Number(l)
        const toInt = (x: string) => x.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
        const shift = 2 ** (32 - len)
        return Math.floor(toInt(a ?? '') / shift) === Math.floor(toInt(ip) / shift)
      })
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.5', '203.0.113.100', '203.0.113.254', '198.51.100.7', '198.51.100.8']) {
      expect(covered(ip), ip).toBe(true)
    }
  })
})
