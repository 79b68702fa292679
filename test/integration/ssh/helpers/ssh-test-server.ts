/**
 * An in-process SSH server on 127.0.0.1 for tests. It accepts public-key auth for configured users,
 * runs ONLY the fixed wgfleet command line (`[sudo -n ]env -u ... bash --norc --noprofile -s -- 'ARG'...`)
 * with a local bash as the login shell (`bash -c LINE`, in an optional fake login environment),
 * simulates `sudo -n` (a password-needing user gets sudo's refusal), and — as a jump host — forwards
 * direct-tcpip to 127.0.0.1 only. Nothing here touches any other address.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {type AddressInfo, type Server as NetServer, type Socket, createServer, connect as netConnect} from 'node:net'
import ssh2 from 'ssh2'
import type {Connection, ParsedKey} from 'ssh2'
import {usableKeyPair} from '../../../helpers/keys.js'

const {Server, utils} = ssh2

/**
 * The fixed command line, nothing else: a clean environment, then bash; each argument single-quoted with
 * `'\''` escapes. Group 1: what `sudo -n` runs; group 2: the line without sudo.
 */
const ALLOWED_COMMAND =
  /^(?:sudo -n (env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV WGFLEET_SSH_CONNECTION="\$SSH_CONNECTION" bash --norc --noprofile -s --(?: '(?:[^']|'\\'')*')*)|(env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV bash --norc --noprofile -s --(?: '(?:[^']|'\\'')*')*))$/

export interface TestUser {
  /** OpenSSH public key line allowed to log in as this user. */
  publicKey: string
  /** How `sudo -n` behaves for this user (root never goes through sudo). */
  sudo?: 'nopasswd' | 'password'
}

export interface TestServerOptions {
  users: Record<string, TestUser>
  /** OpenSSH private host key; a fresh ed25519 key when absent. */
  hostKey?: string
  /** More host keys the server also offers (e.g. an ECDSA key next to the ed25519 one). */
  extraHostKeys?: string[]
  /** Act as a jump host (forward direct-tcpip to 127.0.0.1 only). */
  allowForwarding?: boolean
  /** More environment for the login shell that runs each command (e.g. SHELLOPTS=xtrace from a root .bashrc). */
  loginEnv?: Record<string, string>
  /** End the connection when a client tries to authenticate: the client never reaches `ready`. */
  closeOnAuthentication?: boolean
  /** Like sshd's MaxAuthTries (default 6 there): the connection ends after this many rejected keys. */
  maxAuthTries?: number
}

export interface TestServer {
  port: number
  /** Public host key blob (what known_hosts stores, base64-decoded). */
  hostKeyBlob: Buffer
  /** `NAME TYPE BASE64` for known_hosts; NAME defaults to `[127.0.0.1]:PORT`. */
  knownHostsLine(name?: string): string
  /** Every exec command line received, in order. */
  commands: string[]
  /** Every forward requested through this server (as a jump). */
  forwards: Array<{host: string; port: number}>
  /** Users that authenticated, in order. */
  logins: string[]
  /** Every public key offered (base64 blob), in order, whether or not it was accepted. */
  offeredKeys: string[]
  /** Connections accepted (a client that never got this far never reached the server). */
  connectionCount(): number
  /** Drop every client connection (the server keeps listening). */
  dropConnections(): void
  close(): Promise<void>
}

export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const hostKey = options.hostKey ?? usableKeyPair('ed25519').private
  const hostKeyParsed = utils.parseKey(hostKey) as ParsedKey
  const hostKeyBlob = hostKeyParsed.getPublicSSH()
  const allowedKeys = new Map<string, ParsedKey>()
  for (const [name, user] of Object.entries(options.users)) {
    allowedKeys.set(name, utils.parseKey(user.publicKey) as ParsedKey)
  }
  const commands: string[] = []
  const forwards: Array<{host: string; port: number}> = []
  const logins: string[] = []
  const offeredKeys: string[] = []
  let connectionTotal = 0
  const connections = new Set<Connection>()
  const children = new Set<ChildProcess>()
  const sockets = new Set<Socket>()

  const server = new Server({hostKeys: [hostKey, ...(options.extraHostKeys ?? [])]}, (client) => {
    connections.add(client)
    connectionTotal++
    client.on('close', () => connections.delete(client))
    client.on('error', () => {})
    let username = ''
    let rejected = 0
    const reject = (ctx: {reject: (methods?: Array<'publickey'>) => void}) => {
      if (options.maxAuthTries !== undefined && ++rejected >= options.maxAuthTries) return void client.end()
      ctx.reject(['publickey'])
    }

    client.on('authentication', (ctx) => {
      if (options.closeOnAuthentication) return void client.end()
      const allowed = allowedKeys.get(ctx.username)
      // A key is offered once, then (when the server says it would do) signed with: count it once.
      if (ctx.method === 'publickey' && (!ctx.signature || offeredKeys.at(-1) !== ctx.key.data.toString('base64'))) offeredKeys.push(ctx.key.data.toString('base64'))
      if (ctx.method !== 'publickey' || !allowed) return ctx.method === 'none' ? ctx.reject(['publickey']) : reject(ctx)
      if (!ctx.key.data.equals(allowed.getPublicSSH())) return reject(ctx)
      if (ctx.signature && ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
        return ctx.reject(['publickey'])
      }
      username = ctx.username
      ctx.accept()
    })
    client.on('ready', () => logins.push(username))

    client.on('tcpip', (accept, reject, info) => {
      if (!options.allowForwarding || info.destIP !== '127.0.0.1') return reject()
      forwards.push({host: info.destIP, port: info.destPort})
      const socket = netConnect(info.destPort, '127.0.0.1')
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.once('error', () => reject())
      socket.once('connect', () => {
        const channel = accept()
        socket.removeAllListeners('error')
        socket.on('error', () => channel.destroy())
        channel.on('error', () => socket.destroy())
        channel.pipe(socket).pipe(channel)
      })
    })

    client.on('session', (acceptSession) => {
      const session = acceptSession()
      let child: ChildProcess | undefined
      session.on('signal', (_accept, _reject, info) => {
        if (child) killGroup(child, `SIG${info.name}` as NodeJS.Signals)
      })
      session.on('exec', (acceptExec, rejectExec, info) => {
        const match = ALLOWED_COMMAND.exec(info.command)
        if (!match) return rejectExec()
        const channel = acceptExec()
        commands.push(info.command)
        const viaSudo = match[1] !== undefined
        const line = match[1] ?? match[2]!
        if (viaSudo && options.users[username]?.sudo === 'password') {
          channel.resume() // drain stdin
          channel.stderr.write('sudo: a password is required\n')
          channel.exit(1)
          channel.end()
          return
        }
        // Own process group, so that killing it also ends what the script started (e.g. `sleep`).
        child = spawn('bash', ['-c', line], {stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: {...process.env, ...options.loginEnv}})
        const running = child
        children.add(running)
        running.stdin!.on('error', () => {})
        channel.pipe(running.stdin!)
        running.stdout!.pipe(channel, {end: false})
        running.stderr!.pipe(channel.stderr, {end: false})
        running.on('close', (code, signal) => {
          children.delete(running)
          try {
            if (code !== null) channel.exit(code)
            else channel.exit((signal ?? 'KILL').replace(/^SIG/, ''), false, '')
            channel.end()
          } catch {}
        })
        // A client that closes the channel early (over the output cap) must not make the child's last
        // buffered bytes write into the ended channel ("write after end", an uncaught error in the run).
        channel.on('error', () => {})
        channel.stderr.on('error', () => {})
        channel.on('close', () => {
          running.stdout!.unpipe(channel)
          running.stderr!.unpipe(channel.stderr)
          killGroup(running, 'SIGKILL')
        })
      })
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port

  return {
    port,
    hostKeyBlob,
    knownHostsLine: (name = `[127.0.0.1]:${port}`) => `${name} ${hostKeyParsed.type} ${hostKeyBlob.toString('base64')}`,
    commands,
    forwards,
    logins,
    offeredKeys,
    connectionCount: () => connectionTotal,
    dropConnections: () => {
      for (const connection of connections) connection.end()
    },
    close: async () => {
      for (const child of children) killGroup(child, 'SIGKILL')
      for (const socket of sockets) socket.destroy()
      for (const connection of connections) connection.end()
      await closeBounded(server)
    },
  }
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word (for connect timeouts). */
export async function startSilentServer(): Promise<{port: number; close: () => Promise<void>}> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await closeBounded(server)
    },
  }
}

/**
 * A link to 127.0.0.1:PORT that can be cut: after cut() nothing crosses it either way, and nothing is
 * closed from this side (a cable pulled, not a host that resets). The kernel still acknowledges what
 * the client sends, so the client's FIN is acknowledged and never answered.
 */
export interface CuttableLink {
  port: number
  cut(): void
  /**
   * Send one byte to the client past the cut. A client that closed its socket answers with a reset, and
   * the next write here meets it (the connection then ends here); one that only half-closed it takes the
   * bytes, and stays (a few zero bytes are no SSH packet, so ssh2 does nothing with them).
   */
  poke(): void
  /** The client's side of each connection that is still open here (it ends when the client destroys it). */
  openConnections(): number
  close(): Promise<void>
}

export async function startCuttableLink(targetPort: number): Promise<CuttableLink> {
  let isCut = false
  const inbound = new Set<Socket>()
  const outbound = new Set<Socket>()
  const server = createServer({allowHalfOpen: true}, (socket) => {
    inbound.add(socket)
    const upstream = netConnect(targetPort, '127.0.0.1')
    outbound.add(upstream)
    socket.on('error', () => {})
    upstream.on('error', () => {})
    socket.on('close', () => {
      inbound.delete(socket)
      if (!isCut) upstream.destroy()
    })
    upstream.on('close', () => {
      outbound.delete(upstream)
      if (!isCut) socket.destroy()
    })
    // Read on both sides always (so the FIN and a reset are seen), forward only while the link is up.
    socket.on('data', (chunk) => {
      if (!isCut) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!isCut) socket.write(chunk)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      isCut = true
    },
    poke: () => {
      for (const socket of inbound) socket.write(Buffer.from([0]))
    },
    openConnections: () => inbound.size,
    close: async () => {
      for (const socket of [...inbound, ...outbound]) socket.destroy()
      await closeBounded(server)
    },
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  await closeBounded(server)
  return port
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

function closeBounded(server: NetServer | InstanceType<typeof Server>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}
