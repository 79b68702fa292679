/**
 * Resolving how a node is reached, against both evaluators: OpenSSH itself (`ssh -F FILE -G`: the case's
 * config only, no system config) and the built-in fallback (the same file). Nothing connects.
 */
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {Fleet, NodeSpec} from '../../../src/inventory/model.js'
import {type ConfigEvaluator, createConfigEvaluator} from '../../../src/ssh/evaluate.js'
import {chooseTransport, parseJumpAddress, resolveNodeTarget, type ResolveOptions} from '../../../src/ssh/target.js'

const HOME = '/home/tester'
const LOCAL = {user: 'me', homeDir: HOME, uid: 1000, hostname: 'operator.example.org'}
const work = mkdtempSync(join(tmpdir(), 'wgfleet-target-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))
let files = 0

function node(name: string, host: string, overrides: Partial<NodeSpec> = {}, ssh: NodeSpec['ssh'] = {}): NodeSpec {
  return {name, line: 1, host, address: '10.0.0.1', port: 51820, nat: false, relay: false, ssh, ...overrides}
}

function fleet(nodes: NodeSpec[], ssh: Fleet['ssh'] = {}): Fleet {
  return {
    file: '/inv/inventory.ini',
    dir: '/inv',
    network: {cidr: '10.0.0.0/24', prefixLength: 24, port: 51820, keepalive: 25, interface: 'wg0', topology: 'mesh'},
    ssh,
    nodes: nodes.map((n) => ({...n, ssh: {...ssh, ...n.ssh}})),
  }
}

type Kind = 'openssh' | 'builtin'

function evaluatorFor(kind: Kind, config: string): ConfigEvaluator {
  const file = join(work, `config-${++files}`)
  writeFileSync(file, config, {mode: 0o600})
  return kind === 'openssh'
    ? createConfigEvaluator({sshCommand: ['ssh', '-F', file], local: LOCAL})
    : createConfigEvaluator({sshCommand: undefined, env: {PATH: ''}, local: LOCAL, configFiles: [file]})
}

function resolveIn(f: Fleet, name: string, options: ResolveOptions) {
  return resolveNodeTarget(f, f.nodes.find((n) => n.name === name)!, options)
}

describe.each<Kind>(['openssh', 'builtin'])('resolving with the %s evaluator', (kind) => {
  const plain = () => ({evaluator: evaluatorFor(kind, ''), knownHostsFlag: '/flag/kh'})
  // ssh -G says the local user from the passwd entry; the fallback takes the one it is given.
  const me = kind === 'openssh' ? userInfo().username : LOCAL.user

  it('without config: the local user (no built-in root), port 22, the inventory values as ssh -l/-p/-i', async () => {
    const a = node('node-a', '203.0.113.1')
    const c = node('node-c', '198.51.100.7', {}, {port: 2222, user: 'deploy', identity: '/keys/id'})
    const f = fleet([a, c])
    expect(await resolveIn(f, 'node-a', plain())).toMatchObject({
      name: 'node-a',
      host: '203.0.113.1',
      port: 22,
      user: me,
      knownHostName: '203.0.113.1',
      knownHostsFiles: ['/flag/kh'],
      strictHostKeyChecking: 'ask',
      identitiesOnly: false,
      certificateFiles: [],
      connectTimeoutMs: 10_000,
      hops: [],
    })
    const target = await resolveIn(f, 'node-c', {...plain(), connectTimeoutMs: 3000})
    expect(target).toMatchObject({port: 2222, user: 'deploy', knownHostName: '[198.51.100.7]:2222', connectTimeoutMs: 3000})
    expect(target.identityFiles[0]).toBe('/keys/id')
  })

  it('--known-hosts wins over the inventory, which wins over the config; every hop uses the choice', async () => {
    const evaluator = evaluatorFor(kind, 'Host *\n  UserKnownHostsFile ~/.ssh/kh1 ~/.ssh/kh2\n  GlobalKnownHostsFile /etc/kh\n')
    const a = node('node-a', '203.0.113.1')
    const c = node('node-c', '198.51.100.7', {jump: {kind: 'node', node: 'node-a'}})
    const withInventory = fleet([a, c], {knownHosts: '/inv/kh'})
    expect((await resolveIn(withInventory, 'node-c', {evaluator, knownHostsFlag: '/flag/kh'})).hops[0]!.knownHostsFiles).toEqual(['/flag/kh'])
    const target = await resolveIn(withInventory, 'node-c', {evaluator})
    expect([target.knownHostsFiles, target.hops[0]!.knownHostsFiles]).toEqual([['/inv/kh'], ['/inv/kh']])
    const fromConfig = await resolveIn(fleet([a]), 'node-a', {evaluator})
    const home = kind === 'openssh' ? undefined : HOME // ssh -G expands ~ from the real passwd entry
    if (home) expect(fromConfig.knownHostsFiles).toEqual([`${home}/.ssh/kh1`, `${home}/.ssh/kh2`, '/etc/kh'])
    else expect(fromConfig.knownHostsFiles).toEqual([expect.stringMatching(/\/\.ssh\/kh1$/), expect.stringMatching(/\/\.ssh\/kh2$/), '/etc/kh'])
  })

  it('reaches a node through inventory jumps, outermost first, each hop under its own name', async () => {
    const a = node('node-a', '203.0.113.1', {}, {port: 2200, user: 'root'})
    const b = node('node-b', '10.1.0.2', {jump: {kind: 'node', node: 'node-a'}})
    const c = node('node-c', '10.2.0.3', {jump: {kind: 'node', node: 'node-b'}}, {user: 'deploy'})
    const target = await resolveIn(fleet([a, b, c]), 'node-c', plain())
    expect(target).toMatchObject({user: 'deploy', knownHostName: '10.2.0.3'})
    expect(target.hops.map((hop) => [hop.name, hop.user, hop.knownHostName, hop.hops.length])).toEqual([
      ['node-a', 'root', '[203.0.113.1]:2200', 0],
      ['node-b', me, '10.1.0.2', 0],
    ])
  })

  it('reaches a node through an address jump, with the [ssh] user and key', async () => {
    const c = node('node-c', '10.2.0.3', {jump: {kind: 'address', user: 'jumper', host: 'bastion.example.com', port: 2022}})
    const target = await resolveIn(fleet([c], {identity: '/keys/fleet'}), 'node-c', plain())
    expect(target.hops).toHaveLength(1)
    expect(target.hops[0]).toMatchObject({name: 'jumper@bastion.example.com:2022', host: 'bastion.example.com', port: 2022, user: 'jumper', knownHostName: '[bastion.example.com]:2022'})
    expect(target.hops[0]!.identityFiles[0]).toBe('/keys/fleet')
    const d = node('node-d', '10.2.0.4', {jump: {kind: 'address', host: 'bastion.example.com'}})
    expect((await resolveIn(fleet([d], {user: 'ops'}), 'node-d', plain())).hops[0]).toMatchObject({user: 'ops', port: 22, knownHostName: 'bastion.example.com'})
  })

  it('refuses an inventory jump loop (validation should have caught it) instead of recursing forever', async () => {
    const a = node('node-a', 'a', {jump: {kind: 'node', node: 'node-b'}})
    const b = node('node-b', 'b', {jump: {kind: 'node', node: 'node-a'}})
    await expect(resolveIn(fleet([a, b]), 'node-a', plain())).rejects.toThrow(/loops/)
  })

  const config = `
Host node-a-alias
  HostName 203.0.113.10
  User admin
  Port 2201
  IdentityFile ~/.ssh/admin_key
  IdentityFile %d/.ssh/second_%r_%u_%h_%p_%n
  CertificateFile ~/.ssh/admin_key-cert.pub
  ProxyCommand nc -q0 %h %p
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  ConnectTimeout 7
  ServerAliveInterval 30
  ServerAliveCountMax 4

Host behind
  HostName 10.9.0.1
  ProxyJump ops@bastion:2022,inner

Host bastion
  User bastion-user
  IdentityFile ~/.ssh/bastion
  ProxyJump outer

Host inner
  ProxyJump ignored-because-in-a-list

Host aliased
  HostKeyAlias my-alias
  StrictHostKeyChecking no

Host *
  User everyone
`

  it('takes HostName, User, Port, keys, certificates, ProxyCommand and the policies from the config, % tokens expanded', async () => {
    const f = fleet([node('node-a', 'node-a-alias')])
    const target = await resolveIn(f, 'node-a', {evaluator: evaluatorFor(kind, config)})
    expect(target).toMatchObject({
      alias: 'node-a-alias',
      host: '203.0.113.10',
      user: 'admin',
      port: 2201,
      identityFiles: [`${HOME}/.ssh/admin_key`, `${HOME}/.ssh/second_admin_me_203.0.113.10_2201_node-a-alias`],
      certificateFiles: [`${HOME}/.ssh/admin_key-cert.pub`],
      identitiesOnly: true,
      strictHostKeyChecking: 'accept-new',
      proxyCommand: 'nc -q0 203.0.113.10 2201',
      knownHostName: '[203.0.113.10]:2201',
      connectTimeoutMs: 7000,
      serverAliveIntervalMs: 30_000,
      serverAliveCountMax: 4,
      hops: [],
    })
  })

  it('lets what the inventory sets win (ssh_user = root, ssh_port = 22 included), and --connect-timeout over ConnectTimeout', async () => {
    const f = fleet([node('node-a', 'node-a-alias', {}, {user: 'root', port: 22, identity: '/keys/inv'})])
    const target = await resolveIn(f, 'node-a', {evaluator: evaluatorFor(kind, config), connectTimeoutMs: 2000})
    expect(target).toMatchObject({host: '203.0.113.10', user: 'root', port: 22, connectTimeoutMs: 2000})
    expect(target.identityFiles[0]).toBe('/keys/inv')
  })

  it('follows ProxyJump lists as ssh does: the first element with its own ProxyJump, the others through -J', async () => {
    const target = await resolveIn(fleet([node('node-x', 'behind')]), 'node-x', {evaluator: evaluatorFor(kind, config)})
    expect(target.host).toBe('10.9.0.1')
    expect(target.hops.map((hop) => `${hop.user}@${hop.host}:${hop.port}`)).toEqual(['everyone@outer:22', 'ops@bastion:2022', 'everyone@inner:22'])
    expect(target.hops[1]).toMatchObject({identityFiles: [`${HOME}/.ssh/bastion`], knownHostName: '[bastion]:2022'})
  })

  it('reports a ProxyJump loop in the config as this node failing (ssh-config), not a crash', async () => {
    const f = fleet([node('node-x', 'a')])
    await expect(resolveIn(f, 'node-x', {evaluator: evaluatorFor(kind, 'Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n')})).rejects.toMatchObject({
      kind: 'ssh-config',
      node: 'node-x',
      message: expect.stringMatching(/loops/),
    })
  })

  it('an inventory jump replaces the config\'s ProxyJump and ProxyCommand', async () => {
    const a = node('node-a', '203.0.113.1')
    const f = fleet([a, node('node-x', 'behind', {jump: {kind: 'node', node: 'node-a'}}), node('node-y', 'node-a-alias', {jump: {kind: 'node', node: 'node-a'}})])
    const evaluator = evaluatorFor(kind, config)
    expect((await resolveIn(f, 'node-x', {evaluator})).hops.map((hop) => hop.name)).toEqual(['node-a'])
    expect((await resolveIn(f, 'node-y', {evaluator})).proxyCommand).toBeUndefined()
  })

  it('verifies under HostKeyAlias (no [..]:port), and reads StrictHostKeyChecking no', async () => {
    const target = await resolveIn(fleet([node('node-x', 'aliased', {}, {port: 2222})]), 'node-x', {evaluator: evaluatorFor(kind, config)})
    expect(target).toMatchObject({hostKeyAlias: 'my-alias', knownHostName: 'my-alias', strictHostKeyChecking: 'no'})
  })

  it('reads HashKnownHosts per host (any case of yes), off by default', async () => {
    const evaluator = evaluatorFor(kind, 'Host hidden\n  HashKnownHosts YES\nHost shown\n  HashKnownHosts no\n')
    const hashing = async (host: string) => (await resolveIn(fleet([node('node-x', host)]), 'node-x', {evaluator})).hashKnownHosts
    expect([await hashing('hidden'), await hashing('shown'), await hashing('other')]).toEqual([true, false, false])
  })

  it('an unknown % token fails this node with the token named', async () => {
    const f = fleet([node('node-x', 'x')])
    await expect(resolveIn(f, 'node-x', {evaluator: evaluatorFor(kind, 'Host x\n  IdentityFile ~/.ssh/id_%Z\n')})).rejects.toMatchObject({
      kind: 'ssh-config',
      message: expect.stringMatching(/unknown token %Z/),
    })
  })
})

describe('Match exec', () => {
  const marker = join(work, 'match-exec-ran')
  const config = `Match exec "touch ${marker}"\n  User matched\nHost *\n  User everyone\n`

  it('the fallback never runs it', async () => {
    const target = await resolveIn(fleet([node('n', 'h')]), 'n', {evaluator: evaluatorFor('builtin', config)})
    expect(target.user).toBe('everyone')
    expect(existsSync(marker)).toBe(false)
  })

  it('OpenSSH runs it, exactly as `ssh HOST` would', async () => {
    const target = await resolveIn(fleet([node('n', 'h')]), 'n', {evaluator: evaluatorFor('openssh', config)})
    expect(target.user).toBe('matched')
    expect(existsSync(marker)).toBe(true)
  })
})

describe('the fallback without OpenSSH', () => {
  it('never starts a process for CanonicalizeHostname (no nslookup) and says what it could not evaluate', async () => {
    // A fake nslookup first on PATH would leave a mark if anything ran it.
    const bin = join(work, 'bin')
    const mark = join(work, 'nslookup-ran')
    const {mkdirSync} = await import('node:fs')
    mkdirSync(bin, {recursive: true})
    writeFileSync(join(bin, 'nslookup'), `#!/bin/sh\ntouch ${mark}\n`, {mode: 0o755})
    const savedPath = process.env.PATH
    process.env.PATH = `${bin}:${savedPath}`
    try {
      const evaluator = evaluatorFor('builtin', 'Host db\n  CanonicalizeHostname yes\n  CanonicalDomains example.com\nInclude ~/.ssh/config.d/*\nHost db?\n  User q\n')
      await resolveIn(fleet([node('n', 'db')]), 'n', {evaluator})
      expect(existsSync(mark)).toBe(false)
      const warnings = evaluator.warnings().join('\n')
      expect(warnings).toMatch(/`ssh` is not on PATH/)
      expect(warnings).toMatch(/CanonicalizeHostname is ignored/)
      expect(warnings).toMatch(/Include .* is not followed/)
      expect(warnings).toMatch(/`\?` patterns/)
    } finally {
      process.env.PATH = savedPath
    }
  })
})

describe('chooseTransport', () => {
  it('--transport, else the node (or [ssh]), else ssh2', () => {
    expect(chooseTransport(node('a', 'h'))).toBe('ssh2')
    expect(chooseTransport(node('a', 'h', {}, {transport: 'openssh'}))).toBe('openssh')
    expect(chooseTransport(node('a', 'h', {}, {transport: 'openssh'}), 'ssh2')).toBe('ssh2')
  })
})

describe('parseJumpAddress', () => {
  it('reads user@host:port, bare hosts, IPv6 and ssh:// forms', () => {
    expect(parseJumpAddress('ops@bastion:2022')).toEqual({alias: 'bastion', user: 'ops', port: 2022})
    expect(parseJumpAddress('bastion')).toEqual({alias: 'bastion'})
    expect(parseJumpAddress('ops@[2001:db8::1]:2022')).toEqual({alias: '2001:db8::1', user: 'ops', port: 2022})
    expect(parseJumpAddress('ssh://ops@bastion:2022')).toEqual({alias: 'bastion', user: 'ops', port: 2022})
  })
})
