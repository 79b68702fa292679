/**
 * A ProxyCommand, started as OpenSSH starts it (sshconnect.c ssh_proxy_connect): `$SHELL -c 'exec CMD'`
 * (/bin/sh when SHELL is unset), its stdin and stdout the SSH connection (ssh2's `sock`), its stderr
 * passed on line by line to the node's log, and killed when the connection ends.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {Duplex} from 'node:stream'

/** Lines of the command's stderr kept for an error message, and the longest line kept. */
const STDERR_LINES_KEPT = 10
const STDERR_LINE_MAX = 500
const KILL_WAIT_MS = 2_000

export interface ProxyProcess {
  /** The connection: write = the command's stdin, read = its stdout. */
  readonly stream: Duplex
  /** The last lines it printed on stderr (for a failure's message). */
  stderrTail(): string[]
  /** How it ended, when it has: `exit N` or `signal S`. */
  exitStatus(): string | undefined
  /** Ends it (TERM, then KILL); idempotent. */
  stop(): void
}

export interface ProxyOptions {
  env?: NodeJS.ProcessEnv
  /** Each stderr line, as it comes (bounded in length; the caller escapes it before showing it). */
  onStderrLine?: (line: string) => void
}

export function startProxyCommand(command: string, options: ProxyOptions = {}): ProxyProcess {
  const env = options.env ?? process.env
  const shell = env.SHELL || '/bin/sh'
  const child = spawn(shell, ['-c', `exec ${command}`], {env, stdio: ['pipe', 'pipe', 'pipe']})
  const tail: string[] = []
  let exit: string | undefined
  let partial = ''

  const takeLine = (line: string) => {
    const bounded = line.length > STDERR_LINE_MAX ? `${line.slice(0, STDERR_LINE_MAX)}…` : line
    tail.push(bounded)
    if (tail.length > STDERR_LINES_KEPT) tail.shift()
    options.onStderrLine?.(bounded)
  }
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n/)
    partial = lines.pop() ?? ''
    if (partial.length > STDERR_LINE_MAX) {
      takeLine(partial)
      partial = ''
    }
    for (const line of lines) if (line !== '') takeLine(line)
  })
  child.stderr!.on('end', () => {
    if (partial !== '') takeLine(partial)
    partial = ''
  })

  const stream = new ProxyStream(child)
  child.on('error', (error) => {
    exit = `could not be started (${error.message})`
    stream.destroy(error)
  })
  child.on('exit', (code, signal) => {
    exit = code !== null ? `exit ${code}` : `signal ${signal}`
  })

  let stopped = false
  return {
    stream,
    stderrTail: () => [...tail],
    exitStatus: () => exit,
    stop() {
      if (stopped) return
      stopped = true
      stream.destroy()
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }, KILL_WAIT_MS)
      timer.unref()
    },
  }
}

/** The child's stdio as one Duplex (what ssh2 takes as `sock`). */
class ProxyStream extends Duplex {
  constructor(private readonly child: ChildProcess) {
    super()
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout!.pause()
    })
    child.stdout!.on('end', () => this.push(null))
    child.stdin!.on('error', () => {}) // the command exited: its stdout ending tells ssh2
  }

  override _read(): void {
    this.child.stdout!.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin!.destroyed) return callback()
    this.child.stdin!.write(chunk, () => callback())
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin!.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.child.stdin!.destroy()
    this.child.stdout!.destroy()
    callback(error)
  }
}
