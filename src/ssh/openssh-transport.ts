/**
 * The openssh transport: the administrator's own `ssh` binary carries the connection, for what ssh2
 * cannot do (OpenSSH certificates, user and host). One ControlMaster per node for the whole run — its
 * socket in a private 0700 directory, closed at the end — and every exec through it. It is an SshSession
 * like ssh2's, so the RemoteShell over it is the same: script on stdin, fixed command line, transcript,
 * timeouts, sudo -n handling, the same SshError kinds.
 *
 * `ssh` evaluates its config itself; wgfleet passes what the inventory sets (-l, -p, -i), the inventory's
 * `jump` as a ProxyCommand, the known_hosts files and host key policy wgfleet resolved (so that what
 * `wgfleet ssh-config` shows is what is used), BatchMode, and never StrictHostKeyChecking no or ask.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SshError, type SshErrorKind} from './errors.js'
import type {HostQuery} from './evaluate.js'
import {type ConnectOptions, DEFAULT_STEP_TIMEOUT_MS, type ExecChannel, type SshSession, decideNewHostKey} from './session.js'
import {shellQuote} from './shell.js'
import type {SshTarget} from './target.js'
import {escapePercent} from './tokens.js'

const READY_POLL_MS = 25
const CLOSE_WAIT_MS = 2_000
/** Lines of the master's stderr kept for an error message. */
const STDERR_LINES_KEPT = 20

/** A private 0700 directory for the run's ControlMaster sockets; removed by `remove()`. */
export class ControlDirectory {
  private dir: string | undefined
  private count = 0

  /** A fresh socket path (short: a unix socket path has ~100 bytes). */
  socketPath(): string {
    // mkdtemp creates the directory 0700.
    this.dir ??= mkdtempSync(join(tmpdir(), 'wgfleet-ssh-'))
    return join(this.dir, `c${++this.count}`)
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, {recursive: true, force: true})
    this.dir = undefined
  }
}

export interface OpenSshConnectOptions extends ConnectOptions {
  /** The `ssh` binary (absolute path). */
  sshBinary: string
  controlDirectory: ControlDirectory
}

/** The arguments that reach hop `index` of `chain` as wgfleet resolved it (without the host). */
export function hopArguments(chain: readonly SshTarget[], index: number, options: {sshBinary: string; acceptNewHostKeys: boolean}): string[] {
  const hop = chain[index]!
  // The inventory's `jump` is this hop's ProxyCommand (below), not `ProxyCommand=none` (the first -o wins).
  const throughPrevious = hop.query.noProxy === true && index > 0
  const args = queryArguments(throughPrevious ? {...hop.query, noProxy: false} : hop.query)
  const strict = decideNewHostKey(hop.strictHostKeyChecking, options.acceptNewHostKeys) === 'refuse' ? 'yes' : 'accept-new'
  args.push(
    '-o', 'BatchMode=yes',
    '-o', `StrictHostKeyChecking=${strict}`,
    '-o', `UserKnownHostsFile=${hop.knownHostsFiles.length > 0 ? hop.knownHostsFiles.map(configWord).join(' ') : 'none'}`,
    '-o', 'GlobalKnownHostsFile=none',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(hop.connectTimeoutMs / 1000))}`,
    '-o', `ServerAliveInterval=${hop.serverAliveIntervalMs > 0 ? Math.ceil(hop.serverAliveIntervalMs / 1000) : 5}`,
    '-o', `ServerAliveCountMax=${hop.serverAliveIntervalMs > 0 ? hop.serverAliveCountMax : 3}`,
  )
  // The inventory's `jump`: the previous hop becomes this one's ProxyCommand (`ssh ... -W [%h]:%p PREV`).
  if (throughPrevious) {
    const previous = [options.sshBinary, ...hopArguments(chain, index - 1, options)].map((word) => shellQuote(escapePercent(word)))
    const alias = shellQuote(escapePercent(chain[index - 1]!.alias))
    args.push('-o', `ProxyCommand=${previous.join(' ')} -W '[%h]:%p' -- ${alias}`)
  }
  return args
}

/** `-l -p -i -J -o ProxyCommand=none`, as the config was asked (evaluate.ts sshGArguments, minus -G). */
function queryArguments(query: HostQuery): string[] {
  const args: string[] = []
  if (query.user !== undefined) args.push('-l', query.user)
  if (query.port !== undefined) args.push('-p', String(query.port))
  if (query.identity !== undefined) args.push('-i', query.identity)
  if (query.proxyJump !== undefined) args.push('-J', query.proxyJump)
  if (query.noProxy) args.push('-o', 'ProxyCommand=none')
  return args
}

/** A file name inside an ssh_config value: quoted when it holds a space. */
function configWord(path: string): string {
  return /\s/.test(path) ? `"${path}"` : path
}

/** Start the node's ControlMaster; resolves once it is authenticated (its socket exists). */
export async function connectOpenSsh(target: SshTarget, options: OpenSshConnectOptions): Promise<SshSession> {
  const chain = [...target.hops, target]
  const base = hopArguments(chain, chain.length - 1, {sshBinary: options.sshBinary, acceptNewHostKeys: options.acceptNewHostKeys ?? false})
  const socket = options.controlDirectory.socketPath()
  const masterArgs = [...base, '-M', '-S', socket, '-o', 'ControlPersist=no', '-N', '-T', '--', target.alias]
  const master = spawn(options.sshBinary, masterArgs, {env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe']})
  const stderr: string[] = []
  let partial = ''
  master.stderr!.setEncoding('utf8')
  master.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n/)
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '') continue
      stderr.push(line.slice(0, 500))
      if (stderr.length > STDERR_LINES_KEPT) stderr.shift()
      options.onSshLog?.(line.slice(0, 500))
    }
  })

  // Every hop's handshake, one after the other, plus a little for ssh itself.
  const budgetMs = target.connectTimeoutMs * chain.length + 2_000
  const deadline = Date.now() + budgetMs
  await new Promise<void>((resolve, reject) => {
    let done = false
    const finish = (error?: SshError) => {
      if (done) return
      done = true
      clearInterval(poll)
      if (error) {
        master.kill('SIGKILL')
        reject(error)
      } else resolve()
    }
    master.once('error', (error) => finish(new SshError('unreachable', target.name, `cannot start ${options.sshBinary}: ${error.message}`, {hint: 'install OpenSSH\'s client, or use transport = ssh2'})))
    master.once('exit', (code, signal) => {
      // Let the last stderr lines arrive before they explain the failure.
      setTimeout(() => finish(masterFailure(target, code, signal, stderr)), 20)
    })
    const poll = setInterval(() => {
      if (existsSync(socket)) finish()
      else if (Date.now() > deadline) {
        finish(new SshError('timeout', target.name, `ssh to ${target.alias} did not finish connecting within ${Math.round(budgetMs / 1000)} s`, {
          hint: 'check the host and every jump or ProxyCommand on the way, or raise --connect-timeout',
        }))
      }
    }, READY_POLL_MS)
  })
  return new OpenSshSession(target, {sshBinary: options.sshBinary, base, socket, master, stepTimeoutMs: options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS, env: options.env})
}

/** The master ended before it was ready: say why, in the SshError kinds of the ssh2 transport. */
function masterFailure(target: SshTarget, code: number | null, signal: NodeJS.Signals | null, stderr: readonly string[]): SshError {
  const said = stderr.filter((line) => !/^Warning: Permanently added/.test(line))
  const text = said.join('\n')
  const kind: SshErrorKind = /REMOTE HOST IDENTIFICATION HAS CHANGED|has changed and you have requested strict|REVOKED HOST KEY/i.test(text)
    ? 'host-key-changed'
    : /Host key verification failed|No \S+ host key is known/i.test(text)
      ? 'host-key-unknown'
      : /Permission denied|Too many authentication failures|no mutual signature/i.test(text)
        ? 'auth'
        : /timed out/i.test(text)
          ? 'timeout'
          : 'unreachable'
  const hints: Record<string, string> = {
    'host-key-changed': 'the host presents another key than known_hosts records: check it out of band; --accept-new-host-keys never replaces a changed key',
    'host-key-unknown': [target, ...target.hops].some((hop) => hop.strictHostKeyChecking === 'yes')
      ? 'add the host key (or the CA line, `@cert-authority`) to known_hosts (--accept-new-host-keys does not override StrictHostKeyChecking yes in the ssh config)'
      : 'add the host key (or the CA line, `@cert-authority`) to known_hosts, or rerun with --accept-new-host-keys',
    auth: `check the user, the keys and certificates ssh offers (\`wgfleet ssh-config ${target.name}\`, \`ssh -v ${target.alias} true\`)`,
    timeout: 'check firewalls and every jump on the way, or raise --connect-timeout',
    unreachable: `check that the host is up; try \`ssh ${target.alias} true\``,
  }
  const ended = code !== null ? `exit ${code}` : `signal ${signal}`
  const last = said.slice(-3).join(' / ') || `ssh ended (${ended}) without saying why`
  return new SshError(kind, target.name, `ssh ${target.alias} (transport openssh): ${last}`, {hint: hints[kind]})
}

class OpenSshSession implements SshSession {
  readonly target: SshTarget
  readonly stepTimeoutMs: number
  private readonly sshBinary: string
  private readonly base: string[]
  private readonly socket: string
  private readonly master: ChildProcess
  private readonly env: NodeJS.ProcessEnv | undefined
  private masterGone = false

  constructor(
    target: SshTarget,
    parts: {sshBinary: string; base: string[]; socket: string; master: ChildProcess; stepTimeoutMs: number; env?: NodeJS.ProcessEnv},
  ) {
    this.target = target
    this.stepTimeoutMs = parts.stepTimeoutMs
    this.sshBinary = parts.sshBinary
    this.base = parts.base
    this.socket = parts.socket
    this.master = parts.master
    this.env = parts.env
    this.master.once('exit', () => {
      this.masterGone = true
    })
  }

  get closed(): boolean {
    return this.masterGone
  }

  async exec(command: string): Promise<ExecChannel> {
    if (this.masterGone) {
      throw new SshError('disconnected', this.target.name, `the ssh connection to ${this.target.alias} (transport openssh) has ended`, {
        hint: 'check the host and the network, then rerun: a rerun converges',
      })
    }
    // Through the master's socket, never a connection of its own: were the socket gone, ssh would connect
    // by itself — through a ProxyCommand that fails at once (the first -o wins over the base's).
    const args = ['-o', 'ProxyCommand=false', ...this.base, '-S', this.socket, '-o', 'ControlMaster=no', '-T', '--', this.target.alias, command]
    const child = spawn(this.sshBinary, args, {env: this.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe']})
    return new ProcessChannel(child, () => this.masterGone)
  }

  async close(): Promise<void> {
    if (this.masterGone) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.master.kill('SIGKILL')
        resolve()
      }, CLOSE_WAIT_MS)
      this.master.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      this.master.kill('SIGTERM')
    })
  }
}

/** One `ssh ... COMMAND` through the master, as an ExecChannel. */
class ProcessChannel extends EventEmitter implements ExecChannel {
  readonly stderr = new EventEmitter()

  constructor(
    private readonly child: ChildProcess,
    masterGone: () => boolean,
  ) {
    super()
    child.stdout!.on('data', (chunk: Buffer) => this.emit('data', chunk))
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.emit('data', chunk))
    child.stdin!.on('error', () => {}) // the command may exit without reading all of its input
    child.on('error', (error) => this.emit('error', error))
    child.on('exit', (code, signal) => {
      // 255 is ssh's own failure; with the master gone it is a lost connection, not the script's status.
      if (code === 255 && masterGone()) return
      if (code !== null) this.emit('exit', code)
      else this.emit('exit', null, signal?.replace(/^SIG/, ''))
    })
    child.on('close', () => this.emit('close'))
  }

  end(data?: string): void {
    this.child.stdin!.end(data)
  }

  signal(name: string): void {
    this.child.kill(`SIG${name}` as NodeJS.Signals)
  }

  close(): void {
    this.child.kill('SIGTERM')
  }
}
