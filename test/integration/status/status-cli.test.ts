/**
 * `wgfleet status` through the built CLI (npm test builds first), with no TTY: help, exit 2 on bad input
 * before any connection, and a real (refused) SSH connection through the whole command path: exit 1, the
 * reason on the node's row, one JSON document with --json, an atomic --output file and an empty stdout.
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import ssh2 from 'ssh2'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {connectionCounter, repoRoot, runCli} from '../cli/helpers.js'

let dir: string
let listener: Awaited<ReturnType<typeof connectionCounter>>
let closedPort: number
let env: NodeJS.ProcessEnv

/** A port on 127.0.0.1 where nothing listens (connection refused at once). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  await new Promise((r) => server.close(r))
  return address.port
}

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'status.js'))) throw new Error('build first: npm run build')
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-status-cli-'))
  listener = await connectionCounter()
  closedPort = await freePort()
  writeFileSync(join(dir, 'known_hosts'), '')
  // A key, so that the run gets as far as connecting (it is refused before any authentication).
  writeFileSync(join(dir, 'id_ed25519'), ssh2.utils.generateKeyPairSync('ed25519').private, {mode: 0o600})
  // A home of its own: no ~/.ssh/config or known_hosts of the machine running the tests.
  env = {HOME: dir, WGFLEET_INVENTORY: '', SSH_AUTH_SOCK: ''}
})
afterAll(async () => {
  await listener.close()
})

function inventory(port: number, extra = ''): string {
  const file = join(dir, `inv-${Math.random().toString(36).slice(2)}.ini`)
  writeFileSync(file, `[network]\ncidr = 10.0.0.0/24\n\n[node-a]\nhost = 127.0.0.1\nssh_port = ${port}\naddress = 10.0.0.1\nidentity = ${join(dir, 'id_ed25519')}\n${extra}`)
  return file
}

const common = () => ['--known-hosts', join(dir, 'known_hosts'), '--connect-timeout', '5']

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
