// The ssh scenario: every host reached as the administrator's own ~/.ssh/config says (lab op provides it:
// config split by Include, known_hosts with a @cert-authority line, an agent of nine keys, a user
// certificate). node-a: an alias, agent key with IdentitiesOnly; node-lan: only through `ProxyCommand ssh
// -W %h:%p bastion`; node-cert: a CA-signed host key and user certificates only (transport = openssh in
// the inventory). `init` and `status` converge through all of them with no flag; the ssh2 transport
// refuses node-cert before connecting and records no key; the config's StrictHostKeyChecking yes wins over
// --accept-new-host-keys. At the end the seed scenario comes back fresh,
// as the files after this one expect it.
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {INVENTORY, RUN_DIR, lab, labExec, labOp, tcpOpensFromOperator} from './helpers.js'
import {wgfleet} from './wgfleet.js'

const NODES = ['node-a', 'node-cert', 'node-lan'] as const
const OPERATOR_KNOWN_HOSTS = join(RUN_DIR, 'home/.ssh/known_hosts')

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

beforeAll(async () => {
  const up = await lab(['up', '--scenario', 'ssh'], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
}, 900_000)

afterAll(async () => {
  // Later files (99-teardown) expect the seed lab, fresh.
  const up = await lab(['up', '--scenario', 'seed'], {timeoutMs: 600_000})
  expect(up.code, up.stderr).toBe(0)
}, 900_000)

describe('the scenario as plain ssh sees it (lab op: the lab-owned ~/.ssh and agent)', () => {
  it('reaches every host by alias: the agent key, the ProxyCommand through the bastion, the certificates', async () => {
    for (const name of NODES) {
      const r = await labOp(['ssh', '-o', 'BatchMode=yes', name, 'hostname'], {timeoutMs: 30_000})
      expect(r.code, `${name}: ${r.stderr}`).toBe(0)
      expect(r.stdout.trim()).toBe(name)
    }
  })

  it('the LAN host is not reachable from the operator, only through the bastion', async () => {
    expect(await tcpOpensFromOperator('198.19.0.10', 22)).toBe(false)
  })

  it('the agent holds nine keys, and without IdentitiesOnly the host gives up before the right one', async () => {
    const keys = await labOp(['ssh-add', '-l'])
    expect(keys.stdout.trim().split('\n')).toHaveLength(9)
    // No config (so no IdentityFile to pick the right key first): the agent offers its keys in order.
    const r = await labOp(
      ['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'UserKnownHostsFile=~/.ssh/known_hosts', 'root@203.0.113.1', 'true'],
      {timeoutMs: 30_000},
    )
    expect(r.code).toBe(255)
    expect(r.stderr).toMatch(/Too many authentication failures|Permission denied/)
  })

  it('the machine\'s own ssh config takes no part: ~/.ssh and /etc/ssh/ssh_config are the lab\'s', async () => {
    const r = await labOp(['bash', '-c', 'head -1 ~/.ssh/config; head -1 /etc/ssh/ssh_config; echo "$SSH_AUTH_SOCK"'])
    expect(r.stdout).toMatch(/^# wgfleet lab \(ssh\)/)
    expect(r.stdout).toMatch(/\n# wgfleet lab: the system-wide ssh_config/)
    expect(r.stdout.trim().split('\n').at(-1)).toBe(join(RUN_DIR, 'agent.sock'))
  })
})

describe('wgfleet through the ssh config', () => {
  it('ssh-config --json says how each node is reached, as ssh -G does', async () => {
    const r = await wgfleet(['ssh-config', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {evaluatedBy: string; nodes: Array<Record<string, unknown> & {name: string; hops: Array<{host: string; port: number; user: string}>}>}
    expect(doc.evaluatedBy).toBe('ssh -G')
    const byName = Object.fromEntries(doc.nodes.map((node) => [node.name, node]))
    expect(byName['node-a']).toMatchObject({transport: 'ssh2', hops: [{host: '203.0.113.1', port: 22, user: 'root'}], identitiesOnly: true, proxyCommand: null, strictHostKeyChecking: 'yes'})
    expect(byName['node-lan']).toMatchObject({transport: 'ssh2', hops: [{host: '198.19.0.10', port: 22, user: 'root'}], proxyCommand: 'ssh -W 198.19.0.10:22 bastion'})
    expect(byName['node-cert']).toMatchObject({transport: 'openssh', certificateFiles: [expect.stringMatching(/\/\.ssh\/id_cert-cert\.pub$/)]})
    expect(byName['node-a']!.knownHostsFiles).toEqual([expect.stringMatching(/\/\.ssh\/known_hosts$/), expect.stringMatching(/\/\.ssh\/known_hosts2$/), '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'])
  })

  it('plan: an alias host\'s endpoint is the HostName ssh resolves it to', async () => {
    const r = await wgfleet(['plan', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {nodes: Array<{name: string; endpoint: string | null}>}
    const endpoints = Object.fromEntries(doc.nodes.map((node) => [node.name, node.endpoint]))
    expect(endpoints['node-a']).toBe('203.0.113.1:51820')
    expect(endpoints['node-cert']).toBe('203.0.113.30:51820')
  })

  it('over ssh2, node-cert is refused before any connection, naming transport = openssh, and no key is recorded', async () => {
    const before = digest(OPERATOR_KNOWN_HOSTS)
    const r = await wgfleet(['status', '--json', '--transport', 'ssh2', '--accept-new-host-keys'], {timeoutMs: 120_000})
    const doc = JSON.parse(r.stdout) as {nodes: Array<{name: string; reachable: boolean; error?: string}>}
    const cert = doc.nodes.find((node) => node.name === 'node-cert')!
    expect(cert.reachable).toBe(false)
    expect(cert.error).toMatch(/transport = openssh/)
    expect(digest(OPERATOR_KNOWN_HOSTS)).toBe(before)
  })

  it('StrictHostKeyChecking yes in the admin\'s config wins over --accept-new-host-keys: every new key refused, nothing recorded', async () => {
    const empty = join(RUN_DIR, 'known_hosts.empty')
    writeFileSync(empty, '')
    const r = await wgfleet(['status', '--json', '--known-hosts', empty, '--accept-new-host-keys'], {timeoutMs: 120_000})
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as {nodes: Array<{name: string; reachable: boolean; errorKind?: string; hint?: string}>}
    for (const name of NODES) {
      const node = doc.nodes.find((n) => n.name === name)!
      expect(node, name).toMatchObject({reachable: false, errorKind: 'host-key-unknown'})
      expect(node.hint, name).toMatch(/does not override StrictHostKeyChecking yes/)
    }
    expect(readFileSync(empty, 'utf8')).toBe('')
  })

  it('init converges the three nodes with no flag (ssh2 through the agent and the ProxyCommand, openssh for the certificates)', async () => {
    // The run's ControlMaster directories: those that appear during it (another program's may be there).
    const controlDirs = async () => (await labOp(['bash', '-c', 'ls -d /tmp/wgfleet-ssh-* 2>/dev/null; true'])).stdout.split('\n').filter((line) => line !== '')
    const before = new Set(await controlDirs())
    const r = await wgfleet(['init', '--json'], {timeoutMs: 300_000})
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {result: string; nodes: Array<{name: string; result: string; steps: {handshakes?: {verified: number; expected: number}}}>}
    expect(doc.result).toBe('ok')
    expect(doc.nodes.map((node) => [node.name, node.steps.handshakes?.verified, node.steps.handshakes?.expected])).toEqual([
      ['node-a', 2, 2],
      ['node-cert', 2, 2],
      ['node-lan', 2, 2],
    ])
    // The ControlMaster sockets of the openssh transport went with the run.
    expect((await controlDirs()).filter((dir) => !before.has(dir))).toEqual([])
  })

  it('status is healthy through all of them, and tunnels carry traffic', async () => {
    const r = await wgfleet(['status', '--json'], {timeoutMs: 120_000})
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const ping = await labExec('node-lan', ['ping', '-c', '1', '-W', '3', '10.0.0.2'])
    expect(ping.code, ping.stderr).toBe(0)
  })

  it('a second init changes nothing', async () => {
    const r = await wgfleet(['init', '--json'], {timeoutMs: 300_000})
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {nodes: Array<{result: string}>}
    expect(doc.nodes.map((node) => node.result)).toEqual(['unchanged', 'unchanged', 'unchanged'])
    expect(readFileSync(INVENTORY, 'utf8')).toMatch(/transport = openssh/)
  })
})
