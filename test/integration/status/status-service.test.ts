/**
 * The status service end to end, with scripted RemoteShells in place of SSH: one connection and one exec
 * per node, peers judged against the plan (relay case), node clocks, unreachable nodes with their
 * classified reason, the healthy flag and the exit code — and no lock taken.
 */
import {mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import type {NodeSpec} from '../../../src/inventory/model.js'
import {lockInventory} from '../../../src/lib/lock.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {chooseFormat, statusToJson} from '../../../src/output/status-view.js'
import {checkOutputPath, runStatus, STATUS_STEP_TIMEOUT_MS, writeStatusFile, type StatusRequest} from '../../../src/services/status.js'
import {problemOf} from '../../../src/services/fleet-reader.js'
import {runGraph} from '../../../src/services/graph.js'
import {openStateStore, stateDirFor} from '../../../src/state/state.js'
import {SshError} from '../../../src/ssh/errors.js'
import type {ExecResult, RemoteShell, RunOptions} from '../../../src/tasks/remote-shell.js'
import {LAB_INVENTORY, LAB_KEYS} from '../../fixtures/lab-fleet.js'

const KEYS = LAB_KEYS
type Name = 'node-a' | 'node-b' | 'node-c' | 'node-d'
const STRANGER = 'jYRtAF6z5QvNBfSkmvkF4r0zUxC/btb8/lFv9tFQ5w8='

// node-a relay, node-b public, node-c and node-d behind NAT: c and d reach each other through a.
const INVENTORY = LAB_INVENTORY

/** Who peers with whom in that plan (what a converged fleet has on its interfaces). */
const PEERS: Record<Name, Name[]> = {
  'node-a': ['node-b', 'node-c', 'node-d'],
  'node-b': ['node-a', 'node-c', 'node-d'],
  'node-c': ['node-a', 'node-b'],
  'node-d': ['node-a', 'node-b'],
}

/** The operator's clock; the nodes' clocks are set apart from it on purpose. */
const LOCAL_MS = 1_700_000_000_000

interface HostModel {
  now: number
  link: 'up' | 'down' | 'absent'
  /** Peers on the interface: key → seconds since their handshake (null = never). */
  peers: Array<[string, number | null]>
  reportKey: boolean
  /** The key the node reports for itself, when not its own. */
  reportAs?: string
}

class ScriptedHost {
  readonly execs: Array<{script: string; args: string[]; options: RunOptions}> = []
  connections = 0
  closed = 0
  /** Replaces the answer (a failed exec, garbage output). */
  answer?: () => Promise<ExecResult>

  constructor(readonly name: Name, readonly model: HostModel) {}

  shell(): RemoteShell {
    this.connections++
    return {
      node: this.name,
      user: 'root',
      run: async (script, args = [], options = {}) => {
        this.execs.push({script, args, options})
        if (this.answer) return this.answer()
        return {code: 0, stdout: statusOutput(this.name, this.model), stderr: ''}
      },
      close: async () => {
        this.closed++
      },
    }
  }
}

/** What status.sh prints for a host model (the script itself is proven in status-script.test.ts). */
function statusOutput(name: Name, m: HostModel): string {
  const lines = [`interface=${m.link}`, 'wg=yes']
  lines.push(`now=${m.now}`)
  if (m.link !== 'absent') {
    lines.push('listen_port=51820', `pubkey=${m.reportKey ? (m.reportAs ?? KEYS[name]) : ''}`, '--- peers')
    for (const [key, age] of m.peers) {
      lines.push([key, '(none)', '203.0.113.9:51820', '10.0.0.9/32', age === null ? 0 : m.now - age, 1000, 2000, 25].join('\t'))
    }
    lines.push('--- end peers')
  }
  lines.push('end=ok')
  return lines.join('\n') + '\n'
}

let dir: string
let inventory: string
let hosts: Record<Name, ScriptedHost>
let unreachable: Set<string>
let opened: string[]

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-status-'))
  inventory = join(dir, 'inventory.ini')
  writeFileSync(inventory, INVENTORY)
  const store = openStateStore(dir)
  for (const [name, key] of Object.entries(KEYS)) await store.updateNode(name, {publicKey: key})
  // Each node's clock is off from the operator's (and from each other's) by up to two hours.
  const skew: Record<Name, number> = {'node-a': -7200, 'node-b': 0, 'node-c': 3600, 'node-d': -45}
  hosts = Object.fromEntries(
    (Object.keys(KEYS) as Name[]).map((name) => [
      name,
      new ScriptedHost(name, {now: LOCAL_MS / 1000 + skew[name], link: 'up', peers: PEERS[name].map((p) => [KEYS[p], 30]), reportKey: true}),
    ]),
  ) as Record<Name, ScriptedHost>
  unreachable = new Set()
  opened = []
})

function request(over: Partial<StatusRequest> = {}): StatusRequest {
  return {inventory, staleAfterSeconds: 180, concurrency: 10, connectTimeoutSeconds: 10, acceptNewHostKeys: false, ...over}
}

const deps = () => ({
  clock: () => LOCAL_MS,
  openShell: async (node: NodeSpec) => {
    opened.push(node.name)
    if (unreachable.has(node.name)) {
      throw new SshError('unreachable', node.name, `cannot reach ${node.host}:${node.ssh.port ?? 22}: connection refused`, {hint: 'check that the host is up'})
    }
    return hosts[node.name as Name].shell()
  },
})

const states = (status: Awaited<ReturnType<typeof runStatus>>['status']) =>
  Object.fromEntries(status.nodes.map((n) => [n.name, n.peers.map((p) => `${p.name ?? p.publicKey}:${p.state}`)]))

describe('runStatus', () => {
  it('a converged fleet is healthy (exit 0), with the relay case judged against the plan, on skewed node clocks', async () => {
    const {status, exitCode} = await runStatus(request(), deps())
    expect(exitCode).toBe(0)
    expect(status).toMatchObject({healthy: true, problems: 0, staleAfterSeconds: 180, checkedAt: LOCAL_MS / 1000})
    expect(states(status)).toEqual({
      'node-a': ['node-b:ok', 'node-c:ok', 'node-d:ok'],
      'node-b': ['node-a:ok', 'node-c:ok', 'node-d:ok'],
      // No node-d peer on node-c: it is reached through the relay, and that is not "missing".
      'node-c': ['node-a:ok', 'node-b:ok'],
      'node-d': ['node-a:ok', 'node-b:ok'],
    })
    // Ages against each node's clock: 30 s everywhere, though the clocks are hours apart.
    expect(status.nodes.flatMap((n) => n.peers.map((p) => p.ageSeconds))).toEqual(Array(10).fill(30))
    expect(status.nodes.map((n) => n.nodeTime)).toEqual([LOCAL_MS / 1000 - 7200, LOCAL_MS / 1000, LOCAL_MS / 1000 + 3600, LOCAL_MS / 1000 - 45])
  })

  it('each node\'s key age, from the creation time state records (operator clock); none recorded: null; in --json', async () => {
    await openStateStore(dir).updateNode('node-b', {keyCreatedAt: new Date(LOCAL_MS - 3 * 86_400_000 - 60_000).toISOString()})
    const {status} = await runStatus(request(), deps())
    expect(status.nodes.map((n) => [n.name, n.keyAge?.ageDays ?? null])).toEqual([['node-a', null], ['node-b', 3], ['node-c', null], ['node-d', null]])
    const json = statusToJson(status).nodes.find((n) => n.name === 'node-b')!
    expect([json.keyCreatedAt, json.keyAgeSeconds, json.keyAgeDays]).toEqual([new Date(LOCAL_MS - 3 * 86_400_000 - 60_000).toISOString(), 3 * 86_400 + 60, 3])
  })

  it('one connection and one exec per node: status.sh with the interface, privileged, with a step timeout; shells closed', async () => {
    await runStatus(request(), deps())
    for (const host of Object.values(hosts)) {
      expect(host.connections).toBe(1)
      expect(host.closed).toBe(1)
      expect(host.execs).toHaveLength(1)
      expect(host.execs[0]!.script).toBe(loadScript('status'))
      expect(host.execs[0]!.args).toEqual(['wg0'])
      expect(host.execs[0]!.options).toMatchObject({timeoutMs: STATUS_STEP_TIMEOUT_MS, privileged: true})
    }
  })

  it('an unreachable node: unhealthy (exit 1), its classified reason, the others still judged', async () => {
    unreachable.add('node-d')
    // node-d is gone, so its peers see no handshake for a while.
    hosts['node-a'].model.peers = hosts['node-a'].model.peers.map(([k, age]) => [k, k === KEYS['node-d'] ? 900 : age])
    hosts['node-b'].model.peers = hosts['node-b'].model.peers.map(([k, age]) => [k, k === KEYS['node-d'] ? null : age])
    const {status, exitCode} = await runStatus(request(), deps())
    expect(exitCode).toBe(1)
    expect(status.healthy).toBe(false)
    const d = status.nodes.find((n) => n.name === 'node-d')!
    expect(d).toMatchObject({
      reachable: false,
      interfaceUp: false,
      problem: {kind: 'unreachable', message: 'cannot reach 198.51.100.8:22: connection refused', hint: 'check that the host is up'},
    })
    expect(states(status)['node-d']).toEqual(['node-a:unreachable', 'node-b:unreachable'])
    expect(states(status)['node-a']).toEqual(['node-b:ok', 'node-c:ok', 'node-d:stale'])
    expect(states(status)['node-b']).toEqual(['node-a:ok', 'node-c:ok', 'node-d:never'])
    expect(status.problems).toBe(3)
  })

  it('down interface, missing peer, unknown peer: each a problem', async () => {
    hosts['node-b'].model.link = 'absent'
    hosts['node-c'].model.peers = [[KEYS['node-a'], 10]] // node-b missing
    hosts['node-d'].model.peers = [[KEYS['node-a'], 10], [KEYS['node-b'], 10], [STRANGER, 10], [KEYS['node-c'], 10]]
    const {status, exitCode} = await runStatus(request(), deps())
    expect(exitCode).toBe(1)
    expect(status.nodes.find((n) => n.name === 'node-b')).toMatchObject({reachable: true, interfaceUp: false, problem: {kind: 'interface-absent'}})
    expect(states(status)['node-b']).toEqual(['node-a:down', 'node-c:down', 'node-d:down'])
    expect(states(status)['node-c']).toEqual(['node-a:ok', 'node-b:missing-peer'])
    // A stranger's key, and node-c's key where the plan routes node-c through the relay.
    expect(states(status)['node-d']).toEqual(['node-a:ok', 'node-b:ok', `${STRANGER}:unknown-peer`, 'node-c:unknown-peer'])
    expect(status.problems).toBe(1 + 1 + 2)
  })

  it('--stale-after decides ok vs stale', async () => {
    hosts['node-a'].model.peers = hosts['node-a'].model.peers.map(([k]) => [k, 100])
    expect((await runStatus(request({staleAfterSeconds: 120}), deps())).status.healthy).toBe(true)
    const {status, exitCode} = await runStatus(request({staleAfterSeconds: 60}), deps())
    expect(exitCode).toBe(1)
    expect(states(status)['node-a']).toEqual(['node-b:stale', 'node-c:stale', 'node-d:stale'])
  })

  it('a key missing from state but reported by its own node is used: peers are still named and expected', async () => {
    const store = openStateStore(dir)
    await store.removeNode('node-b')
    const {status} = await runStatus(request(), deps())
    expect(status.healthy).toBe(true)
    expect(states(status)['node-a']).toEqual(['node-b:ok', 'node-c:ok', 'node-d:ok'])
  })

  it('a malformed key in state.json is not fatal: ignored (the key the node reports is used; unreached, its key is unknown)', async () => {
    const file = join(stateDirFor(dir), 'state.json')
    const state = JSON.parse(readFileSync(file, 'utf8'))
    state.nodes['node-b'].publicKey = 'not-a-key\nPostUp = reboot'
    writeFileSync(file, JSON.stringify(state))
    const {status} = await runStatus(request(), deps())
    expect(status.healthy).toBe(true)
    expect(states(status)['node-a']).toEqual(['node-b:ok', 'node-c:ok', 'node-d:ok'])
    unreachable.add('node-b')
    const away = await runStatus(request(), deps())
    expect(states(away.status)['node-a']).toEqual(['node-c:ok', 'node-d:ok', `${KEYS['node-b']}:unknown-peer`])
  })

  it('a node reporting another node\'s key: the plan keeps both nodes\' pinned keys (nobody\'s peer changes)', async () => {
    hosts['node-b'].model.reportAs = KEYS['node-a']
    const {status} = await runStatus(request(), deps())
    expect(states(status)['node-a']).toEqual(['node-b:ok', 'node-c:ok', 'node-d:ok'])
    expect(states(status)['node-c']).toEqual(['node-a:ok', 'node-b:ok'])
  })

  it('a key neither in state nor reported (node down): that peer is not judged, not guessed', async () => {
    await openStateStore(dir).removeNode('node-b')
    unreachable.add('node-b')
    const {status} = await runStatus(request(), deps())
    // node-b's key is unknown: other nodes' entries for it are unknown keys; node-b itself is unreachable.
    expect(states(status)['node-a']).toEqual(['node-c:ok', 'node-d:ok', `${KEYS['node-b']}:unknown-peer`])
    expect(status.nodes.find((n) => n.name === 'node-b')!.reachable).toBe(false)
  })

  it('an exec that times out, and output that does not parse: the node is unreachable with the reason', async () => {
    hosts['node-b'].answer = async () => {
      throw new SshError('timeout', 'node-b', 'node-b: step timed out after 20 s and was stopped')
    }
    hosts['node-c'].answer = async () => ({code: 0, stdout: 'interface=up\nnow=1\n', stderr: ''})
    hosts['node-d'].answer = async () => ({code: 127, stdout: '', stderr: 'bash: line 1: ip: command not found\n'})
    const {status, exitCode} = await runStatus(request(), deps())
    expect(exitCode).toBe(1)
    const byName = Object.fromEntries(status.nodes.map((n) => [n.name, n]))
    expect(byName['node-b']!.problem).toMatchObject({kind: 'timeout', message: 'step timed out after 20 s and was stopped'})
    expect(byName['node-c']!.problem).toMatchObject({kind: 'bad-output', message: expect.stringMatching(/incomplete/)})
    expect(byName['node-d']!.problem).toMatchObject({kind: 'script-failed', message: expect.stringMatching(/ip: command not found/)})
    expect(hosts['node-b'].closed).toBe(1)
  })

  it('bounds concurrency by --concurrency', async () => {
    let inFlight = 0
    let peak = 0
    const base = deps()
    await runStatus(request({concurrency: 2}), {
      ...base,
      openShell: async (node) => {
        inFlight++
        peak = Math.max(peak, inFlight)
        await new Promise((r) => setTimeout(r, 10))
        const shell = await base.openShell(node)
        return {...shell, close: async () => {
          inFlight--
          await shell.close()
        }}
      },
    })
    expect(peak).toBe(2)
  })

  it('does not take or wait for the inventory lock (cron must not block behind init)', async () => {
    const unlock = await lockInventory(inventory, stateDirFor(dir))
    try {
      const {exitCode} = await runStatus(request(), deps())
      expect(exitCode).toBe(0)
    } finally {
      await unlock()
    }
  })

  it('a bad inventory: exit 2 before any connection', async () => {
    writeFileSync(inventory, INVENTORY.replace('address = 10.0.0.4', 'address = 10.9.0.4'))
    await expect(runStatus(request(), deps())).rejects.toMatchObject({exitCode: 2})
    expect(opened).toEqual([])
  })

  it('a bad --stale-after: exit 2 before any connection', async () => {
    await expect(runStatus(request({staleAfterSeconds: 0}), deps())).rejects.toMatchObject({exitCode: 2})
    expect(opened).toEqual([])
  })
})

describe('problemOf', () => {
  it('SshError: its kind, message without the node prefix, hint', () => {
    expect(problemOf(new SshError('auth', 'node-a', 'authentication failed on x', {hint: 'h'}))).toEqual({kind: 'auth', message: 'authentication failed on x', hint: 'h'})
  })

  it('anything else: kind error, its message', () => {
    expect(problemOf(new Error('boom'))).toEqual({kind: 'error', message: 'boom'})
  })
})

describe('chooseFormat', () => {
  it('--json is json; --format picks; default table; --json with another format is a usage error', () => {
    expect(chooseFormat(undefined, false)).toBe('table')
    expect(chooseFormat(undefined, true)).toBe('json')
    expect(chooseFormat('json', true)).toBe('json')
    expect(chooseFormat('prometheus', false)).toBe('prometheus')
    expect(() => chooseFormat('prometheus', true)).toThrow(expect.objectContaining({exitCode: 2}))
  })
})

describe('checkOutputPath', () => {
  it('a file in an existing folder is fine (absolute path back); a missing folder or a folder is exit 2', async () => {
    expect(await checkOutputPath(join(dir, 'wgfleet.prom'))).toBe(join(dir, 'wgfleet.prom'))
    await expect(checkOutputPath(join(dir, 'nope', 'wgfleet.prom'))).rejects.toMatchObject({exitCode: 2})
    mkdirSync(join(dir, 'sub'))
    await expect(checkOutputPath(join(dir, 'sub'))).rejects.toMatchObject({exitCode: 2})
  })
})

describe('writeStatusFile', () => {
  it('replaces the file whole, leaving no temp file; a failure is a clear error (exit 1), not a crash', async () => {
    const out = join(dir, 'out')
    mkdirSync(out)
    await writeStatusFile(join(out, 'wgfleet.prom'), 'one\n')
    await writeStatusFile(join(out, 'wgfleet.prom'), 'two\n')
    expect(readFileSync(join(out, 'wgfleet.prom'), 'utf8')).toBe('two\n')
    expect(readdirSync(out)).toEqual(['wgfleet.prom'])
    await expect(writeStatusFile(join(out, 'missing', 'x.prom'), 'x')).rejects.toMatchObject({exitCode: 1, message: expect.stringMatching(/cannot write/)})
  })
})

describe('runGraph (graph --live reads the fleet the way status does)', () => {
  const graphRequest = (live: boolean) => ({...request(), live})
  const edgeStates = (graph: Awaited<ReturnType<typeof runGraph>>) => graph.edges.map((e) => `${e.from}–${e.to}:${'state' in e ? e.state : '-'}`)

  it('without --live nothing connects', async () => {
    const graph = await runGraph(graphRequest(false), deps())
    expect(opened).toEqual([])
    expect(edgeStates(graph)).toEqual(['node-a–node-b:-', 'node-a–node-c:-', 'node-a–node-d:-', 'node-b–node-c:-', 'node-b–node-d:-', 'node-c–node-d:-'])
  })

  it('--live: one connection and one status.sh exec per node; a converged fleet is all up', async () => {
    const graph = await runGraph(graphRequest(true), deps())
    expect(opened.sort()).toEqual(['node-a', 'node-b', 'node-c', 'node-d'])
    for (const host of Object.values(hosts)) expect(host.execs.map((e) => e.script)).toEqual([loadScript('status')])
    expect(edgeStates(graph)).toEqual(['node-a–node-b:up', 'node-a–node-c:up', 'node-a–node-d:up', 'node-b–node-c:up', 'node-b–node-d:up', 'node-c–node-d:up'])
  })

  it("--live: node-d's interface gone — its edges down (the relayed one too), the rest up; node-c unreachable — unknown", async () => {
    hosts['node-d'].model.link = 'absent'
    expect(edgeStates(await runGraph(graphRequest(true), deps()))).toEqual([
      'node-a–node-b:up', 'node-a–node-c:up', 'node-a–node-d:down', 'node-b–node-c:up', 'node-b–node-d:down', 'node-c–node-d:down',
    ])
    hosts['node-d'].model.link = 'up'
    unreachable.add('node-c')
    expect(edgeStates(await runGraph(graphRequest(true), deps()))).toEqual([
      'node-a–node-b:up', 'node-a–node-c:unknown', 'node-a–node-d:up', 'node-b–node-c:unknown', 'node-b–node-d:up', 'node-c–node-d:unknown',
    ])
  })
})
