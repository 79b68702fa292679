import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

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
