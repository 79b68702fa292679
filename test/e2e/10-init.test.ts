// wgfleet init on the seed scenario: fresh Debian hosts (no WireGuard), ufw on node-a, firewalld on
// node-b (user deploy + sudo), node-c behind NAT (port forward), node-d only through node-c.
import {copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, KNOWN_HOSTS, RUN_DIR, labExec} from './helpers.js'
import {SCENARIO_NODES, hostFile, interfaceIdentity, overlayAddresses, wgfleet} from './wgfleet.js'

const work = mkdtempSync(join(tmpdir(), 'wgfleet-e2e-init-'))
const transcript = join(work, 'transcript.log')
let first: {code: number; stdout: string; stderr: string; ms: number}
let addresses: Record<string, string>

function allFiles(dir: string): string[] {
  try {
    return readdirSync(dir).flatMap((f) => {
      const p = join(dir, f)
      return statSync(p).isDirectory() ? allFiles(p) : [p]
    })
  } catch {
    return []
  }
}

beforeAll(async () => {
  // Fresh hosts: no WireGuard anywhere yet, and no state from an earlier run.
  for (const node of SCENARIO_NODES) {
    const r = await labExec(node, 'command -v wg || test -e /etc/wireguard')
    expect(r.code, `${node} must be fresh (run \`test/lab/lab down\` then up)`).not.toBe(0)
  }
  await labExec('node-a', 'true')
  const state = join(RUN_DIR, '.wgfleet')
  await import('node:fs').then((fs) => fs.rmSync(state, {recursive: true, force: true}))
  addresses = await overlayAddresses()
  const started = Date.now()
  const r = await wgfleet(['init'], {env: {...process.env, WGFLEET_TRANSCRIPT: transcript}})
  first = {...r, ms: Date.now() - started}
  console.log(`fresh init: ${first.ms} ms\n${r.stdout}`)
}, 600_000)

describe('wgfleet init on fresh hosts', () => {
  it('exits 0 and reports every node changed with all handshakes', () => {
    expect(first.stderr).not.toMatch(/internal error/)
    expect(first.code, first.stdout + first.stderr).toBe(0)
    for (const node of SCENARIO_NODES) expect(first.stdout).toMatch(new RegExp(`${node} .*changed`))
    expect(first.stdout).toMatch(/init: ok/)
  })

  it('every node pings every other node over the overlay (12 ordered pairs, c↔d through the relay)', async () => {
    const failures: string[] = []
    for (const from of SCENARIO_NODES) {
      for (const to of SCENARIO_NODES) {
        if (from === to) continue
        const r = await labExec(from, ['ping', '-c', '2', '-W', '2', '-i', '0.3', addresses[to]!])
        if (r.code !== 0) failures.push(`${from} → ${to}`)
      }
    }
    expect(failures).toEqual([])
  })

  it('node-c and node-d have no peer entry for each other: they talk through node-a', async () => {
    const c = await hostFile('node-c', '/etc/wireguard/wg0.conf')
    expect(c).not.toContain('# node-d')
    expect(c).toMatch(new RegExp(`AllowedIPs = ${addresses['node-a']}/32, ${addresses['node-d']}/32`))
  })

  it('wg-quick@wg0 is enabled and active on all four', async () => {
    for (const node of SCENARIO_NODES) {
      const r = await labExec(node, 'systemctl is-enabled wg-quick@wg0; systemctl is-active wg-quick@wg0')
      expect(r.stdout.split('\n').slice(0, 2), node).toEqual(['enabled', 'active'])
    }
  })

  it('each interface runs the MTU wg-quick would choose (largest underlay MTU toward the endpoints, less 80), found by apply.sh with one batch; the file names none', async () => {
    // The oracle is wg-quick's own loop (set_mtu_up): one `ip route get` and `ip link show` per endpoint.
    const oracle = [
      'm=0',
      'for e in $(wg show wg0 endpoints | awk \'{print $2}\'); do a=${e%:*}; a=${a#[}; a=${a%]}',
      '  o=$(ip route get "$a" 2>/dev/null) || continue',
      '  if [[ $o =~ mtu\\ ([0-9]+) ]] || { [[ $o =~ dev\\ ([^\\ ]+) ]] && [[ $(ip link show dev "${BASH_REMATCH[1]}") =~ mtu\\ ([0-9]+) ]]; }; then [ "${BASH_REMATCH[1]}" -gt $m ] && m=${BASH_REMATCH[1]}; fi',
      'done',
      'echo $((m - 80)); cat /sys/class/net/wg0/mtu; grep -ci "^[[:space:]]*mtu[[:space:]]*=" /etc/wireguard/wg0.conf || true',
    ].join('\n')
    for (const node of SCENARIO_NODES) {
      const [expected, actual, inFile] = (await labExec(node, ['bash', '-c', oracle])).stdout.trim().split('\n')
      expect(Number(expected), node).toBeGreaterThan(500)
      expect(actual, node).toBe(expected)
      expect(inFile, node).toBe('0')
    }
    // Every fresh bring-up took apply.sh's value (its `mtu=` line), not wg-quick's per-peer search.
    expect(readFileSync(transcript, 'utf8').match(/^mtu=\d+$/gm) ?? []).toHaveLength(SCENARIO_NODES.length)
  })

  it('node-a: ufw allows the port; node-b: firewalld lists it (permanent and runtime)', async () => {
    expect((await labExec('node-a', 'ufw status')).stdout).toMatch(/^51820\/udp\s+ALLOW/m)
    const b = await labExec('node-b', 'firewall-cmd --list-ports; firewall-cmd --permanent --list-ports')
    expect(b.stdout.split('\n').slice(0, 2).map((l) => l.split(' ').includes('51820/udp'))).toEqual([true, true])
  })

  it('the relay forwards persistently (sysctl file), the others do not', async () => {
    expect((await labExec('node-a', 'cat /proc/sys/net/ipv4/ip_forward /etc/sysctl.d/99-wgfleet.conf')).stdout).toMatch(/^1\nnet\.ipv4\.ip_forward = 1/)
    expect((await labExec('node-b', 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim()).toBe('0')
  })

  it('node-b was configured as deploy through sudo; node-d through node-c as jump host', () => {
    const log = readFileSync(transcript, 'utf8')
    expect(log).toMatch(/deploy@203\.0\.113\.2:22/)
    expect(log).toMatch(/sudo -n env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV WGFLEET_SSH_CONNECTION="\$SSH_CONNECTION" bash --norc --noprofile -s/)
    expect(log).toMatch(/root@198\.51\.100\.8:22/)
  })

  it('/etc/wireguard is 0700, key and config 0600, root-owned, on every host', async () => {
    for (const node of SCENARIO_NODES) {
      const r = await labExec(node, 'stat -c "%a %U" /etc/wireguard /etc/wireguard/wg0.key /etc/wireguard/wg0.conf')
      expect(r.stdout.trim().split('\n'), node).toEqual(['700 root', '600 root', '600 root'])
    }
  })

  it('no private key left its host: not in stdout, stderr, .wgfleet/, nor the transcript of every byte', async () => {
    const state = allFiles(join(RUN_DIR, '.wgfleet')).map((f) => readFileSync(f, 'utf8')).join('\n')
    const log = readFileSync(transcript, 'utf8')
    expect(log.length).toBeGreaterThan(1000)
    for (const node of SCENARIO_NODES) {
      const key = (await hostFile(node, '/etc/wireguard/wg0.key')).trim()
      expect(key).toMatch(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/)
      for (const [where, text] of [['stdout', first.stdout], ['stderr', first.stderr], ['state', state], ['transcript', log]] as const) {
        expect(text.includes(key), `${node}'s private key found in ${where}`).toBe(false)
      }
    }
  })

  it('a second init changes nothing: exit 0, all unchanged, no interface restarted', async () => {
    const before = await Promise.all(SCENARIO_NODES.map((n) => interfaceIdentity(n)))
    const confBefore = await Promise.all(SCENARIO_NODES.map((n) => labExec(n, 'stat -c %Y.%i /etc/wireguard/wg0.conf')))
    const started = Date.now()
    const r = await wgfleet(['init', '--json'])
    console.log(`no-op init: ${Date.now() - started} ms`)
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.result).toBe('ok')
    expect(doc.nodes.map((n: {result: string}) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged'])
    expect(await Promise.all(SCENARIO_NODES.map((n) => interfaceIdentity(n)))).toEqual(before)
    const confAfter = await Promise.all(SCENARIO_NODES.map((n) => labExec(n, 'stat -c %Y.%i /etc/wireguard/wg0.conf')))
    expect(confAfter.map((x) => x.stdout)).toEqual(confBefore.map((x) => x.stdout))
  })

  it('a host whose key is not in known_hosts is refused with its fingerprint; the others converge; exit 1', async () => {
    const partial = join(work, 'known_hosts.without-node-b')
    writeFileSync(partial, readFileSync(KNOWN_HOSTS, 'utf8').split('\n').filter((l) => !l.startsWith('203.0.113.2 ')).join('\n'))
    const r = await wgfleet(['init', '--known-hosts', partial])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/node-b: .*host key .*unknown|node-b: .*not in known_hosts|node-b.*SHA256:/i)
    expect(r.stdout).toMatch(/SHA256:[A-Za-z0-9+/]{43}/)
    for (const node of ['node-a', 'node-c', 'node-d']) expect(r.stdout).toMatch(new RegExp(`${node} .*unchanged`))
    // The refused key was not recorded anywhere.
    expect(readFileSync(partial, 'utf8')).not.toMatch(/^203\.0\.113\.2 /m)
    copyFileSync(KNOWN_HOSTS, join(work, 'known_hosts.copy'))
  })

  it('a second changing run while another holds the inventory lock: exit 1 at once, nothing touched', async () => {
    // Hold the lock exactly as a running `init` does (same library, same lock path).
    const {lockInventory} = await import('../../src/lib/lock.js')
    const unlock = await lockInventory(INVENTORY, join(RUN_DIR, '.wgfleet'))
    try {
      const started = Date.now()
      const second = await wgfleet(['init'])
      expect(second.code).toBe(1)
      expect(second.stderr).toMatch(/another wgfleet run holds the lock/)
      expect(Date.now() - started).toBeLessThan(5000)
      expect(second.stdout).toBe('')
    } finally {
      await unlock()
    }
    // Read-only commands never wait for it.
  })
})

