/**
 * `wgfleet doctor` through the built CLI (npm test builds first), with no TTY: help, exit 2 on bad input
 * before any connection, and a real (refused) SSH connection through the whole command path: exit 1, an
 * `unreachable` finding with its reason, one JSON document with --json, nothing on stderr.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openCliSandbox, runCli, type CliSandbox} from '../cli/helpers.js'

let sandbox: CliSandbox
let dir: string
let listener: CliSandbox['listener']
let closedPort: number
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  sandbox = await openCliSandbox('doctor')
  ;({dir, listener, closedPort, env} = sandbox)
})
afterAll(async () => {
  await sandbox.close()
})

const inventory = (port: number, extra = '') => sandbox.inventory(port, extra)
const common = () => sandbox.common()

describe('wgfleet doctor (CLI)', () => {
  it('--help lists the flags', async () => {
    const result = await runCli(['doctor', '--help'], {env})
    expect(result.code).toBe(0)
    for (const flag of ['--inventory', '--json', '--concurrency', '--connect-timeout', '--known-hosts', '--accept-new-host-keys']) expect(result.stdout).toContain(flag)
  })

  it.each([
    ['a missing inventory', (file: string) => ['-i', file.replace('.ini', '-missing.ini')], 'no such file'],
    ['an address outside the cidr', (file: string) => ['-i', file.replace(/\.ini$/, '-bad.ini')], '10.9.0.1'],
    ['--concurrency 0', (file: string) => ['-i', file, '--concurrency', '0'], 'concurrency'],
    ['an unknown flag', (file: string) => ['-i', file, '--fix'], 'fix'],
  ])('%s: exit 2, contacts nothing', async (_name, args, message) => {
    const file = inventory(listener.port)
    writeFileSync(file.replace(/\.ini$/, '-bad.ini'), `[network]\ncidr = 10.0.0.0/24\n\n[node-a]\nhost = 127.0.0.1\nssh_port = ${listener.port}\naddress = 10.9.0.1\n`)
    const result = await runCli(['doctor', ...args(file), ...common()], {env})
    expect(result.code).toBe(2)
    expect(result.stdout + result.stderr).toContain(message)
    expect(listener.count()).toBe(0)
  })

  it('--json with a bad inventory: exit 2, stdout is one JSON document', async () => {
    const result = await runCli(['doctor', '-i', join(dir, 'missing.ini'), '--json', ...common()], {env})
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({error: {exitCode: 2}})
  })

  it('an unreachable node: exit 1, an `unreachable` error with the reason; nothing on stderr', async () => {
    const result = await runCli(['doctor', '-i', inventory(closedPort), ...common()], {env})
    expect(result.code).toBe(1)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^node +severity +check +message +fix$/)
    expect(lines[1]).toMatch(/^node-a +error +unreachable +not reached over SSH \(unreachable\): cannot reach/)
    expect(lines.at(-1)).toBe('1 error, 0 warnings')
    expect(result.stdout).not.toMatch(/\u001B\[/)
    expect(result.stderr).toBe('')
  })

  it('--json: stdout is exactly one JSON document of the documented shape (docs/design.md §1)', async () => {
    const result = await runCli(['doctor', '-i', inventory(closedPort), '--json', ...common()], {env})
    expect(result.code).toBe(1)
    const doc = JSON.parse(result.stdout)
    expect(doc.findings).toEqual([
      {node: 'node-a', severity: 'error', check: 'unreachable', message: expect.stringContaining(`cannot reach 127.0.0.1:${closedPort}: connection refused`), fix: expect.any(String)},
    ])
  })
})
