import {describe, expect, it} from 'vitest'
import {WgfleetError} from '../../../src/lib/errors.js'
import {
  HostKeyChangedError,
  HostKeyUnknownError,
  SshError,
  classifySshError,
  classifySshErrorKind,
} from '../../../src/ssh/errors.js'

const errno = (code: string, message = `connect ${code} 203.0.113.1:22`) => Object.assign(new Error(message), {code})
const leveled = (message: string, level: string) => Object.assign(new Error(message), {level})

describe('classifySshErrorKind', () => {
  it.each([
    [errno('ECONNREFUSED'), 'unreachable'],
    [errno('EHOSTUNREACH'), 'unreachable'],
    [errno('ENETUNREACH'), 'unreachable'],
    [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere'), 'unreachable'],
    [errno('ETIMEDOUT'), 'timeout'],
    [leveled('Timed out while waiting for handshake', 'client-timeout'), 'timeout'],
    [leveled('All configured authentication methods failed', 'client-authentication'), 'auth'],
    [new Error('Cannot parse privateKey: Encrypted private OpenSSH key detected, but no passphrase given'), 'auth'],
    [leveled('Keepalive timeout', 'client-timeout'), 'disconnected'],
    [new Error('Host denied (verification failed)'), 'host-key-unknown'],
  ] as const)('%s → %s', (error, kind) => {
    expect(classifySshErrorKind(error)).toBe(kind)
  })

  it('calls a lost connection unreachable while connecting and disconnected later', () => {
    expect(classifySshErrorKind(errno('ECONNRESET'), 'connect')).toBe('unreachable')
    expect(classifySshErrorKind(errno('ECONNRESET'), 'run')).toBe('disconnected')
    expect(classifySshErrorKind(new Error('No response from server'), 'run')).toBe('disconnected')
    expect(classifySshErrorKind('weird string', 'run')).toBe('disconnected')
  })

  it('keeps the kind of an SshError', () => {
    expect(classifySshErrorKind(new SshError('sudo-password', 'n', 'x'))).toBe('sudo-password')
  })
})

describe('classifySshError', () => {
  it('names the node, says what happened in one line, and hints what to do', () => {
    const error = classifySshError(errno('ECONNREFUSED'), {node: 'node-a', host: '203.0.113.1', port: 2222, user: 'root'})
    expect(error).toBeInstanceOf(SshError)
    expect(error).toBeInstanceOf(WgfleetError)
    expect(error.kind).toBe('unreachable')
    expect(error.node).toBe('node-a')
    expect(error.exitCode).toBe(1)
    expect(error.message).toBe('node-a: cannot reach 203.0.113.1:2222: connection refused')
    expect(error.message).not.toContain('\n')
    expect(error.hint).toContain('ssh -p 2222 root@203.0.113.1 true')
  })

  it('says when the failure was on a jump host', () => {
    const error = classifySshError(leveled('Timed out while waiting for handshake', 'client-timeout'), {
      node: 'node-c',
      host: '203.0.113.1',
      port: 22,
      via: 'jump node-a',
      connectTimeoutMs: 10_000,
    })
    expect(error.kind).toBe('timeout')
    expect(error.message).toBe('node-c: no SSH handshake with jump node-a (203.0.113.1:22) within 10s: Timed out while waiting for handshake')
    expect(error.hint).toMatch(/--connect-timeout/)
  })

  it('passes SshErrors through unchanged', () => {
    const original = new SshError('auth', 'node-a', 'nope')
    expect(classifySshError(original, {node: 'other'})).toBe(original)
  })
})

describe('host key errors', () => {
  const details = {
    hostKeyAlias: '[203.0.113.1]:2222',
    host: '203.0.113.1',
    port: 2222,
    keyType: 'ssh-ed25519',
    fingerprint: 'SHA256:abc',
    knownHostsFile: '/home/me/.ssh/known_hosts',
  }

  it('unknown: shows the fingerprint and the exact ssh-keyscan hint', () => {
    const error = new HostKeyUnknownError('node-a', details)
    expect(error.kind).toBe('host-key-unknown')
    expect(error.message).toBe('node-a: unknown host key for [203.0.113.1]:2222: ssh-ed25519 SHA256:abc')
    expect(error.hint).toBe(
      'add it with `ssh-keyscan -p 2222 203.0.113.1 >> /home/me/.ssh/known_hosts` after checking the fingerprint, ' +
        'or rerun with --accept-new-host-keys',
    )
  })

  it('changed and revoked: loud, and never fixable with --accept-new-host-keys', () => {
    const changed = new HostKeyChangedError('node-a', details, {revoked: false, knownLines: [3]})
    expect(changed.kind).toBe('host-key-changed')
    expect(changed.message).toMatch(/^node-a: HOST KEY CHANGED for \[203\.0\.113\.1\]:2222/)
    expect(changed.message).toContain('line 3')
    expect(changed.hint).toContain(`ssh-keygen -R '[203.0.113.1]:2222' -f /home/me/.ssh/known_hosts`)
    const revoked = new HostKeyChangedError('node-a', details, {revoked: true, knownLines: [1], via: 'jump node-b'})
    expect(revoked.kind).toBe('host-key-changed')
    expect(revoked.revoked).toBe(true)
    expect(revoked.message).toMatch(/REVOKED HOST KEY presented by \[203\.0\.113\.1\]:2222 \(jump node-b\)/)
  })
})
