/**
 * src/ssh against in-process ssh2 servers on 127.0.0.1 (and nothing else).
 */
import {execFileSync, spawn} from 'node:child_process'
import {createHmac, randomBytes} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import ssh2 from 'ssh2'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {Fleet, NodeSpec} from '../../../src/inventory/model.js'
import {
  HostKeyChangedError,
  HostKeyUnknownError,
  MAX_STDERR_BYTES,
  MAX_STDOUT_BYTES,
  type OpenShellOptions,
  OutputLimitError,
  SshError,
  type SshRemoteShell,
  TranscriptRefusedError,
  checkHostKeyForName,
  createConfigEvaluator,
  fingerprintSha256,
  openShell,
  readKnownHosts,
} from '../../../src/ssh/index.js'
import {closedPort, startCuttableLink, startSilentServer, startTestServer, type TestServer} from './helpers/ssh-test-server.js'
import {usableKeyPair} from '../../helpers/keys.js'

const workDir = mkdtempSync(join(tmpdir(), 'wgfleet-ssh-it-'))
const clientKey = usableKeyPair('ed25519', {comment: 'wgfleet-test'})
const clientKeyFile = join(workDir, 'id_test')
writeFileSync(clientKeyFile, clientKey.private, {mode: 0o600})
const strangerKeyFile = join(workDir, 'id_stranger')
writeFileSync(strangerKeyFile, usableKeyPair('ed25519').private, {mode: 0o600})
const encryptedKey = usableKeyPair('ed25519', {passphrase: 'correct horse', cipher: 'aes256-ctr', rounds: 4})
const encryptedKeyFile = join(workDir, 'id_encrypted')
writeFileSync(encryptedKeyFile, encryptedKey.private, {mode: 0o600})

/** The fixed command line without and through sudo (the test server accepts nothing else). */
const PLAIN = 'env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV bash --norc --noprofile -s --'
const SUDO = 'sudo -n env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV WGFLEET_SSH_CONNECTION="$SSH_CONNECTION" bash --norc --noprofile -s --'

const users = {
  root: {publicKey: clientKey.public},
  deploy: {publicKey: clientKey.public, sudo: 'password' as const},
  ops: {publicKey: clientKey.public, sudo: 'nopasswd' as const},
  crypt: {publicKey: encryptedKey.public},
}

let target: TestServer
let jump: TestServer
let counter = 0

beforeAll(async () => {
  target = await startTestServer({users})
  jump = await startTestServer({users, allowForwarding: true})
})
afterAll(async () => {
  await target?.close()
  await jump?.close()
  rmSync(workDir, {recursive: true, force: true})
})

const openShells: SshRemoteShell[] = []
afterEach(async () => {
  await Promise.all(openShells.splice(0).map((shell) => shell.close()))
})

/** A fresh known_hosts path (optionally with content) per test. */
function knownHosts(...lines: string[]): string {
  const file = join(workDir, `known_hosts_${++counter}`)
  if (lines.length > 0) writeFileSync(file, lines.join('\n') + '\n')
  return file
}

function node(name: string, port: number, ssh: Partial<NodeSpec['ssh']> = {}, extra: Partial<NodeSpec> = {}): NodeSpec {
  return {
    name,
    line: 1,
    host: '127.0.0.1',
    address: '10.0.0.1',
    port: 51820,
    nat: false,
    relay: false,
    ssh: {user: 'root', port, identity: clientKeyFile, ...ssh},
    ...extra,
  }
}

function fleet(nodes: NodeSpec[], knownHostsFile: string): Fleet {
  return {
    file: join(workDir, 'inventory.ini'),
    dir: workDir,
    network: {cidr: '10.0.0.0/24', prefixLength: 24, port: 51820, keepalive: 25, interface: 'wg0', topology: 'mesh'},
    ssh: {user: 'root', port: 22, knownHosts: knownHostsFile},
    // As the parser does: [ssh] values apply to every node that does not set its own.
    nodes: nodes.map((n) => ({...n, ssh: {knownHosts: knownHostsFile, ...n.ssh}})),
  }
}

/**
 * Never the real ~/.ssh, ssh-agent or ssh config; no TTY. OpenSSH evaluates an empty config (`ssh -F
 * /dev/null -G`: its defaults), and `~` in what it prints is the test's home.
 */
const isolated = (extra: OpenShellOptions & {homeDir?: string; configFile?: string} = {}): OpenShellOptions => {
  const {homeDir = workDir, configFile = '/dev/null', ...rest} = extra
  return {
    env: {},
    stdinIsTTY: false,
    connectTimeoutMs: 5_000,
    evaluator: createConfigEvaluator({sshCommand: ['ssh', '-F', configFile], local: {user: 'tester', homeDir, uid: 0, hostname: 'operator'}}),
    ...rest,
  }
}

async function open(f: Fleet, n: NodeSpec, options: OpenShellOptions & {homeDir?: string; configFile?: string} = {}): Promise<SshRemoteShell> {
  const shell = await openShell(f, f.nodes.find((candidate) => candidate.name === n.name) ?? n, isolated(options))
  openShells.push(shell)
  return shell
}

/** The rejection of a promise (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<SshError> {
  const result = await promise.then(
    (value) => ({ok: true as const, value}),
    (error: unknown) => ({ok: false as const, error}),
  )
  if (result.ok) {
    if (result.value && typeof (result.value as SshRemoteShell).close === 'function') {
      await (result.value as SshRemoteShell).close()
    }
    throw new Error('expected a rejection')
  }
  expect(result.error).toBeInstanceOf(SshError)
  return result.error as SshError
}

function hashedName(name: string): string {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

describe('host key verification', () => {
  it('accepts a known [127.0.0.1]:PORT key, runs the fixed command line and propagates exit codes', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    const result = await shell.run('echo "out:$1:$2"; echo err >&2; exit 3', ['a b', `it's`])
    expect(result).toEqual({code: 3, stdout: `out:a b:it's\n`, stderr: 'err\n'})
    expect(target.commands.at(-1)).toBe(`${PLAIN} 'a b' 'it'\\''s'`)
    expect((await shell.run('true')).code).toBe(0)
  })

  it('accepts a hashed entry', async () => {
    const n = node('node-a', target.port)
    const file = knownHosts(target.knownHostsLine(hashedName(`[127.0.0.1]:${target.port}`)))
    const shell = await open(fleet([n], file), n)
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
  })

  it('asks for the key type on record first, as OpenSSH does (server offers ed25519 and ECDSA)', async () => {
    const ecdsa = usableKeyPair('ecdsa', {bits: 256})
    const multi = await startTestServer({users, extraHostKeys: [ecdsa.private]})
    try {
      const ecdsaBlob = (ssh2.utils.parseKey(ecdsa.public) as ssh2.ParsedKey).getPublicSSH()
      const file = knownHosts(`[127.0.0.1]:${multi.port} ecdsa-sha2-nistp256 ${ecdsaBlob.toString('base64')}`)
      const n = node('node-a', multi.port)
      const shell = await open(fleet([n], file), n)
      expect((await shell.run('echo ok')).stdout).toBe('ok\n')
      // With nothing on record, ssh2's default order picks ed25519: that key is what gets appended.
      const fresh = knownHosts()
      const other = await open(fleet([n], fresh), n, {acceptNewHostKeys: true})
      expect((await other.run('echo ok')).stdout).toBe('ok\n')
      expect(readFileSync(fresh, 'utf8')).toBe(multi.knownHostsLine() + '\n')
    } finally {
      await Promise.all(openShells.splice(0).map((shell) => shell.close()))
      await multi.close()
    }
  })

  it('refuses an unknown key with its fingerprint and the ssh-keyscan hint, writing nothing', async () => {
    const n = node('node-a', target.port)
    const file = knownHosts(target.knownHostsLine('127.0.0.1')) // port 22 form: not this port
    const error = await rejection(open(fleet([n], file), n))
    expect(error).toBeInstanceOf(HostKeyUnknownError)
    expect(error.kind).toBe('host-key-unknown')
    expect(error.message).toContain(fingerprintSha256(target.hostKeyBlob))
    expect(error.message).toMatch(/^node-a: unknown host key for \[127\.0\.0\.1\]:\d+/)
    expect(error.hint).toBe(
      `add it with \`ssh-keyscan -p ${target.port} 127.0.0.1 >> ${file}\` after checking the fingerprint, ` +
        'or rerun with --accept-new-host-keys',
    )
    expect(readFileSync(file, 'utf8')).toBe(target.knownHostsLine('127.0.0.1') + '\n')
  })

  it('with --accept-new-host-keys appends the key, creating the file, and then knows it', async () => {
    const n = node('node-a', target.port)
    const file = join(workDir, `fresh-${++counter}`, 'known_hosts')
    const added: string[] = []
    const shell = await open(fleet([n], file), n, {acceptNewHostKeys: true, onHostKeyAdded: (d) => added.push(d.hostKeyAlias)})
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
    expect(readFileSync(file, 'utf8')).toBe(target.knownHostsLine() + '\n')
    expect(added).toEqual([`[127.0.0.1]:${target.port}`])
    await shell.close()
    const again = await open(fleet([n], file), n)
    expect((await again.run('echo again')).stdout).toBe('again\n')
    expect(readFileSync(file, 'utf8')).toBe(target.knownHostsLine() + '\n')
  })

  it('refuses a changed key loudly, even with --accept-new-host-keys, and leaves the file alone', async () => {
    const n = node('node-a', target.port)
    const otherKey = ssh2.utils.parseKey(usableKeyPair('ed25519').public) as ssh2.ParsedKey
    const line = `[127.0.0.1]:${target.port} ssh-ed25519 ${otherKey.getPublicSSH().toString('base64')}`
    const file = knownHosts('# mine', line)
    const error = await rejection(open(fleet([n], file), n, {acceptNewHostKeys: true}))
    expect(error).toBeInstanceOf(HostKeyChangedError)
    expect(error.kind).toBe('host-key-changed')
    expect(error.message).toContain('HOST KEY CHANGED')
    expect(error.message).toContain(fingerprintSha256(target.hostKeyBlob))
    expect(error.message).toContain('line 2')
    expect(readFileSync(file, 'utf8')).toBe(`# mine\n${line}\n`)
  })

  it('refuses a revoked key', async () => {
    const n = node('node-a', target.port)
    const file = knownHosts(`@revoked ${target.knownHostsLine('*')}`, target.knownHostsLine())
    const error = await rejection(open(fleet([n], file), n, {acceptNewHostKeys: true}))
    expect(error).toBeInstanceOf(HostKeyChangedError)
    expect((error as HostKeyChangedError).revoked).toBe(true)
  })
})

describe('--accept-new-host-keys records a key only once the server proved it holds it', () => {
  it('records nothing when authentication fails', async () => {
    const n = node('node-a', target.port, {identity: strangerKeyFile})
    const file = knownHosts()
    const added: string[] = []
    const error = await rejection(open(fleet([n], file), n, {acceptNewHostKeys: true, onHostKeyAdded: (d) => added.push(d.fingerprint)}))
    expect(error.kind).toBe('auth')
    expect(existsSync(file)).toBe(false)
    expect(added).toEqual([])
  })

  it('records nothing when the server ends the connection before it is ready', async () => {
    const closing = await startTestServer({users, closeOnAuthentication: true})
    try {
      const n = node('node-a', closing.port)
      const file = knownHosts('# mine')
      const error = await rejection(open(fleet([n], file), n, {acceptNewHostKeys: true}))
      expect(error.kind).not.toBe('host-key-unknown')
      expect(readFileSync(file, 'utf8')).toBe('# mine\n')
    } finally {
      await closing.close()
    }
  })

  it('records one line when two connections of one run meet the same new host', async () => {
    const n = node('node-a', target.port)
    const file = knownHosts()
    const shells = await Promise.all([open(fleet([n], file), n, {acceptNewHostKeys: true}), open(fleet([n], file), n, {acceptNewHostKeys: true})])
    expect(shells).toHaveLength(2)
    expect(readFileSync(file, 'utf8')).toBe(target.knownHostsLine() + '\n')
  })

  it('hashes the line in a file that already hashes its names, and the reader matches it', async () => {
    const n = node('node-a', target.port)
    const other = `${hashedName('other.example')} ${target.knownHostsLine('x').split(' ').slice(1).join(' ')}`
    const file = knownHosts(other)
    await open(fleet([n], file), n, {acceptNewHostKeys: true})
    const lines = readFileSync(file, 'utf8').split('\n')
    expect(lines).toHaveLength(3) // other, the new line, ''
    expect(lines[1]).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /)
    expect(lines[1]).not.toContain('127.0.0.1')
    expect(checkHostKeyForName(readKnownHosts(file), `[127.0.0.1]:${target.port}`, 'ssh-ed25519', target.hostKeyBlob)).toBe('match')
    const again = await open(fleet([n], file), n)
    expect((await again.run('echo known')).stdout).toBe('known\n')
  })

  it('hashes the line when ssh config says HashKnownHosts yes', async () => {
    const n = node('node-a', target.port)
    const file = knownHosts()
    const configFile = join(workDir, `config_${++counter}`)
    writeFileSync(configFile, 'Host 127.0.0.1\n  HashKnownHosts yes\n')
    await open(fleet([n], file), n, {acceptNewHostKeys: true, configFile})
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^\|1\|\S+ ssh-ed25519 \S+\n$/)
    expect(checkHostKeyForName(readKnownHosts(file), `[127.0.0.1]:${target.port}`, 'ssh-ed25519', target.hostKeyBlob)).toBe('match')
  })
})

describe('jump hosts', () => {
  const jumpNode = () => node('node-a', jump.port)
  const behind = () => node('node-c', target.port, {user: 'ops'}, {jump: {kind: 'node', node: 'node-a'}})

  it('reaches a node through a jump node, verifying each hop under its own name', async () => {
    const file = knownHosts(jump.knownHostsLine(), target.knownHostsLine())
    const before = target.logins.length
    const shell = await open(fleet([jumpNode(), behind()], file), behind())
    expect((await shell.run('echo "through:$1"', ['x'])).stdout).toBe('through:x\n')
    expect(jump.forwards.at(-1)).toEqual({host: '127.0.0.1', port: target.port})
    expect(target.logins.slice(before)).toEqual(['ops'])
    expect(target.commands.at(-1)).toBe(`${SUDO} 'x'`)
  })

  it('closes at once when the jump is already gone (nothing left to wait for)', async () => {
    const ownJump = await startTestServer({users, allowForwarding: true})
    try {
      const jumpAt = node('node-a', ownJump.port)
      const file = knownHosts(ownJump.knownHostsLine(), target.knownHostsLine())
      const shell = await openShell(fleet([jumpAt, behind()], file), fleet([jumpAt, behind()], file).nodes[1]!, isolated())
      expect((await shell.run('true')).code).toBe(0)
      ownJump.dropConnections()
      await new Promise((resolve) => setTimeout(resolve, 500)) // the jump's end reaches both clients
      const started = Date.now()
      await shell.close()
      // Not the 2 s a close waits for a goodbye from a live but silent server.
      expect(Date.now() - started).toBeLessThan(1_000)
    } finally {
      await ownJump.close()
    }
  })

  it('refuses when the target key is known only under the jump host name', async () => {
    const file = knownHosts(jump.knownHostsLine())
    const error = await rejection(open(fleet([jumpNode(), behind()], file), behind()))
    expect(error.kind).toBe('host-key-unknown')
    expect((error as HostKeyUnknownError).details.hostKeyAlias).toBe(`[127.0.0.1]:${target.port}`)
    expect(error.message).toMatch(/^node-c: /)
  })

  it('refuses an unknown jump host key, naming the jump', async () => {
    const file = knownHosts(target.knownHostsLine())
    const error = await rejection(open(fleet([jumpNode(), behind()], file), behind()))
    expect(error.kind).toBe('host-key-unknown')
    expect(error.message).toMatch(/^node-c: unknown host key for \[127\.0\.0\.1\]:\d+ \(jump node-a\)/)
    expect((error as HostKeyUnknownError).details.hostKeyAlias).toBe(`[127.0.0.1]:${jump.port}`)
  })

  it('refuses a jump presenting a key recorded for another host (the target key under the jump name)', async () => {
    const file = knownHosts(target.knownHostsLine(`[127.0.0.1]:${jump.port}`), target.knownHostsLine())
    const error = await rejection(open(fleet([jumpNode(), behind()], file), behind()))
    expect(error.kind).toBe('host-key-changed')
    expect(error.message).toContain('(jump node-a)')
  })

  it('with --accept-new-host-keys records both hops, each under its own name', async () => {
    const file = knownHosts()
    const shell = await open(fleet([jumpNode(), behind()], file), behind(), {acceptNewHostKeys: true})
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
    expect(readFileSync(file, 'utf8')).toBe(`${jump.knownHostsLine()}\n${target.knownHostsLine()}\n`)
  })

  it('reaches a node through an address jump', async () => {
    const file = knownHosts(jump.knownHostsLine(), target.knownHostsLine())
    const n = node('node-c', target.port, {}, {jump: {kind: 'address', user: 'root', host: '127.0.0.1', port: jump.port}})
    const f = {...fleet([n], file), ssh: {user: 'root', port: 22, identity: clientKeyFile, knownHosts: file}}
    const shell = await open(f, n)
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
  })

  it('reports a target the jump cannot reach as unreachable', async () => {
    const port = await closedPort()
    const file = knownHosts(jump.knownHostsLine())
    const n = node('node-c', port, {}, {jump: {kind: 'node', node: 'node-a'}})
    const error = await rejection(open(fleet([jumpNode(), n], file), n))
    expect(error.kind).toBe('unreachable')
    expect(error.message).toMatch(/^node-c: jump node-a could not connect to 127\.0\.0\.1:\d+/)
  })
})

describe('authentication', () => {
  it('classifies a key the server does not accept as auth, naming the node', async () => {
    const n = node('node-a', target.port, {identity: strangerKeyFile})
    const error = await rejection(open(fleet([n], knownHosts(target.knownHostsLine())), n))
    expect(error.kind).toBe('auth')
    expect(error.message).toMatch(/^node-a: authentication failed for root@127\.0\.0\.1:\d+/)
    expect(error.hint).toContain('authorized_keys')
  })

  it('reports a missing identity file as an auth error, without connecting', async () => {
    const n = node('node-a', target.port, {identity: join(workDir, 'no-such-key')})
    const error = await rejection(open(fleet([n], knownHosts(target.knownHostsLine())), n))
    expect(error.kind).toBe('auth')
    expect(error.message).toContain('identity files not found')
  })

  it('uses ~/.ssh/id_* when no identity is configured', async () => {
    const home = mkdtempSync(join(workDir, 'home-'))
    const sshDir = join(home, '.ssh')
    mkdirSync(sshDir, {mode: 0o700})
    writeFileSync(join(sshDir, 'id_ed25519'), clientKey.private, {mode: 0o600})
    const n = node('node-a', target.port, {identity: undefined})
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {homeDir: home})
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
  })

  it('turns an encrypted key without a passphrase into a clear auth error (no crash, no prompt off a TTY)', async () => {
    const n = node('node-a', target.port, {user: 'crypt', identity: encryptedKeyFile})
    let prompted = false
    const error = await rejection(
      open(fleet([n], knownHosts(target.knownHostsLine())), n, {
        promptPassphrase: async () => {
          prompted = true
          return 'correct horse'
        },
      }),
    )
    expect(error.kind).toBe('auth')
    expect(error.message).toContain('is encrypted')
    expect(error.message).toContain('WGFLEET_SSH_PASSPHRASE')
    expect(prompted).toBe(false)
  })

  it('decrypts an encrypted key with WGFLEET_SSH_PASSPHRASE', async () => {
    const n = node('node-a', target.port, {user: 'crypt', identity: encryptedKeyFile})
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {env: {WGFLEET_SSH_PASSPHRASE: 'correct horse'}})
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
  })

  it('says so when WGFLEET_SSH_PASSPHRASE is wrong', async () => {
    const n = node('node-a', target.port, {user: 'crypt', identity: encryptedKeyFile})
    const error = await rejection(open(fleet([n], knownHosts(target.knownHostsLine())), n, {env: {WGFLEET_SSH_PASSPHRASE: 'wrong'}}))
    expect(error.kind).toBe('auth')
    expect(error.message).toContain('does not decrypt')
  })

  it('authenticates through ssh-agent (SSH_AUTH_SOCK), and skips an encrypted key the agent may hold', async () => {
    const socket = join(workDir, `agent-${++counter}.sock`)
    const agent = spawn('ssh-agent', ['-D', '-a', socket], {stdio: 'ignore'})
    try {
      const deadline = Date.now() + 5_000
      while (!existsSync(socket)) {
        if (Date.now() > deadline) throw new Error('ssh-agent did not start')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      execFileSync('ssh-add', ['-q', clientKeyFile], {env: {SSH_AUTH_SOCK: socket}, stdio: 'ignore', timeout: 5_000})
      const emptyHome = mkdtempSync(join(workDir, 'home-'))
      const n = node('node-a', target.port, {identity: undefined})
      const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {env: {SSH_AUTH_SOCK: socket}, homeDir: emptyHome})
      expect((await shell.run('echo agent')).stdout).toBe('agent\n')
      // The agent does not hold the encrypted key: no prompt, a hint to ssh-add it.
      const crypt = node('node-a', target.port, {user: 'crypt', identity: encryptedKeyFile})
      const error = await rejection(
        open(fleet([crypt], knownHosts(target.knownHostsLine())), crypt, {env: {SSH_AUTH_SOCK: socket}, stdinIsTTY: true, promptPassphrase: async () => 'correct horse'}),
      )
      expect(error.kind).toBe('auth')
      expect(error.message).toContain(`ssh-add ${encryptedKeyFile}`)
    } finally {
      agent.kill('SIGTERM')
    }
  })

  it('asks the injected prompt when stdin is a TTY', async () => {
    const n = node('node-a', target.port, {user: 'crypt', identity: encryptedKeyFile})
    const asked: string[] = []
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {
      stdinIsTTY: true,
      promptPassphrase: async (file) => {
        asked.push(file)
        return 'correct horse'
      },
    })
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
    expect(asked).toEqual([encryptedKeyFile])
  })
})

describe('running steps', () => {
  it('sends the payload after the script, for cat', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    const payload = '[Interface]\nAddress = 10.0.0.1/24\necho NOT RUN\nno final newline'
    expect((await shell.run('data=$(cat); printf "%s" "$data"', [], {input: payload})).stdout).toBe(payload)
    // Larger than the SSH window: flow control must work both ways.
    const big = 'x'.repeat(3 * 1024 * 1024)
    const result = await shell.run('cat | wc -c', [], {input: big})
    expect(result.stdout.trim()).toBe(String(big.length))
  })

  it('refuses when sudo needs a password, and runs unprivileged steps without sudo', async () => {
    const n = node('node-b', target.port, {user: 'deploy'})
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    const error = await rejection(shell.run('id -u'))
    expect(error.kind).toBe('sudo-password')
    expect(error.message).toMatch(/^node-b: sudo needs a password for deploy/)
    expect(error.hint).toContain('NOPASSWD')
    expect(target.commands.at(-1)).toBe(SUDO)
    expect((await shell.run('echo plain', [], {privileged: false})).stdout).toBe('plain\n')
    expect(target.commands.at(-1)).toBe(PLAIN)
  })

  it('times a step out, stops it, and keeps the connection usable', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    const started = Date.now()
    const error = await rejection(shell.run('sleep 5', [], {timeoutMs: 300}))
    expect(error.kind).toBe('timeout')
    expect(error.message).toMatch(/^node-a: step timed out/)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect((await shell.run('echo still here')).stdout).toBe('still here\n')
  })

  it('reports death by signal as code -1', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    expect((await shell.run('kill -KILL $$')).code).toBe(-1)
  })

  it('reports a connection lost in the middle of a step as disconnected', async () => {
    const flaky = await startTestServer({users})
    try {
      const n = node('node-a', flaky.port)
      const shell = await open(fleet([n], knownHosts(flaky.knownHostsLine())), n)
      const running = shell.run('sleep 5', [], {timeoutMs: 10_000})
      await new Promise((resolve) => setTimeout(resolve, 300))
      flaky.dropConnections()
      const error = await rejection(running)
      expect(error.kind).toBe('disconnected')
      expect(error.message).toMatch(/^node-a: connection was lost/)
    } finally {
      await flaky.close()
    }
  })

  it('closes within seconds over a cut link: the socket is destroyed when the server never answers the disconnect', async () => {
    const link = await startCuttableLink(target.port)
    try {
      const f = fleet([node('node-a', link.port)], knownHosts(target.knownHostsLine(`[127.0.0.1]:${link.port}`)))
      const shell = await openShell(f, f.nodes[0]!, isolated())
      expect((await shell.run('true')).code).toBe(0)
      expect(link.openConnections()).toBe(1)
      link.cut()
      const started = Date.now()
      await shell.close()
      expect(Date.now() - started).toBeLessThan(5_000)
      // A half-closed socket would stay open for TCP's whole retry time, keeping the process alive; a
      // destroyed one answers a poke with a reset, which the next poke's write meets.
      for (let waited = 0; link.openConnections() > 0 && waited < 2_000; waited += 50) {
        link.poke()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(link.openConnections()).toBe(0)
    } finally {
      await link.close()
    }
  })

  it('writes a transcript of every byte each way', async () => {
    const transcript = join(workDir, `transcript-${++counter}.log`)
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {env: {WGFLEET_TRANSCRIPT: transcript}})
    await shell.run('cat; echo to-stderr >&2; exit 4', ['arg'], {input: 'PAYLOAD\n'})
    const text = readFileSync(transcript, 'utf8')
    expect(text).toMatch(/=== .* node-a exec #1 root@127\.0\.0\.1:\d+ ===/)
    expect(text).toContain(`--- node-a >>> command: ${PLAIN} 'arg'\n`)
    expect(text).toContain('--- node-a >>> stdin')
    expect(text).toContain('__wgfleet_main "$@"; exit $?\n__wgfleet_main() {\ncat; echo to-stderr >&2; exit 4\n}\nPAYLOAD\n')
    expect(text).toContain('--- node-a <<< stdout (8 bytes)\nPAYLOAD\n')
    expect(text).toContain('--- node-a <<< stderr (10 bytes)\nto-stderr\n')
    expect(text).toContain('--- node-a <<< exit 4')
  })

  it('an exec marked secret (preshared keys on their way) is in the transcript with every key-shaped token masked, each way', async () => {
    const transcript = join(workDir, `transcript-${++counter}.log`)
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {env: {WGFLEET_TRANSCRIPT: transcript}})
    const sent = 'cHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHM='
    const printed = 'bmV3cHNrbmV3cHNrbmV3cHNrbmV3cHNrbmV3cHNrbmU='
    const result = await shell.run(`cat >/dev/null; echo key=${printed.slice(0, 20)}${printed.slice(20)}`, ['store'], {input: `node-b - ${sent}\nend\n`, secret: true})
    expect(result.stdout).toBe(`key=${printed}\n`) // the caller gets the value: only the record is masked
    await shell.run('echo key=$1', [printed.slice(0, 10)]) // not secret: recorded as it is
    const text = readFileSync(transcript, 'utf8')
    expect(text).not.toContain(sent)
    expect(text).not.toContain(printed)
    expect(text).toContain('node-b - @WGFLEET_PRESHARED_KEY@\nend\n')
    expect(text).toContain('--- node-a <<< stdout (28 bytes)\nkey=@WGFLEET_PRESHARED_KEY@\n')
    expect(text).toContain(`key=${printed.slice(0, 10)}`)
  })
})

describe('a login environment that turns tracing on', () => {
  const SECRET = 'PRIVATE-KEY-MATERIAL-must-not-leave'

  it('never traces the script or its payload (SHELLOPTS=xtrace, BASH_ENV running set -xv), with or without sudo', async () => {
    const bashEnv = join(workDir, `bash_env_${++counter}`)
    writeFileSync(bashEnv, 'set -xv\n')
    const tracing = await startTestServer({users, loginEnv: {SHELLOPTS: 'xtrace', BASH_ENV: bashEnv}})
    try {
      for (const user of ['root', 'ops']) {
        const n = node('node-a', tracing.port, {user})
        const shell = await open(fleet([n], knownHosts(tracing.knownHostsLine())), n)
        const result = await shell.run('secret=$(cat)\nprintf "%s\\n" "${#secret}"\necho from-the-script >&2', ['wg0'], {input: SECRET})
        expect(result.stdout).toBe(`${SECRET.length}\n`)
        expect(result.stderr).toContain('from-the-script\n')
        expect(result.stderr).not.toContain(SECRET)
        expect(result.stderr).not.toContain('secret=')
        expect(result.stderr).not.toContain('__wgfleet_main')
        // The login shell itself traces its BASH_ENV and the fixed command line it runs (nothing secret):
        // after that line, only what the script wrote.
        const lines = result.stderr.split('\n')
        const commandTrace = lines.findIndex((line) => line.startsWith('+ env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV '))
        expect(commandTrace).toBeGreaterThan(-1)
        expect(lines.slice(commandTrace + 1)).toEqual(['from-the-script', ''])
      }
    } finally {
      await Promise.all(openShells.splice(0).map((shell) => shell.close()))
      await tracing.close()
    }
  })
})

describe('bounded output', () => {
  const MiB = 1024 * 1024

  it('stops a step that floods stdout, keeps no more than the cap, and fails only that node', async () => {
    const transcript = join(workDir, `transcript-${++counter}.log`)
    const f = fleet([node('node-a', target.port), node('node-b', target.port)], knownHosts(target.knownHostsLine()))
    const flooding = await open(f, f.nodes[0]!, {env: {WGFLEET_TRANSCRIPT: transcript}})
    const calm = await open(f, f.nodes[1]!)
    const baseline = process.memoryUsage().arrayBuffers
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2)
    let outcomes: [PromiseSettledResult<unknown>, PromiseSettledResult<{stdout: string}>]
    try {
      // 256 MiB: 64 times the cap.
      outcomes = await Promise.allSettled([flooding.run(`head -c ${256 * MiB} /dev/zero`), calm.run('sleep 0.3; echo calm')])
    } finally {
      clearInterval(sampler)
    }
    const [flooded, other] = outcomes
    expect(flooded.status).toBe('rejected')
    const error = (flooded as PromiseRejectedResult).reason as OutputLimitError
    expect(error).toBeInstanceOf(OutputLimitError)
    expect(error).toMatchObject({kind: 'output-too-large', node: 'node-a', stream: 'stdout', limitBytes: MAX_STDOUT_BYTES})
    expect(error.message).toBe('node-a: the host sent more than 4 MiB on stdout in one step; the step was stopped')
    expect(error.hint).toContain('WGFLEET_TRANSCRIPT')
    expect(other).toEqual({status: 'fulfilled', value: {code: 0, stdout: 'calm\n', stderr: ''}})
    // What was kept is at most the cap (the transcript shows it), and the operator never held much more
    // (measured: 15-27 MiB of buffers at the peak, ssh2's garbage included; keeping it all was > 256 MiB).
    const text = readFileSync(transcript, 'utf8')
    expect(text).toContain(`--- node-a <<< stdout (${MAX_STDOUT_BYTES} bytes)\n`)
    expect(text).toContain(`--- node-a <<< stopped: more than ${MAX_STDOUT_BYTES} bytes on stdout\n`)
    expect(peak - baseline).toBeLessThan(64 * MiB)
    // The connection survives: the next step on it runs.
    expect((await flooding.run('echo after')).stdout).toBe('after\n')
  })

  it('stops a step that floods stderr at its own, smaller cap', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    const error = await rejection(shell.run(`head -c ${32 * MiB} /dev/zero >&2; echo never`))
    expect(error).toBeInstanceOf(OutputLimitError)
    expect(error).toMatchObject({kind: 'output-too-large', stream: 'stderr', limitBytes: MAX_STDERR_BYTES})
    expect(MAX_STDERR_BYTES).toBeLessThan(MAX_STDOUT_BYTES)
  })

  it('accepts output of exactly the cap', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    const result = await shell.run(`head -c ${MAX_STDOUT_BYTES} /dev/zero`)
    expect(result.code).toBe(0)
    expect(result.stdout.length).toBe(MAX_STDOUT_BYTES)
  })
})

describe('transcript file', () => {
  const runWithTranscript = async (transcript: string, text: string) => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n, {env: {WGFLEET_TRANSCRIPT: transcript}})
    await shell.run(`echo ${text}`)
    await shell.close()
  }
  /** What opening a shell with this transcript fails with. */
  const refusal = async (transcript: string): Promise<TranscriptRefusedError> => {
    const n = node('node-a', target.port)
    const outcome = await openShell(fleet([n], knownHosts(target.knownHostsLine())), n, isolated({env: {WGFLEET_TRANSCRIPT: transcript}})).then(
      (shell) => shell.close(),
      (error: unknown) => error,
    )
    expect(outcome).toBeInstanceOf(TranscriptRefusedError)
    return outcome as TranscriptRefusedError
  }

  it('is created 0600 and appended to by later commands', async () => {
    const transcript = join(workDir, `transcript-${++counter}.log`)
    await runWithTranscript(transcript, 'first-command')
    expect(statSync(transcript).mode & 0o777).toBe(0o600)
    await runWithTranscript(transcript, 'second-command')
    const text = readFileSync(transcript, 'utf8')
    expect(text.indexOf('first-command\n')).toBeGreaterThan(-1)
    expect(text.indexOf('second-command\n')).toBeGreaterThan(text.indexOf('first-command\n'))
    expect(text.match(/ node-a exec #1 /g)).toHaveLength(2)
  })

  it('appends to an existing file of this user that only this user can read or write (0600)', async () => {
    const transcript = join(workDir, `transcript-${++counter}.log`)
    writeFileSync(transcript, 'an earlier run\n', {mode: 0o600})
    await runWithTranscript(transcript, 'appended')
    const text = readFileSync(transcript, 'utf8')
    expect(text.startsWith('an earlier run\n')).toBe(true)
    expect(text).toContain('appended\n')
  })

  it('refuses a symbolic link, before connecting, and writes nothing through it', async () => {
    const victim = join(workDir, `victim-${++counter}`)
    writeFileSync(victim, 'precious\n', {mode: 0o600})
    const link = join(workDir, `transcript-${++counter}.log`)
    symlinkSync(victim, link)
    const logins = target.logins.length
    const error = await refusal(link)
    expect(error.message).toBe(`transcript file ${link} refused: it is a symbolic link`)
    expect(error.hint).toContain('0600')
    expect(readFileSync(victim, 'utf8')).toBe('precious\n')
    expect(target.logins.length).toBe(logins)
  })

  it('refuses an existing file that group or others can read or write (0644, 0620), leaving it as it was', async () => {
    for (const mode of [0o644, 0o620]) {
      const transcript = join(workDir, `transcript-${++counter}.log`)
      writeFileSync(transcript, 'theirs\n', {mode})
      chmodSync(transcript, mode) // whatever the umask
      expect((await refusal(transcript)).message).toMatch(new RegExp(`its mode 0${mode.toString(8)} gives group or others access$`))
      expect(readFileSync(transcript, 'utf8')).toBe('theirs\n')
    }
  })
})

describe('connection failures', () => {
  it('classifies a closed port on 127.0.0.1 as unreachable, quickly', async () => {
    const port = await closedPort()
    const n = node('node-a', port)
    const started = Date.now()
    const error = await rejection(open(fleet([n], knownHosts()), n))
    expect(error.kind).toBe('unreachable')
    expect(error.message).toBe(`node-a: cannot reach 127.0.0.1:${port}: connection refused`)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('classifies a server that never speaks as a timeout after the connect timeout', async () => {
    const silent = await startSilentServer()
    try {
      const n = node('node-a', silent.port)
      const started = Date.now()
      const error = await rejection(open(fleet([n], knownHosts()), n, {connectTimeoutMs: 500}))
      expect(error.kind).toBe('timeout')
      expect(error.message).toContain('within 0.5s')
      expect(Date.now() - started).toBeGreaterThanOrEqual(450)
      expect(Date.now() - started).toBeLessThan(3_000)
    } finally {
      await silent.close()
    }
  })

  it('turns a step on a closed session into a disconnected error', async () => {
    const n = node('node-a', target.port)
    const shell = await open(fleet([n], knownHosts(target.knownHostsLine())), n)
    await shell.close()
    const error = await rejection(shell.run('true'))
    expect(error.kind).toBe('disconnected')
  })
})
