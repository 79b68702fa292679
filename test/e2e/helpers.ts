// Helpers for the e2e suite: everything that touches a lab host goes through the lab's namespaces
// (the operator namespace for SSH, `lab exec` for a host's root shell). Nothing here ever talks to a lab
// address from the machine's root namespace.
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const LAB = join(REPO_ROOT, 'test/lab/lab')
export const RUN_DIR = join(REPO_ROOT, 'test/lab/.run')
export const INVENTORY = join(RUN_DIR, 'inventory.ini')
export const SSH_CONFIG = join(RUN_DIR, 'ssh_config')
export const KNOWN_HOSTS = join(RUN_DIR, 'known_hosts')
export const IDENTITY = join(RUN_DIR, 'id_ed25519')
export const SPARE_ENV = join(RUN_DIR, 'spare.env')

/** The seed scenario's hosts (node-e is the spare, not in the inventory). */
export const SEED_NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'] as const

export interface RunResult {
  code: number
  /** the signal that ended the command (e.g. on timeout), or null */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** written to the command's stdin (stdin is closed otherwise) */
  input?: string
  /** default 120 s; the command is killed (SIGKILL) after it */
  timeoutMs?: number
  cwd?: string
  env?: NodeJS.ProcessEnv
}

/** Run a program (no shell), collect its output; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({
        code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15),
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      })
    })
    child.stdin.on('error', () => {}) // the command may exit without reading its input
    child.stdin.end(opts.input ?? '')
  })
}

/** `test/lab/lab ARGS...` */
export function lab(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(LAB, args, opts)
}

/** Run a command in the operator namespace (where wgfleet runs): `lab op -- ARGS...`. */
export function labOp(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return lab(['op', '--', ...args], opts)
}

/** Run a command as root inside a lab host: a string goes through `bash -c`, an array is run as is. */
export function labExec(node: string, cmd: string | readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = typeof cmd === 'string' ? ['bash', '-c', cmd] : cmd
  return lab(['exec', node, '--', ...argv], opts)
}

/** `ssh -F test/lab/.run/ssh_config -o BatchMode=yes [extra...] NODE CMD` from the operator namespace. */
export function ssh(
  node: string,
  cmd: string,
  opts: RunOptions & {sshArgs?: readonly string[]} = {},
): Promise<RunResult> {
  // ssh takes the first value of an option: the caller's come first
  const args = ['ssh', '-F', SSH_CONFIG, ...(opts.sshArgs ?? []), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', node, cmd]
  return labOp(args, opts)
}

export type FaultKind = 'ssh-down' | 'ssh-up' | 'cut' | 'heal'

/** Inject or undo a fault: stop/start a host's sshd, cut/restore its network link. */
export async function fault(node: string, kind: FaultKind): Promise<void> {
  const r = await lab(['fault', node, kind])
  if (r.code !== 0) throw new Error(`lab fault ${node} ${kind} failed (${r.code}): ${r.stderr}`)
}

/** The spare host of the seed scenario (node-e), from spare.env. */
export function spare(): {name: string; host: string; user: string} {
  const env = Object.fromEntries(
    readFileSync(SPARE_ENV, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  )
  if (!env.SPARE_NAME || !env.SPARE_HOST || !env.SPARE_USER) throw new Error(`${SPARE_ENV} lacks SPARE_NAME, SPARE_HOST or SPARE_USER`)
  return {name: env.SPARE_NAME, host: env.SPARE_HOST, user: env.SPARE_USER}
}

/** True when a TCP connection to HOST:PORT opens within `seconds`, tried from the operator namespace. */
export async function tcpOpensFromOperator(host: string, port: number, seconds = 3): Promise<boolean> {
  const r = await labOp(['timeout', String(seconds), 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', '_', host, String(port)], {
    timeoutMs: (seconds + 5) * 1000,
  })
  return r.code === 0
}

const LAB_RANGES = ['203.0.113.0/24', '198.51.100.0/24', '198.18.0.0/16', '198.19.0.0/24']

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
}

/** Whether the prefix `cidr` (an address alone is a /32) overlaps one of the lab's underlay ranges. */
export function inLabRange(cidr: string): boolean {
  const [addr, lenText] = cidr.split('/')
  const len = lenText === undefined ? 32 : Number(lenText)
  return LAB_RANGES.some((range) => {
    const [rAddr, rLenText] = range.split('/')
    const m = Math.min(len, Number(rLenText))
    if (m === 0) return true
    const shift = 2 ** (32 - m)
    return Math.floor(ipToInt(addr ?? '') / shift) === Math.floor(ipToInt(rAddr ?? '') / shift)
  })
}

/** The root namespace's IPv4 routes (all tables) as [type, destination, line]. */
export async function rootRoutes(): Promise<{type: string; dst: string; line: string}[]> {
  const r = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all'])
  if (r.code !== 0) throw new Error(`ip route failed: ${r.stderr}`)
  const types = new Set(['unicast', 'local', 'broadcast', 'multicast', 'anycast', 'nat', 'throw', 'blackhole', 'unreachable', 'prohibit'])
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [first = '', second = ''] = line.trim().split(/\s+/)
      return types.has(first) ? {type: first, dst: second, line} : {type: 'unicast', dst: first, line}
    })
}
