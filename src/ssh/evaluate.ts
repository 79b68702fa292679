/**
 * Who evaluates the administrator's ssh config: OpenSSH itself (`ssh -G`, when `ssh` is on PATH: system
 * and user config, Include, Match — exactly what `ssh HOST` would use, `Match exec` included), else the
 * `ssh-config` package as a fallback that says what it cannot evaluate and never starts a process.
 *
 * Both answer a HostQuery with the options `ssh -G` prints (lowercased keywords, one entry per line), so
 * everything after this file is the same for both.
 */
import {execFile} from 'node:child_process'
import {accessSync, constants as fsConstants, readFileSync, statSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {delimiter, join} from 'node:path'
import SSHConfig from 'ssh-config'
import {SshConfigError} from './errors.js'
import {SshGRunner, SshGRunnerFailed, SshGTimeout} from './ssh-g-runner.js'
import {type ConnectionHashStyle, connectionHashOf} from './tokens.js'

/** What wgfleet asks about one host: only what the inventory (or a jump element) really sets. */
export interface HostQuery {
  /** The name as typed: the inventory's `host`, or a ProxyJump element's host. */
  alias: string
  user?: string
  port?: number
  /** The inventory's `identity` (as `ssh -i`: offered first, before the config's IdentityFile). */
  identity?: string
  /** `-J`: the jump elements before this one (OpenSSH evaluates a later ProxyJump hop this way). */
  proxyJump?: string
  /** The inventory sets `jump`: the config's ProxyJump / ProxyCommand do not apply (`-o ProxyCommand=none`). */
  noProxy?: boolean
}

/** `ssh -G` output: keyword (lowercase) → the values of its lines, in order. */
export type SshOptions = ReadonlyMap<string, readonly string[]>

export type EvaluatorSource = 'ssh -G' | 'built-in parser'

export interface LocalIdentity {
  user: string
  /** From the passwd entry, as OpenSSH takes `~` (not $HOME). */
  homeDir: string
  uid: number
  hostname: string
}

export interface ConfigEvaluator {
  readonly source: EvaluatorSource
  readonly local: LocalIdentity
  evaluate(query: HostQuery): Promise<SshOptions>
  /** How %C is hashed by this OpenSSH (asked once, only when a value uses %C). */
  connectionHashStyle(): Promise<ConnectionHashStyle>
  /** What could not be evaluated exactly (the fallback), once each. */
  warnings(): string[]
  /** Ends what the evaluator keeps running (the `ssh -G` runner), if anything. */
  close?(): Promise<void>
}

export interface EvaluatorOptions {
  env?: NodeJS.ProcessEnv
  /**
   * The command that runs OpenSSH's `ssh` (argv prefix). Default: `ssh` found on PATH. Tests wrap it, e.g.
   * to run it inside a namespace that holds the case's ~/.ssh.
   */
  sshCommand?: readonly string[]
  /** Local user, home, uid, host name (default: the passwd entry and gethostname()). */
  local?: LocalIdentity
  /** `ssh -G` processes at once (default 4: the machine's cores, not the fleet's size, bound this). */
  concurrency?: number
  /** The fallback's config files (default: ~/.ssh/config, then /etc/ssh/ssh_config). */
  configFiles?: readonly string[]
  /** Run the `ssh -G` queries through one bash (default: when bash is on PATH; see ssh-g-runner.ts). */
  sshGRunner?: boolean
}

/** `ssh -G` for one host takes ~5 ms; this bounds a stuck `Match exec`. */
const EVALUATE_TIMEOUT_MS = 10_000
const MAX_OUTPUT_BYTES = 1024 * 1024
const DEFAULT_CONCURRENCY = 4

export function localIdentity(): LocalIdentity {
  const info = userInfo()
  return {user: info.username, homeDir: info.homedir, uid: info.uid, hostname: hostname()}
}

/** The first executable NAME on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** OpenSSH when `ssh` is on PATH (or given), else the fallback parser. */
export function createConfigEvaluator(options: EvaluatorOptions = {}): ConfigEvaluator {
  const env = options.env ?? process.env
  const local = options.local ?? localIdentity()
  const ssh = options.sshCommand ? undefined : findOnPath('ssh', env)
  const sshCommand = options.sshCommand ?? (ssh ? [ssh] : undefined)
  if (sshCommand) {
    const bash = options.sshGRunner === false ? undefined : findOnPath('bash', env)
    return new OpenSshEvaluator(sshCommand, local, options.concurrency ?? DEFAULT_CONCURRENCY, bash)
  }
  return new BuiltinEvaluator(local, options.configFiles ?? [join(local.homeDir, '.ssh', 'config'), '/etc/ssh/ssh_config'])
}

let sharedEvaluator: ConfigEvaluator | undefined

/** One evaluator per process: its cache serves every node, hop and command of the run. */
export function defaultConfigEvaluator(): ConfigEvaluator {
  sharedEvaluator ??= createConfigEvaluator()
  return sharedEvaluator
}

/** The end of a command: the shared evaluator's runner stops (the next use starts a new one). */
export async function closeDefaultConfigEvaluator(): Promise<void> {
  await sharedEvaluator?.close?.()
}

/** The `ssh -G` arguments for a query (shared with the tests that compare against ssh itself). */
export function sshGArguments(query: HostQuery): string[] {
  const args = ['-G']
  if (query.user !== undefined) args.push('-l', query.user)
  if (query.port !== undefined) args.push('-p', String(query.port))
  if (query.identity !== undefined) args.push('-i', query.identity)
  if (query.proxyJump !== undefined) args.push('-J', query.proxyJump)
  if (query.noProxy) args.push('-o', 'ProxyCommand=none')
  args.push('--', query.alias)
  return args
}

/** Parse `ssh -G` output: `keyword value` lines. */
export function parseSshG(text: string): SshOptions {
  const options = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const match = /^(\S+) ?(.*)$/.exec(line)
    if (!match) continue
    const key = match[1]!.toLowerCase()
    const values = options.get(key)
    if (values) values.push(match[2]!)
    else options.set(key, [match[2]!])
  }
  return options
}

class OpenSshEvaluator implements ConfigEvaluator {
  readonly source = 'ssh -G' as const
  readonly local: LocalIdentity
  private readonly command: readonly string[]
  private readonly cache = new Map<string, Promise<SshOptions>>()
  private readonly limit: Limiter
  private hashStyle: Promise<ConnectionHashStyle> | undefined
  /** One bash that runs the queries (see ssh-g-runner.ts); without bash, one process per query. */
  private readonly runner: SshGRunner | undefined

  constructor(command: readonly string[], local: LocalIdentity, concurrency: number, bash?: string) {
    this.command = command
    this.local = local
    this.limit = new Limiter(concurrency)
    this.runner = bash ? new SshGRunner(bash, command, EVALUATE_TIMEOUT_MS, MAX_OUTPUT_BYTES) : undefined
  }

  evaluate(query: HostQuery): Promise<SshOptions> {
    const args = sshGArguments(query)
    const key = args.join('\0')
    let pending = this.cache.get(key)
    if (!pending) {
      pending = this.limit.run(() => this.runSshG(args, query.alias))
      this.cache.set(key, pending)
    }
    return pending
  }

  connectionHashStyle(): Promise<ConnectionHashStyle> {
    this.hashStyle ??= this.calibrate()
    return this.hashStyle
  }

  warnings(): string[] {
    return []
  }

  async close(): Promise<void> {
    await this.runner?.close()
  }

  /** Ask ssh to expand %C for a known input once, and see which formula it used. */
  private async calibrate(): Promise<ConnectionHashStyle> {
    const jump = 'calibrate@jump.invalid:2'
    const options = await this.limit.run(() =>
      this.runSshG(['-G', '-J', jump, '-l', 'calibrate', '-p', '22', '-o', 'UserKnownHostsFile=/%C', '--', 'wgfleet-calibrate.invalid'], '%C'),
    )
    const printed = options.get('userknownhostsfile')?.[0]?.replace(/^\//, '')
    const values = {
      localHostname: this.local.hostname,
      host: options.get('hostname')?.[0] ?? 'wgfleet-calibrate.invalid',
      port: Number(options.get('port')?.[0] ?? 22),
      remoteUser: options.get('user')?.[0] ?? 'calibrate',
      proxyJump: jump,
    }
    for (const style of ['lhprj', 'lhpr'] as const) {
      if (connectionHashOf({...values, connectionHash: style}) === printed) return style
    }
    return 'lhpr'
  }

  private async runSshG(args: string[], alias: string): Promise<SshOptions> {
    if (this.runner) {
      try {
        const result = await this.runner.run(args)
        if (result.code === 0) return parseSshG(result.stdout)
        throw sshGFailed(args, alias, result.stderr.trim().split('\n').slice(-3).join('; ') || `exit ${result.code}`)
      } catch (error) {
        if (error instanceof SshGTimeout) throw sshGFailed(args, alias, TIMEOUT_REASON, error)
        if (!(error instanceof SshGRunnerFailed)) throw error
        // The runner could not take it: this query runs on its own, as without one.
      }
    }
    return this.spawnSshG(args, alias)
  }

  private spawnSshG(args: string[], alias: string): Promise<SshOptions> {
    const [file, ...prefix] = this.command
    return new Promise((resolve, reject) => {
      const child = execFile(
        file!,
        [...prefix, ...args],
        {timeout: EVALUATE_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', killSignal: 'SIGKILL'},
        (error, stdout, stderr) => {
          if (!error) return resolve(parseSshG(stdout))
          const said = stderr.trim().split('\n').slice(-3).join('; ')
          reject(sshGFailed(args, alias, (error as {killed?: boolean}).killed ? TIMEOUT_REASON : said || error.message, error))
        },
      )
      child.stdin?.end()
    })
  }
}

const TIMEOUT_REASON = `did not finish within ${EVALUATE_TIMEOUT_MS / 1000} s (a \`Match exec\` command that hangs?)`

function sshGFailed(args: string[], alias: string, why: string, cause?: unknown): SshConfigError {
  return new SshConfigError(`\`ssh ${args.join(' ')}\` failed: ${why}`, {
    cause,
    hint: `OpenSSH cannot evaluate the ssh config for ${alias}: fix it until \`ssh -G ${alias}\` works`,
  })
}

/** At most `size` tasks at once. */
class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

// ---- the fallback -------------------------------------------------------------------------------------

/** OpenSSH's defaults for what the fallback reports (readconf.c fill_default_options). */
const DEFAULT_IDENTITY_FILES = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa']
const DEFAULT_USER_KNOWN_HOSTS = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']
const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']

/**
 * Without OpenSSH: the `ssh-config` package, with what it gets wrong kept out. It would spawn `nslookup`
 * for CanonicalizeHostname and a shell for `Match exec`: both are removed before it computes anything,
 * and every construct it cannot evaluate like OpenSSH (Include, Match, CanonicalizeHostname, `?` in a
 * Host pattern) is named in a warning.
 */
class BuiltinEvaluator implements ConfigEvaluator {
  readonly source = 'built-in parser' as const
  readonly local: LocalIdentity
  private readonly files: readonly string[]
  private config: SSHConfig | undefined
  private readonly problems = new Set<string>()

  constructor(local: LocalIdentity, files: readonly string[]) {
    this.local = local
    this.files = files
  }

  async evaluate(query: HostQuery): Promise<SshOptions> {
    const config = this.load()
    const computed = config.compute(query.user === undefined ? {Host: query.alias} : {Host: query.alias, User: query.user}, {
      ignoreCase: true,
      matchExec: false,
    }) as Record<string, string | string[]>
    const list = (key: string): string[] => {
      const value = computed[key]
      return value === undefined ? [] : Array.isArray(value) ? value : [value]
    }
    const single = (key: string): string | undefined => list(key)[0]
    const words = (key: string): string[] | undefined => {
      const values = list(key)
      return values.length === 0 ? undefined : values.flatMap((value) => value.split(/\s+/)).filter((word) => word !== '')
    }
    const options = new Map<string, string[]>()
    const set = (key: string, values: Array<string | undefined>) => {
      const present = values.filter((value): value is string => value !== undefined)
      if (present.length > 0) options.set(key, present)
    }
    const hostName = (single('hostname') ?? query.alias).replace(/%(.)/g, (whole, letter: string) => (letter === 'h' ? query.alias : letter === '%' ? '%' : whole))
    set('host', [query.alias])
    set('user', [query.user ?? single('user') ?? this.local.user])
    set('hostname', [hostName])
    set('port', [String(query.port ?? (single('port') !== undefined && /^\d+$/.test(single('port')!) ? Number(single('port')) : 22))])
    const configured = list('identityfile')
    set('identityfile', [...(query.identity === undefined ? [] : [query.identity]), ...(configured.length > 0 || query.identity !== undefined ? configured : DEFAULT_IDENTITY_FILES)])
    set('certificatefile', list('certificatefile'))
    const proxyJump = query.noProxy ? undefined : (query.proxyJump ?? single('proxyjump'))
    const proxyCommand = query.noProxy || query.proxyJump !== undefined ? undefined : list('proxycommand').join(' ') || undefined
    if (proxyJump && proxyJump.toLowerCase() !== 'none') set('proxyjump', [proxyJump])
    else if (proxyCommand && proxyCommand.toLowerCase() !== 'none') set('proxycommand', [proxyCommand])
    set('hostkeyalias', [single('hostkeyalias')])
    set('identitiesonly', [single('identitiesonly') ?? 'no'])
    set('identityagent', [single('identityagent')])
    set('userknownhostsfile', [(words('userknownhostsfile') ?? DEFAULT_USER_KNOWN_HOSTS).join(' ')])
    set('globalknownhostsfile', [(words('globalknownhostsfile') ?? DEFAULT_GLOBAL_KNOWN_HOSTS).join(' ')])
    set('stricthostkeychecking', [single('stricthostkeychecking') ?? 'ask'])
    set('hashknownhosts', [single('hashknownhosts') ?? 'no'])
    set('connecttimeout', [single('connecttimeout') ?? 'none'])
    set('serveraliveinterval', [single('serveraliveinterval') ?? '0'])
    set('serveralivecountmax', [single('serveralivecountmax') ?? '3'])
    return options
  }

  async connectionHashStyle(): Promise<ConnectionHashStyle> {
    this.problems.add('without OpenSSH, %C is computed as OpenSSH 9.2 does (a hash of %l%h%p%r)')
    return 'lhpr'
  }

  warnings(): string[] {
    this.load()
    return [...this.problems]
  }

  private load(): SSHConfig {
    if (this.config) return this.config
    this.problems.add('`ssh` is not on PATH: the ssh config is read by wgfleet\'s built-in parser, not evaluated by OpenSSH (`ssh -G`)')
    const texts: string[] = []
    for (const file of this.files) {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw new SshConfigError(`cannot read ssh config ${file}: ${(error as Error).message}`, {cause: error})
      }
      // Each file starts in the context of `Host *` (a block left open by the previous one ends here).
      texts.push(`Host *\n${text}`)
    }
    let config: SSHConfig
    try {
      config = SSHConfig.parse(texts.join('\n'))
    } catch (error) {
      throw new SshConfigError(`cannot parse the ssh config (${this.files.join(', ')}): ${(error as Error).message}`, {cause: error})
    }
    this.config = this.withoutUnsafe(config)
    return this.config
  }

  /** Drop what would make the package start a process, and note what it cannot evaluate. */
  private withoutUnsafe(config: SSHConfig): SSHConfig {
    const strip = (lines: SSHConfig): void => {
      for (let index = lines.length - 1; index >= 0; index--) {
        const line = lines[index] as {type: number; param?: string; value?: unknown; config?: SSHConfig}
        if (line.type !== SSHConfig.DIRECTIVE || !line.param) continue
        const param = line.param.toLowerCase()
        const value = typeof line.value === 'string' ? line.value : JSON.stringify(line.value)
        if (param === 'canonicalizehostname' || param === 'canonicaldomains') {
          this.problems.add(`${line.param} is ignored (it needs DNS; OpenSSH's \`ssh -G\` would canonicalize)`)
          lines.splice(index, 1)
          continue
        }
        if (param === 'include') this.problems.add(`Include ${valueText(line.value)} is not followed`)
        if (param === 'match') this.problems.add(`Match ${valueText(line.value)} is not evaluated as OpenSSH would (exec is never run)`)
        if (param === 'host' && value.includes('?')) this.problems.add(`Host ${valueText(line.value)}: \`?\` patterns are not matched as OpenSSH would`)
        if (line.config) strip(line.config)
      }
    }
    strip(config)
    return config
  }
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return value.map((part: {val?: string}) => part.val ?? '').join(' ')
  return String(value)
}
