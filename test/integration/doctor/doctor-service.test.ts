/**
 * The doctor service end to end, with scripted RemoteShells in place of SSH: one connection and one exec
 * per node (doctor.sh with the interface, the port and the node's own peers as ping targets), findings
 * judged against the plan over the keys the nodes report, an unreachable node with its classified reason,
 * the exit code — and no lock taken, nothing opened on a bad inventory.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {loadInventory} from '../../../src/inventory/index.js'
import type {NodeSpec} from '../../../src/inventory/model.js'
import {lockInventory} from '../../../src/lib/lock.js'
import {planFleet} from '../../../src/plan/index.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {parseInventory} from '../../../src/inventory/index.js'
import {DOCTOR_PING_BUDGET_SECONDS, DOCTOR_STEP_TIMEOUT_MS, pingTargets, runDoctor, type DoctorRequest} from '../../../src/services/doctor.js'
import {problemOf} from '../../../src/services/fleet-reader.js'
import {SshError} from '../../../src/ssh/errors.js'
import {openStateStore, stateDirFor} from '../../../src/state/state.js'
import type {ExecResult, RemoteShell, RunOptions} from '../../../src/tasks/remote-shell.js'
import type {DoctorReading} from '../../../src/remote/doctor.js'
import {firewallLines} from '../../fixtures/firewall.js'
import {healthyReading, KEYS, WRONG_KEY} from '../../unit/doctor/fixtures.js'
import {LAB_INVENTORY} from '../../fixtures/lab-fleet.js'

type Name = 'node-a' | 'node-b' | 'node-c' | 'node-d'
const NAMES: Name[] = ['node-a', 'node-b', 'node-c', 'node-d']

// The lab: node-a relay (public), node-b public, node-c and node-d behind NAT (d reached through c).
const INVENTORY = LAB_INVENTORY

/** What doctor.sh prints for a reading (the script itself is proven in doctor-script.test.ts). */
function doctorOutput(r: DoctorReading): string {
  const out = ['doctor=1', `port=${r.listenPort ?? 51820}`, ...r.addresses.map((a) => `address=${a}`), `interface=${r.link}`, `mtu=${r.mtu ?? ''}`, `wg=${r.wgInstalled ? 'yes' : 'no'}`, `now=${r.now}`]
  if (r.peers) {
    out.push(`listen_port=${r.listenPort}`, `pubkey=${r.publicKey ?? ''}`, '--- peers')
    for (const p of r.peers) out.push([p.publicKey, '(none)', p.endpoint ?? '(none)', p.allowedIps.join(',') || '(none)', p.latestHandshake, p.rxBytes, p.txBytes, p.keepalive || 'off'].join('\t'))
    out.push('--- end peers')
  }
  if (r.keyFilePublicKey) out.push(`keyfile_pubkey=${r.keyFilePublicKey}`)
  if (r.config === null) out.push('config=no')
  else out.push('config=yes', '--- config', ...r.config.replace(/\n$/, '').split('\n'), '--- end config')
  out.push(`systemd=${r.systemd ? 'yes' : 'no'}`)
  if (r.systemd) out.push(`unit_enabled=${r.unitEnabled}`, `unit_active=${r.unitActive}`)
  out.push(`ip_forward=${r.ipForward === null ? '' : r.ipForward ? 1 : 0}`, ...r.forwardFiles.map((f) => `forward_file=${f}`))
  out.push(...firewallLines(r), ...(r.uplink ? [`uplink=${r.uplink}`] : []))
  if (r.pingTool) out.push(`ping_tool=${r.pingTool}`)
  for (const p of r.pings) out.push(`ping=${p.kind === 'underlay' ? 'u' : 'o'} ${p.host} ${p.size} ${p.big} ${p.small ?? '-'} ${p.pathMtu ?? '-'}`)
  out.push('end=ok')
  return out.join('\n') + '\n'
}

class ScriptedHost {
  readonly execs: Array<{script: string; args: string[]; options: RunOptions}> = []
  connections = 0
  closed = 0
  answer?: () => Promise<ExecResult>

  constructor(readonly name: Name, public reading: DoctorReading) {}

  shell(): RemoteShell {
    this.connections++
    return {
      node: this.name,
      user: 'root',
      run: async (script, args = [], options = {}) => {
        this.execs.push({script, args, options})
        if (this.answer) return this.answer()
        return {code: 0, stdout: doctorOutput(this.reading), stderr: ''}
      },
      close: async () => {
        this.closed++
      },
    }
  }
}

let dir: string
let inventory: string
let hosts: Record<Name, ScriptedHost>
let unreachable: Set<string>
let opened: string[]

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-doctor-'))
  inventory = join(dir, 'inventory.ini')
  writeFileSync(inventory, INVENTORY)
  const store = openStateStore(dir)
  for (const name of NAMES) await store.updateNode(name, {publicKey: KEYS[name]})
  // Readings of a converged fleet, from the plan of this very inventory.
  const plan = planFleet(await loadInventory(inventory), {publicKeys: {...KEYS}}, {omitPeersWithoutKey: true})
  hosts = Object.fromEntries(plan.nodes.map((n) => [n.name, new ScriptedHost(n.name as Name, healthyReading(n))])) as Record<Name, ScriptedHost>
  unreachable = new Set()
  opened = []
})

function request(over: Partial<DoctorRequest> = {}): DoctorRequest {
  return {inventory, concurrency: 10, connectTimeoutSeconds: 10, acceptNewHostKeys: false, ...over}
}

const deps = () => ({
  openShell: async (node: NodeSpec) => {
    opened.push(node.name)
    if (unreachable.has(node.name)) {
      throw new SshError('unreachable', node.name, `cannot reach ${node.host}:${node.ssh.port ?? 22}: connection refused`, {hint: `check that the host is up and sshd listens on port ${node.ssh.port ?? 22}`})
    }
    return hosts[node.name as Name].shell()
  },
})

const brief = (findings: Awaited<ReturnType<typeof runDoctor>>['findings']) => findings.map((f) => [f.node, f.check, f.severity])

describe('runDoctor', () => {
  it('a converged fleet: no findings, exit 0', async () => {
    const result = await runDoctor(request(), deps())
    expect(result).toEqual({findings: [], nodes: 4, exitCode: 0})
  })

  it('one connection and one exec per node: doctor.sh IFACE PORT and the node\'s own peers as ping targets, privileged, bounded; shells closed', async () => {
    await runDoctor(request(), deps())
    for (const host of Object.values(hosts)) {
      expect(host.connections).toBe(1)
      expect(host.closed).toBe(1)
      expect(host.execs).toHaveLength(1)
      expect(host.execs[0]!.script).toBe(loadScript('doctor'))
      expect(host.execs[0]!.options).toMatchObject({timeoutMs: DOCTOR_STEP_TIMEOUT_MS, privileged: true})
    }
    // The targets come on stdin (their count and the ping budget on the command line).
    expect(hosts['node-a'].execs[0]!.args).toEqual(['wg0', '51820', '4', String(DOCTOR_PING_BUDGET_SECONDS)])
    expect(hosts['node-a'].execs[0]!.options.input).toBe('u:203.0.113.2\no:10.0.0.2\no:10.0.0.3\no:10.0.0.4\nend\n')
    // node-c: its public peers' endpoint hosts and their overlay addresses; not node-d (reached through the relay).
    expect(hosts['node-c'].execs[0]!.args).toEqual(['wg0', '51820', '4', String(DOCTOR_PING_BUDGET_SECONDS)])
    expect(hosts['node-c'].execs[0]!.options.input).toBe('u:203.0.113.1\nu:203.0.113.2\no:10.0.0.1\no:10.0.0.2\nend\n')
  })

  it('node-d unreachable: an `unreachable` error with the classified reason, exit 1; the others still judged', async () => {
    unreachable.add('node-d')
    hosts['node-c'].reading.unitEnabled = 'disabled'
    const {findings, exitCode} = await runDoctor(request(), deps())
    expect(exitCode).toBe(1)
    expect(brief(findings)).toEqual([
      ['node-c', 'unit-not-enabled', 'error'],
      ['node-d', 'unreachable', 'error'],
    ])
    expect(findings[1]).toMatchObject({message: 'not reached over SSH (unreachable): cannot reach 198.51.100.8:22: connection refused', fix: 'check that the host is up and sshd listens on port 22'})
  })

  it('only warnings: exit 0', async () => {
    hosts['node-a'].reading.forwardFiles = []
    const {findings, exitCode} = await runDoctor(request(), deps())
    expect(brief(findings)).toEqual([['node-a', 'relay-forwarding-not-persistent', 'warning']])
    expect(exitCode).toBe(0)
  })

  /** node-b now runs with WRONG_KEY; node-c and node-d have it, node-a still has node-b's old key. */
  function moveNodeBToWrongKey(): void {
    hosts['node-b'].reading.publicKey = WRONG_KEY
    hosts['node-b'].reading.keyFilePublicKey = WRONG_KEY
    for (const name of ['node-c', 'node-d'] as const) {
      const r = hosts[name].reading
      r.config = r.config!.split(KEYS['node-b']).join(WRONG_KEY)
      r.peers!.find((p) => p.publicKey === KEYS['node-b'])!.publicKey = WRONG_KEY
    }
  }

  it('a key the node reports for itself counts when state lacks it (first use); an old key still has a name', async () => {
    const store = openStateStore(dir)
    await store.removeNode('node-b')
    await store.updateNode('old-node-b', {publicKey: KEYS['node-b']}) // a name state still has for the old key
    moveNodeBToWrongKey()
    const {findings} = await runDoctor(request(), deps())
    expect(brief(findings)).toEqual([['node-a', 'wrong-peer-key', 'error']])
    expect(findings[0]!.message).toContain(`${KEYS['node-b']} (old-node-b's key) for node-b, but node-b's public key is ${WRONG_KEY}`)
  })

  it('a key that differs from the pinned one is not trusted: key-not-trusted on that node, its peers judged by the pinned key', async () => {
    moveNodeBToWrongKey()
    const {findings} = await runDoctor(request(), deps())
    expect(brief(findings)).toEqual([
      ['node-b', 'key-not-trusted', 'error'],
      ['node-c', 'wrong-peer-key', 'error'],
      ['node-d', 'wrong-peer-key', 'error'],
    ])
    expect(findings[0]!.message).toBe(`reports public key ${WRONG_KEY}, but this machine's state pins ${KEYS['node-b']} to node-b: a changed key is not trusted without your consent (its peers keep the pinned key)`)
    expect(findings[0]!.fix).toContain('`wgfleet init --accept-key-change node-b`')
  })

  it('a node reporting another node\'s key: key-not-trusted on the claimant; the victim\'s peers are judged by its own key', async () => {
    hosts['node-b'].reading.publicKey = KEYS['node-a']
    hosts['node-b'].reading.keyFilePublicKey = KEYS['node-a']
    const {findings} = await runDoctor(request(), deps())
    expect(findings.filter((f) => f.node !== 'node-b')).toEqual([])
    expect(brief(findings)[0]).toEqual(['node-b', 'key-not-trusted', 'error'])
    expect(findings[0]!.message).toMatch(/has the public key of node-a .*a clone of node-a/)
  })

  it('an exec that fails, output that does not parse, a timeout: read-failed / unreachable with the reason', async () => {
    hosts['node-b'].answer = async () => ({code: 127, stdout: '', stderr: 'bash: line 1: ip: command not found\n'})
    hosts['node-c'].answer = async () => ({code: 0, stdout: 'doctor=1\ninterface=up\n', stderr: ''})
    hosts['node-d'].answer = async () => {
      throw new SshError('timeout', 'node-d', 'node-d: step timed out after 60 s and was stopped')
    }
    const {findings, exitCode} = await runDoctor(request(), deps())
    expect(exitCode).toBe(1)
    expect(brief(findings)).toEqual([
      ['node-b', 'read-failed', 'error'],
      ['node-c', 'read-failed', 'error'],
      ['node-d', 'unreachable', 'error'],
    ])
    expect(findings[0]!.message).toMatch(/ip: command not found/)
    expect(findings[1]!.message).toMatch(/incomplete/)
    expect(findings[2]!.message).toBe('not reached over SSH (timeout): step timed out after 60 s and was stopped')
    expect(hosts['node-d'].closed).toBe(1)
  })

  it('bounds concurrency by --concurrency', async () => {
    let inFlight = 0
    let peak = 0
    const base = deps()
    await runDoctor(request({concurrency: 2}), {
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

  it('does not take or wait for the inventory lock', async () => {
    const unlock = await lockInventory(inventory, stateDirFor(dir))
    try {
      expect((await runDoctor(request(), deps())).exitCode).toBe(0)
    } finally {
      await unlock()
    }
  })

  it('a bad inventory: exit 2 before any connection', async () => {
    writeFileSync(inventory, INVENTORY.replace('address = 10.0.0.4', 'address = 10.9.0.4'))
    await expect(runDoctor(request(), deps())).rejects.toMatchObject({exitCode: 2})
    expect(opened).toEqual([])
  })
})

describe('pingTargets', () => {
  it('each node\'s direct peers only: endpoint hosts (once each) and overlay addresses', async () => {
    const targets = pingTargets(await loadInventory(inventory))
    expect(Object.fromEntries(targets)).toEqual({
      'node-a': ['u:203.0.113.2', 'o:10.0.0.2', 'o:10.0.0.3', 'o:10.0.0.4'],
      'node-b': ['u:203.0.113.1', 'o:10.0.0.1', 'o:10.0.0.3', 'o:10.0.0.4'],
      'node-c': ['u:203.0.113.1', 'u:203.0.113.2', 'o:10.0.0.1', 'o:10.0.0.2'],
      'node-d': ['u:203.0.113.1', 'u:203.0.113.2', 'o:10.0.0.1', 'o:10.0.0.2'],
    })
  })
})

describe('pingTargets at scale', () => {
  it('at most 8 of each kind per node; each node its own window, so together they probe every peer', () => {
    const lines = ['[network]', 'cidr = 10.0.0.0/24', '']
    for (let i = 1; i <= 100; i++) lines.push(`[n${i}]`, `host = 198.18.1.${i}`, `address = 10.0.0.${i}`, '')
    const targets = pingTargets(parseInventory(lines.join('\n'), '/x/inventory.ini'))
    const probed = new Map<string, number>()
    for (const list of targets.values()) {
      expect(list.filter((t) => t.startsWith('u:'))).toHaveLength(8)
      expect(list.filter((t) => t.startsWith('o:'))).toHaveLength(8)
      expect(new Set(list).size).toBe(16)
      for (const t of list) probed.set(t, (probed.get(t) ?? 0) + 1)
    }
    // Every node's endpoint and overlay address probed, by several nodes.
    expect(probed.size).toBe(200)
    expect(Math.min(...probed.values())).toBeGreaterThanOrEqual(4)
    // Never a node's own address.
    for (const [name, list] of targets) expect(list).not.toContain(`o:10.0.0.${name.slice(1)}`)
  })
})

describe('problemOf', () => {
  it('SshError: its kind, message without the node prefix, hint; anything else: error', () => {
    expect(problemOf(new SshError('auth', 'node-a', 'authentication failed on x', {hint: 'h'}))).toEqual({kind: 'auth', message: 'authentication failed on x', hint: 'h'})
    expect(problemOf(new Error('boom'))).toEqual({kind: 'error', message: 'boom'})
  })
})
