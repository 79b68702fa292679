// Faults, on the converged seed fleet: sshd down at the start of init, interrupted runs (SIGINT at random
// moments, a link cut while configs are pushed), a held package lock, a changed host key, a hand-written
// config. After each: no half-written config, no temp files, and a rerun converges.
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, KNOWN_HOSTS, RUN_DIR, fault, labExec, labOp, spare} from './helpers.js'
import {BIN, SCENARIO_NODES, wgfleet} from './wgfleet.js'

const work = mkdtempSync(join(tmpdir(), 'wgfleet-e2e-faults-'))

/** Every host's config is whole (marker first, a private key, the end of the last peer) and no temp file lingers. */
async function assertNoHalfWrittenConfig() {
  for (const node of SCENARIO_NODES) {
    const r = await labExec(node, 'head -n1 /etc/wireguard/wg0.conf; grep -c "^PrivateKey = ." /etc/wireguard/wg0.conf; tail -n1 /etc/wireguard/wg0.conf; ls -a /etc/wireguard')
    const [marker, keys, last] = r.stdout.split('\n')
    expect(marker, node).toBe('# Managed by wgfleet. Local changes are overwritten.')
    expect(keys, node).toBe('1')
    expect(last, node).toMatch(/^(PersistentKeepalive|AllowedIPs) = /)
    expect(r.stdout, node).not.toMatch(/\.wgfleet\.|\.tmp/)
  }
}

beforeAll(async () => {
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 300_000)

afterAll(async () => {
  for (const node of ['node-b', 'node-c']) {
    await fault(node, 'ssh-up').catch(() => undefined)
    await fault(node, 'heal').catch(() => undefined)
  }
})

describe('faults', () => {
  it('sshd down on node-b when init starts: the others converge, node-b named, exit 1, its peers kept; ssh-up → rerun converges', async () => {
    // A change for everyone (the lab inventory itself, so its state is used), so that the others really
    // rewrite their configs while node-b is away.
    const original = readFileSync(INVENTORY, 'utf8')
    writeFileSync(INVENTORY, original.replace('keepalive = 25\n', 'keepalive = 20\n'))
    try {
      await fault('node-b', 'ssh-down')
      const r = await wgfleet(['init', '--connect-timeout', '3'])
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/node-b: FAILED: .*(refused|unreachable|cannot)/i)
      for (const node of ['node-a', 'node-c', 'node-d']) {
        const conf = (await labExec(node, 'cat /etc/wireguard/wg0.conf')).stdout
        expect(conf, node).toContain('PersistentKeepalive = 20')
        expect(conf, node).toContain('# node-b') // kept, from state
      }
      await fault('node-b', 'ssh-up')
      const rerun = await wgfleet(['init'])
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
    } finally {
      await fault('node-b', 'ssh-up')
      writeFileSync(INVENTORY, original)
    }
    const back = await wgfleet(['init'])
    expect(back.code, back.stdout + back.stderr).toBe(0)
  }, 300_000)

  it('wg-quick restarted by hand on node-b (its sessions gone, the NAT-ed peers still hold theirs): the next init verifies every pair at once, exit 0', async () => {
    const restart = await labExec('node-b', 'systemctl restart wg-quick@wg0')
    expect(restart.code, restart.stderr).toBe(0)
    const t0 = Date.now()
    // Well under the time a NAT-ed peer takes to notice on its own (its old session lives up to minutes).
    const r = await wgfleet(['init', '--json', '--verify-timeout', '20'])
    const ms = Date.now() - t0
    console.log(`init after a restart by hand: ${ms} ms`)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {nodes: Array<{name: string; steps: {handshakes?: {verified: number; expected: number}}}>}
    const b = doc.nodes.find((n) => n.name === 'node-b')!
    expect(b.steps.handshakes).toEqual({verified: 3, expected: 3})
    for (const node of ['node-c', 'node-d']) {
      const ping = await labExec(node, ['ping', '-c', '1', '-W', '2', '10.0.0.2'])
      expect(ping.code, node).toBe(0)
    }
  }, 120_000)

  it('SIGINT at random moments of init, many times: never a half-written config or a leftover temp file; a rerun converges', async () => {
    // Alternate between two inventories so that every run has configs to push.
    const dir = join(RUN_DIR, 'variants', 'sigint')
    mkdirSync(dir, {recursive: true})
    const other = join(dir, 'inventory.ini')
    writeFileSync(other, readFileSync(INVENTORY, 'utf8').replace('keepalive = 25\n', 'keepalive = 21\n'))
    const rounds = 8
    for (let i = 0; i < rounds; i++) {
      const inventory = i % 2 ? INVENTORY : other
      const delay = 300 + Math.floor(Math.random() * 6000)
      // `timeout -s INT` delivers SIGINT to wgfleet after DELAY, like Ctrl-C.
      await labOp(['timeout', '-s', 'INT', '-k', '10', `${delay / 1000}`, process.execPath, BIN, 'init', '-i', inventory, '--verify-timeout', '5'], {timeoutMs: 120_000})
      // A step already running on a host finishes on its own (apply.sh ignores the hang-up): let it.
      await new Promise((r) => setTimeout(r, 3000))
      await assertNoHalfWrittenConfig()
    }
    const rerun = await wgfleet(['init'])
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
    await assertNoHalfWrittenConfig()
  }, 600_000)

  it('a link cut while configs are pushed: the node fails, no half-written config, heal → rerun converges', async () => {
    const dir = join(RUN_DIR, 'variants', 'cut')
    mkdirSync(dir, {recursive: true})
    const inventory = join(dir, 'inventory.ini')
    writeFileSync(inventory, readFileSync(INVENTORY, 'utf8').replace('keepalive = 25\n', 'keepalive = 22\n'))
    // Bounded well below the test's timeout: init must end (keepalives give up on a cut link after 15 s),
    // and its process with it — a socket left half-closed over the cut once kept it alive for minutes.
    const run = wgfleet(['init', '-i', inventory, '--connect-timeout', '3', '--verify-timeout', '5'], {timeoutMs: 90_000})
    await new Promise((r) => setTimeout(r, 600 + Math.floor(Math.random() * 800)))
    await fault('node-c', 'cut')
    const r = await run
    await fault('node-c', 'heal')
    expect([0, 1], `init with a cut link did not end within 90 s:\n${r.stdout}${r.stderr}`).toContain(r.code)
    await assertNoHalfWrittenConfig()
    const rerun = await wgfleet(['init'])
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
  }, 300_000)

  it('a host key that changed between two runs: that node is refused loudly, the others proceed', async () => {
    const changed = join(work, 'known_hosts.changed')
    const lines = readFileSync(KNOWN_HOSTS, 'utf8').split('\n')
    const keyOfE = lines.find((l) => l.startsWith(`${spare().host} `))!.split(' ').slice(1).join(' ')
    writeFileSync(changed, lines.map((l) => (l.startsWith('203.0.113.2 ') ? `203.0.113.2 ${keyOfE}` : l)).join('\n'))
    for (const accept of [[], ['--accept-new-host-keys']]) {
      const r = await wgfleet(['init', '--known-hosts', changed, ...accept])
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/node-b: FAILED: .*HOST KEY CHANGED/i)
      for (const node of ['node-a', 'node-c', 'node-d']) expect(r.stdout).toMatch(new RegExp(`${node} .*unchanged`))
    }
    expect(readFileSync(changed, 'utf8')).toContain(`203.0.113.2 ${keyOfE}`) // nothing rewritten
  })

  it('a package lock held on a fresh host: init waits for it, then installs', async () => {
    // node-e as a one-node fleet of its own, with WireGuard removed and dpkg's lock held for 8 s.
    const dir = join(RUN_DIR, 'variants', 'lock')
    mkdirSync(dir, {recursive: true})
    const inventory = join(dir, 'inventory.ini')
    const head = readFileSync(INVENTORY, 'utf8').split('\n[node-a]')[0]!
    writeFileSync(inventory, `${head}\n[node-e]\nhost = ${spare().host}\naddress = 10.0.0.5\n`)
    await labExec('node-e', 'systemctl disable --now wg-quick@wg0 2>/dev/null; rm -rf /etc/wireguard; DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq wireguard-tools wireguard-go >/dev/null 2>&1; true')
    // dpkg's frontend lock is an fcntl lock (what apt takes), held for 8 s by another process.
    await labExec('node-e', `nohup python3 -c 'import fcntl,time; f=open("/var/lib/dpkg/lock-frontend","w"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(8)' >/dev/null 2>&1 & sleep 0.5`)
    const started = Date.now()
    const r = await wgfleet(['init', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(Date.now() - started).toBeGreaterThan(6000)
    expect(r.stdout).toMatch(/node-e .*installed/)
    await labExec('node-e', 'systemctl disable --now wg-quick@wg0; rm -f /etc/wireguard/wg0.conf')
  }, 300_000)

  it('a hand-written wg0.conf: not replaced without --adopt; with it, backed up first', async () => {
    const dir = join(RUN_DIR, 'variants', 'adopt')
    mkdirSync(dir, {recursive: true})
    const inventory = join(dir, 'inventory.ini')
    const head = readFileSync(INVENTORY, 'utf8').split('\n[node-a]')[0]!
    writeFileSync(inventory, `${head}\n[node-e]\nhost = ${spare().host}\naddress = 10.0.0.5\n`)
    const hand = '[Interface]\nAddress = 10.9.9.9/24\nPrivateKey = aGFuZC13cml0dGVuLWtleS1ub3QtcmVhbC0xMjM0NTY=\n'
    await labExec('node-e', `mkdir -p -m 0700 /etc/wireguard && printf '%s' '${hand}' > /etc/wireguard/wg0.conf && chmod 600 /etc/wireguard/wg0.conf`)
    const refused = await wgfleet(['init', '-i', inventory])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/not written by wgfleet/)
    expect(refused.stdout).toMatch(/--adopt/)
    expect((await labExec('node-e', 'cat /etc/wireguard/wg0.conf')).stdout).toBe(hand)
    const adopted = await wgfleet(['init', '-i', inventory, '--adopt'])
    expect(adopted.code, adopted.stdout + adopted.stderr).toBe(0)
    expect((await labExec('node-e', 'cat /etc/wireguard/wg0.conf.bak')).stdout).toBe(hand)
    expect((await labExec('node-e', 'head -n1 /etc/wireguard/wg0.conf')).stdout).toMatch(/^# Managed by wgfleet/)
    await labExec('node-e', 'systemctl disable --now wg-quick@wg0; rm -f /etc/wireguard/wg0.conf /etc/wireguard/wg0.conf.bak')
  }, 300_000)
})
