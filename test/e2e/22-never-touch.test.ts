// Never touch what isn't wgfleet's, on real hosts: an `interface` naming a link that is not WireGuard (the
// hosts' own uplink, a bridge, a tun) is refused on that node and the link left as it was; and exit_via
// keeps SSH working from every operator address (two before init, a third added after it), not only
// from the one that ran init. Each variant is a copy of the lab inventory in its own folder (its own
// .wgfleet state); the seed inventory is converged again at the end, so later files find the seed fleet.
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, RUN_DIR, lab, labExec, spare, ssh} from './helpers.js'
import {SCENARIO_NODES, wgfleet} from './wgfleet.js'

function variant(name: string, edit: (text: string) => string): string {
  const dir = join(RUN_DIR, 'variants', name)
  // Its own state, fresh: the folder outlives `lab down`, the hosts (and their keys) do not.
  rmSync(join(dir, '.wgfleet'), {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const file = join(dir, 'inventory.ini')
  writeFileSync(file, edit(readFileSync(INVENTORY, 'utf8')))
  return file
}

/** The lab inventory's [network] and [ssh] sections and the one node section `node`. */
function onlyNode(text: string, node: string): string {
  const sections = text.split(/\n(?=\[)/)
  return sections.filter((s) => /^\[(network|ssh)\]/m.test(s.split('\n').find((l) => l.startsWith('[')) ?? '') || s.startsWith(`[${node}]`)).join('\n')
}

interface NodeJson {
  name: string
  result: string
  error?: string
  hint?: string
}

async function initJson(inventory: string): Promise<{code: number; nodes: NodeJson[]; raw: string}> {
  const started = Date.now()
  const r = await wgfleet(['init', '--json', '-i', inventory])
  console.log(`init -i ${inventory.slice(RUN_DIR.length + 1)}: exit ${r.code} in ${Date.now() - started} ms`)
  expect(r.stderr).not.toMatch(/internal error|bug in wgfleet/)
  return {code: r.code, nodes: (JSON.parse(r.stdout) as {nodes: NodeJson[]}).nodes, raw: r.stdout + r.stderr}
}

/** What must not change on a host when wgfleet refuses a link: the link, its addresses and routes, the firewall's view of it, /etc/wireguard. */
async function linkSnapshot(node: string, link: string): Promise<string> {
  const r = await labExec(
    node,
    // (ip -d would add a bridge's running timers; a fresh link's IPv6 address loses its "tentative" flag.)
    `ip -o link show dev ${link}; ip -j -d link show dev ${link} | grep -o '"info_kind":"[a-z]*"'; ` +
      `ip -o addr show dev ${link} | sed 's/ tentative//'; ip route show dev ${link}; ip rule show; ` +
      `ls -a /etc/wireguard 2>&1; command -v firewall-cmd >/dev/null && firewall-cmd --get-zone-of-interface=${link} 2>&1; ` +
      'command -v ufw >/dev/null && ufw status 2>&1; true',
  )
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

beforeAll(async () => {
  // On its own (fresh hosts from the global setup) this file starts from the seed fleet; after 10/20 this is a no-op.
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
}, 600_000)

/** The rule an older config (or another admin) may leave at priority 100 (it only steers lookups for an unused lab address). */
const LEFTOVER_RULE = 'to 203.0.113.77/32 lookup main priority 100'
/** Each exiting node's uplink address (the rule that keeps replies from it on the main table). */
const UPLINK_ADDRESS: Record<string, string> = {'node-b': '203.0.113.2', 'node-c': '198.51.100.7'}

afterAll(async () => {
  for (const address of ['203.0.113.101', '203.0.113.102']) await lab(['op-address', 'del', address])
  await labExec('node-a', 'ip link del br-test 2>/dev/null; ip link del tun-test 2>/dev/null; true')
  // Back to the seed fleet for the files that follow.
  const r = await wgfleet(['init'])
  expect(r.code, r.stdout + r.stderr).toBe(0)
  // The restart into the seed config ran the seed config's PostDown, which has no rules: remove what the
  // exit config added. (wg-quick removes its own full-tunnel rules: it finds them by the fwmark, which the
  // config now keeps; the exact list below proves it.)
  for (const [node, address] of Object.entries(UPLINK_ADDRESS)) {
    const cleanup = [
      `ip -4 rule del ${LEFTOVER_RULE} 2>/dev/null`,
      `for i in 1 2 3 4; do ip -4 rule del from ${address}/32 lookup main 2>/dev/null || break; done`,
      'true',
    ]
    await labExec(node, cleanup.join('; '))
    expect((await labExec(node, ['ip', '-4', 'rule', 'show'])).stdout, node).toBe('0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n')
  }
}, 600_000)

describe('interface = eth0: the hosts\' own uplink (a veth carrying the default route)', () => {
  const inventory = variant('never-touch-eth0', (t) => t.replace('port = 51820\n', 'port = 51820\ninterface = eth0\n'))

  it('every node is refused, says why, and nothing of eth0 changes; SSH still works', async () => {
    expect(readFileSync(inventory, 'utf8')).toMatch(/^interface = eth0$/m)
    const before = await Promise.all(SCENARIO_NODES.map((n) => linkSnapshot(n, 'eth0')))
    for (const dryRun of [true, false]) {
      const r = dryRun ? await wgfleet(['init', '--dry-run', '--json', '-i', inventory]) : null
      const run = r ? {code: r.code, nodes: (JSON.parse(r.stdout) as {nodes: NodeJson[]}).nodes, raw: r.stdout + r.stderr} : await initJson(inventory)
      expect(run.code, run.raw).toBe(1)
      expect(run.nodes.map((n) => n.name)).toEqual([...SCENARIO_NODES])
      for (const n of run.nodes) {
        expect(n.result, run.raw).toBe('failed')
        expect(n.error).toMatch(/^eth0 already exists on this host and is a veth link, not a WireGuard interface/)
        expect(n.hint).toMatch(/choose another `interface` in \[network\]/)
      }
    }
    expect(await Promise.all(SCENARIO_NODES.map((n) => linkSnapshot(n, 'eth0')))).toEqual(before)
    for (const node of SCENARIO_NODES) {
      const r = await labExec(node, 'test ! -e /etc/wireguard/eth0.conf && test ! -e /etc/wireguard/eth0.key && systemctl is-enabled wg-quick@eth0 || true')
      expect(r.stdout.trim(), node).not.toBe('enabled')
      expect((await ssh(node, 'true')).code, node).toBe(0)
    }
  })
})

describe('interface naming another link that is not WireGuard (node-a alone)', () => {
  it.each([
    ['a bridge', 'br-test', 'ip link add br-test type bridge && ip link set br-test up', /br-test already exists on this host and is a bridge link/],
    ['a tun that wg does not answer for', 'tun-test', 'ip tuntap add dev tun-test mode tun', /tun-test already exists on this host and is a tun link/],
  ])('%s: refused, the link left in place', async (_what, link, make, message) => {
    const made = await labExec('node-a', make)
    expect(made.code, made.stderr).toBe(0)
    const inventory = variant(`never-touch-${link}`, (t) => onlyNode(t, 'node-a').replace('port = 51820\n', `port = 51820\ninterface = ${link}\n`))
    const before = await linkSnapshot('node-a', link)
    const run = await initJson(inventory)
    expect(run.code, run.raw).toBe(1)
    expect(run.nodes).toHaveLength(1)
    expect(run.nodes[0]!.error).toMatch(message)
    expect(await linkSnapshot('node-a', link)).toBe(before)
    // wgfleet's own wg0 on node-a is untouched too.
    expect((await labExec('node-a', 'wg show wg0 >/dev/null && systemctl is-active wg-quick@wg0')).stdout.trim()).toBe('active')
  })
})

describe('exit_via = node-a on node-b and node-c: SSH from every operator address', () => {
  const inventory = variant('never-touch-exit', (t) =>
    t.replace(/(\[node-b\]\n(?:[^[\n][^\n]*\n)*)/, '$1exit_via = node-a\n').replace(/(\[node-c\]\n(?:[^[\n][^\n]*\n)*)/, '$1exit_via = node-a\n'),
  )
  const EXITING = ['node-b', 'node-c'] as const
  /** An address on none of the hosts' subnets (a lab range that nothing uses in the seed scenario). */
  const OFF_SUBNET = '198.19.0.1'
  const sshFrom = (node: string, from: string) => ssh(node, 'echo ok', {sshArgs: ['-b', from], timeoutMs: 30_000})

  beforeAll(async () => {
    const added = await lab(['op-address', 'add', '203.0.113.101'])
    expect(added.code, added.stderr).toBe(0)
    // A rule already at priority 100 on node-c: wg-quick then numbers its own rules 99 and 98, in front of
    // any rule of ours at a fixed 100 (the lockout this file found in the lab).
    const planted = await labExec('node-c', `ip -4 rule add ${LEFTOVER_RULE}`)
    expect(planted.code, planted.stderr).toBe(0)
  })

  it('converges: exit 0, and the full tunnel is really on (an address off their subnets is routed through wg0)', async () => {
    expect(readFileSync(inventory, 'utf8').match(/^exit_via = node-a$/gm)).toHaveLength(2)
    const run = await initJson(inventory)
    expect(run.code, run.raw).toBe(0)
    // A route lookup only: nothing is sent. (node-e shares node-b's subnet, so it stays on the main table there.)
    for (const node of EXITING) expect((await labExec(node, ['ip', 'route', 'get', OFF_SUBNET])).stdout, node).toMatch(/dev wg0/)
    expect((await labExec('node-c', ['ip', 'route', 'get', spare().host])).stdout).toMatch(/dev wg0/)
  })

  it('the tunnels really work: the fwmark survived the run (verify\'s wg syncconf) and the overlay answers', async () => {
    for (const node of EXITING) {
      expect((await labExec(node, ['wg', 'show', 'wg0', 'fwmark'])).stdout.trim(), node).toBe('0xca6c')
      const ping = await labExec(node, ['ping', '-c', '2', '-W', '2', '-i', '0.3', '10.0.0.1'])
      expect(ping.code, `${node} → node-a over the overlay: ${ping.stdout}`).toBe(0)
    }
  })

  it('replies from the uplink address stay on the main table: one rule per uplink address, read before wg-quick\'s, none per client', async () => {
    for (const node of EXITING) {
      const rules = (await labExec(node, ['ip', '-4', 'rule', 'show'])).stdout
      const priority = (pattern: RegExp) => Number(new RegExp(`^(\\d+):\\s+${pattern.source}`, 'm').exec(rules)?.[1] ?? Number.NaN)
      const ours = priority(new RegExp(`from ${UPLINK_ADDRESS[node]!.replaceAll('.', '\\.')} lookup main$`))
      const wgQuick = priority(/from all lookup main suppress_prefixlength 0/)
      expect(ours, rules).toBeLessThan(wgQuick)
      expect(rules).not.toMatch(/to 203\.0\.113\.10[0-2]/)
    }
    expect((await labExec('node-c', ['ip', '-4', 'rule', 'show'])).stdout).toMatch(/^100:\s+from all to 203\.0\.113\.77 lookup main$/m)
  })

  // node-c is the real test: behind its router the operator is not on a local subnet, so the replies
  // would follow the default route into the tunnel (node-a would masquerade them and the client drop them).
  // node-b shares the operator's subnet, where the main table's connected route answers anyway.
  it('SSH works from the operator address that ran init and from a second one', async () => {
    for (const node of EXITING) {
      for (const from of ['203.0.113.100', '203.0.113.101']) {
        const r = await sshFrom(node, from)
        expect(r.code, `${node} from ${from}: ${r.stderr}`).toBe(0)
        expect(r.stdout.trim()).toBe('ok')
      }
    }
  })

  it('SSH works from a third address added after init (a new dynamic IP)', async () => {
    const added = await lab(['op-address', 'add', '203.0.113.102'])
    expect(added.code, added.stderr).toBe(0)
    for (const node of EXITING) {
      const r = await sshFrom(node, '203.0.113.102')
      expect(r.code, `${node} from 203.0.113.102: ${r.stderr}`).toBe(0)
      // node-b sees the new address itself (no NAT in front of it): the reply really went back the way it came.
      if (node === 'node-b') expect((await ssh(node, 'echo "$SSH_CONNECTION"', {sshArgs: ['-b', '203.0.113.102']})).stdout).toMatch(/^203\.0\.113\.102 /)
    }
  })

  it('init again is a no-op, and wgfleet is not refused on its own full-tunnel wg0', async () => {
    const run = await initJson(inventory)
    expect(run.code, run.raw).toBe(0)
    expect(run.nodes.map((n) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged'])
  })
})
