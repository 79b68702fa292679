/**
 * The one interface every task uses to act on a host. The SSH implementation lives in src/ssh (the only
 * module that imports ssh2); unit tests use a scripted fake.
 *
 * Contract of `run`: the script text (a bash script, from a .sh file under src/remote) is sent through
 * stdin, never on the command line; the command line is fixed (`env -u SHELLOPTS … bash --norc --noprofile -s -- ARGS`, through `sudo -n` when
 * privileged and the login user is not root) and ARGS are validated values, each single-quoted. `input`,
 * when given, follows the script on stdin: the script reads it with `cat` (the implementation wraps the
 * script in a function so bash has parsed all of it before the payload is read).
 */
export interface ExecResult {
  /** Exit status of the remote command (-1 when it died by a signal). */
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Bytes that follow the script on stdin (file contents; a secret only with `secret`). */
  input?: string
  /** Run as root: through `sudo -n` when the login user is not root. Default true. */
  privileged?: boolean
  /** Per-step timeout; the step fails with a timeout error when exceeded. */
  timeoutMs?: number
  /**
   * The input or the output carries secrets (preshared keys on their way from one host to the other):
   * whatever records the exchange (the transcript) masks every key-shaped token in both.
   */
  secret?: boolean
}

export interface RemoteShell {
  /** Inventory name of the node this shell reaches. */
  readonly node: string
  /** Login user on the host. */
  readonly user: string
  run(script: string, args?: string[], options?: RunOptions): Promise<ExecResult>
  close(): Promise<void>
}
