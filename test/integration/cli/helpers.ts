import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {usableKeyPair} from '../../helpers/keys.js'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const binRun = join(repoRoot, 'bin', 'run.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Run the built CLI (npm test builds first) with no TTY and no stdin. */
export function runCli(args: string[], options: {env?: NodeJS.ProcessEnv; cwd?: string; command?: string[]} = {}): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? [process.execPath]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...pre, binRun, ...args], {
      cwd: options.cwd ?? repoRoot,
      // Not NODE_ENV=test (vitest's): that sends oclif down its development path; users never run it so.
      env: {...withoutNodeEnv(process.env), NO_COLOR: '1', ...options.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

/** A TCP listener on 127.0.0.1 that counts connection attempts (to prove nothing was contacted). */
export async function connectionCounter(): Promise<{port: number; count: () => number; close: () => Promise<void>}> {
  let count = 0
  const server: Server = createServer((socket) => {
    count++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  return {port: address.port, count: () => count, close: () => new Promise((r) => server.close(() => r()))}
}

function withoutNodeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {NODE_ENV: _ignored, ...rest} = env
  return rest
}

/**
 * A throw-away setup for running a connecting command through the built CLI: its own HOME (no
 * ~/.ssh/config or known_hosts of the machine), an empty known_hosts, a real key (so that a run gets as far
 * as connecting), a counting listener and a closed port on 127.0.0.1, and one-node inventories.
 */
export interface CliSandbox {
  dir: string
  env: NodeJS.ProcessEnv
  listener: Awaited<ReturnType<typeof connectionCounter>>
  /** A port on 127.0.0.1 where nothing listens (connection refused at once). */
  closedPort: number
  /** A one-node inventory whose node-a is 127.0.0.1:PORT. */
  inventory(port: number, extra?: string): string
  /** Flags every run takes: the sandbox's known_hosts and a short connect timeout. */
  common(): string[]
  close(): Promise<void>
}

export async function openCliSandbox(command: string): Promise<CliSandbox> {
  if (!existsSync(join(repoRoot, 'dist', 'commands', `${command}.js`))) throw new Error('build first: npm run build')
  const dir = mkdtempSync(join(tmpdir(), `wgfleet-${command}-cli-`))
  const listener = await connectionCounter()
  const closedPort = await freePort()
  writeFileSync(join(dir, 'known_hosts'), '')
  writeFileSync(join(dir, 'id_ed25519'), usableKeyPair('ed25519').private, {mode: 0o600})
  return {
    dir,
    env: {HOME: dir, WGFLEET_INVENTORY: '', SSH_AUTH_SOCK: ''},
    listener,
    closedPort,
    inventory(port, extra = '') {
      const file = join(dir, `inv-${Math.random().toString(36).slice(2)}.ini`)
      writeFileSync(file, `[network]\ncidr = 10.0.0.0/24\n\n[node-a]\nhost = 127.0.0.1\nssh_port = ${port}\naddress = 10.0.0.1\nidentity = ${join(dir, 'id_ed25519')}\n${extra}`)
      return file
    },
    common: () => ['--known-hosts', join(dir, 'known_hosts'), '--connect-timeout', '5'],
    close: () => listener.close(),
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('no port')
  await new Promise((r) => server.close(r))
  return address.port
}
