import {existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import SSHConfig from 'ssh-config'
import {describe, expect, it} from 'vitest'
import type {Fleet, NodeSpec} from '../../../src/inventory/model.js'
import {chooseKnownHostsFile, parseJumpAddress, resolveSshTarget} from '../../../src/ssh/target.js'

const HOME = '/home/tester'

function node(name: string, host: string, overrides: Partial<NodeSpec> = {}, ssh: Partial<NodeSpec['ssh']> = {}): NodeSpec {
  return {
    name,
    line: 1,
    host,
    address: '10.0.0.1',
    port: 51820,
    nat: false,
    relay: false,
    ssh: {user: 'root', port: 22, ...ssh},
    ...overrides,
  }
}

function fleet(nodes: NodeSpec[], ssh: Partial<Fleet['ssh']> = {}): Fleet {
  return {
    file: '/inv/inventory.ini',
    dir: '/inv',
    network: {cidr: '10.0.0.0/24', prefixLength: 24, port: 51820, keepalive: 25, interface: 'wg0', topology: 'mesh'},
    ssh: {user: 'root', port: 22, ...ssh},
    nodes,
  }
}

const opts = (extra: Parameters<typeof resolveSshTarget>[2] = {}) => ({homeDir: HOME, localUser: 'me', ...extra})

describe('resolveSshTarget without ssh config', () => {
  it('uses the inventory values and the defaults', () => {
    const a = node('node-a', '203.0.113.1')
    const target = resolveSshTarget(fleet([a]), a, opts())
    expect(target).toEqual({
      name: 'node-a',
      host: '203.0.113.1',
      port: 22,
      user: 'root',
      identityFiles: [],
      hostKeyAlias: '203.0.113.1',
      knownHostsFile: `${HOME}/.ssh/known_hosts`,
      hashKnownHosts: false,
      connectTimeoutMs: 10_000,
      hops: [],
    })
  })

  it('files the host key under [host]:port for other ports', () => {
    const c = node('node-c', '198.51.100.7', {}, {port: 2222, user: 'deploy', identity: '/keys/id'})
    const target = resolveSshTarget(fleet([c]), c, opts({connectTimeoutMs: 3000}))
    expect(target).toMatchObject({port: 2222, user: 'deploy', identityFiles: ['/keys/id'], hostKeyAlias: '[198.51.100.7]:2222', connectTimeoutMs: 3000})
  })
})

describe('known hosts file precedence', () => {
  const f = fleet([], {knownHosts: '/inv/known_hosts'})
  it('--known-hosts wins, then [ssh] known_hosts, then ~/.ssh/known_hosts', () => {
    expect(chooseKnownHostsFile(f, '/flag/kh', HOME)).toBe('/flag/kh')
    expect(chooseKnownHostsFile(f, '~/kh', HOME)).toBe(`${HOME}/kh`)
    expect(chooseKnownHostsFile(f, undefined, HOME)).toBe('/inv/known_hosts')
    expect(chooseKnownHostsFile(fleet([]), undefined, HOME)).toBe(`${HOME}/.ssh/known_hosts`)
  })

  it('applies the chosen file to every hop', () => {
    const a = node('node-a', '203.0.113.1')
    const c = node('node-c', '198.51.100.7', {jump: {kind: 'node', node: 'node-a'}})
    const target = resolveSshTarget(fleet([a, c], {knownHosts: '/inv/kh'}), c, opts({knownHostsFlag: '/flag/kh'}))
    expect(target.knownHostsFile).toBe('/flag/kh')
    expect(target.hops[0]!.knownHostsFile).toBe('/flag/kh')
  })
})

describe('jumps from the inventory', () => {
  it('reaches a node through another node, each hop under its own host key name', () => {
    const a = node('node-a', '203.0.113.1', {}, {port: 2200})
    const c = node('node-c', '198.51.100.7', {jump: {kind: 'node', node: 'node-a'}}, {user: 'deploy'})
    const target = resolveSshTarget(fleet([a, c]), c, opts())
    expect(target.hostKeyAlias).toBe('198.51.100.7')
    expect(target.user).toBe('deploy')
    expect(target.hops).toHaveLength(1)
    expect(target.hops[0]).toMatchObject({name: 'node-a', host: '203.0.113.1', port: 2200, user: 'root', hostKeyAlias: '[203.0.113.1]:2200', hops: []})
  })

  it('follows jumps of jumps, outermost first', () => {
    const a = node('node-a', '203.0.113.1')
    const b = node('node-b', '10.1.0.2', {jump: {kind: 'node', node: 'node-a'}})
    const c = node('node-c', '10.2.0.3', {jump: {kind: 'node', node: 'node-b'}})
    const target = resolveSshTarget(fleet([a, b, c]), c, opts())
    expect(target.hops.map((hop) => hop.name)).toEqual(['node-a', 'node-b'])
    expect(target.hops.every((hop) => hop.hops.length === 0)).toBe(true)
  })

  it('reaches a node through an address, with the [ssh] defaults for user and key', () => {
    const c = node('node-c', '10.2.0.3', {jump: {kind: 'address', user: 'jumper', host: 'bastion.example.com', port: 2022}})
    const target = resolveSshTarget(fleet([c], {identity: '/keys/fleet'}), c, opts())
    expect(target.hops).toEqual([
      expect.objectContaining({name: 'jumper@bastion.example.com:2022', host: 'bastion.example.com', port: 2022, user: 'jumper', identityFiles: ['/keys/fleet'], hostKeyAlias: '[bastion.example.com]:2022'}),
    ])
    const d = node('node-d', '10.2.0.4', {jump: {kind: 'address', host: 'bastion.example.com'}})
    expect(resolveSshTarget(fleet([d], {user: 'ops'}), d, opts()).hops[0]).toMatchObject({user: 'ops', port: 22, hostKeyAlias: 'bastion.example.com'})
  })

  it('refuses a loop (which inventory validation should have caught) instead of recursing forever', () => {
    const a = node('node-a', 'a', {jump: {kind: 'node', node: 'node-b'}})
    const b = node('node-b', 'b', {jump: {kind: 'node', node: 'node-a'}})
    expect(() => resolveSshTarget(fleet([a, b]), a, opts())).toThrow(/loops/)
  })
})

describe('~/.ssh/config', () => {
  const matchExecMarker = join(tmpdir(), `wgfleet-match-exec-must-not-run-${process.pid}`)
  const config = SSHConfig.parse(`
Host node-a-alias
  HostName 203.0.113.10
  User admin
  Port 2201
  IdentityFile ~/.ssh/admin_key
  IdentityFile %d/.ssh/second_%r

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

Match exec "touch ${matchExecMarker}"
  User evil

Host *
  User everyone
`)

  it('honours HostName, User, Port, IdentityFile when the inventory leaves them unset', () => {
    const a = node('node-a', 'node-a-alias')
    const target = resolveSshTarget(fleet([a]), a, opts({sshConfig: config}))
    expect(target).toMatchObject({
      host: '203.0.113.10',
      user: 'admin',
      port: 2201,
      identityFiles: [`${HOME}/.ssh/admin_key`, `${HOME}/.ssh/second_admin`],
      hostKeyAlias: '[203.0.113.10]:2201',
    })
  })

  it('lets inventory values win', () => {
    const a = node('node-a', 'node-a-alias', {}, {user: 'deploy', port: 2222, identity: '/keys/inv'})
    const target = resolveSshTarget(fleet([a]), a, opts({sshConfig: config}))
    expect(target).toMatchObject({host: '203.0.113.10', user: 'deploy', port: 2222, identityFiles: ['/keys/inv']})
  })

  it('treats user root and port 22 as unset (NodeSpec cannot say they were explicit)', () => {
    const other = node('other', 'plain-host')
    expect(resolveSshTarget(fleet([other]), other, opts({sshConfig: config}))).toMatchObject({user: 'everyone', port: 22})
  })

  it('never runs Match exec', () => {
    const other = node('other', 'plain-host')
    const target = resolveSshTarget(fleet([other]), other, opts({sshConfig: config}))
    expect(target.user).not.toBe('evil')
    expect(existsSync(matchExecMarker)).toBe(false)
  })

  it('follows ProxyJump lists: the first hop with its own ProxyJump, the rest without', () => {
    const n = node('node-x', 'behind')
    const target = resolveSshTarget(fleet([n]), n, opts({sshConfig: config}))
    expect(target.host).toBe('10.9.0.1')
    expect(target.hops.map((hop) => `${hop.user}@${hop.host}:${hop.port}`)).toEqual([
      'everyone@outer:22',
      'ops@bastion:2022',
      'everyone@inner:22',
    ])
    expect(target.hops[1]).toMatchObject({identityFiles: [`${HOME}/.ssh/bastion`], hostKeyAlias: '[bastion]:2022'})
  })

  it('reports a ProxyJump loop in ssh config as this node being unreachable', () => {
    const loop = SSHConfig.parse('Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n')
    const n = node('node-x', 'a')
    expect(() => resolveSshTarget(fleet([n]), n, opts({sshConfig: loop}))).toThrow(
      expect.objectContaining({kind: 'unreachable', node: 'node-x', message: expect.stringMatching(/loops/)}),
    )
  })

  it('prefers the inventory jump over ProxyJump', () => {
    const a = node('node-a', '203.0.113.1')
    const n = node('node-x', 'behind', {jump: {kind: 'node', node: 'node-a'}})
    expect(resolveSshTarget(fleet([a, n]), n, opts({sshConfig: config})).hops.map((hop) => hop.name)).toEqual(['node-a'])
  })

  it('applies ssh config to an address jump too', () => {
    const n = node('node-x', '10.2.0.3', {jump: {kind: 'address', host: 'node-a-alias'}})
    expect(resolveSshTarget(fleet([n]), n, opts({sshConfig: config})).hops[0]).toMatchObject({host: '203.0.113.10', user: 'admin', port: 2201})
  })

  it('verifies under HostKeyAlias when set', () => {
    const n = node('node-x', 'aliased', {}, {port: 2222})
    expect(resolveSshTarget(fleet([n]), n, opts({sshConfig: config})).hostKeyAlias).toBe('my-alias')
  })

  it('reads HashKnownHosts per host (any case of yes), off by default', () => {
    const hashing = SSHConfig.parse('Host hidden\n  HashKnownHosts YES\nHost shown\n  HashKnownHosts no\n')
    const resolve = (host: string) => {
      const n = node('node-x', host)
      return resolveSshTarget(fleet([n]), n, opts({sshConfig: hashing})).hashKnownHosts
    }
    expect([resolve('hidden'), resolve('shown'), resolve('other')]).toEqual([true, false, false])
  })
})

describe('parseJumpAddress', () => {
  it('reads user@host:port, bare hosts, IPv6 and ssh:// forms', () => {
    expect(parseJumpAddress('ops@bastion:2022')).toEqual({alias: 'bastion', user: 'ops', port: 2022})
    expect(parseJumpAddress('bastion')).toEqual({alias: 'bastion', user: undefined, port: undefined})
    expect(parseJumpAddress('ops@[2001:db8::1]:2022')).toEqual({alias: '2001:db8::1', user: 'ops', port: 2022})
    expect(parseJumpAddress('ssh://ops@bastion:2022')).toEqual({alias: 'bastion', user: 'ops', port: 2022})
  })
})
