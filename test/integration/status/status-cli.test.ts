/**
 * `wgfleet status` through the built CLI (npm test builds first), with no TTY: help, exit 2 on bad input
 * before any connection, and a real (refused) SSH connection through the whole command path: exit 1, the
 * reason on the node's row, one JSON document with --json, an atomic --output file and an empty stdout.
 */
import {mkdirSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openCliSandbox, runCli, type CliSandbox} from '../cli/helpers.js'

let sandbox: CliSandbox
let dir: string
let listener: CliSandbox['listener']
let closedPort: number
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  sandbox = await openCliSandbox('status')
  ;({dir, listener, closedPort, env} = sandbox)
})
afterAll(async () => {
  await sandbox.close()
})

const inventory = (port: number, extra = '') => sandbox.inventory(port, extra)
const common = () => sandbox.common()

describe('wgfleet status (CLI)', () => {
  it('--help lists the flags', async () => {
    const result = await runCli(['status', '--help'], {env})
    expect(result.code).toBe(0)
    for (const flag of ['--stale-after', '--format', '--output', '--json', '--concurrency', '--connect-timeout', '--known-hosts', '--accept-new-host-keys', '--inventory']) {
      expect(result.stdout).toContain(flag)
    }
  })

  it.each([
    ['a damaged inventory', (file: string) => ['-i', file.replace('.ini', '-broken.ini')], 'no such file'],
    ['--json with --format table', (file: string) => ['-i', file, '--json', '--format', 'table'], 'contradict'],
    ['an unknown --format', (file: string) => ['-i', file, '--format', 'xml'], 'format'],
    ['--stale-after 0', (file: string) => ['-i', file, '--stale-after', '0'], 'stale-after'],
    ['--output into a missing folder', (file: string) => ['-i', file, '--output', join(dir, 'nope', 'x.prom')], 'does not exist'],
  ])('%s: exit 2, contacts nothing', async (_name, args, message) => {
    const result = await runCli(['status', ...args(inventory(listener.port)), ...common()], {env})
    expect(result.code).toBe(2)
    expect(result.stdout + result.stderr).toContain(message)
    expect(listener.count()).toBe(0)
  })

  it('an unreachable node: exit 1, one row with the reason, "UNHEALTHY: 1 problem"; nothing on stderr', async () => {
    const result = await runCli(['status', '-i', inventory(closedPort), ...common()], {env})
    expect(result.code).toBe(1)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^node +peer +endpoint +handshake +received +sent +keepalive +state$/)
    expect(lines[1]).toMatch(new RegExp(`^node-a( +-){6} +unreachable: cannot reach 127\\.0\\.0\\.1:${closedPort}: connection refused$`))
    expect(lines.at(-1)).toBe('UNHEALTHY: 1 problem')
    expect(result.stdout).not.toMatch(/\u001B\[/)
    expect(result.stderr).toBe('')
  })

  it('--json: stdout is exactly one JSON document', async () => {
    const result = await runCli(['status', '-i', inventory(closedPort), ...common(), '--json'], {env})
    expect(result.code).toBe(1)
    const doc = JSON.parse(result.stdout)
    expect(doc).toMatchObject({healthy: false, nodes: [{name: 'node-a', reachable: false, interfaceUp: false, errorKind: 'unreachable', peers: []}]})
  })

  it('--format prometheus --output FILE: written atomically, stdout empty, exit code kept', async () => {
    const out = join(dir, 'metrics')
    mkdirSync(out)
    const file = join(out, 'wgfleet.prom')
    const result = await runCli(['status', '-i', inventory(closedPort), ...common(), '--format', 'prometheus', '--output', file], {env})
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('# TYPE wgfleet_status_healthy gauge\nwgfleet_status_healthy 0\n')
    expect(text).toContain('wgfleet_node_reachable{node="node-a"} 0\n')
    // No temp file left beside it.
    expect(readdirSync(out)).toEqual(['wgfleet.prom'])
  })
})
