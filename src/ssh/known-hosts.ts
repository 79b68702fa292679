/**
 * OpenSSH known_hosts: parse, match, append. Hand-written (no maintained npm parser exists), following
 * sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" and OpenSSH's hostfile.c / match.c:
 *
 *   [@revoked|@cert-authority] PATTERNS KEYTYPE BASE64KEY [COMMENT]
 *
 * PATTERNS is a comma list of host patterns (`*` and `?` wildcards, `!` negation; a negated match
 * disqualifies the line), or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. A host is
 * looked up by the name `host` for port 22 and `[host]:port` otherwise, lowercased.
 */
import {createHash, createHmac, randomBytes, timingSafeEqual} from 'node:crypto'
import {appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, fstatSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {BugError} from '../lib/errors.js'

export type KnownHostMarker = 'revoked' | 'cert-authority'

export type KnownHostNames =
  | {kind: 'patterns'; patterns: string[]}
  | {kind: 'hashed'; salt: Buffer; hash: Buffer}

export interface KnownHostEntry {
  /** 1-based line in the file. */
  line: number
  marker?: KnownHostMarker
  names: KnownHostNames
  /** Key type as written on the line, e.g. `ssh-ed25519`. */
  keyType: string
  /** The decoded public key blob (SSH wire format). */
  keyBlob: Buffer
  comment?: string
}

/** A line that could not be parsed: skipped, as OpenSSH does, but reported for `doctor`. */
export interface KnownHostsProblem {
  line: number
  message: string
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[]
  problems: KnownHostsProblem[]
}

export type HostKeyVerdict = 'match' | 'unknown' | 'changed' | 'revoked'

/** The name a host's key is filed under: `host` for port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** Parse known_hosts text. Bad lines are skipped (and listed in `problems`), never fatal. */
export function parseKnownHostsDetailed(text: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = []
  const problems: KnownHostsProblem[] = []
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = index + 1
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const fields = trimmed.split(/\s+/)
    let marker: KnownHostMarker | undefined
    if (fields[0]!.startsWith('@')) {
      const markerText = fields.shift()!
      if (markerText === '@revoked') marker = 'revoked'
      else if (markerText === '@cert-authority') marker = 'cert-authority'
      else {
        problems.push({line, message: `unknown marker ${markerText}`})
        return
      }
    }
    if (fields.length < 3) {
      problems.push({line, message: 'expected: PATTERNS KEYTYPE BASE64KEY [COMMENT]'})
      return
    }
    const [hostField, keyType, keyBase64, ...commentWords] = fields as [string, string, string, ...string[]]
    const names = parseNames(hostField)
    if (!names) {
      problems.push({line, message: `malformed hashed host name ${hostField}`})
      return
    }
    const keyBlob = decodeBase64Strict(keyBase64)
    if (!keyBlob || keyBlob.length === 0) {
      problems.push({line, message: 'key is not valid base64'})
      return
    }
    const blobType = keyTypeOfBlob(keyBlob)
    if (blobType !== undefined && blobType !== keyType) {
      problems.push({line, message: `key type ${keyType} does not match the key itself (${blobType})`})
      return
    }
    entries.push({
      line,
      marker,
      names,
      keyType,
      keyBlob,
      comment: commentWords.length > 0 ? commentWords.join(' ') : undefined,
    })
  })
  return {entries, problems}
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  return parseKnownHostsDetailed(text).entries
}

/**
 * Parsed files, by path, with the stat they were read at: every connection looks its host up (three times:
 * the transport check, the host key order, the verifier), and a fleet of N nodes shares one file of N
 * lines — re-parsing it each time was O(N²) per command. A file that changed (wgfleet's own accept-new
 * appends, another ssh) is read again.
 */
const parsedFiles = new Map<string, {stamp: string; entries: readonly KnownHostEntry[]}>()

/** Read and parse a known_hosts file; a missing file is an empty one. The entries are shared: never changed. */
export function readKnownHosts(file: string): readonly KnownHostEntry[] {
  let text: string
  let stamp: string
  try {
    const info = statSync(file)
    stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`
    const cached = parsedFiles.get(file)
    if (cached?.stamp === stamp) return cached.entries
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const entries = Object.freeze(parseKnownHosts(text))
  parsedFiles.set(file, {stamp, entries})
  return entries
}

function parseNames(field: string): KnownHostNames | undefined {
  if (field.startsWith('|')) {
    // |1|salt|hash — the only hash format OpenSSH writes.
    const parts = field.split('|')
    if (parts.length !== 4 || parts[1] !== '1') return undefined
    const salt = decodeBase64Strict(parts[2]!)
    const hash = decodeBase64Strict(parts[3]!)
    if (!salt || !hash || salt.length !== 20 || hash.length !== 20) return undefined
    return {kind: 'hashed', salt, hash}
  }
  return {kind: 'patterns', patterns: field.split(',').filter((p) => p !== '')}
}

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  return Buffer.from(text, 'base64')
}

/** Patterns compiled once: a literal one (most are) as its lower-case text, a wildcard one as a RegExp. */
const compiledPatterns = new Map<string, string | RegExp>()
const MAX_COMPILED_PATTERNS = 100_000

/** OpenSSH match_pattern: `*` any run, `?` any one character, everything else literal (case-folded). */
export function matchHostPattern(name: string, pattern: string): boolean {
  let compiled = compiledPatterns.get(pattern)
  if (compiled === undefined) {
    const lowered = pattern.toLowerCase()
    compiled = !/[*?]/.test(lowered)
      ? lowered
      : new RegExp(
          '^' +
            [...lowered]
              .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
              .join('') +
            '$',
          's',
        )
    if (compiledPatterns.size < MAX_COMPILED_PATTERNS) compiledPatterns.set(pattern, compiled)
  }
  const lowered = name.toLowerCase()
  return typeof compiled === 'string' ? compiled === lowered : compiled.test(lowered)
}

/** Does this entry name `name` (already in `host` / `[host]:port` form)? */
export function entryMatchesName(entry: KnownHostEntry, name: string): boolean {
  const lowered = name.toLowerCase()
  if (entry.names.kind === 'hashed') return timingSafeEqual(hashedName(entry.names.salt, lowered), entry.names.hash)
  // match_hostname(): any negated match disqualifies the line; otherwise one positive match is needed.
  let positive = false
  for (const pattern of entry.names.patterns) {
    if (pattern.startsWith('!')) {
      if (matchHostPattern(lowered, pattern.slice(1))) return false
    } else if (matchHostPattern(lowered, pattern)) {
      positive = true
    }
  }
  return positive
}

/** The plain (non-CA) entries for a host name: what it is known by, and which keys are revoked. */
export function entriesForName(entries: readonly KnownHostEntry[], name: string): KnownHostEntry[] {
  return entries.filter((entry) => entry.marker !== 'cert-authority' && entryMatchesName(entry, name))
}

/**
 * Verdict for the key a host presented, looked up under `name` (`host`, `[host]:port`, or a HostKeyAlias).
 *
 * - `revoked`: an `@revoked` line for this host carries exactly this key (wins over everything).
 * - `match`: a plain line for this host carries this key.
 * - `changed`: the host has plain lines, but none carries this key. OpenSSH scopes this to lines of the
 *   same key type; we are stricter and count lines of any type, because session.ts asks the server for
 *   the known key types first — a server that then presents another type no longer offers the key on
 *   record, and accepting it silently (e.g. under --accept-new-host-keys) would allow a downgrade.
 * - `unknown`: no plain line names this host.
 */
export function checkHostKeyForName(
  entries: readonly KnownHostEntry[],
  name: string,
  keyType: string,
  keyBlob: Buffer,
): HostKeyVerdict {
  const forHost = entriesForName(entries, name)
  const sameKey = (entry: KnownHostEntry) => entry.keyType === keyType && entry.keyBlob.equals(keyBlob)
  if (forHost.some((entry) => entry.marker === 'revoked' && sameKey(entry))) return 'revoked'
  const plain = forHost.filter((entry) => entry.marker === undefined)
  if (plain.some(sameKey)) return 'match'
  return plain.length > 0 ? 'changed' : 'unknown'
}

export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyVerdict {
  return checkHostKeyForName(entries, knownHostName(host, port), keyType, keyBlob)
}

/** Key types on record for a host, in file order (to ask the server for those first, as OpenSSH does). */
export function knownKeyTypesForName(entries: readonly KnownHostEntry[], name: string): string[] {
  const types: string[] = []
  for (const entry of entriesForName(entries, name)) {
    if (entry.marker === undefined && !types.includes(entry.keyType)) types.push(entry.keyType)
  }
  return types
}

/** `SHA256:<base64, no padding>` of the key blob: the format `ssh-keygen -lf` prints. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')
}

/** The key type named inside an SSH public key blob (its first string), or undefined if malformed. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined
  const length = blob.readUInt32BE(0)
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined
  const type = blob.subarray(4, 4 + length).toString('latin1')
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined
}

/** The known_hosts line for a key: `NAME KEYTYPE BASE64`. */
export function knownHostsLine(name: string, keyBlob: Buffer): string {
  const keyType = keyTypeOfBlob(keyBlob)
  if (!keyType) throw new BugError('knownHostsLine: not an SSH public key blob')
  return `${name} ${keyType} ${keyBlob.toString('base64')}`
}

/**
 * A name as `ssh-keygen -H` / HashKnownHosts writes it: `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`,
 * the name lowercased as lookups are.
 */
export function hashKnownHostName(name: string, salt: Buffer = randomBytes(20)): string {
  if (salt.length !== 20) throw new Error('BUG: hashKnownHostName: the salt must be 20 bytes')
  return `|1|${salt.toString('base64')}|${hashedName(salt, name.toLowerCase()).toString('base64')}`
}

/** OpenSSH's host_hash(): HMAC-SHA1 keyed with the salt, over the (lowercased) name. */
function hashedName(salt: Buffer, loweredName: string): Buffer {
  return createHmac('sha1', salt).update(loweredName).digest()
}

/** Does the file already hide its host names? Then a line wgfleet adds must not give them away. */
export function holdsHashedNames(entries: readonly KnownHostEntry[]): boolean {
  return entries.some((entry) => entry.names.kind === 'hashed')
}

/**
 * Append a line for a key (--accept-new-host-keys), its name hashed when asked. Creates the folder
 * (0700) and the file (0600) when missing; never rewrites existing lines (a missing final newline is
 * completed first).
 */
export function appendKnownHostByName(file: string, name: string, keyBlob: Buffer, options: {hashed?: boolean} = {}): void {
  const line = knownHostsLine(options.hashed ? hashKnownHostName(name) : name, keyBlob)
  mkdirSync(dirname(file), {recursive: true, mode: 0o700})
  const separator = endsWithoutNewline(file) ? '\n' : ''
  appendFileSync(file, `${separator}${line}\n`, {mode: 0o600})
}

export function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer): void {
  appendKnownHostByName(file, knownHostName(host, port), keyBlob)
}

function endsWithoutNewline(file: string): boolean {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  try {
    const size = fstatSync(fd).size
    if (size === 0) return false
    const last = Buffer.alloc(1)
    readSync(fd, last, 0, 1, size - 1)
    return last[0] !== 0x0a
  } finally {
    closeSync(fd)
  }
}
