/**
 * RemoteShell over an SSH session. The command line is fixed — `env -u SHELLOPTS … bash --norc
 * --noprofile -s -- 'ARG'...`, through `sudo -n` when privileged and the login user is not root — and the
 * script travels on stdin, wrapped in a function so that bash has parsed all of it before the script
 * reads its payload with `cat`. What the host sends back is bounded per stream.
 */
import {closeSync, constants as fsConstants, fstatSync, openSync, writeSync} from 'node:fs'
import type {ExecResult, RemoteShell, RunOptions} from '../tasks/remote-shell.js'
import {OutputLimitError, SshError, TranscriptRefusedError, sudoHint} from './errors.js'
import type {SshSession} from './session.js'
import {BugError} from '../lib/errors.js'

/** Env var naming a file that receives every byte sent to and received from each host. */
export const TRANSCRIPT_ENV = 'WGFLEET_TRANSCRIPT'

/**
 * The most of one step's stdout / stderr kept; a host sending more has that step stopped and that node
 * failed. Far above what any script prints (a probe of a 1000-peer node is ~300 KiB), far below what
 * could hurt the operator's machine with many nodes in flight.
 */
export const MAX_STDOUT_BYTES = 4 * 1024 * 1024
export const MAX_STDERR_BYTES = 1024 * 1024

/** What `sudo -n` prints when it would need a password (or a terminal to ask for one). */
const SUDO_NEEDS_PASSWORD = /^sudo: (a password is required|a terminal is required|no tty present)/m
/** sudoers `Defaults requiretty` (old RHEL): sudo refuses without a terminal, password or not. */
const SUDO_NEEDS_TTY = /^sudo: sorry, you must have a tty to run sudo/m

/**
 * Variables through which the login environment (a root `.bashrc` exporting SHELLOPTS=xtrace, a
 * BASH_ENV file) would switch on xtrace or verbose in the script's bash — and print `+ secret=...` to
 * stderr. They are removed from the script's environment; --norc/--noprofile skip the startup files.
 */
const UNSET_FOR_SCRIPTS = ['SHELLOPTS', 'BASHOPTS', 'BASH_ENV', 'ENV']
const CLEAN_BASH = ['bash', '--norc', '--noprofile', '-s', '--']

/** Single-quote one argument for a POSIX shell: `'` becomes `'\''`. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/**
 * The fixed command line. Arguments are validated values; a NUL or line break in one means a caller
 * passed something unvalidated: that is a bug, not a user error.
 */
export function buildCommandLine(args: readonly string[], sudo: boolean): string {
  for (const [index, arg] of args.entries()) {
    if (/[\0\n\r]/.test(arg)) {
      throw new BugError(`remote argument ${index + 1} contains a NUL or line break: ${JSON.stringify(arg)}`)
    }
  }
  const quoted = args.map(shellQuote)
  const cleanEnv = ['env', ...UNSET_FOR_SCRIPTS.flatMap((name) => ['-u', name])]
  // sudo resets the environment: carry SSH_CONNECTION (the managing client's address, which the probe
  // reports so exit_via can keep the SSH path on the main table) across it. A fixed expansion by the
  // remote shell, never a user value. The variables are unset after sudo, in case sudoers keeps them.
  const command = sudo ? ['sudo', '-n', ...cleanEnv, 'WGFLEET_SSH_CONNECTION="$SSH_CONNECTION"'] : cleanEnv
  return [...command, ...CLEAN_BASH, ...quoted].join(' ')
}

/**
 * stdin: `set +xv` (nothing the shell inherited may trace the script), then one line that reads the script
 * — the body of a function — with one `read -N`, defines it and calls it, with `exit` — then the payload.
 * The script is read whole before anything runs, so `cat` inside it gets exactly the payload, and `exit`
 * keeps bash from running the payload as commands. The call and `exit` must share that line: reading a
 * pipe, bash reads only up to the end of the command it is about to run, so an `exit` on a line of its
 * own would still be in the pipe — and be swallowed by the script's `cat`.
 * Why `read -N` and not the function text itself on stdin: bash parses a script from a pipe one byte per
 * read(2) (it must not read past the command it runs), which cost ~5 ms of host CPU per 17 KB script in the
 * lab — on every exec of every node; `read -N` reads the counted bytes in a few calls. It counts characters,
 * so it runs with LC_ALL=C (bytes, whatever the host's locale), and a script must be ASCII.
 */
export function buildStdin(script: string, input?: string): string {
  const body = `__wgfleet_main() {\n${script}\n}\n`
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(body)) throw new BugError('a host script must be ASCII (it is read by byte count)')
  const run = `LC_ALL=C IFS= read -r -N ${body.length} __wgfleet_script || exit 125; eval "$__wgfleet_script"; unset __wgfleet_script; __wgfleet_main "$@"; exit $?`
  return `set +xv\n${run}\n${body}${input ?? ''}`
}

export interface ShellOptions {
  /** Default per-run timeout; defaults to the session's stepTimeoutMs. */
  stepTimeoutMs?: number
  /** Where to record every byte each way (see openTranscript); none by default. */
  transcript?: Transcript
}

export class SshRemoteShell implements RemoteShell {
  readonly node: string
  readonly user: string
  private readonly session: SshSession
  private readonly stepTimeoutMs: number
  private readonly transcript: Transcript | undefined
  private execCount = 0

  constructor(session: SshSession, options: ShellOptions = {}) {
    this.session = session
    this.node = session.target.name
    this.user = session.target.user
    this.stepTimeoutMs = options.stepTimeoutMs ?? session.stepTimeoutMs
    this.transcript = options.transcript
  }

  async run(script: string, args: string[] = [], options: RunOptions = {}): Promise<ExecResult> {
    const sudo = (options.privileged ?? true) && this.user !== 'root'
    const command = buildCommandLine(args, sudo)
    const stdin = buildStdin(script, options.input)
    const timeoutMs = options.timeoutMs ?? this.stepTimeoutMs
    const exec = ++this.execCount
    const target = this.session.target
    this.transcript?.header(`exec #${exec} ${target.user}@${target.host}:${target.port}`)
    this.transcript?.line(`>>> command: ${command}`) // one line: arguments never hold line breaks
    const recorded = options.secret ? maskKeyTokens : (data: Buffer | string) => data
    this.transcript?.block('>>> stdin', recorded(stdin))

    const outcome = await this.execute(command, stdin, timeoutMs)

    this.transcript?.block('<<< stdout', recorded(outcome.stdout))
    this.transcript?.block('<<< stderr', recorded(outcome.stderr))
    this.transcript?.line(
      outcome.failure instanceof OutputLimitError
        ? `<<< stopped: more than ${outcome.failure.limitBytes} bytes on ${outcome.failure.stream}`
        : outcome.timedOut
          ? `<<< timed out after ${timeoutMs} ms`
          : outcome.signal
            ? `<<< killed by signal ${outcome.signal}`
            : `<<< exit ${outcome.code ?? 'none'}`,
    )

    const stdout = outcome.stdout.toString('utf8')
    const stderr = outcome.stderr.toString('utf8')
    if (outcome.failure) throw outcome.failure
    if (outcome.timedOut) {
      throw new SshError('timeout', this.node, `step timed out after ${formatDuration(timeoutMs)} and was stopped`, {
        hint: 'the host may be slow or stuck (e.g. a held package lock); rerun, or look at the host',
      })
    }
    if (sudo && outcome.code === 1 && SUDO_NEEDS_PASSWORD.test(stderr)) {
      throw new SshError('sudo-password', this.node, `sudo needs a password for ${this.user} (wgfleet runs \`sudo -n\`)`, {
        hint: sudoHint(this.user),
      })
    }
    if (sudo && outcome.code === 1 && SUDO_NEEDS_TTY.test(stderr)) {
      throw new SshError('sudo-password', this.node, `sudo requires a terminal for ${this.user} (sudoers requiretty)`, {
        hint: `allow it without one (\`Defaults:${this.user} !requiretty\` in /etc/sudoers.d/wgfleet), or log in as root (ssh_user = root)`,
      })
    }
    if (outcome.code === undefined && outcome.signal === undefined && this.session.closed) {
      throw new SshError('disconnected', this.node, 'connection was lost while a step was running', {
        hint: 'check the host and the network, then rerun: a rerun converges',
      })
    }
    return {code: outcome.code ?? -1, stdout, stderr}
  }

  close(): Promise<void> {
    this.transcript?.close()
    return this.session.close()
  }

  private execute(command: string, stdin: string, timeoutMs: number): Promise<ExecOutcome> {
    return new Promise((resolve) => {
      const stdout = new BoundedBuffer(MAX_STDOUT_BYTES)
      const stderr = new BoundedBuffer(MAX_STDERR_BYTES)
      let code: number | undefined
      let signal: string | undefined
      let timedOut = false
      let done = false
      let stopChannel: (() => void) | undefined

      const finish = (failure?: SshError) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resolve({stdout: stdout.bytes(), stderr: stderr.bytes(), code, signal, timedOut, failure})
      }
      const timer = setTimeout(() => {
        timedOut = true
        stopChannel?.()
        // Do not wait for the host to acknowledge: it may be the thing that is stuck.
        finish()
      }, timeoutMs)
      // Past its cap a stream is not kept: the step is stopped at once, as on a timeout.
      const collect = (into: BoundedBuffer, stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
        if (done || into.add(chunk)) return
        stopChannel?.()
        finish(new OutputLimitError(this.node, stream, into.limit))
      }

      this.session.exec(command).then(
        (channel) => {
          stopChannel = () => {
            try {
              channel.signal('KILL')
            } catch {}
            try {
              channel.close()
            } catch {}
          }
          if (done) return stopChannel() // timed out while the channel was opening
          // Both streams must be drained, or the channel never closes.
          channel.on('data', collect(stdout, 'stdout'))
          channel.stderr.on('data', collect(stderr, 'stderr'))
          channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
            if (typeof exitCode === 'number') code = exitCode
            else if (exitSignal) signal = exitSignal
          })
          channel.on('error', () => {}) // e.g. stdin written after the remote side closed: the exit status tells
          channel.on('close', () => finish())
          channel.end(stdin)
        },
        (error: SshError) => finish(error),
      )
    })
  }
}

interface ExecOutcome {
  stdout: Buffer
  stderr: Buffer
  code?: number
  signal?: string
  timedOut: boolean
  failure?: SshError
}

/** Chunks of one stream, never more than `limit` bytes in all. */
class BoundedBuffer {
  readonly limit: number
  private readonly chunks: Buffer[] = []
  private size = 0

  constructor(limit: number) {
    this.limit = limit
  }

  /** Keep what fits; false when the chunk did not fit whole (the stream is over its cap). */
  add(chunk: Buffer): boolean {
    const room = this.limit - this.size
    const kept = chunk.length <= room ? chunk : Buffer.from(chunk.subarray(0, room))
    this.chunks.push(kept)
    this.size += kept.length
    return kept === chunk
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size)
  }
}

/** WGFLEET_TRANSCRIPT (or the explicit file), when set. */
export function transcriptFileFrom(options: {transcriptFile?: string; env?: NodeJS.ProcessEnv}): string | undefined {
  return options.transcriptFile || (options.env ?? process.env)[TRANSCRIPT_ENV] || undefined
}

/**
 * Open a transcript for one node's shell. It holds everything sent and received (configs, host facts),
 * so it is only ever a private file: created 0600, never through a symlink (O_NOFOLLOW), and an existing
 * file is appended to only when it is a regular file of this user with no access for group and others —
 * as the ones wgfleet creates are, so one transcript is reused across commands. Anything else is refused
 * (TranscriptRefusedError) before a connection is opened.
 */
export function openTranscript(file: string, node: string, uid: number | undefined = process.getuid?.()): Transcript {
  // O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of hanging; no effect on a regular file.
  const flags = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK
  let fd: number
  try {
    fd = openSync(file, flags, 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw new TranscriptRefusedError(file, 'it is a symbolic link')
    if (code === 'ENXIO') throw new TranscriptRefusedError(file, 'it is not a regular file')
    throw new TranscriptRefusedError(file, `cannot open it (${code ?? (error as Error).message})`)
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new TranscriptRefusedError(file, 'it is not a regular file')
    if (uid !== undefined && stat.uid !== uid) {
      throw new TranscriptRefusedError(file, `it belongs to uid ${stat.uid}, not to this user (uid ${uid})`)
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new TranscriptRefusedError(file, `its mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')} gives group or others access`)
    }
  } catch (error) {
    closeSync(fd)
    throw error
  }
  return new Transcript(fd, node)
}

/** Every WireGuard-key-shaped token (43 base64 characters and `=`). */
const KEY_TOKEN = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=/g
/** The marker a masked key becomes in the transcript (as the hosts mask a PresharedKey line). */
export const TRANSCRIPT_KEY_MASK = '@WGFLEET_PRESHARED_KEY@'

/**
 * An exchange that carries secrets (RunOptions.secret), as the transcript records it: every key-shaped
 * token masked — public keys too (the exec's other fields say which peers it was about).
 */
export function maskKeyTokens(data: Buffer | string): string {
  return (typeof data === 'string' ? data : data.toString('utf8')).replace(KEY_TOKEN, TRANSCRIPT_KEY_MASK)
}

/** Appends what goes over the wire, per node and direction, with a byte count per block. */
export class Transcript {
  private fd: number | undefined
  private readonly node: string

  constructor(fd: number, node: string) {
    this.fd = fd
    this.node = node
  }

  header(text: string): void {
    this.write(`\n=== ${new Date().toISOString()} ${this.node} ${text} ===\n`)
  }

  block(direction: string, data: string | Buffer): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    const newline = bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? Buffer.from('\n(no newline at end)\n') : Buffer.alloc(0)
    this.write(Buffer.concat([Buffer.from(`--- ${this.node} ${direction} (${bytes.length} bytes)\n`), bytes, newline]))
  }

  line(text: string): void {
    this.write(`--- ${this.node} ${text}\n`)
  }

  /** Idempotent; later writes are dropped (the fd number may already belong to another file). */
  close(): void {
    if (this.fd === undefined) return
    try {
      closeSync(this.fd)
    } catch {}
    this.fd = undefined
  }

  private write(data: string | Buffer): void {
    if (this.fd === undefined) return
    try {
      writeSync(this.fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
    } catch {
      // A transcript is a debugging aid: failing to write it must not fail the run.
    }
  }
}

function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}
