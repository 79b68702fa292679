/**
 * The converge flow (phases, barrier, state, per-node results) against scripted hosts. What the scripts
 * do on a real host is proven in the lab e2e suite.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import type {Fleet} from '../../../src/inventory/model.js'
import {renderConvergeText} from '../../../src/output/converge-view.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {convergeFleet, type ConvergeOptions} from '../../../src/services/converge.js'
import {runInit} from '../../../src/services/init.js'
import {addNode} from '../../../src/services/membership.js'
import {openStateStore} from '../../../src/state/state.js'
import {SshError} from '../../../src/ssh/errors.js'
import {FakeHost, verifyRequest} from '../../fixtures/fake-host.js'

const KEYS = {
  'node-a': 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=',
  'node-b': 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=',
  'node-c': 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=',
} as const

const INVENTORY = `[network]
cidr = 10.0.0.0/24

[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true

[node-b]
host = 203.0.113.2
address = 10.0.0.2

[node-c]
host = 203.0.113.3
ssh_port = 2222
address = 10.0.0.3
nat = true
`

let fleet: Fleet
let hosts: Record<string, FakeHost>
let unreachable: Set<string>

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-converge-'))
  const file = join(dir, 'inventory.ini')
  writeFileSync(file, INVENTORY)
  fleet = parseInventory(INVENTORY, file)
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key, {ufw: name === 'node-a' ? 'active' : 'absent'})]))
  // Every host reports a handshake with every peer it has.
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
  unreachable = new Set()
})

function options(over: Partial<ConvergeOptions> = {}): ConvergeOptions {
  return {
    dryRun: false,
    adopt: false,
    concurrency: 10,
    silent: true,
    verifyTimeoutSeconds: 5,
    staleAfterSeconds: 180,
    openShell: async (node) => {
      if (unreachable.has(node.name)) throw new SshError('unreachable', node.name, `cannot connect to ${node.host}:${node.ssh.port}: connection refused`)
      return hosts[node.name]!.shell()
    },
    ...over,
  }
}

describe('convergeFleet', () => {
  it('converges fresh hosts: install, key, config, firewall, service; all changed', async () => {
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('ok')
    expect(report.nodes.map((n) => [n.name, n.result])).toEqual([['node-a', 'changed'], ['node-b', 'changed'], ['node-c', 'changed']])
    expect(report.nodes[0]!.steps).toMatchObject({wireguard: 'installed', key: 'new', config: 'new', handshakes: {verified: 2, expected: 2}})
    expect(hosts['node-a']!.state.ufwAllowed).toEqual(['51820/udp'])
    expect(hosts['node-a']!.state.ipForward).toBe(true) // the relay forwards
    expect(hosts['node-b']!.state.ipForward).toBe(false)
    // node-b's config carries node-c's real public key: the barrier waited for every key.
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect(hosts['node-b']!.state.config).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe', 'prepare', 'apply', 'verify'])
    const state = await openStateStore(fleet.dir).load()
    expect(state.nodes['node-c']?.publicKey).toBe(KEYS['node-c'])
  })

  it('a second run changes nothing: one probe per node, no other exec, every node unchanged', async () => {
    await convergeFleet(fleet, options())
    for (const h of Object.values(hosts)) h.execs.length = 0
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.map((n) => n.result)).toEqual(['unchanged', 'unchanged', 'unchanged'])
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('an unreachable node fails alone; its peers stay on the others (from state); a rerun converges', async () => {
    await convergeFleet(fleet, options())
    unreachable.add('node-c')
    // Something else changes meanwhile, so the others are rewritten while node-c is away.
    const bigger = parseInventory(INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nmtu = 1380'), fleet.file)
    const report = await convergeFleet(bigger, options())
    expect(report.result).toBe('partial')
    const c = report.nodes.find((n) => n.name === 'node-c')!
    expect(c.result).toBe('failed')
    expect(c.error).toMatch(/node-c: cannot connect/)
    expect(hosts['node-b']!.state.config).toContain('MTU = 1380')
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`) // not wiped
    unreachable.clear()
    const rerun = await convergeFleet(bigger, options())
    expect(rerun.result).toBe('ok')
  })

  it('an unreachable node missing from this machine\'s state keeps its peers: each node keeps its own section for it', async () => {
    await convergeFleet(fleet, options())
    const {rmSync} = await import('node:fs')
    rmSync(join(fleet.dir, '.wgfleet'), {recursive: true, force: true}) // e.g. a fresh clone elsewhere
    unreachable.add('node-c')
    const changed = parseInventory(INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nmtu = 1380'), fleet.file)
    const report = await convergeFleet(changed, options())
    expect(report.result).toBe('partial')
    expect(hosts['node-b']!.state.config).toContain('MTU = 1380')
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect(hosts['node-a']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect(report.warnings).toContainEqual({kind: 'unknown-key', node: 'node-c', cause: 'not-reached', keptOn: ['node-a', 'node-b'], leftOutOn: []})
  })

  it('a config not written by wgfleet is refused without --adopt, and replaced with it', async () => {
    hosts['node-b']!.state = {...hosts['node-b']!.state, wg: true, key: true, config: '[Interface]\nPrivateKey = x\n', managed: false}
    const refused = await convergeFleet(fleet, options())
    const b = refused.nodes.find((n) => n.name === 'node-b')!
    expect(b.result).toBe('failed')
    expect(b.hint).toMatch(/--adopt/)
    expect(hosts['node-b']!.execs.map((e) => e.script)).toEqual(['probe']) // nothing installed or written
    expect(refused.nodes.filter((n) => n.result !== 'failed')).toHaveLength(2)
    const adopted = await convergeFleet(fleet, options({adopt: true}))
    expect(adopted.nodes.find((n) => n.name === 'node-b')!.result).toBe('changed')
  })

  it('--dry-run probes and reports, but runs nothing that changes a host', async () => {
    const report = await convergeFleet(fleet, options({dryRun: true}))
    expect(report.nodes.every((n) => n.result === 'changed')).toBe(true)
    expect(report.nodes[1]!.steps.config).toBe('would-create')
    expect(report.nodes[1]!.steps.diff).toContain('+[Interface]')
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('a missing handshake fails that node with the peer named', async () => {
    hosts['node-b']!.handshakesWith = [KEYS['node-a']]
    const report = await convergeFleet(fleet, options())
    const b = report.nodes.find((n) => n.name === 'node-b')!
    expect(b.result).toBe('failed')
    expect(b.error).toMatch(/no handshake with node-c \(/)
    expect(b.steps.handshakes).toEqual({verified: 1, expected: 2})
  })

  it('an existing link named like the interface that is not WireGuard fails that node alone: nothing installed, written or deleted there', async () => {
    hosts['node-b']!.state = {...hosts['node-b']!.state, up: true, link: {kind: 'bridge', wireguard: false}}
    for (const dryRun of [true, false]) {
      const report = await convergeFleet(fleet, options({dryRun}))
      const b = report.nodes.find((n) => n.name === 'node-b')!
      expect(b.result).toBe('failed')
      expect(b.error).toMatch(/wg0 already exists on this host and is a bridge link, not a WireGuard interface/)
      expect(b.hint).toMatch(/choose another `interface` in \[network\]/)
      expect(report.nodes.filter((n) => n.result !== 'failed').map((n) => n.name)).toEqual(['node-a', 'node-c'])
      expect(hosts['node-b']!.execs.map((e) => e.script)).toEqual(['probe'])
      hosts['node-b']!.execs.length = 0
    }
  })

  it('a link named like the interface that carries the default route fails that node', async () => {
    hosts['node-a']!.state = {...hosts['node-a']!.state, up: true, link: {kind: 'wireguard', wireguard: true, defaultRoute: true}}
    const a = (await convergeFleet(fleet, options())).nodes.find((n) => n.name === 'node-a')!
    expect(a.result).toBe('failed')
    expect(a.error).toMatch(/wg0 carries this host's default route/)
    expect(hosts['node-a']!.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('a node managed from inside the overlay, or whose uplink address is inside it, fails alone', async () => {
    hosts['node-b']!.state.sshClient = '10.0.0.200'
    hosts['node-c']!.state.uplinkAddresses = ['10.0.0.77']
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('partial')
    const [a, b, c] = report.nodes
    expect(a!.result).toBe('changed')
    expect(b!.error).toMatch(/the SSH session comes from 10\.0\.0\.200, inside the overlay 10\.0\.0\.0\/24/)
    expect(c!.error).toMatch(/this host's own address 10\.0\.0\.77 \(on eth0\) is inside the overlay 10\.0\.0\.0\/24/)
    expect(b!.hint).toMatch(/\[network\] cidr/)
    for (const name of ['node-b', 'node-c']) expect(hosts[name]!.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('exit_via: replies from the uplink addresses the probe found stay on the main table; a run from another admin address changes nothing', async () => {
    const text = INVENTORY.replace('nat = true\n', 'nat = true\nexit_via = node-a\n')
    const exitFleet = parseInventory(text, fleet.file)
    hosts['node-c']!.state.uplinkAddresses = ['198.51.100.7']
    const first = await convergeFleet(exitFleet, options())
    expect(first.result, JSON.stringify(first.nodes)).toBe('ok')
    const config = hosts['node-c']!.state.config!
    expect(config).toContain('PostUp = ip -4 rule add from 198.51.100.7/32 lookup main\n')
    expect(config).not.toContain('203.0.113.100')
    for (const h of Object.values(hosts)) {
      h.execs.length = 0
      h.state.sshClient = '203.0.113.77'
    }
    const second = await convergeFleet(exitFleet, options())
    // (The scripted hosts never report iptables as installed, so prepare runs again: not what is looked at here.)
    expect(second.nodes.map((n) => [n.steps.config, n.steps.service])).toEqual(Array(3).fill(['unchanged', 'running']))
    for (const h of Object.values(hosts)) expect(h.execs.map((e) => e.script), JSON.stringify(h.execs)).not.toContain('apply')
  })

  describe('who starts each handshake after the barrier (first-handshake)', () => {
    const modesOf = (name: string) => {
      const verify = hosts[name]!.execs.filter((e) => e.script === 'verify').at(-1)
      if (!verify) return undefined
      const {finish, modes} = verifyRequest(verify)
      const byName = Object.fromEntries(Object.entries(modes).map(([key, mode]) => [Object.entries(KEYS).find(([, k]) => k === key)?.[0] ?? key, mode]))
      return {finish, modes: byName}
    }

    it('fresh fleet: one side per pair starts (the NAT-ed node towards the public ones), every node finishes its interface', async () => {
      const report = await convergeFleet(fleet, options())
      expect(report.result).toBe('ok')
      expect(modesOf('node-a')).toEqual({finish: 'yes', modes: {'node-b': 'initiate', 'node-c': 'await'}})
      expect(modesOf('node-b')).toEqual({finish: 'yes', modes: {'node-a': 'await', 'node-c': 'await'}})
      expect(modesOf('node-c')).toEqual({finish: 'yes', modes: {'node-a': 'initiate', 'node-b': 'initiate'}})
    })

    it('one node restarted: it starts towards the public peers; a NAT-ed peer re-adds it and starts; the rest is untouched', async () => {
      await convergeFleet(fleet, options())
      for (const h of Object.values(hosts)) h.execs.length = 0
      hosts['node-b']!.state.up = false // the interface went down: this run starts it
      const report = await convergeFleet(fleet, options())
      expect(report.result).toBe('ok')
      expect(modesOf('node-b')).toEqual({finish: 'yes', modes: {'node-a': 'initiate', 'node-c': 'await'}})
      expect(modesOf('node-a')).toEqual({finish: 'no', modes: {'node-b': 'live', 'node-c': 'any'}})
      expect(modesOf('node-c')).toEqual({finish: 'no', modes: {'node-a': 'any', 'node-b': 'reset'}})
    })

    it('a node restarted by hand before the run (its interface up, without sessions): the NAT-ed peer re-adds it and starts, the restarted node awaits a new handshake', async () => {
      await convergeFleet(fleet, options())
      for (const h of Object.values(hosts)) h.execs.length = 0
      // node-b's wg-quick was restarted outside wgfleet: it runs its file but holds no session with node-c
      // (which cannot be dialled), while node-c still holds its old one with node-b.
      hosts['node-b']!.handshakesWith = [KEYS['node-a']]
      const report = await convergeFleet(fleet, options())
      expect(modesOf('node-c')).toEqual({finish: 'no', modes: {'node-a': 'any', 'node-b': 'reset'}})
      expect(modesOf('node-b')).toEqual({finish: 'no', modes: {'node-a': 'any', 'node-c': 'await'}})
      // node-b's await must see a handshake newer than the dead one (0: never).
      const verify = hosts['node-b']!.execs.filter((e) => e.script === 'verify').at(-1)!
      expect(verify.input).toMatch(new RegExp(`^${KEYS['node-c'].replace(/[+/=]/g, '\\$&')} 10\\.0\\.0\\.3 await 0$`, 'm'))
      expect(report.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c'])
    })

    it('a node joins: every pair with it is fresh on both sides and split evenly; old pairs stay as they are', async () => {
      await convergeFleet(fleet, options())
      const keyD = 'ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ='
      ;(KEYS as Record<string, string>)['node-d'] = keyD
      try {
        hosts['node-d'] = new FakeHost('node-d', keyD)
        for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
        for (const h of Object.values(hosts)) h.execs.length = 0
        const grown = parseInventory(INVENTORY + '\n[node-d]\nhost = 203.0.113.4\naddress = 10.0.0.4\n', fleet.file)
        const report = await convergeFleet(grown, options())
        expect(report.result).toBe('ok')
        // Inventory positions a=0, b=1, c=2, d=3: of i < j, i starts when j - i is odd; c is NAT-ed.
        expect(modesOf('node-d')).toEqual({finish: 'yes', modes: {'node-a': 'await', 'node-b': 'initiate', 'node-c': 'await'}})
        expect(modesOf('node-a')).toEqual({finish: 'yes', modes: {'node-b': 'any', 'node-c': 'any', 'node-d': 'initiate'}})
        expect(modesOf('node-b')).toEqual({finish: 'yes', modes: {'node-a': 'any', 'node-c': 'any', 'node-d': 'await'}})
        expect(modesOf('node-c')).toEqual({finish: 'yes', modes: {'node-a': 'any', 'node-b': 'any', 'node-d': 'initiate'}})
      } finally {
        delete (KEYS as Record<string, string>)['node-d']
      }
    })

    it('every node verifies at once, also with --concurrency 1 (an awaiting node holds its exec until its peer starts)', async () => {
      // Each verify returns only once every node's verify has begun, as an awaiting side does on a host.
      const begun = new Set<string>()
      let release!: () => void
      const allBegun = new Promise<void>((resolve) => (release = resolve))
      const report = await convergeFleet(fleet, options({
        concurrency: 1,
        openShell: async (node) => {
          const shell = hosts[node.name]!.shell()
          return {
            ...shell,
            run: async (script, args, runOptions) => {
              if (script === loadScript('verify')) {
                begun.add(node.name)
                if (begun.size === Object.keys(hosts).length) release()
                const timeout = new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 2000))
                if ((await Promise.race([allBegun, timeout])) === 'stuck') return {code: 1, stdout: 'error=the other verifies never began\n', stderr: ''}
              }
              return shell.run(script, args, runOptions)
            },
          }
        },
      }))
      expect(report.nodes.map((n) => [n.name, n.result, n.error])).toEqual([['node-a', 'changed', undefined], ['node-b', 'changed', undefined], ['node-c', 'changed', undefined]])
    })

    it('a node whose peers were all unreachable still finishes its interface (held keepalives set from the file)', async () => {
      await convergeFleet(fleet, options())
      unreachable.add('node-b')
      unreachable.add('node-c')
      // A new port restarts node-a, with its peers' keys from state.
      const report = await convergeFleet(parseInventory(INVENTORY.replace('address = 10.0.0.1', 'address = 10.0.0.1\nport = 51821'), fleet.file), options())
      expect(report.result).toBe('partial')
      expect(modesOf('node-a')).toEqual({finish: 'yes', modes: {}})
    })
  })
})

/** How often `PublicKey = KEY` stands in a config. */
function keyLines(config: string | null, key: string): number {
  return (config ?? '').split('\n').filter((l) => l === `PublicKey = ${key}`).length
}

/** The host now has KEY everywhere: key file, config and running interface (reinstalled, or rekeyed by hand). */
function rekey(host: FakeHost, key: string): void {
  Object.assign(host.state, {publicKey: key, configPublicKey: key, interfacePublicKey: key})
}

const NEW_KEY = 'CUVmuCqSMnAIGcynv1bFuM8gOzOCnUK3CWLQB9S7sFs='
const OTHER_KEY = 'jYRtAF6z5QvNBfSkmvkF4r0zUxC/btb8/lFv9tFQ5w8='

describe('convergeFleet: which keys are trusted', () => {
  it('a node reporting another node\'s key fails alone; the victim keeps its key and its place in every config', async () => {
    await convergeFleet(fleet, options())
    // node-b now holds node-a's key (a cloned VM, or a fake `wg`), in its key file and on its interface.
    rekey(hosts['node-b']!, KEYS['node-a'])
    for (const h of Object.values(hosts)) h.execs.length = 0
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('partial')
    const b = report.nodes.find((n) => n.name === 'node-b')!
    expect(b.result).toBe('failed')
    expect(b.keyRefusal).toMatchObject({reason: 'duplicate-of-other-node', heldBy: 'node-a', publicKey: KEYS['node-a'], pinned: KEYS['node-b']})
    expect(report.nodes.filter((n) => n.name !== 'node-b').map((n) => n.result)).toEqual(['unchanged', 'unchanged'])
    expect(hosts['node-b']!.execs.map((e) => e.script)).toEqual(['probe']) // nothing applied on the claimant
    // node-c still has node-a under node-a's key, once, and node-b under node-b's own pinned key.
    expect(keyLines(hosts['node-c']!.state.config, KEYS['node-a'])).toBe(1)
    expect(keyLines(hosts['node-c']!.state.config, KEYS['node-b'])).toBe(1)
    const state = await openStateStore(fleet.dir).load()
    expect(state.nodes['node-a']?.publicKey).toBe(KEYS['node-a'])
    expect(state.nodes['node-b']?.publicKey).toBe(KEYS['node-b'])
    const text = renderConvergeText(report)
    expect(text).toMatch(/node-b: FAILED: its key file has the public key of node-a .*a clone of node-a/)
    expect(text).toContain('hint: if node-b was cloned (a VM image), give it a key of its own: on node-b `systemctl stop wg-quick@wg0; rm /etc/wireguard/wg0.key`, then `wgfleet init --accept-key-change node-b`')
  })

  it('two fresh hosts with one key (a golden image): both refused, the others converge without them', async () => {
    hosts['node-c']!.state.publicKey = KEYS['node-b']
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.map((n) => [n.name, n.result])).toEqual([['node-a', 'changed'], ['node-b', 'failed'], ['node-c', 'failed']])
    expect(report.nodes[1]!.keyRefusal).toEqual({reason: 'duplicate-of-other-node', source: 'key-file', publicKey: KEYS['node-b'], alsoReportedBy: ['node-c']})
    expect(keyLines(hosts['node-a']!.state.config, KEYS['node-b'])).toBe(0)
    expect(report.warnings).toContainEqual({kind: 'unknown-key', node: 'node-b', cause: 'refused', keptOn: [], leftOutOn: [{node: 'node-a', reason: 'no-existing-section'}]})
    expect((await openStateStore(fleet.dir).load()).nodes['node-b']).toBeUndefined()
  })

  it('a changed key is refused without --accept-key-change (the peers keep the pinned key), accepted with it', async () => {
    await convergeFleet(fleet, options())
    rekey(hosts['node-c']!, NEW_KEY)
    const refused = await convergeFleet(fleet, options())
    const c = refused.nodes.find((n) => n.name === 'node-c')!
    expect(c.keyRefusal).toEqual({reason: 'changed-from-pinned', reported: NEW_KEY, pinned: KEYS['node-c']})
    expect(renderConvergeText(refused)).toContain('hint: if node-c was reinstalled or its key replaced on purpose: `wgfleet init --accept-key-change node-c`')
    expect(hosts['node-a']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect((await openStateStore(fleet.dir).load()).nodes['node-c']?.publicKey).toBe(KEYS['node-c'])

    for (const [name, host] of Object.entries(hosts)) if (name !== 'node-c') host.handshakesWith = [...host.handshakesWith, NEW_KEY]
    const accepted = await convergeFleet(fleet, options({acceptKeyChange: ['node-c']}))
    expect(accepted.result).toBe('ok')
    expect(hosts['node-a']!.state.config).toContain(`PublicKey = ${NEW_KEY}`)
    expect(hosts['node-a']!.state.config).not.toContain(KEYS['node-c'])
    expect((await openStateStore(fleet.dir).load()).nodes['node-c']?.publicKey).toBe(NEW_KEY)
  })

  it('a rotation wgfleet started (pending key in state): exactly that key is accepted without the flag, and the pending key cleared', async () => {
    await convergeFleet(fleet, options())
    const store = openStateStore(fleet.dir)
    await store.updateNode('node-c', {pendingPublicKey: NEW_KEY})
    rekey(hosts['node-c']!, OTHER_KEY)
    expect((await convergeFleet(fleet, options())).nodes[2]!.keyRefusal).toEqual({reason: 'changed-from-pinned', reported: OTHER_KEY, pinned: KEYS['node-c'], pending: NEW_KEY})
    rekey(hosts['node-c']!, NEW_KEY)
    for (const [name, host] of Object.entries(hosts)) if (name !== 'node-c') host.handshakesWith = [...host.handshakesWith, NEW_KEY]
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('ok')
    expect((await store.load()).nodes['node-c']).toMatchObject({publicKey: NEW_KEY})
    expect((await store.load()).nodes['node-c']?.pendingPublicKey).toBeUndefined()
  })

  it('a key file regenerated under a stopped interface: accepted with the flag, the config written again from it and the interface started on it', async () => {
    await convergeFleet(fleet, options())
    // `systemctl stop wg-quick@wg0; rm wg0.key` on node-c; the config still holds the old private key.
    hosts['node-c']!.state.up = false
    hosts['node-c']!.state.key = false
    hosts['node-c']!.state.publicKey = NEW_KEY
    for (const [name, host] of Object.entries(hosts)) if (name !== 'node-c') host.handshakesWith = [...host.handshakesWith, NEW_KEY]
    hosts['node-c']!.execs.length = 0
    const report = await convergeFleet(fleet, options({acceptKeyChange: ['node-c']}))
    expect(report.result).toBe('ok')
    expect(report.nodes[2]!.steps).toMatchObject({key: 'new', config: 'changed', service: 'started'})
    const apply = hosts['node-c']!.execs.find((e) => e.script === 'apply')!
    expect(apply.args.slice(1, 3)).toEqual(['yes', 'start']) // the config is written again, not just started
    expect(hosts['node-c']!.state.interfacePublicKey).toBe(NEW_KEY)
  })

  it('key file and running interface disagree: that node fails (also with --accept-key-change), never one picked', async () => {
    await convergeFleet(fleet, options())
    // The key file was replaced under the running interface.
    hosts['node-b']!.state.interfacePublicKey = KEYS['node-b']
    hosts['node-b']!.state.publicKey = NEW_KEY
    for (const accept of [[], ['node-b']]) {
      const report = await convergeFleet(fleet, options({acceptKeyChange: accept}))
      const b = report.nodes.find((n) => n.name === 'node-b')!
      expect(b.keyRefusal).toEqual({reason: 'file-and-interface-differ', keyFile: NEW_KEY, interface: KEYS['node-b'], pinned: KEYS['node-b']})
      expect(renderConvergeText(report)).toContain('hint: the key file changed under the running interface: put the old key file back')
      expect(hosts['node-a']!.state.config).toContain(`PublicKey = ${KEYS['node-b']}`)
      expect(hosts['node-a']!.state.config).not.toContain(NEW_KEY)
    }
  })

  it('a probe printing a malformed key fails that node only; state is not poisoned and the next run still works', async () => {
    await convergeFleet(fleet, options())
    hosts['node-b']!.state.publicKey = 'not-a-key'
    hosts['node-b']!.state.interfacePublicKey = KEYS['node-b']
    const report = await convergeFleet(fleet, options())
    expect(report.nodes.map((n) => n.result)).toEqual(['unchanged', 'failed', 'unchanged'])
    expect(report.nodes[1]!.keyRefusal).toEqual({reason: 'malformed', source: 'key-file', value: 'not-a-key'})
    expect(renderConvergeText(report)).toContain('node-b: FAILED: its key file reports "not-a-key" as its public key, which is not a WireGuard key')
    expect(JSON.stringify(await openStateStore(fleet.dir).load())).not.toContain('not-a-key')
    hosts['node-b']!.state.publicKey = KEYS['node-b']
    hosts['node-b']!.state.interfacePublicKey = undefined
    expect((await convergeFleet(fleet, options())).result).toBe('ok')
  })

  it('a malformed key in state.json is ignored with a warning, not fatal: the node reports its key again and is pinned', async () => {
    await convergeFleet(fleet, options())
    const file = join(fleet.dir, '.wgfleet', 'state.json')
    const {readFileSync} = await import('node:fs')
    const state = JSON.parse(readFileSync(file, 'utf8'))
    state.nodes['node-b'].publicKey = 'not-a-key\nPostUp = reboot'
    writeFileSync(file, JSON.stringify(state))
    const report = await convergeFleet(fleet, options())
    expect(report.result).toBe('ok')
    expect(report.warnings).toContainEqual({kind: 'state-ignored', node: 'node-b', field: 'publicKey'})
    expect(renderConvergeText(report)).toContain('warning: .wgfleet/state.json: the public key of "node-b" is malformed and was ignored')
    expect(readFileSync(file, 'utf8')).not.toContain('not-a-key')
    expect((await openStateStore(fleet.dir).load()).nodes['node-b']?.publicKey).toBe(KEYS['node-b'])
  })

  it('--accept-key-change naming no node of the inventory is a usage error before anything connects', async () => {
    await expect(convergeFleet(fleet, options({acceptKeyChange: ['node-x']}))).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/--accept-key-change node-x/)})
    expect(Object.values(hosts).every((h) => h.connections === 0)).toBe(true)
  })
})

describe('convergeFleet: a node of unknown key', () => {
  /** Converge, then forget node-c (no state here) and make it unreachable. */
  async function forgetNodeC(): Promise<void> {
    await convergeFleet(fleet, options())
    const {rmSync} = await import('node:fs')
    rmSync(join(fleet.dir, '.wgfleet'), {recursive: true, force: true})
    unreachable.add('node-c')
  }
  const mtu = () => parseInventory(INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nmtu = 1380'), fleet.file)

  it('configs that disagree about its key: each node keeps its own section, none plants a key on another, none drops it', async () => {
    await forgetNodeC()
    // node-a's config claims another key for node-c (planted, or stale).
    hosts['node-a']!.state.config = hosts['node-a']!.state.config!.replace(`PublicKey = ${KEYS['node-c']}`, `PublicKey = ${OTHER_KEY}`)
    const report = await convergeFleet(mtu(), options())
    expect(report.result).toBe('partial')
    expect(hosts['node-a']!.state.config).toContain('MTU = 1380')
    expect(hosts['node-a']!.state.config).toContain(`# node-c\n[Peer]\nPublicKey = ${OTHER_KEY}\n`)
    expect(hosts['node-b']!.state.config).toContain('MTU = 1380')
    expect(hosts['node-b']!.state.config).toContain(`# node-c\n[Peer]\nPublicKey = ${KEYS['node-c']}\n`)
    expect(hosts['node-b']!.state.config).not.toContain(OTHER_KEY)
    expect(report.warnings).toContainEqual({kind: 'unknown-key', node: 'node-c', cause: 'not-reached', keptOn: ['node-a', 'node-b'], leftOutOn: []})
    expect(renderConvergeText(report)).toContain(
      'warning: node-c: public key unknown (not pinned in this machine\'s state, and it was not reached): kept the existing [Peer] section on node-a, node-b as it was',
    )
    // Nothing is pinned from a config: only a node's own report pins its key.
    expect((await openStateStore(fleet.dir).load()).nodes['node-c']).toBeUndefined()
  })

  it('a node reached but refused by prepare (no key yet): the warning says it failed, not that it was not reached', async () => {
    hosts['node-c']!.state.prepareRefusal = 'the kernel has no WireGuard module and this release packages no wireguard-go'
    const report = await convergeFleet(fleet, options())
    const nodeC = report.nodes.find((n) => n.name === 'node-c')!
    expect(nodeC).toMatchObject({result: 'failed', error: expect.stringMatching(/packages no wireguard-go/)})
    // What the probe learnt is still shown; what did not happen is not claimed.
    expect(nodeC.steps.distro).toBeTruthy()
    expect(nodeC.steps.wireguard).toBeUndefined()
    expect(report.warnings).toContainEqual(expect.objectContaining({kind: 'unknown-key', node: 'node-c', cause: 'failed'}))
    const text = renderConvergeText(report)
    expect(text).toContain('node-c: public key unknown (not pinned in this machine\'s state, and it failed before it had a key: see its failure below)')
    expect(text).toContain('run init again once it converges to pin its key')
    expect(text).not.toMatch(/node-c.*not reached/)
  })

  it('an existing section that carries another node\'s key is not kept: left out there, and said why', async () => {
    await forgetNodeC()
    hosts['node-a']!.state.config = hosts['node-a']!.state.config!.replace(`PublicKey = ${KEYS['node-c']}`, `PublicKey = ${KEYS['node-b']}`)
    const report = await convergeFleet(mtu(), options())
    expect(keyLines(hosts['node-a']!.state.config, KEYS['node-b'])).toBe(1)
    expect(hosts['node-a']!.state.config).not.toContain('# node-c')
    expect(hosts['node-b']!.state.config).toContain(`PublicKey = ${KEYS['node-c']}`)
    expect(report.warnings).toContainEqual({kind: 'unknown-key', node: 'node-c', cause: 'not-reached', keptOn: ['node-b'], leftOutOn: [{node: 'node-a', reason: 'key-in-use'}]})
  })
})

describe('init and add-node pass --accept-key-change on', () => {
  const connection = {concurrency: 10, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 1, acceptNewHostKeys: false}
  const deps = () => ({openShell: options().openShell})

  it('init: a changed key accepted for the node named', async () => {
    await convergeFleet(fleet, options())
    rekey(hosts['node-c']!, NEW_KEY)
    for (const [name, host] of Object.entries(hosts)) if (name !== 'node-c') host.handshakesWith = [...host.handshakesWith, NEW_KEY]
    const request = {inventory: fleet.file, dryRun: false, adopt: false, ...connection}
    expect((await runInit(request, deps())).nodes[2]!.keyRefusal?.reason).toBe('changed-from-pinned')
    expect((await runInit({...request, acceptKeyChange: ['node-c']}, deps())).result).toBe('ok')
  })

  it('add-node: a changed key accepted for the node named; a name of no node refused before the inventory is written', async () => {
    await convergeFleet(fleet, options())
    rekey(hosts['node-b']!, NEW_KEY)
    hosts['node-e'] = new FakeHost('node-e', OTHER_KEY)
    for (const host of Object.values(hosts)) host.handshakesWith = [...Object.values(KEYS), NEW_KEY, OTHER_KEY].filter((k) => k !== host.state.publicKey)
    const {readFileSync} = await import('node:fs')
    const before = readFileSync(fleet.file, 'utf8')
    const request = {inventory: fleet.file, name: 'node-e', values: {host: '203.0.113.5'}, ...connection}
    await expect(addNode({...request, acceptKeyChange: ['node-x']}, deps())).rejects.toMatchObject({exitCode: 2})
    expect(readFileSync(fleet.file, 'utf8')).toBe(before)
    const report = await addNode({...request, acceptKeyChange: ['node-b']}, deps())
    expect(report.result).toBe('ok')
    expect(hosts['node-e']!.state.config).toContain(`PublicKey = ${NEW_KEY}`)
  })
})
