/**
 * One SSH connection to a node, through its jump hosts: each hop is an ssh2 Client whose socket is a
 * `forwardOut` channel of the previous hop (the first hop's: its ProxyCommand, when it has one). Every
 * hop's host key is verified against its known_hosts files under its own name, with the config's
 * StrictHostKeyChecking; auth is ssh-agent first (only the listed keys with IdentitiesOnly), then key
 * files; keepalive is on. ssh2 stays inside src/ssh.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import type {Duplex, Readable} from 'node:stream'
import ssh2 from 'ssh2'
import type {AnyAuthMethod, Client as Ssh2Client, ClientChannel, ConnectConfig, ParsedKey} from 'ssh2'
import {
  type HostKeyDetails,
  HostKeyChangedError,
  HostKeyUnknownError,
  SshError,
  classifySshError,
} from './errors.js'
import {
  type HostKeyVerdict,
  type KnownHostEntry,
  appendKnownHostByName,
  checkHostKeyForName,
  entriesForName,
  fingerprintSha256,
  holdsHashedNames,
  keyTypeOfBlob,
  knownKeyTypesForName,
} from './known-hosts.js'
import {type ProxyProcess, startProxyCommand} from './proxy-command.js'
import {withKeyObjectSigning} from './signing-key.js'
import {readKnownHostsFiles, refuseWhatSsh2CannotDo} from './transport-check.js'
import {DEFAULT_CONNECT_TIMEOUT_MS, type SshTarget} from './target.js'

const {Client, OpenSSHAgent, utils: ssh2Utils} = ssh2

/** Send a keepalive every 5 s; give up after 3 unanswered (ssh2's default is no keepalive at all). */
const KEEPALIVE_INTERVAL_MS = 5_000
const KEEPALIVE_COUNT_MAX = 3
/** How long close() waits for a clean disconnect before destroying the socket. */
const CLOSE_WAIT_MS = 2_000
/** Default per-step timeout: generous, installs wait on held package locks. */
export const DEFAULT_STEP_TIMEOUT_MS = 15 * 60_000

/** Env var holding the passphrase of encrypted private keys (non-interactive runs). */
export const PASSPHRASE_ENV = 'WGFLEET_SSH_PASSPHRASE'

export interface ConnectOptions {
  /** Overrides target.connectTimeoutMs (the handshake + auth deadline per hop). */
  connectTimeoutMs?: number
  /** Default per-step timeout for shells over this session. */
  stepTimeoutMs?: number
  /** --accept-new-host-keys: append an unknown host key to known_hosts once that hop is ready (authenticated). */
  acceptNewHostKeys?: boolean
  /** Asks for a key's passphrase; only used when stdin is a TTY. */
  promptPassphrase?: (keyFile: string) => Promise<string | undefined>
  /** Defaults to process.stdin.isTTY. */
  stdinIsTTY?: boolean
  /** Defaults to process.env (SSH_AUTH_SOCK, WGFLEET_SSH_PASSPHRASE). */
  env?: NodeJS.ProcessEnv
  /** Called after a new host key was appended (so the CLI can say so on stderr). */
  onHostKeyAdded?: (details: HostKeyDetails) => void
  /** ssh2 debug lines (for troubleshooting). */
  debug?: (line: string) => void
  /** A line a ProxyCommand (or, with the openssh transport, `ssh` itself) printed on stderr: the node's log. */
  onSshLog?: (line: string) => void
  /** Something the operator should know that does not stop the run (e.g. StrictHostKeyChecking no). */
  onWarning?: (message: string) => void
}

/**
 * What a RemoteShell needs of one exec: ssh2's ClientChannel is one, and so is the openssh transport's
 * `ssh` process (openssh-transport.ts).
 */
export interface ExecChannel {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'exit', listener: (code: number | null, signal?: string) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'close', listener: () => void): unknown
  readonly stderr: {on(event: 'data', listener: (chunk: Buffer) => void): unknown}
  /** Send the last of stdin, then EOF. */
  end(data?: string): unknown
  signal(name: string): unknown
  close(): unknown
}

export interface SshSession {
  readonly target: SshTarget
  /** Default step timeout for shells over this session. */
  readonly stepTimeoutMs: number
  /** True once the connection (or any hop under it) has closed. */
  readonly closed: boolean
  /** Open an exec channel. Rejects with SshError kind 'disconnected' on a dead connection. */
  exec(command: string): Promise<ExecChannel>
  /** End the connection and every hop, innermost first. Never rejects. */
  close(): Promise<void>
}

/** Open the hop chain and the connection to `target`; every failure is an SshError naming the node. */
export async function connectNode(target: SshTarget, options: ConnectOptions = {}): Promise<SshSession> {
  const chain = [...target.hops, target]
  for (const hop of chain) refuseWhatSsh2CannotDo(target.name, hop, hop === target ? undefined : `jump ${hop.name}`)
  const clients: Ssh2Client[] = []
  let proxy: ProxyProcess | undefined
  try {
    let sock: Readable | undefined
    for (const [index, hop] of chain.entries()) {
      const isTarget = index === chain.length - 1
      const via = isTarget ? undefined : `jump ${hop.name}`
      if (index > 0) sock = await forwardTo(clients[index - 1]!, hop, target, chain[index - 1]!, options)
      else if (hop.proxyCommand) {
        proxy = startProxyCommand(hop.proxyCommand, {env: options.env, onStderrLine: options.onSshLog})
        sock = proxy.stream
      }
      clients.push(await connectHop(hop, sock, {node: target.name, via, options, proxy: index === 0 ? proxy : undefined}))
    }
  } catch (error) {
    await closeClients(clients)
    proxy?.stop()
    throw error
  }
  return new Ssh2Session(target, clients, options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS, proxy)
}

class Ssh2Session implements SshSession {
  readonly target: SshTarget
  readonly stepTimeoutMs: number
  private readonly clients: Ssh2Client[]
  private isClosed = false
  private lastError: Error | undefined
  private readonly proxy: ProxyProcess | undefined

  constructor(target: SshTarget, clients: Ssh2Client[], stepTimeoutMs: number, proxy?: ProxyProcess) {
    this.target = target
    this.clients = clients
    this.stepTimeoutMs = stepTimeoutMs
    this.proxy = proxy
    for (const client of clients) {
      // After 'ready', ssh2 still emits 'error' (keepalive timeout, socket reset): without a listener
      // that would crash the process. Remember it for the next exec's message.
      client.on('error', (error: Error) => {
        this.lastError = error
      })
      client.on('close', () => {
        this.isClosed = true
      })
    }
  }

  get closed(): boolean {
    return this.isClosed
  }

  exec(command: string): Promise<ClientChannel> {
    const client = this.clients[this.clients.length - 1]!
    const context = {
      node: this.target.name,
      host: this.target.host,
      port: this.target.port,
      user: this.target.user,
      phase: 'run' as const,
    }
    if (this.isClosed) {
      return Promise.reject(classifySshError(this.lastError ?? new Error('Not connected'), context))
    }
    return new Promise((resolve, reject) => {
      try {
        client.exec(command, (error, channel) => {
          if (!error) return resolve(channel)
          if (/Unable to exec/i.test(error.message)) {
            // The connection is fine; the server would not run the command (ForceCommand, a policy).
            return reject(
              new SshError('command-failed', this.target.name, `the host refused to run \`${command}\``, {
                cause: error,
                hint: `check sshd's ForceCommand / Match blocks and the login shell of ${this.target.user}`,
              }),
            )
          }
          reject(classifySshError(this.lastError ?? error, context))
        })
      } catch (error) {
        reject(classifySshError(this.lastError ?? error, context))
      }
    })
  }

  async close(): Promise<void> {
    await closeClients(this.clients)
    this.proxy?.stop()
    this.isClosed = true
  }
}

/**
 * End clients innermost first (the target, then its jumps); bounded, never rejects. A clean end sends
 * SSH's disconnect and a FIN, then waits for the server's FIN; over a cut link that never comes, and the
 * socket would sit half-closed (FIN-WAIT) for TCP's whole retry time (~15 min), keeping the process
 * alive after its work is done. So after CLOSE_WAIT_MS the socket itself is destroyed: ssh2's own
 * destroy() does nothing once end() made the socket unwritable.
 */
async function closeClients(clients: Ssh2Client[]): Promise<void> {
  for (const client of [...clients].reverse()) {
    const sock = socketOf(client)
    // Errors while closing are expected (the hop under it may already be gone).
    client.on('error', () => {})
    // A jump's channel is never `destroyed` (ssh2's Channel ends and closes instead): its client's own
    // 'close' says it is gone, so there is nothing to wait for.
    if (!sock || sock.destroyed || closedClients.has(client)) continue
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        sock.destroy()
        resolve()
      }, CLOSE_WAIT_MS)
      sock.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      try {
        client.end()
      } catch {
        sock.destroy()
      }
    })
  }
}

/** Clients whose connection has closed (recorded from `ready` on; see closeClients). */
const closedClients = new WeakSet<Ssh2Client>()

/**
 * The stream under an ssh2 client (a TCP socket, a jump's channel, a ProxyCommand's pipe). ssh2 keeps it
 * in `_sock` and offers no accessor; reading it is the only way to bound a close (see closeClients).
 */
function socketOf(client: Ssh2Client): Duplex | undefined {
  return (client as unknown as {_sock?: Duplex})._sock
}

/** Ask the previous hop to open a TCP connection to `hop` (the `ssh -J` way: direct-tcpip). */
function forwardTo(
  through: Ssh2Client,
  hop: SshTarget,
  target: SshTarget,
  jump: SshTarget,
  options: ConnectOptions,
): Promise<ClientChannel> {
  const timeoutMs = options.connectTimeoutMs ?? hop.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const what = hop === target ? `${hop.host}:${hop.port}` : `jump ${hop.name} (${hop.host}:${hop.port})`
  return new Promise((resolve, reject) => {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      reject(
        new SshError('timeout', target.name, `jump ${jump.name} did not open a connection to ${what} within ${timeoutMs} ms`, {
          hint: `check that ${jump.name} can reach ${hop.host}:${hop.port}, or raise --connect-timeout`,
        }),
      )
    }, timeoutMs)
    try {
      through.forwardOut('127.0.0.1', 0, hop.host, hop.port, (error, channel) => {
        clearTimeout(timer)
        // A channel that opens after the deadline belongs to nobody: close it.
        if (timedOut) return void channel?.destroy()
        if (error) {
          reject(
            new SshError('unreachable', target.name, `jump ${jump.name} could not connect to ${what}: ${error.message.replace(/^\(SSH\) /, '')}`, {
              cause: error,
              hint: `check that ${hop.host} is up, that sshd listens on port ${hop.port}, and that ${jump.name} allows TCP forwarding`,
            }),
          )
        } else {
          resolve(channel)
        }
      })
    } catch (error) {
      clearTimeout(timer)
      reject(classifySshError(error, {node: target.name, host: jump.host, port: jump.port, via: `jump ${jump.name}`}))
    }
  })
}

interface HopContext {
  /** The node the whole chain is for (named in every error). */
  node: string
  /** `jump NAME` when this hop is a jump host. */
  via?: string
  options: ConnectOptions
  /** The ProxyCommand this hop's connection runs through (its stderr explains a failure). */
  proxy?: ProxyProcess
}

function connectHop(hop: SshTarget, sock: Readable | undefined, context: HopContext): Promise<Ssh2Client> {
  const {options} = context
  const connectTimeoutMs = options.connectTimeoutMs ?? hop.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const errorContext = {
    node: context.node,
    host: hop.host,
    port: hop.port,
    user: hop.user,
    via: context.via,
    phase: 'connect' as const,
    connectTimeoutMs,
  }

  return prepareAuth(hop, context).then(
    (auth) =>
      new Promise<Ssh2Client>((resolve, reject) => {
        const client = new Client()
        let settled = false
        /** Set by the host verifier when it refuses: the precise reason behind ssh2's "Host denied". */
        let hostKeyRefusal: SshError | undefined
        /**
         * A new key accepted under --accept-new-host-keys. ssh2 asks the verifier before it checks the
         * server's signature with that key, so it is recorded only on `ready`: once the key exchange
         * proved the server holds the private key and authentication went through.
         */
        let keyToRecord: Buffer | undefined
        const authErrors: string[] = []

        const fail = (error: unknown) => {
          if (settled) return
          settled = true
          clearTimeout(guard)
          client.destroy()
          if (hostKeyRefusal) return reject(hostKeyRefusal)
          const classified = classifySshError(error, errorContext)
          if (classified.kind === 'auth') return reject(authError(hop, context, auth.notes.concat(authErrors), error))
          if (context.proxy && classified.kind !== 'timeout') return reject(proxyError(hop, context, context.proxy, classified))
          reject(classified)
        }

        // readyTimeout covers TCP connect + handshake + auth; this guard only backs it up.
        const guard = setTimeout(() => {
          fail(Object.assign(new Error('Timed out while waiting for handshake'), {level: 'client-timeout'}))
        }, connectTimeoutMs + 2_000)

        client.on('error', (error: Error & {level?: string}) => {
          // ssh2 reports these and then tries the next method: not fatal.
          if (error.level === 'agent' || /^Error (while )?signing/.test(error.message)) {
            authErrors.push(error.message)
            return
          }
          fail(error)
        })
        client.once('close', () => fail(new Error('Connection closed before the SSH session was ready')))
        client.once('ready', () => {
          if (settled) return
          if (keyToRecord) {
            hostKeyRefusal = recordHostKey(hop, keyToRecord, context)
            if (hostKeyRefusal) return fail(hostKeyRefusal)
          }
          settled = true
          clearTimeout(guard)
          client.removeAllListeners('error')
          client.removeAllListeners('close')
          // Until the session takes over, an 'error' must still have a listener (else: process crash).
          client.on('error', () => {})
          client.once('close', () => closedClients.add(client))
          resolve(client)
        })

        const config: ConnectConfig = {
          host: hop.host,
          port: hop.port,
          username: hop.user,
          sock,
          readyTimeout: connectTimeoutMs,
          // ServerAliveInterval when the config sets one; else wgfleet's own (ssh2 has none by default).
          keepaliveInterval: hop.serverAliveIntervalMs > 0 ? hop.serverAliveIntervalMs : KEEPALIVE_INTERVAL_MS,
          keepaliveCountMax: hop.serverAliveIntervalMs > 0 ? hop.serverAliveCountMax : KEEPALIVE_COUNT_MAX,
          authHandler: auth.methods,
          hostVerifier: (key: Buffer): boolean => {
            const verdict = verifyHostKey(hop, key, context)
            if (verdict instanceof SshError) hostKeyRefusal = verdict
            else if (verdict !== true) keyToRecord = key
            return !(verdict instanceof SshError)
          },
          debug: options.debug,
        }
        const preferred = hostKeyAlgorithmsFor(hop)
        if (preferred) config.algorithms = {serverHostKey: preferred as NonNullable<ConnectConfig['algorithms']>['serverHostKey']}
        try {
          client.connect(config)
        } catch (error) {
          // ssh2 throws synchronously on config problems (e.g. an unusable key): never a crash.
          fail(error)
        }
      }),
  )
}

/** What to do with a key known_hosts does not have, given StrictHostKeyChecking and the flag. */
export type NewHostKeyDecision = 'refuse' | 'record' | 'record-with-warning'

/**
 * StrictHostKeyChecking for a new key. `accept-new`: the admin chose it, recorded as ssh would.
 * `yes`: the admin chose never to add keys automatically — refused, and --accept-new-host-keys does
 * not override it (the config wins). `ask`: ssh would ask the person at the terminal; wgfleet never
 * prompts, so it refuses, and --accept-new-host-keys is that answer given in advance (`ask` is also what
 * `ssh -G` reports when the config says nothing, so it cannot be told from an unset option). `no`: ssh
 * would accept it silently; wgfleet records it only with --accept-new-host-keys, and says so. A changed
 * key never gets here (always refused).
 */
export function decideNewHostKey(strict: SshTarget['strictHostKeyChecking'], acceptNewHostKeys: boolean): NewHostKeyDecision {
  if (strict === 'accept-new') return 'record'
  if (strict === 'yes' || !acceptNewHostKeys) return 'refuse'
  return strict === 'no' ? 'record-with-warning' : 'record'
}

/**
 * Decide on a host key: true to accept, a lookup to accept a new key that is appended to known_hosts
 * once the connection is ready (see recordHostKey), else the SshError to report.
 */
function verifyHostKey(hop: SshTarget, key: Buffer, context: HopContext): true | HostKeyLookup | SshError {
  const found = lookUpHostKey(hop, key, context)
  if (found instanceof SshError) return found
  switch (found.verdict) {
    case 'match':
      return true
    case 'unknown': {
      const decision = decideNewHostKey(hop.strictHostKeyChecking, context.options.acceptNewHostKeys ?? false)
      if (decision === 'refuse' || hop.knownHostsFiles.length === 0) {
        return new HostKeyUnknownError(context.node, found.details, context.via, hop.strictHostKeyChecking)
      }
      return {...found, decision}
    }
    case 'changed':
    case 'revoked': {
      // Name the file (and its lines) that holds what this host is known by.
      const known = entriesForName(found.entries, hop.knownHostName) as Array<KnownHostEntry & {file: string}>
      const file = known[0]?.file ?? found.details.knownHostsFile
      return new HostKeyChangedError(context.node, {...found.details, knownHostsFile: file}, {
        revoked: found.verdict === 'revoked',
        knownLines: known.filter((entry) => entry.file === file).map((entry) => entry.line),
        via: context.via,
      })
    }
  }
}

/**
 * Append a new host key on `ready`, to the first known_hosts file, hashed when that file already hides its
 * names or the ssh config says HashKnownHosts yes. The key is verified again first, synchronously with
 * the append, so that two connections of one run to the same host add one line — and a different key
 * recorded in between (the other connection met another server under that name) refuses this one.
 * Undefined when done.
 */
function recordHostKey(hop: SshTarget, key: Buffer, context: HopContext): SshError | undefined {
  const verdict = verifyHostKey(hop, key, context)
  if (verdict === true) return undefined // recorded meanwhile by another connection
  if (verdict instanceof SshError) return verdict
  const recordIn = hop.knownHostsFiles[0]!
  if (verdict.decision === 'record-with-warning') {
    context.options.onWarning?.(
      `${context.node}: the ssh config says StrictHostKeyChecking no for ${hop.alias}; wgfleet still checks host keys and ` +
        'recorded this new one only because of --accept-new-host-keys',
    )
  }
  try {
    const hashed = hop.hashKnownHosts || holdsHashedNames(verdict.entries.filter((entry) => entry.file === recordIn))
    appendKnownHostByName(recordIn, hop.knownHostName, key, {hashed})
  } catch (error) {
    return knownHostsFileError(hop, context, 'record', error)
  }
  context.options.onHostKeyAdded?.(verdict.details)
  return undefined
}

interface HostKeyLookup {
  verdict: HostKeyVerdict
  entries: ReadonlyArray<KnownHostEntry & {file: string}>
  details: HostKeyDetails
  /** Set for a new key that is to be recorded. */
  decision?: NewHostKeyDecision
}

/** What the known_hosts files say about the key a hop presents, read fresh each time (synchronously on purpose). */
function lookUpHostKey(hop: SshTarget, key: Buffer, context: HopContext): HostKeyLookup | SshError {
  const keyType = keyTypeOfBlob(key) ?? 'unknown-key-type'
  const details: HostKeyDetails = {
    hostKeyAlias: hop.knownHostName,
    host: hop.host,
    port: hop.port,
    keyType,
    fingerprint: fingerprintSha256(key),
    knownHostsFile: hop.knownHostsFiles[0] ?? '(no known_hosts file)',
  }
  try {
    const entries = readKnownHostsFiles(hop.knownHostsFiles)
    return {verdict: checkHostKeyForName(entries, hop.knownHostName, keyType, key), entries, details}
  } catch (error) {
    return knownHostsFileError(hop, context, 'check', error)
  }
}

function knownHostsFileError(hop: SshTarget, context: HopContext, action: 'check' | 'record', error: unknown): SshError {
  const what = action === 'check' ? `check the host key of ${hop.knownHostName} against` : `record the host key of ${hop.knownHostName} in`
  return new SshError('host-key-unknown', context.node, `cannot ${what} ${hop.knownHostsFiles.join(', ')}: ${(error as Error).message}`, {
    cause: error,
    hint: 'check that the known_hosts files (--known-hosts, known_hosts in the inventory, UserKnownHostsFile) are readable and writable',
  })
}

const ALGORITHMS_BY_KEY_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
}
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
]

/**
 * Like OpenSSH, ask for the key types known_hosts has for this host first, so that a host with several
 * keys presents the one on record. Undefined = ssh2's defaults (nothing known).
 */
function hostKeyAlgorithmsFor(hop: SshTarget): string[] | undefined {
  let known: string[]
  try {
    known = knownKeyTypesForName(readKnownHostsFiles(hop.knownHostsFiles), hop.knownHostName)
  } catch {
    return undefined // the verifier reports an unreadable file
  }
  const first = known.flatMap((type) => ALGORITHMS_BY_KEY_TYPE[type] ?? [])
  if (first.length === 0) return undefined
  return [...new Set([...first, ...DEFAULT_HOST_KEY_ALGORITHMS])]
}

interface PreparedAuth {
  methods: AnyAuthMethod[]
  /** Why keys were skipped: shown when authentication fails. */
  notes: string[]
}

/** Passphrases typed at the prompt, per key file, for the life of the process (one prompt per key). */
const promptedPassphrases = new Map<string, Promise<string | undefined>>()

/**
 * ssh-agent first (IdentityAgent, else SSH_AUTH_SOCK; with IdentitiesOnly only the agent's keys that match
 * the listed identity files), then the identity files themselves (ssh -G's list: -i, IdentityFile, else
 * OpenSSH's defaults; missing ones are skipped, as ssh does). An IdentityFile may be just the `.pub` of a
 * key held in the agent.
 */
async function prepareAuth(hop: SshTarget, context: HopContext): Promise<PreparedAuth> {
  const {options} = context
  const env = options.env ?? process.env
  const methods: AnyAuthMethod[] = []
  const notes: string[] = []

  const agentSocket = hop.identityAgent === 'none' ? undefined : (hop.identityAgent ?? env.SSH_AUTH_SOCK)
  const agentUsable = Boolean(agentSocket && existsSync(agentSocket))
  if (agentSocket && agentUsable) {
    if (!hop.identitiesOnly) methods.push({type: 'agent', username: hop.user, agent: agentSocket})
    else {
      const allowed = hop.identityFiles.map(publicKeyOf).filter((blob): blob is Buffer => blob !== undefined)
      if (allowed.length > 0) methods.push({type: 'agent', username: hop.user, agent: new ListedKeysAgent(agentSocket, allowed)})
      else notes.push('IdentitiesOnly is set and no identity file has a readable public key: the agent was not used')
    }
  } else if (agentSocket) notes.push(`the agent socket ${agentSocket} does not exist`)

  const missing: string[] = []
  for (const file of hop.identityFiles) {
    if (!isFile(file)) {
      missing.push(file)
      continue
    }
    const key = await loadPrivateKey(file, {env, agentUsable, options, notes})
    if (key) methods.push({type: 'publickey', username: hop.user, key})
  }
  if (missing.length > 0) notes.push(`identity files not found: ${missing.join(', ')}`)

  if (methods.length === 0) {
    throw authError(hop, context, notes.length > 0 ? notes : ['no ssh-agent (SSH_AUTH_SOCK) and no identity file'])
  }
  return {methods, notes}
}

/** The public key blob of an identity file: its `.pub`, else the file itself (a public or unencrypted key). */
function publicKeyOf(file: string): Buffer | undefined {
  for (const candidate of [`${file}.pub`, file]) {
    let data: Buffer
    try {
      data = readFileSync(candidate)
    } catch {
      continue
    }
    const parsed = firstKey(ssh2Utils.parseKey(data))
    if (!(parsed instanceof Error)) return parsed.getPublicSSH()
  }
  return undefined
}

/** The agent, offering only the listed keys (IdentitiesOnly), in the order of the identity files. */
class ListedKeysAgent extends OpenSSHAgent {
  constructor(
    socketPath: string,
    private readonly allowed: Buffer[],
  ) {
    super(socketPath)
  }

  override getIdentities(callback: Parameters<InstanceType<typeof OpenSSHAgent>['getIdentities']>[0]): void {
    super.getIdentities((error, keys) => {
      if (error || !keys) return callback(error, keys)
      // The agent of ssh2 1.17 returns ParsedKeys (the typings also allow a wrapper).
      const blobOf = (key: (typeof keys)[number]) => ('getPublicSSH' in key ? key.getPublicSSH() : undefined)
      const listed = this.allowed.flatMap((blob) => keys.filter((key) => blobOf(key)?.equals(blob)))
      callback(undefined, listed)
    })
  }
}

/**
 * Identity files already parsed (decrypted), by path, content and passphrase: one parse — for an
 * encrypted key one bcrypt — and one KeyObject (see signing-key.ts) per key for the whole run, not one
 * per connection. Which key is used, and whether a passphrase is asked for, is decided anew each time.
 */
const loadedKeys = new Map<string, ParsedKey>()

async function loadPrivateKey(
  file: string,
  context: {env: NodeJS.ProcessEnv; agentUsable: boolean; options: ConnectOptions; notes: string[]},
): Promise<ParsedKey | undefined> {
  const {env, agentUsable, options, notes} = context
  let data: Buffer
  try {
    data = readFileSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    notes.push(code === 'ENOENT' ? `identity file ${file} does not exist` : `cannot read identity file ${file} (${code})`)
    return undefined
  }
  const plain = parsedOnce(file, data)
  // A `.pub` named as IdentityFile only selects the agent's key.
  if (!(plain instanceof Error)) return plain.isPrivateKey() ? plain : undefined
  if (!isEncryptedKeyError(plain)) {
    notes.push(`${file} is not a private key ssh2 can use (${plain.message})`)
    return undefined
  }

  // Encrypted key: the env var, else (interactive only) a prompt. With an agent running, the key is
  // most likely loaded there already: skip it rather than prompt on every run.
  let passphrase = env[PASSPHRASE_ENV]
  let source = PASSPHRASE_ENV
  if (passphrase === undefined) {
    if (agentUsable) {
      notes.push(`${file} is encrypted and was skipped because ssh-agent is running: add it with \`ssh-add ${file}\``)
      return undefined
    }
    const interactive = options.stdinIsTTY ?? Boolean(process.stdin.isTTY)
    if (!interactive || !options.promptPassphrase) {
      notes.push(`${file} is encrypted and no passphrase is available: set ${PASSPHRASE_ENV}, or load it with \`ssh-add ${file}\``)
      return undefined
    }
    let pending = promptedPassphrases.get(file)
    if (!pending) {
      pending = options.promptPassphrase(file)
      promptedPassphrases.set(file, pending)
    }
    passphrase = await pending
    source = 'the passphrase typed'
    if (passphrase === undefined) {
      notes.push(`${file} is encrypted and no passphrase was given`)
      return undefined
    }
  }
  const decrypted = parsedOnce(file, data, passphrase)
  if (decrypted instanceof Error) {
    if (source !== PASSPHRASE_ENV) promptedPassphrases.delete(file) // let the next connection ask again
    notes.push(`${source} does not decrypt ${file}`)
    return undefined
  }
  return decrypted
}

/** ssh2's parse of an identity file (decrypted with `passphrase`), from loadedKeys when this run has one. */
function parsedOnce(file: string, data: Buffer, passphrase?: string): ParsedKey | Error {
  const cacheKey = JSON.stringify([file, data.toString('base64'), passphrase ?? null])
  const loaded = loadedKeys.get(cacheKey)
  if (loaded) return loaded
  const parsed = firstKey(ssh2Utils.parseKey(data, passphrase))
  if (parsed instanceof Error) return parsed
  const key = parsed.isPrivateKey() ? withKeyObjectSigning(parsed) : parsed
  loadedKeys.set(cacheKey, key)
  return key
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  // OpenSSH's format may hold several keys; ssh2 returns an array then (only one is ever stored).
  return Array.isArray(parsed) ? parsed[0]! : parsed
}

function isEncryptedKeyError(error: Error): boolean {
  return /encrypted/i.test(error.message) && /passphrase/i.test(error.message)
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** A connection through a ProxyCommand failed: what the command said explains it best. */
function proxyError(hop: SshTarget, context: HopContext, proxy: ProxyProcess, classified: SshError): SshError {
  const status = proxy.exitStatus()
  const said = proxy.stderrTail()
  const detail = `${status ? ` (it ended: ${status})` : ''}${said.length > 0 ? `; it said: ${said.join(' / ')}` : ''}`
  return new SshError(classified.kind, context.node, `${classified.message.replace(/^[^:]+: /, '')} through ProxyCommand \`${hop.proxyCommand}\`${detail}`, {
    cause: classified,
    hint: `run the ProxyCommand by hand to see it connect (\`ssh -G ${hop.alias}\` shows it), or \`ssh ${hop.alias} true\``,
  })
}

function authError(hop: SshTarget, context: HopContext, notes: string[], cause?: unknown): SshError {
  const where = context.via ? `${context.via} (${hop.user}@${hop.host}:${hop.port})` : `${hop.user}@${hop.host}:${hop.port}`
  const keys = `${hop.identitiesOnly ? 'only ' : ''}${hop.identityFiles.length > 0 ? hop.identityFiles.join(', ') : 'no identity file'}${hop.identityAgent === 'none' ? '' : ' and ssh-agent'}`
  const detail = notes.length > 0 ? `; ${notes.join('; ')}` : ''
  return new SshError('auth', context.node, `authentication failed for ${where} (tried ${keys})${detail}`, {
    cause,
    hint:
      `check the login user ([ssh] user / ssh_user, else the ssh config's User: ${hop.user}) and that the key is in ~${hop.user}/.ssh/authorized_keys; ` +
      `try \`ssh ${hop.alias} true\` (\`ssh -G ${hop.alias}\` shows what ssh uses)`,
  })
}
