/**
 * Typed SSH failures. Every failure that reaches a user says which node, what happened (one line) and
 * what to do about it (the hint). `classifySshError` turns raw ssh2 / net errors into these.
 */
import {WgfleetError} from '../lib/errors.js'

export type SshErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'sudo-password'
  | 'command-failed'
  | 'disconnected'
  | 'ssh-config'
  | 'output-too-large'

export class SshError extends WgfleetError {
  readonly kind: SshErrorKind
  /** Inventory name of the node the operation was for. */
  readonly node: string

  constructor(kind: SshErrorKind, node: string, message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(message.startsWith(`${node}: `) ? message : `${node}: ${message}`, {
      hint: options.hint,
      cause: options.cause,
      exitCode: 1,
    })
    this.kind = kind
    this.node = node
  }
}

/**
 * How a node is to be reached cannot be used: a broken ssh config value (an unknown `%` token, a ProxyJump
 * loop), or something the chosen transport cannot do (certificates with ssh2). Raised while resolving,
 * before any connection; the resolver turns it into an SshError of kind `ssh-config` for that node.
 */
export class SshConfigError extends WgfleetError {
  constructor(message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(message, {hint: options.hint, cause: options.cause, exitCode: 1})
  }
}

export interface HostKeyDetails {
  /** The name the key was looked up under: `host` or `[host]:port` (or a HostKeyAlias). */
  hostKeyAlias: string
  host: string
  port: number
  keyType: string
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  fingerprint: string
  knownHostsFile: string
}

/** The host presented a key that known_hosts does not have: refused unless --accept-new-host-keys. */
export class HostKeyUnknownError extends SshError {
  readonly details: HostKeyDetails

  /** `strict`: the ssh config's StrictHostKeyChecking for the host (said when it explains the refusal). */
  constructor(node: string, details: HostKeyDetails, via?: string, strict?: 'yes' | 'no' | 'ask' | 'accept-new') {
    const hopText = via ? ` (${via})` : ''
    const policy =
      strict === 'no'
        ? ' (the ssh config says StrictHostKeyChecking no, but wgfleet never accepts an unchecked key on its own)'
        : strict === 'yes'
          ? ' (the ssh config says StrictHostKeyChecking yes)'
          : ''
    super(
      'host-key-unknown',
      node,
      `unknown host key for ${details.hostKeyAlias}${hopText}: ${details.keyType} ${details.fingerprint}${policy}`,
      {
        hint:
          `add it with \`ssh-keyscan -p ${details.port} ${details.host} >> ${shellWord(details.knownHostsFile)}\` ` +
          (strict === 'yes'
            ? 'after checking the fingerprint (--accept-new-host-keys does not override StrictHostKeyChecking yes in the ssh config)'
            : 'after checking the fingerprint, or rerun with --accept-new-host-keys'),
      },
    )
    this.details = details
  }
}

/** The host presented a different (or a revoked) key than known_hosts records: always refused. */
export class HostKeyChangedError extends SshError {
  readonly details: HostKeyDetails
  readonly revoked: boolean
  /** 1-based lines of the known_hosts entries for this host (what to look at). */
  readonly knownLines: number[]

  constructor(
    node: string,
    details: HostKeyDetails,
    options: {revoked: boolean; knownLines: number[]; via?: string},
  ) {
    const hopText = options.via ? ` (${options.via})` : ''
    const lines = options.knownLines.length > 0 ? ` (see ${details.knownHostsFile} line ${options.knownLines.join(', ')})` : ''
    const message = options.revoked
      ? `REVOKED HOST KEY presented by ${details.hostKeyAlias}${hopText}: ${details.keyType} ${details.fingerprint} ` +
        `is marked @revoked${lines}; connection refused`
      : `HOST KEY CHANGED for ${details.hostKeyAlias}${hopText}: it now presents ${details.keyType} ` +
        `${details.fingerprint}, which does not match known_hosts${lines}; someone may be intercepting ` +
        'the connection; connection refused'
    const hint = options.revoked
      ? 'a revoked key is never accepted: find out why the host still uses it, and rotate its host keys'
      : 'if the host was really reinstalled, check the new fingerprint out of band, then remove the old entry with ' +
        `\`ssh-keygen -R ${shellWord(details.hostKeyAlias)} -f ${shellWord(details.knownHostsFile)}\` and connect ` +
        'again; --accept-new-host-keys never replaces a changed key'
    super('host-key-changed', node, message, {hint})
    this.details = details
    this.revoked = options.revoked
    this.knownLines = options.knownLines
  }
}

/**
 * A host sent more on stdout or stderr than wgfleet keeps for one step: the step was stopped (its channel
 * closed) and only this node fails. What the host prints is untrusted input, so it is bounded.
 */
export class OutputLimitError extends SshError {
  readonly stream: 'stdout' | 'stderr'
  /** The cap in force: at most this many bytes of the stream were kept. */
  readonly limitBytes: number

  constructor(node: string, stream: 'stdout' | 'stderr', limitBytes: number) {
    super('output-too-large', node, `the host sent more than ${formatBytes(limitBytes)} on ${stream} in one step; the step was stopped`, {
      hint:
        'no wgfleet script prints that much: something on the host (a wrapper, a login script, a replaced tool) ' +
        'floods the output; look at the host, or rerun with WGFLEET_TRANSCRIPT=FILE to see the first bytes',
    })
    this.stream = stream
    this.limitBytes = limitBytes
  }
}

/** WGFLEET_TRANSCRIPT names a file wgfleet will not write to (it would leak what goes over the wire). */
export class TranscriptRefusedError extends WgfleetError {
  readonly file: string

  constructor(file: string, reason: string) {
    super(`transcript file ${file} refused: ${reason}`, {
      exitCode: 1,
      hint:
        'name a file that does not exist yet (wgfleet creates it 0600 and appends to it on later runs), or one you ' +
        `own with no access for group and others (\`chmod 600 ${shellWord(file)}\`); never a symlink`,
    })
    this.file = file
  }
}

/** Where a raw error happened, so that the message can name it. */
export interface SshErrorContext {
  node: string
  host?: string
  port?: number
  user?: string
  /** Set when the failure was on a jump host rather than the node itself, e.g. `jump node-a`. */
  via?: string
  /** Connecting (default) or running a step on an open connection. */
  phase?: 'connect' | 'run'
  /** The connect timeout in force, for the hint. */
  connectTimeoutMs?: number
}

interface RawError {
  message?: unknown
  code?: unknown
  level?: unknown
}

/** The kind of a raw ssh2 / net error (pure; `classifySshError` adds message and hint). */
export function classifySshErrorKind(err: unknown, phase: 'connect' | 'run' = 'connect'): SshErrorKind {
  if (err instanceof SshError) return err.kind
  const raw = (typeof err === 'object' && err !== null ? err : {message: String(err)}) as RawError
  const message = typeof raw.message === 'string' ? raw.message : ''
  const code = typeof raw.code === 'string' ? raw.code : ''
  const level = typeof raw.level === 'string' ? raw.level : ''

  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EHOSTDOWN'].includes(code)) {
    return 'unreachable'
  }
  if (code === 'ETIMEDOUT' || /Timed out while waiting for handshake/i.test(message)) return 'timeout'
  if (/Keepalive timeout/i.test(message)) return 'disconnected'
  if (level === 'client-timeout') return 'timeout'
  if (
    level === 'client-authentication' ||
    /All configured authentication methods failed/i.test(message) ||
    /Cannot parse privateKey|no passphrase given|bad passphrase|private key/i.test(message)
  ) {
    return 'auth'
  }
  if (/Host denied/i.test(message)) return 'host-key-unknown'
  if (/Channel open failure/i.test(message)) return phase === 'connect' ? 'unreachable' : 'disconnected'
  // Everything else (ECONNRESET, 'No response from server', 'Not connected', protocol errors): while
  // connecting the host was not reached; later the connection was lost.
  return phase === 'connect' ? 'unreachable' : 'disconnected'
}

/** Turn any error from ssh2 or net into an SshError naming the node (SshErrors pass through). */
export function classifySshError(err: unknown, context: SshErrorContext): SshError {
  if (err instanceof SshError) return err
  const phase = context.phase ?? 'connect'
  const kind = classifySshErrorKind(err, phase)
  const raw = (typeof err === 'object' && err !== null ? err : {message: String(err)}) as RawError
  const code = typeof raw.code === 'string' ? raw.code : ''
  const detail = describeRawError(raw)
  const where = context.host ? `${context.host}:${context.port ?? 22}` : 'the host'
  const subject = context.via ? `${context.via} (${where})` : where
  const login = context.user ? `${context.user}@${context.host ?? 'HOST'}` : context.host ?? 'HOST'
  const sshCommand = `ssh -p ${context.port ?? 22} ${login} true`

  switch (kind) {
    case 'unreachable':
      return new SshError(kind, context.node, `cannot reach ${subject}: ${detail}`, {
        cause: err,
        hint:
          code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? `check the host name (and ~/.ssh/config HostName); try \`${sshCommand}\``
            : `check that the host is up and sshd listens on port ${context.port ?? 22}; try \`${sshCommand}\``,
      })
    case 'timeout': {
      const seconds = context.connectTimeoutMs ? ` within ${formatSeconds(context.connectTimeoutMs)}` : ''
      return new SshError(kind, context.node, `no SSH handshake with ${subject}${seconds}: ${detail}`, {
        cause: err,
        hint: 'check firewalls and that sshd answers on that port, or raise --connect-timeout',
      })
    }
    case 'auth':
      return new SshError(kind, context.node, `authentication failed on ${subject}: ${detail}`, {
        cause: err,
        hint:
          'check the login user ([ssh] user / ssh_user) and key ([ssh] identity / identity, ~/.ssh/config ' +
          `IdentityFile, or ssh-agent); try \`${sshCommand}\``,
      })
    case 'host-key-unknown':
    case 'host-key-changed':
      return new SshError(kind, context.node, `host key of ${subject} was refused: ${detail}`, {
        cause: err,
        hint: 'check the known_hosts file (--known-hosts, [ssh] known_hosts, ~/.ssh/known_hosts)',
      })
    case 'disconnected':
      return new SshError(kind, context.node, `connection to ${subject} was lost: ${detail}`, {
        cause: err,
        hint: 'check the host and the network, then rerun: a rerun converges',
      })
    case 'sudo-password':
      return new SshError(kind, context.node, `sudo needs a password for ${context.user ?? 'the login user'}`, {
        cause: err,
        hint: sudoHint(context.user ?? 'USER'),
      })
    case 'ssh-config':
    case 'command-failed':
    case 'output-too-large':
      return new SshError(kind, context.node, `command failed on ${subject}: ${detail}`, {cause: err})
  }
}

/** What to do when `sudo -n` refuses (shared by the shell). */
export function sudoHint(user: string): string {
  return (
    `give ${user} passwordless sudo (e.g. \`${user} ALL=(ALL) NOPASSWD: ALL\` in /etc/sudoers.d/wgfleet), ` +
    'or log in as root (ssh_user = root)'
  )
}

function describeRawError(raw: RawError): string {
  const message = typeof raw.message === 'string' && raw.message ? raw.message : 'unknown error'
  const code = typeof raw.code === 'string' ? raw.code : ''
  const friendly: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (temporary)',
    ETIMEDOUT: 'connection timed out',
    ECONNRESET: 'connection reset',
  }
  return (friendly[code] ?? message.split('\n')[0]!).trim()
}

function formatBytes(bytes: number): string {
  const mib = 1024 * 1024
  return bytes >= mib && bytes % mib === 0 ? `${bytes / mib} MiB` : bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}

/** Quote a word for a hint the user may paste into a shell (only when it needs it). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./~-]+$/.test(word) && !word.startsWith('~') ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
