/**
 * ssh_config(5) TOKENS, `${VAR}` and `~`, expanded as OpenSSH's ssh.c / misc.c do it. `ssh -G` prints
 * IdentityFile, CertificateFile and ProxyCommand unexpanded, so wgfleet expands them itself. Hand-written:
 * no library does OpenSSH's expansion (pure, apart from the %C hash).
 */
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {SshConfigError} from './errors.js'

/** What the tokens stand for, for one host. */
export interface TokenValues {
  /** %h: the remote host name, after HostName. */
  host: string
  /** %n: the host name as given (the inventory's `host` value, or the jump element). */
  originalHost: string
  /** %p */
  port: number
  /** %r */
  remoteUser: string
  /** %u, %d, %i: the local user, from the passwd entry (as OpenSSH takes them, not from $HOME). */
  localUser: string
  homeDir: string
  uid: number
  /** %l: gethostname(); %L: its first label. */
  localHostname: string
  /** %k: HostKeyAlias, else the original host name. */
  hostKeyAlias?: string
  /** %j: the ProxyJump value ('' when unset). */
  proxyJump: string
  /** How this OpenSSH hashes %C (see connectionHashOf). */
  connectionHash: ConnectionHashStyle
}

/**
 * %C is SHA-1 of %l%h%p%r in OpenSSH up to 9.3 or so, and of %l%h%p%r%j later; which one the local ssh
 * uses is asked once (openssh.ts calibrates it), not guessed from the version string.
 */
export type ConnectionHashStyle = 'lhpr' | 'lhprj'

export function connectionHashOf(values: Pick<TokenValues, 'localHostname' | 'host' | 'port' | 'remoteUser' | 'proxyJump' | 'connectionHash'>): string {
  const jump = values.connectionHash === 'lhprj' ? values.proxyJump : ''
  return createHash('sha1').update(`${values.localHostname}${values.host}${values.port}${values.remoteUser}${jump}`).digest('hex')
}

/** The tokens IdentityFile, CertificateFile (and UserKnownHostsFile, ControlPath, ...) accept. */
const FILE_TOKENS = 'CdhijkLlnpru'
/** The tokens ProxyCommand accepts (ssh_config(5): %%, %h, %n, %p, %r). */
const PROXY_COMMAND_TOKENS = 'hnpr'

function tokenTable(values: TokenValues): Record<string, () => string> {
  return {
    C: () => connectionHashOf(values),
    d: () => values.homeDir,
    h: () => values.host,
    i: () => String(values.uid),
    j: () => values.proxyJump,
    k: () => values.hostKeyAlias ?? values.originalHost,
    L: () => values.localHostname.split('.')[0]!,
    l: () => values.localHostname,
    n: () => values.originalHost,
    p: () => String(values.port),
    r: () => values.remoteUser,
    u: () => values.localUser,
  }
}

/** `%x` tokens from `allowed`; an unknown one is an error, as in OpenSSH (`percent_expand: unknown key`). */
function expandPercent(text: string, allowed: string, values: TokenValues, what: string): string {
  const table = tokenTable(values)
  return text.replace(/%(.?)/gs, (whole, letter: string) => {
    if (letter === '%') return '%'
    if (letter !== '' && allowed.includes(letter)) return table[letter]!()
    throw new SshConfigError(`${what} ${JSON.stringify(text)} uses the unknown token ${whole === '%' ? '% at its end' : whole}`, {
      hint: `${what} accepts ${[...allowed].map((t) => `%${t}`).join(' ')} and %% (ssh_config(5) TOKENS)`,
    })
  })
}

/** `${NAME}` from the environment, as OpenSSH 8.4+ does for file options; an unset one is an error. */
function expandEnvironment(text: string, env: NodeJS.ProcessEnv, what: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_whole, name: string) => {
    const value = env[name]
    if (value === undefined) {
      throw new SshConfigError(`${what} ${JSON.stringify(text)} uses \${${name}}, which is not set`, {hint: `set ${name}, or write the path out`})
    }
    return value
  })
}

/** `~` and `~/...` against the passwd home (OpenSSH's tilde_expand_filename; `~user` is left alone). */
export function expandTilde(path: string, homeDir: string): string {
  if (path === '~') return homeDir
  if (path.startsWith('~/')) return join(homeDir, path.slice(2))
  return path
}

/** IdentityFile / CertificateFile: `~` first, then `${VAR}` and `%` tokens (ssh.c's order). */
export function expandFileOption(path: string, values: TokenValues, env: NodeJS.ProcessEnv, what: string): string {
  return expandPercent(expandEnvironment(expandTilde(path, values.homeDir), env, what), FILE_TOKENS, values, what)
}

/** ProxyCommand: `%h %n %p %r %%` only (sshconnect.c expand_proxy_command). */
export function expandProxyCommand(command: string, values: TokenValues): string {
  return expandPercent(command, PROXY_COMMAND_TOKENS, values, 'ProxyCommand')
}

/** Escape a literal for a place that expands `%` tokens (a ProxyCommand wgfleet writes). */
export function escapePercent(text: string): string {
  return text.replace(/%/g, '%%')
}
