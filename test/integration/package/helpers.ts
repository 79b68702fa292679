import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Run a program with no TTY and no stdin; killed after `timeoutMs` (then `code` is null). */
export function run(command: string, args: string[], options: {cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

/**
 * This process's environment as a user's shell would have it: without vitest's NODE_ENV (it sends oclif
 * down its development path) and without the npm_* variables `npm test` exports (a child npm would take
 * them as its own configuration), with no colour and no update checks against the registry.
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_ENV' || /^npm_/i.test(key)) continue
    env[key] = value
  }
  return {...env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', npm_config_update_notifier: 'false', ...extra}
}
