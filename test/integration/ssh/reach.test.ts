/**
 * Acting on what OpenSSH's evaluation of the config says, against in-process ssh2 servers on 127.0.0.1:
 * ProxyCommand, IdentitiesOnly with a crowded agent, several known_hosts files, StrictHostKeyChecking,
 * certificates refused over ssh2 before any connection, and the openssh transport (the real `ssh`, one
 * ControlMaster per node). The config comes from a file given to `ssh -F` (never the machine's own).
 */
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {Fleet, NodeSpec} from '../../../src/inventory/model.js'
import {ControlDirectory, type OpenShellOptions, SshError, type SshRemoteShell, createConfigEvaluator, decideNewHostKey, openShell} from '../../../src/ssh/index.js'
import {startTestServer, type TestServer} from './helpers/ssh-test-server.js'
import {usableKeyPair} from '../../helpers/keys.js'

const work = mkdtempSync(join(tmpdir(), 'wgfleet-reach-'))
const right = usableKeyPair('ed25519', {comment: 'the-right-one'})
const rightKey = join(work, 'id_right')
writeFileSync(rightKey, right.private, {mode: 0o600})
writeFileSync(`${rightKey}.pub`, `${right.public}\n`)
// Only the public half on disk: the private key is in the agent alone (IdentityFile may name a .pub).
const agentOnlyPub = join(work, 'id_agent_only.pub')
writeFileSync(agentOnlyPub, `${right.public}\n`)
const strangers = Array.from({length: 8}, (_, i) => {
  const file = join(work, `id_stranger_${i}`)
  writeFileSync(file, usableKeyPair('ed25519').private, {mode: 0o600})
  return file
})
// ssh -F CONFIG: every `ssh` of these tests (wgfleet's ssh -G, the openssh transport) reads this file only.
const sshWrapper = join(work, 'ssh')
let target: TestServer
let jumpHost: TestServer
let counter = 0
const shells: SshRemoteShell[] = []

beforeAll(async () => {
  target = await startTestServer({users: {root: {publicKey: right.public}, deploy: {publicKey: right.public, sudo: 'password'}}, maxAuthTries: 6})
  jumpHost = await startTestServer({users: {root: {publicKey: right.public}}, allowForwarding: true})
})
afterAll(async () => {
  await target?.close()
  await jumpHost?.close()
  rmSync(work, {recursive: true, force: true})
})
const controlDirectories: ControlDirectory[] = []
afterEach(async () => {
  await Promise.all(shells.splice(0).map((shell) => shell.close()))
  for (const directory of controlDirectories.splice(0)) directory.remove()
})

/** A control directory removed after the test (as the shell pool removes its own at the end of a run). */
function controlDirectory(): ControlDirectory {
  const directory = new ControlDirectory()
  controlDirectories.push(directory)
  return directory
}

function configFile(text: string): string {
  const file = join(work, `config_${++counter}`)
  writeFileSync(file, text.replaceAll('{port}', String(target.port)), {mode: 0o600})
  writeFileSync(sshWrapper, `#!/bin/sh\nexec ssh -F '${file}' "$@"\n`, {mode: 0o755})
  return file
}

function knownHosts(...lines: string[]): string {
  const file = join(work, `known_hosts_${++counter}`)
  writeFileSync(file, lines.map((line) => `${line}\n`).join(''))
  return file
}

function fleetOf(n: NodeSpec): Fleet {
  return {file: join(work, 'inventory.ini'), dir: work, network: {cidr: '10.0.0.0/24', prefixLength: 24, port: 51820, keepalive: 25, interface: 'wg0', topology: 'mesh'}, ssh: {}, nodes: [n]}
}

function node(host: string, ssh: NodeSpec['ssh'] = {}): NodeSpec {
  return {name: 'node-a', line: 1, host, address: '10.0.0.1', port: 51820, nat: false, relay: false, ssh}
}

async function open(n: NodeSpec, config: string, options: OpenShellOptions = {}): Promise<SshRemoteShell> {
  const shell = await openShell(fleetOf(n), n, {
    env: {PATH: process.env.PATH},
    stdinIsTTY: false,
    connectTimeoutMs: 5_000,
    evaluator: createConfigEvaluator({sshCommand: ['ssh', '-F', config]}),
    ...options,
  })
  shells.push(shell)
  return shell
}

async function refusal(promise: Promise<unknown>): Promise<SshError> {
  const outcome = await promise.then(
    (shell) => ({shell}),
    (error: unknown) => ({error}),
  )
  if ('shell' in outcome) {
    await (outcome.shell as SshRemoteShell).close()
    throw new Error('expected a refusal')
  }
  expect(outcome.error).toBeInstanceOf(SshError)
  return outcome.error as SshError
}

describe('ProxyCommand (ssh2 transport)', () => {
  it('runs it as $SHELL -c "exec ...", talks SSH over its stdio, logs its stderr, and kills it at the end', async () => {
    const proxy = join(work, 'proxy.mjs')
    const pidFile = join(work, 'proxy.pid')
    writeFileSync(
      proxy,
      `import {connect} from 'node:net'\nimport {writeFileSync} from 'node:fs'\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid))\n` +
        `process.stderr.write('proxy: to ' + process.argv[2] + ':' + process.argv[3] + '\\n')\n` +
        `const s = connect(Number(process.argv[3]), process.argv[2]); process.stdin.pipe(s); s.pipe(process.stdout)\n`,
    )
    const config = configFile(`Host via-proxy\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile ${rightKey}\n  ProxyCommand ${process.execPath} ${proxy} %h %p\n`)
    const log: string[] = []
    const shell = await open(node('via-proxy'), config, {knownHostsFlag: knownHosts(target.knownHostsLine()), onSshLog: (line) => log.push(line)})
    expect((await shell.run('echo through-proxy')).stdout).toBe('through-proxy\n')
    expect(log).toContain(`proxy: to 127.0.0.1:${target.port}`)
    const pid = Number(readFileSync(pidFile, 'utf8'))
    expect(() => process.kill(pid, 0)).not.toThrow()
    await shell.close()
    const deadline = Date.now() + 3_000
    while (Date.now() < deadline && alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(alive(pid)).toBe(false)
  })

  it('a ProxyCommand that fails says what it printed', async () => {
    const config = configFile(`Host broken\n  HostName 127.0.0.1\n  IdentityFile ${rightKey}\n  ProxyCommand echo bastion refused >&2; exit 3\n`)
    const error = await refusal(open(node('broken'), config, {knownHostsFlag: knownHosts()}))
    expect(error.message).toMatch(/through ProxyCommand `echo bastion refused >&2; exit 3`/)
    expect(error.message).toMatch(/bastion refused/)
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('IdentitiesOnly with an agent holding eight other keys', () => {
  let agent: ReturnType<typeof spawn>
  const socket = join(tmpdir(), `wgfleet-reach-agent-${process.pid}.sock`)
  beforeAll(async () => {
    agent = spawn('ssh-agent', ['-D', '-a', socket], {stdio: 'ignore'})
    const deadline = Date.now() + 5_000
    while (!existsSync(socket)) {
      if (Date.now() > deadline) throw new Error('ssh-agent did not start')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // The unrelated keys first: an agent offers in the order keys were added.
    for (const file of [...strangers, rightKey]) execFileSync('ssh-add', ['-q', file], {env: {SSH_AUTH_SOCK: socket}, stdio: 'ignore', timeout: 5_000})
  })
  afterAll(() => {
    agent?.kill()
    rmSync(socket, {force: true})
  })

  it('without IdentitiesOnly the agent offers all nine keys and the server gives up (MaxAuthTries 6)', async () => {
    const config = configFile(`Host crowded\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile ${agentOnlyPub}\n`)
    const error = await refusal(open(node('crowded'), config, {env: {PATH: process.env.PATH, SSH_AUTH_SOCK: socket}, knownHostsFlag: knownHosts(target.knownHostsLine())}))
    expect(['auth', 'unreachable']).toContain(error.kind)
  })

  it('with IdentitiesOnly only the listed key is offered, from the agent (its file is only the .pub)', async () => {
    const config = configFile(`Host crowded\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile ${agentOnlyPub}\n  IdentitiesOnly yes\n`)
    const before = target.offeredKeys.length
    const shell = await open(node('crowded'), config, {env: {PATH: process.env.PATH, SSH_AUTH_SOCK: socket}, knownHostsFlag: knownHosts(target.knownHostsLine())})
    expect((await shell.run('echo in')).stdout).toBe('in\n')
    const rightBlob = right.public.split(' ')[1]
    expect(target.offeredKeys.slice(before)).toEqual([rightBlob])
  })

  it('IdentityAgent none keeps the agent out', async () => {
    const config = configFile(`Host crowded\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile ${agentOnlyPub}\n  IdentityAgent none\n`)
    const error = await refusal(open(node('crowded'), config, {env: {PATH: process.env.PATH, SSH_AUTH_SOCK: socket}, knownHostsFlag: knownHosts(target.knownHostsLine())}))
    expect(error.kind).toBe('auth')
  })
})

describe('known_hosts files and StrictHostKeyChecking (ssh2 transport)', () => {
  const hostConfig = (extra: string, known: string[]) =>
    configFile(`Host h\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile ${rightKey}\n  UserKnownHostsFile ${known.join(' ')}\n  GlobalKnownHostsFile none\n${extra}`)

  it('checks every UserKnownHostsFile: a key in the second file is known', async () => {
    const first = knownHosts()
    const second = knownHosts(target.knownHostsLine())
    const shell = await open(node('h'), hostConfig('', [first, second]))
    expect((await shell.run('echo ok')).stdout).toBe('ok\n')
    expect(readFileSync(first, 'utf8')).toBe('')
  })

  it('accept-new in the config records a new key without the flag, in the first file', async () => {
    const first = knownHosts()
    const second = knownHosts()
    const added: string[] = []
    await open(node('h'), hostConfig('  StrictHostKeyChecking accept-new\n', [first, second]), {onHostKeyAdded: (details) => added.push(details.knownHostsFile)})
    expect(readFileSync(first, 'utf8')).toMatch(/ssh-ed25519 /)
    expect(readFileSync(second, 'utf8')).toBe('')
    expect(added).toEqual([first])
  })

  it('accept-new never accepts a changed key', async () => {
    const other = usableKeyPair('ed25519').public.split(' ')
    const file = knownHosts(`[127.0.0.1]:${target.port} ${other[0]} ${other[1]}`)
    const error = await refusal(open(node('h'), hostConfig('  StrictHostKeyChecking accept-new\n', [file]), {acceptNewHostKeys: true}))
    expect(error.kind).toBe('host-key-changed')
  })

  it('StrictHostKeyChecking no: refused without the flag (wgfleet never accepts unchecked), recorded with it and a warning', async () => {
    const file = knownHosts()
    const error = await refusal(open(node('h'), hostConfig('  StrictHostKeyChecking no\n', [file])))
    expect(error.kind).toBe('host-key-unknown')
    expect(error.message).toMatch(/StrictHostKeyChecking no/)
    const warnings: string[] = []
    await open(node('h'), hostConfig('  StrictHostKeyChecking no\n', [file]), {acceptNewHostKeys: true, onWarning: (message) => warnings.push(message)})
    expect(readFileSync(file, 'utf8')).toMatch(/ssh-ed25519 /)
    expect(warnings.join('\n')).toMatch(/StrictHostKeyChecking no .* --accept-new-host-keys/)
  })

  it('StrictHostKeyChecking yes in the config wins over --accept-new-host-keys: refused, nothing written, the hint says why', async () => {
    const file = knownHosts()
    const error = await refusal(open(node('h'), hostConfig('  StrictHostKeyChecking yes\n', [file]), {acceptNewHostKeys: true}))
    expect(error.kind).toBe('host-key-unknown')
    expect(error.message).toMatch(/StrictHostKeyChecking yes/)
    expect(error.hint).toMatch(/ssh-keyscan/)
    expect(error.hint).not.toMatch(/rerun with --accept-new-host-keys/)
    expect(readFileSync(file, 'utf8')).toBe('')
  })

  it('StrictHostKeyChecking ask (also what ssh -G says when the config is silent): --accept-new-host-keys is the answer', async () => {
    const file = knownHosts()
    const error = await refusal(open(node('h'), hostConfig('  StrictHostKeyChecking ask\n', [file])))
    expect(error.kind).toBe('host-key-unknown')
    expect(error.hint).toMatch(/rerun with --accept-new-host-keys/)
    await open(node('h'), hostConfig('  StrictHostKeyChecking ask\n', [file]), {acceptNewHostKeys: true})
    expect(readFileSync(file, 'utf8')).toMatch(/ssh-ed25519 /)
  })

  it('decides new keys as the README says', () => {
    expect(['yes', 'ask', 'accept-new', 'no'].map((strict) => [decideNewHostKey(strict as 'yes', false), decideNewHostKey(strict as 'yes', true)])).toEqual([
      ['refuse', 'refuse'],
      ['refuse', 'record'],
      ['record', 'record'],
      ['refuse', 'record-with-warning'],
    ])
  })

  it('HostKeyAlias: the key is checked under the alias', async () => {
    const file = knownHosts(target.knownHostsLine('fleet-alias'))
    const shell = await open(node('h'), hostConfig('  HostKeyAlias fleet-alias\n', [file]))
    expect((await shell.run('echo aliased')).stdout).toBe('aliased\n')
  })
})

describe('certificates over ssh2: refused before any connection', () => {
  it('a CertificateFile fails early, naming transport = openssh', async () => {
    const config = configFile(`Host c\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile ${rightKey}\n  CertificateFile ${rightKey}-cert.pub\n`)
    const before = target.connectionCount()
    const error = await refusal(open(node('c'), config, {knownHostsFlag: knownHosts(target.knownHostsLine())}))
    expect(error).toMatchObject({kind: 'ssh-config'})
    expect(error.message).toMatch(/transport = openssh/)
    expect(target.connectionCount()).toBe(before)
  })

  it('a host known only through @cert-authority fails early, and --accept-new-host-keys records nothing', async () => {
    const ca = usableKeyPair('ed25519').public.split(' ')
    const file = knownHosts(`@cert-authority [127.0.0.1]:* ${ca[0]} ${ca[1]}`)
    const config = configFile(`Host c\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile ${rightKey}\n`)
    const before = target.connectionCount()
    const error = await refusal(open(node('c'), config, {knownHostsFlag: file, acceptNewHostKeys: true}))
    expect(error.message).toMatch(/@cert-authority.*transport = openssh/)
    expect(readFileSync(file, 'utf8')).toBe(`@cert-authority [127.0.0.1]:* ${ca[0]} ${ca[1]}\n`)
    expect(target.connectionCount()).toBe(before)
  })
})

describe('the openssh transport (the real ssh, one ControlMaster per node)', () => {
  const transcript = join(work, 'transcript.log')
  const opensshConfig = () => configFile(`Host oh\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile ${rightKey}\n  IdentitiesOnly yes\n`)

  it('runs every step through one master: script on stdin, the fixed command line, exit codes, transcript; the socket goes at the end', async () => {
    const config = opensshConfig()
    const directory = controlDirectory()
    const logins = target.logins.length
    const shell = await open(node('oh', {user: 'root'}), config, {
      transport: 'openssh',
      sshBinary: sshWrapper,
      controlDirectory: directory,
      knownHostsFlag: knownHosts(target.knownHostsLine()),
      transcriptFile: transcript,
    })
    const first = await shell.run('echo "arg:$1"; cat; exit 3', ["it's"], {input: 'payload\n'})
    expect(first).toEqual({code: 3, stdout: "arg:it's\npayload\n", stderr: ''})
    expect((await shell.run('echo second')).stdout).toBe('second\n')
    // Two steps, one login: both went through the master.
    expect(target.logins.length - logins).toBe(1)
    expect(target.commands.at(-2)).toBe("env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV bash --norc --noprofile -s -- 'it'\\''s'")
    expect(readFileSync(transcript, 'utf8')).toMatch(/payload/)
    const sockets = () => readdirSync(tmpdir()).filter((name) => name.startsWith('wgfleet-ssh-'))
    const during = sockets()
    await shell.close()
    directory.remove()
    expect(during.length - sockets().length).toBe(1)
  })

  it('keeps sudo -n handling: a user whose sudo wants a password is told so', async () => {
    const shell = await open(node('oh', {user: 'deploy'}), opensshConfig(), {
      transport: 'openssh',
      sshBinary: sshWrapper,
      controlDirectory: controlDirectory(),
      knownHostsFlag: knownHosts(target.knownHostsLine()),
    })
    await expect(shell.run('id')).rejects.toMatchObject({kind: 'sudo-password'})
    expect((await shell.run('echo plain', [], {privileged: false})).stdout).toBe('plain\n')
  })

  it('refuses an unknown host key (ssh\'s own check, StrictHostKeyChecking yes), and records it with --accept-new-host-keys', async () => {
    const file = knownHosts()
    const options = {transport: 'openssh' as const, sshBinary: sshWrapper, controlDirectory: controlDirectory(), knownHostsFlag: file}
    const error = await refusal(open(node('oh', {user: 'root'}), opensshConfig(), options))
    expect(error.kind).toBe('host-key-unknown')
    const shell = await open(node('oh', {user: 'root'}), opensshConfig(), {...options, acceptNewHostKeys: true})
    expect((await shell.run('echo recorded')).stdout).toBe('recorded\n')
    expect(readFileSync(file, 'utf8')).toMatch(/ssh-ed25519/)
  })

  it('StrictHostKeyChecking yes in the config: refused over openssh too, even with --accept-new-host-keys', async () => {
    const file = knownHosts()
    const config = configFile(`Host oh\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile ${rightKey}\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n`)
    const options = {transport: 'openssh' as const, sshBinary: sshWrapper, controlDirectory: controlDirectory(), knownHostsFlag: file, acceptNewHostKeys: true}
    const error = await refusal(open(node('oh', {user: 'root'}), config, options))
    expect(error.kind).toBe('host-key-unknown')
    expect(error.hint).toMatch(/does not override StrictHostKeyChecking yes/)
    expect(readFileSync(file, 'utf8')).toBe('')
  })

  it('reaches a node through an inventory jump: the jump node becomes its ProxyCommand (quoted and %-escaped)', async () => {
    const config = configFile(`Host *\n  HostName 127.0.0.1\n  User root\n  IdentityFile ${rightKey}\n  IdentitiesOnly yes\n`)
    const jumpNode: NodeSpec = {...node('jump%host', {port: jumpHost.port}), name: 'node-a'}
    const behind: NodeSpec = {...node('behind', {port: target.port}), name: 'node-c', jump: {kind: 'node', node: 'node-a'}}
    const fleet: Fleet = {...fleetOf(behind), nodes: [jumpNode, behind]}
    const known = knownHosts(jumpHost.knownHostsLine(), target.knownHostsLine())
    const shell = await openShell(fleet, behind, {
      env: {PATH: process.env.PATH},
      stdinIsTTY: false,
      evaluator: createConfigEvaluator({sshCommand: ['ssh', '-F', config]}),
      transport: 'openssh',
      sshBinary: sshWrapper,
      controlDirectory: controlDirectory(),
      knownHostsFlag: known,
    })
    shells.push(shell)
    expect((await shell.run('echo behind')).stdout).toBe('behind\n')
    expect(jumpHost.forwards.at(-1)).toEqual({host: '127.0.0.1', port: target.port})
  })

  it('a lost master is a disconnected error, not a second connection', async () => {
    const shell = await open(node('oh', {user: 'root'}), opensshConfig(), {
      transport: 'openssh',
      sshBinary: sshWrapper,
      controlDirectory: controlDirectory(),
      knownHostsFlag: knownHosts(target.knownHostsLine()),
    })
    const logins = target.logins.length
    target.dropConnections()
    await new Promise((resolve) => setTimeout(resolve, 300))
    await expect(shell.run('echo again')).rejects.toMatchObject({kind: 'disconnected'})
    expect(target.logins.length).toBe(logins)
  })
})
