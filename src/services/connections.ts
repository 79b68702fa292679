/**
 * From command flags to a ShellPool: how every command that connects opens its RemoteShells. The SSH
 * module (and with it ssh2) is imported here, lazily, so `--help` and `plan` never load it. Tests
 * replace it through FleetDependencies (scripted shells, an in-process ssh2 server, a fixed clock).
 */
import type {Fleet, NodeSpec, SshTransport} from '../inventory/model.js'
import {escapeInvisible} from '../lib/errors.js'
import type {lockInventory} from '../lib/lock.js'
import type {HostKeyDetails} from '../ssh/errors.js'
import type {RemoteShell} from '../tasks/remote-shell.js'

export interface ConnectionSettings {
  /** --connect-timeout when given; unset = the ssh config's ConnectTimeout, else 10 s. */
  connectTimeoutSeconds?: number
  knownHosts?: string
  acceptNewHostKeys: boolean
  /** --transport: every node over this transport (else each node's `transport`, else ssh2). */
  transport?: SshTransport
}

/** How a node's RemoteShell is opened (the SSH pool in production, scripted shells in tests). */
export type ShellFactory = (node: NodeSpec) => Promise<RemoteShell>

export interface ShellPool {
  open: ShellFactory
  closeAll(): Promise<void>
}

/** What every service that connects can be given instead of the real thing. */
export interface FleetDependencies {
  /** Replaces the SSH connections. */
  openShell?: ShellFactory
  /** Operator's clock in ms; only stamps reports and durations, never handshake ages. */
  clock?: () => number
  /** Takes the inventory's lock (changing commands); replaced in tests to act at that moment. */
  lock?: typeof lockInventory
}

/** The pool a service uses: the injected shell factory, else SSH connections made from the flags. */
export function shellPoolFor(fleet: Fleet, settings: ConnectionSettings, deps: FleetDependencies): ShellPool {
  return deps.openShell ? {open: deps.openShell, closeAll: async () => undefined} : makeShellFactory(fleet, settings)
}

export function makeShellFactory(fleet: Fleet, settings: ConnectionSettings): ShellPool {
  const open = new Set<RemoteShell>()
  // The openssh transport's ControlMaster sockets: one private directory for the run, removed by closeAll.
  let controlDirectory: import('../ssh/index.js').ControlDirectory | undefined
  let warned = false
  return {
    async open(node) {
      const ssh = await import('../ssh/index.js')
      controlDirectory ??= new ssh.ControlDirectory()
      const opening = ssh.openShell(fleet, node, {
        connectTimeoutMs: settings.connectTimeoutSeconds === undefined ? undefined : settings.connectTimeoutSeconds * 1000,
        knownHostsFlag: settings.knownHosts,
        acceptNewHostKeys: settings.acceptNewHostKeys,
        transport: settings.transport,
        controlDirectory,
        promptPassphrase: promptHidden,
        onHostKeyAdded: (details) => {
          process.stderr.write(`${node.name}: recorded new host key ${describe(details)}\n`)
        },
        // What a ProxyCommand (or the openssh transport's ssh) prints is the node's log: untrusted, escaped.
        onSshLog: (line) => process.stderr.write(`${node.name}: ssh: ${escapeInvisible(line)}\n`),
        onWarning: (message) => process.stderr.write(`warning: ${escapeInvisible(message)}\n`),
      })
      // Without OpenSSH, the fallback parser says once what it could not evaluate.
      const shell = await opening.finally(() => {
        if (warned) return
        warned = true
        for (const warning of ssh.defaultConfigEvaluator().warnings()) process.stderr.write(`warning: ssh config: ${escapeInvisible(warning)}\n`)
      })
      open.add(shell)
      const close = shell.close.bind(shell)
      shell.close = async () => {
        open.delete(shell)
        await close()
      }
      return shell
    },
    async closeAll() {
      await Promise.all([...open].map((s) => s.close().catch(() => undefined)))
      controlDirectory?.remove()
    },
  }
}

function describe(details: HostKeyDetails): string {
  return `${details.hostKeyAlias} ${details.keyType} ${details.fingerprint} in ${details.knownHostsFile}`
}

/** Ask for a key's passphrase on the terminal without echoing it (only called when stdin is a TTY). */
async function promptHidden(keyFile: string): Promise<string | undefined> {
  const {createInterface} = await import('node:readline')
  const {Writable} = await import('node:stream')
  let muted = false
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk)
      callback()
    },
  })
  const rl = createInterface({input: process.stdin, output, terminal: true})
  try {
    return await new Promise<string>((resolve) => {
      rl.question(`Passphrase for ${keyFile}: `, (answer) => {
        process.stderr.write('\n')
        resolve(answer)
      })
      muted = true
    })
  } finally {
    rl.close()
  }
}
