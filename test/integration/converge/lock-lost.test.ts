/**
 * The converge when the inventory lock is lost (lib/lock.ts aborts its signal): no change starts after
 * that; steps in flight finish; the nodes not started fail with the lock's message.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {LockLostError} from '../../../src/lib/lock.js'
import {convergeFleet, type ConvergeOptions} from '../../../src/services/converge.js'
import {FakeHost} from '../../fixtures/fake-host.js'

const KEYS = {'node-a': 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=', 'node-b': 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI='} as const
const INVENTORY = '[network]\ncidr = 10.0.0.0/24\n\n[node-a]\nhost = 203.0.113.1\naddress = 10.0.0.1\n\n[node-b]\nhost = 203.0.113.2\naddress = 10.0.0.2\n'

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-lock-lost-'))
  const file = join(dir, 'inventory.ini')
  writeFileSync(file, INVENTORY)
  const hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key)])) as Record<keyof typeof KEYS, FakeHost>
  const lost = new AbortController()
  const loss = new LockLostError(file, join(dir, '.wgfleet', 'run.lock'), new Error('ENOENT: no such file or directory'))
  const options = (onExec?: (host: FakeHost) => void): ConvergeOptions => ({
    dryRun: false,
    adopt: false,
    concurrency: 10,
    silent: true,
    verifyTimeoutSeconds: 5,
    staleAfterSeconds: 180,
    signal: lost.signal,
    openShell: async (node) => {
      const host = hosts[node.name as keyof typeof KEYS]
      const shell = host.shell()
      const run = shell.run.bind(shell)
      shell.run = async (...args) => {
        const result = await run(...args)
        onExec?.(host)
        return result
      }
      return shell
    },
  })
  return {fleet: parseInventory(INVENTORY, file), hosts, lost, loss, options}
}

describe('convergeFleet with a lost lock', () => {
  it('lost before the run: probes only (read-only), every node failed with the lock message', async () => {
    const {fleet, hosts, lost, loss, options} = setup()
    lost.abort(loss)
    const report = await convergeFleet(fleet, options())
    expect(report.result).not.toBe('ok')
    expect(report.nodes.map((n) => [n.name, n.result, n.error])).toEqual([
      ['node-a', 'failed', loss.message],
      ['node-b', 'failed', loss.message],
    ])
    expect(report.nodes[0]!.hint).toBe(loss.hint)
    for (const host of Object.values(hosts)) expect(host.execs.map((e) => e.script)).toEqual(['probe'])
  })

  it('lost while the keys are prepared: those steps finish, no config is applied anywhere', async () => {
    const {fleet, hosts, lost, loss, options} = setup()
    let prepared = 0
    const report = await convergeFleet(
      fleet,
      options((host) => {
        if (host.execs.at(-1)?.script === 'prepare' && ++prepared === Object.keys(KEYS).length) lost.abort(loss)
      }),
    )
    expect(report.nodes.map((n) => [n.name, n.result, n.error])).toEqual([
      ['node-a', 'failed', loss.message],
      ['node-b', 'failed', loss.message],
    ])
    for (const host of Object.values(hosts)) expect(host.execs.map((e) => e.script)).toEqual(['probe', 'prepare'])
  })
})
