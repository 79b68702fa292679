import {execFileSync} from 'node:child_process'
import {createHmac, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {
  appendKnownHost,
  appendKnownHostByName,
  checkHostKey,
  fingerprintSha256,
  hashKnownHostName,
  holdsHashedNames,
  keyTypeOfBlob,
  knownHostName,
  knownKeyTypesForName,
  matchHostPattern,
  parseKnownHosts,
  parseKnownHostsDetailed,
  readKnownHosts,
} from '../../../src/ssh/known-hosts.js'
import {usableKeyPair} from '../../helpers/keys.js'

/** A fresh ed25519 public key: its type, base64 and blob. */
function newKey(type: 'ed25519' | 'ecdsa' = 'ed25519') {
  const pair = type === 'ecdsa' ? usableKeyPair('ecdsa', {bits: 256}) : usableKeyPair('ed25519')
  const [keyType, base64] = pair.public.split(' ') as [string, string]
  return {keyType, base64, blob: Buffer.from(base64, 'base64'), publicLine: pair.public}
}

/** `|1|salt|hmac` as `ssh-keygen -H` writes it. */
function hashedName(name: string): string {
  return hashedNameWithSalt(name, randomBytes(20))
}

function hashedNameWithSalt(name: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(name).digest()
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`
}

const tempDirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-kh-'))
  tempDirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, {recursive: true, force: true})
})

describe('knownHostName', () => {
  it('uses the bare host for port 22 and [host]:port otherwise', () => {
    expect(knownHostName('203.0.113.1', 22)).toBe('203.0.113.1')
    expect(knownHostName('203.0.113.1', 2222)).toBe('[203.0.113.1]:2222')
  })
})

describe('matchHostPattern', () => {
  it('supports * and ? and is case-insensitive; other characters are literal', () => {
    expect(matchHostPattern('web1.example.com', '*.example.com')).toBe(true)
    expect(matchHostPattern('WEB1.Example.com', 'web?.example.com')).toBe(true)
    expect(matchHostPattern('web10.example.com', 'web?.example.com')).toBe(false)
    expect(matchHostPattern('[10.0.0.1]:2222', '[10.0.0.*]:2222')).toBe(true)
    expect(matchHostPattern('10x0x0x1', '10.0.0.1')).toBe(false)
  })
})

describe('parseKnownHosts', () => {
  it('skips comments, blank lines and malformed lines, keeping line numbers', () => {
    const key = newKey()
    const text = [
      '# a comment',
      '',
      `host-a ${key.keyType} ${key.base64} a comment here`,
      'broken-line-without-key',
      `host-b ${key.keyType} not*base64`,
      `|1|short|short ${key.keyType} ${key.base64}`,
      `@bogus host-c ${key.keyType} ${key.base64}`,
      `host-d ssh-rsa ${key.base64}`, // type does not match the blob
      '   ',
    ].join('\r\n')
    const {entries, problems} = parseKnownHostsDetailed(text)
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({line: 3, keyType: 'ssh-ed25519', comment: 'a comment here'})
    expect(problems.map((p) => p.line)).toEqual([4, 5, 6, 7, 8])
  })

  it('reads markers', () => {
    const key = newKey()
    const entries = parseKnownHosts(
      `@revoked * ${key.keyType} ${key.base64}\n@cert-authority *.example.com ${key.keyType} ${key.base64}\n`,
    )
    expect(entries.map((e) => e.marker)).toEqual(['revoked', 'cert-authority'])
  })

  it('treats a missing file as empty', () => {
    expect(readKnownHosts(join(tempDir(), 'nope'))).toEqual([])
  })
})

describe('checkHostKey', () => {
  const key = newKey()
  const other = newKey()
  const line = (names: string, k = key) => `${names} ${k.keyType} ${k.base64}`
  const check = (text: string, host: string, port = 22, k = key) =>
    checkHostKey(parseKnownHosts(text), host, port, k.keyType, k.blob)

  it('matches a plain host', () => {
    expect(check(line('203.0.113.1'), '203.0.113.1')).toBe('match')
  })

  it('matches any name of a comma list', () => {
    const text = line('node-a,203.0.113.1,node-a.example.com')
    expect(check(text, '203.0.113.1')).toBe('match')
    expect(check(text, 'node-a.example.com')).toBe('match')
    expect(check(text, '203.0.113.2')).toBe('unknown')
  })

  it('matches wildcards', () => {
    expect(check(line('*.example.com'), 'web1.example.com')).toBe('match')
    expect(check(line('203.0.113.?'), '203.0.113.7')).toBe('match')
    expect(check(line('203.0.113.?'), '203.0.113.70')).toBe('unknown')
  })

  it('lets a negated pattern disqualify the whole line', () => {
    const text = line('*.example.com,!bad.example.com')
    expect(check(text, 'good.example.com')).toBe('match')
    expect(check(text, 'bad.example.com')).toBe('unknown')
    // A line with only a negation never matches anything.
    expect(check(line('!bad.example.com'), 'good.example.com')).toBe('unknown')
  })

  it('matches hashed entries (HMAC-SHA1 of the name with the salt)', () => {
    expect(check(line(hashedName('203.0.113.1')), '203.0.113.1')).toBe('match')
    expect(check(line(hashedName('203.0.113.1')), '203.0.113.2')).toBe('unknown')
    expect(check(line(hashedName('[203.0.113.1]:2222')), '203.0.113.1', 2222)).toBe('match')
    expect(check(line(hashedName('203.0.113.1')), '203.0.113.1', 2222)).toBe('unknown')
  })

  it('uses [host]:port for other ports and the bare host for 22', () => {
    expect(check(line('[203.0.113.1]:2222'), '203.0.113.1', 2222)).toBe('match')
    expect(check(line('203.0.113.1'), '203.0.113.1', 2222)).toBe('unknown')
    expect(check(line('[203.0.113.1]:2222'), '203.0.113.1', 22)).toBe('unknown')
    expect(check(line('[203.0.113.1]:22'), '203.0.113.1', 22)).toBe('unknown')
  })

  it('reports a different key for a known host as changed', () => {
    expect(check(line('203.0.113.1', other), '203.0.113.1')).toBe('changed')
    // Another key on record for the same host does not hide the match.
    expect(check(`${line('203.0.113.1', other)}\n${line('203.0.113.1')}`, '203.0.113.1')).toBe('match')
  })

  it('reports changed when only a key of another type is on record (stricter than OpenSSH)', () => {
    const ecdsa = newKey('ecdsa')
    expect(check(line('203.0.113.1', ecdsa), '203.0.113.1')).toBe('changed')
  })

  it('refuses a revoked key even when it is also listed as known', () => {
    const text = `@revoked * ${key.keyType} ${key.base64}\n${line('203.0.113.1')}`
    expect(check(text, '203.0.113.1')).toBe('revoked')
    // A revoked line for another key does not stop a good key, and alone does not make the host known.
    expect(check(`@revoked * ${other.keyType} ${other.base64}\n${line('203.0.113.1')}`, '203.0.113.1')).toBe('match')
    expect(check(`@revoked * ${other.keyType} ${other.base64}`, '203.0.113.1')).toBe('unknown')
  })

  it('skips @cert-authority lines', () => {
    expect(check(`@cert-authority * ${key.keyType} ${key.base64}`, '203.0.113.1')).toBe('unknown')
    expect(check(`@cert-authority * ${other.keyType} ${other.base64}`, '203.0.113.1')).toBe('unknown')
  })

  it('is unknown for an empty file', () => {
    expect(check('', '203.0.113.1')).toBe('unknown')
  })

  it('lists the key types on record for a host, in order', () => {
    const ecdsa = newKey('ecdsa')
    const entries = parseKnownHosts(`${line('h', ecdsa)}\n${line('h')}\n${line('other')}\n`)
    expect(knownKeyTypesForName(entries, 'h')).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519'])
  })
})

describe('fingerprintSha256', () => {
  it('prints what ssh-keygen -lf prints', () => {
    const dir = tempDir()
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', join(dir, 'key')])
    const publicLine = readFileSync(join(dir, 'key.pub'), 'utf8')
    const blob = Buffer.from(publicLine.split(' ')[1]!, 'base64')
    const keygen = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.pub')], {encoding: 'utf8'})
    // "256 SHA256:xxxx test (ED25519)"
    expect(fingerprintSha256(blob)).toBe(keygen.split(' ')[1])
    expect(fingerprintSha256(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(keyTypeOfBlob(blob)).toBe('ssh-ed25519')
  })
})

describe('appendKnownHost', () => {
  it('creates the folder 0700 and the file 0600', () => {
    const dir = join(tempDir(), 'sub', '.ssh')
    const file = join(dir, 'known_hosts')
    const key = newKey()
    appendKnownHost(file, '127.0.0.1', 2222, key.blob)
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${key.base64}\n`)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(checkHostKey(readKnownHosts(file), '127.0.0.1', 2222, key.keyType, key.blob)).toBe('match')
  })

  it('never rewrites existing lines, completing a missing final newline', () => {
    const file = join(tempDir(), 'known_hosts')
    const old = newKey()
    const fresh = newKey()
    writeFileSync(file, `# keep me\nold ${old.keyType} ${old.base64}`, {mode: 0o644})
    appendKnownHost(file, 'new-host', 22, fresh.blob)
    expect(readFileSync(file, 'utf8')).toBe(
      `# keep me\nold ${old.keyType} ${old.base64}\nnew-host ssh-ed25519 ${fresh.base64}\n`,
    )
    // The mode of an existing file is left alone.
    expect(statSync(file).mode & 0o777).toBe(0o644)
  })
  it('writes a hashed name on request, which this reader and OpenSSH (ssh-keygen -F) both find', () => {
    const file = join(tempDir(), 'known_hosts')
    const key = newKey()
    appendKnownHostByName(file, '[Node-A.example]:2222', key.blob, {hashed: true})
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 \S+\n$/)
    expect(text.toLowerCase()).not.toContain('node-a')
    const entries = readKnownHosts(file)
    expect(holdsHashedNames(entries)).toBe(true)
    expect(checkHostKey(entries, 'node-a.example', 2222, key.keyType, key.blob)).toBe('match')
    const found = execFileSync('ssh-keygen', ['-F', '[node-a.example]:2222', '-f', file], {encoding: 'utf8'})
    expect(found).toContain(key.base64)
  })

  it('hashes like ssh-keygen -H: HMAC-SHA1 of the lowercased name under a 20-byte salt', () => {
    const salt = Buffer.alloc(20, 7)
    expect(hashKnownHostName('HOST', salt)).toBe(hashedNameWithSalt('host', salt))
    expect(holdsHashedNames(parseKnownHosts(`plain ssh-ed25519 ${newKey().base64}`))).toBe(false)
  })
})
