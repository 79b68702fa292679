/**
 * Runs `ssh -G` queries through one long-lived bash, one after another, instead of one spawn each.
 *
 * Why by hand: every `child_process` spawn forks this whole process (≈4 ms of a blocked event loop at a
 * heap of 120 MB), and a command against N nodes asks `ssh -G` N times; bash forks itself in a fraction of
 * that. No library does this (the ones that pool processes run JavaScript workers, not a program per
 * query).
 *
 * The arguments travel on the runner's stdin, NUL-separated (a count, then each argument), and bash passes
 * them to ssh as they are: nothing is ever parsed as shell code. For each query it prints ssh's stdout, then
 * `\0EXIT\0`, and a `\0` after ssh's stderr: `ssh -G` prints no NUL, so the frames cannot be confused.
 * A query that hangs (a `Match exec` command) is killed with the runner after the timeout; the next query
 * starts a new runner. If the runner itself fails, every query runs as its own process again.
 */
import {spawn, type ChildProcess} from 'node:child_process'

export interface SshGResult {
  code: number
  stdout: string
  stderr: string
}

/** The query did not finish in time; the runner was killed (the next query starts a new one). */
export class SshGTimeout extends Error {}

/** The runner itself failed (could not start, died): the caller runs that query on its own. */
export class SshGRunnerFailed extends Error {}

const LOOP = `set +xv
while IFS= read -r -d '' count; do
  args=()
  for ((i = 0; i < count; i++)); do IFS= read -r -d '' arg || exit 1; args+=("$arg"); done
  "$@" "\${args[@]}" </dev/null
  printf '\\0%d\\0' "$?"
  printf '\\0' >&2
done`

interface Pending {
  args: string[]
  resolve: (result: SshGResult) => void
  reject: (error: Error) => void
}

export class SshGRunner {
  private child: ChildProcess | undefined
  private readonly queue: Pending[] = []
  private stdout = ''
  private stderr: string[] = []
  private stderrTail = ''
  /** Queries whose stdout frame has come, waiting for their stderr frame (the two pipes are read apart). */
  private answered: Array<{query: Pending; output: string; code: number}> = []
  private timer: NodeJS.Timeout | undefined
  /** The runner failed other than by a timeout: every query runs on its own from then on. */
  private broken = false

  /** `command`: ssh and any arguments before the query's (the evaluator's command). */
  constructor(
    private readonly bash: string,
    private readonly command: readonly string[],
    private readonly timeoutMs: number,
    private readonly maxOutputBytes: number,
  ) {}

  run(args: string[]): Promise<SshGResult> {
    // A NUL cannot travel (it ends an argument): such a query is not for the runner.
    if (this.broken || args.some((arg) => arg.includes('\0'))) return Promise.reject(new SshGRunnerFailed('not for the runner'))
    return new Promise((resolve, reject) => {
      this.queue.push({args, resolve, reject})
      this.send(this.queue[this.queue.length - 1]!)
    })
  }

  /**
   * Stops the runner and waits for it (at most a second, then kills it): a command ends with this, so that
   * the runner's CPU (and its ssh's) is counted as this process's children's, as spawned ones are. (Left
   * alone it also ends when this process does: its stdin closes.)
   */
  async close(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const ended = new Promise<void>((resolve) => child.once('close', () => resolve()))
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }, 1000)
    this.hold(child, true)
    child.stdin?.end()
    await ended
    clearTimeout(timer)
  }

  /** Idle, the runner must not keep this process alive; with a query out, it must (its answer is awaited). */
  private hold(child: ChildProcess, busy: boolean): void {
    const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as Array<{ref?: () => void; unref?: () => void} | null>
    for (const handle of handles) (busy ? handle?.ref : handle?.unref)?.call(handle)
  }

  private send(query: Pending): void {
    const child = this.child ?? this.start()
    if (this.queue.length === 1) this.hold(child, true)
    child.stdin!.write(`${query.args.length}\0${query.args.map((a) => `${a}\0`).join('')}`)
    if (this.queue.length === 1) this.arm()
  }

  private start(): ChildProcess {
    const child = spawn(this.bash, ['--norc', '--noprofile', '-c', LOOP, 'wgfleet-ssh-g', ...this.command], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    })
    this.child = child
    this.stdout = ''
    this.stderr = []
    this.stderrTail = ''
    this.answered = []
    child.stdout!.setEncoding('utf8')
    child.stderr!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => this.onStdout(child, chunk))
    child.stderr!.on('data', (chunk: string) => this.onStderr(chunk))
    child.stdin!.on('error', () => {})
    child.on('error', (error) => this.fail(child, new SshGRunnerFailed(error.message)))
    child.on('close', () => this.fail(child, new SshGRunnerFailed('the ssh -G runner ended')))
    this.hold(child, false)
    return child
  }

  private onStderr(chunk: string): void {
    const parts = (this.stderrTail + chunk).split('\0')
    this.stderrTail = parts.pop()!
    this.stderr.push(...parts)
    if (this.stderrTail.length > this.maxOutputBytes) this.stderrTail = this.stderrTail.slice(-this.maxOutputBytes)
    this.settle()
  }

  private onStdout(child: ChildProcess, chunk: string): void {
    this.stdout += chunk
    if (this.stdout.length > this.maxOutputBytes * 2) return this.fail(child, new SshGRunnerFailed('ssh -G printed too much'))
    // Frames: OUTPUT \0 CODE \0.
    for (;;) {
      const end = this.stdout.indexOf('\0')
      const codeEnd = end < 0 ? -1 : this.stdout.indexOf('\0', end + 1)
      if (codeEnd < 0) break
      const output = this.stdout.slice(0, end)
      const code = Number(this.stdout.slice(end + 1, codeEnd))
      this.stdout = this.stdout.slice(codeEnd + 1)
      const query = this.queue.shift()
      if (!query) return this.fail(child, new SshGRunnerFailed('the ssh -G runner answered a query it was not asked'))
      this.answered.push({query, output, code})
      clearTimeout(this.timer)
      this.timer = undefined
      if (this.queue.length > 0) this.arm()
    }
    this.settle()
  }

  /** Pairs each answered query with its stderr frame, in order, and settles it. */
  private settle(): void {
    while (this.answered.length > 0 && this.stderr.length > 0) {
      const {query, output, code} = this.answered.shift()!
      const stderr = this.stderr.shift()!
      if (output.length > this.maxOutputBytes) query.reject(new SshGRunnerFailed('ssh -G printed too much'))
      else query.resolve({code: Number.isInteger(code) ? code : 1, stdout: output, stderr})
    }
    if (this.child && this.queue.length === 0 && this.answered.length === 0) this.hold(this.child, false)
  }

  private arm(): void {
    clearTimeout(this.timer)
    const child = this.child
    this.timer = setTimeout(() => {
      if (child) this.fail(child, new SshGTimeout(`did not finish within ${this.timeoutMs / 1000} s`), {timedOut: true})
    }, this.timeoutMs)
    this.timer.unref()
  }

  /** The runner is gone: the query it was on fails (a timeout says so), the others are sent to a new one. */
  private fail(child: ChildProcess, error: Error, {timedOut = false} = {}): void {
    if (this.child !== child) return
    this.child = undefined
    clearTimeout(this.timer)
    this.timer = undefined
    try {
      // Its process group: bash and the ssh (or `Match exec` command) it waits for.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    // Answered but for their stderr: answered all the same (the stderr of a successful query is only read
    // for warnings, of a failed one for its message).
    for (const {query, output, code} of this.answered.splice(0)) query.resolve({code, stdout: output, stderr: this.stderr.shift() ?? ''})
    const [current, ...rest] = this.queue.splice(0)
    if (!timedOut) {
      this.broken = true
      for (const query of [current, ...rest]) query?.reject(new SshGRunnerFailed(error.message))
      return
    }
    current?.reject(error)
    for (const query of rest) {
      this.queue.push(query)
      this.send(query)
    }
  }
}
