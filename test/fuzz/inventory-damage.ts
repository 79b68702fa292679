/**
 * A deterministic generator of damaged inventories, for the "bad input" fuzz tests.
 *
 * Every case starts from one valid inventory (the lab's seed scenario — node-a relay, node-b public,
 * node-c behind NAT, node-d behind NAT reached through node-c — with every host on 127.0.0.1) and applies
 * one kind of damage. Each case has an id, `<kind>#<n>`, and the id alone reproduces it:
 *
 *     damageCase('swap-values#17')          // the same bytes on every machine, every run
 *
 * Randomness comes from mulberry32 seeded with a hash of the id (and of an optional run seed, for
 * exploring beyond the default corpus: WGFLEET_FUZZ_SEED). No dependency.
 *
 * Ports: the base inventory's SSH ports are FUZZ_PORT_SENTINEL (5 digits, like every Linux ephemeral
 * port), so that the bytes — and the offsets random damage lands at — do not depend on the port of the
 * listener a test points the inventory at; `withPort` swaps the sentinel for the real port afterwards.
 */

// ---- randomness -----------------------------------------------------------------------------------------

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-1a over the UTF-16 code units of `text`: a 32-bit seed from a case id. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export class Rng {
  private readonly next: () => number

  constructor(seed: number) {
    this.next = mulberry32(seed)
  }

  float(): number {
    return this.next()
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('fuzz generator bug: pick from an empty list')
    return items[this.int(items.length)] as T
  }
}

// ---- the base inventory ---------------------------------------------------------------------------------

/** The SSH port written into the base inventory; see withPort. */
export const FUZZ_PORT_SENTINEL = 61999

/** Node names of the base inventory, in order. */
export const BASE_NODES = ['node-a', 'node-b', 'node-c', 'node-d'] as const

/**
 * The valid base: the lab's seed scenario (test/lab/lab, `seed`) with every host on 127.0.0.1 and every
 * SSH port on `port`, plus a few optional keys so that damage has more values to land on. The identity and
 * known_hosts paths are relative: they resolve beside the inventory file.
 */
export function baseInventoryText(port: number = FUZZ_PORT_SENTINEL): string {
  return `; wgfleet fuzz base: the lab's seed scenario, every host on 127.0.0.1
[network]
cidr = 10.0.0.0/24
port = 51820
keepalive = 25
interface = wg0
mtu = 1420
topology = mesh

; defaults for every node
[ssh]
user = root
port = ${port}
identity = id_ed25519
known_hosts = known_hosts

; the relay
[node-a]
host = 127.0.0.1
ssh_port = ${port}
address = 10.0.0.1
relay = true

[node-b]
host = 127.0.0.1
ssh_port = ${port}
address = 10.0.0.2
ssh_user = deploy
endpoint = 127.0.0.1:51821
exit_via = node-a ; full tunnel through the relay

; behind NAT
[node-c]
host = 127.0.0.1
ssh_port = ${port}
address = 10.0.0.3
nat = true
dns = 10.0.0.1, 1.1.1.1

[node-d]
host = 127.0.0.1
ssh_port = ${port}
address = 10.0.0.4
nat = true
jump = node-c
`
}

/** The case's bytes with the sentinel port replaced by `port` (5 digits keep every offset the same). */
export function withPort(bytes: Buffer, port: number): Buffer {
  const sentinel = Buffer.from(String(FUZZ_PORT_SENTINEL))
  const replacement = Buffer.from(String(port))
  const parts: Buffer[] = []
  let from = 0
  for (let at = bytes.indexOf(sentinel); at >= 0; at = bytes.indexOf(sentinel, from)) {
    parts.push(bytes.subarray(from, at), replacement)
    from = at + sentinel.length
  }
  parts.push(bytes.subarray(from))
  return Buffer.concat(parts)
}

// ---- a line-level view of an inventory ------------------------------------------------------------------

const ENTRY = /^(\s*)([^=[;#\s][^=]*?)(\s*=\s*)(.*)$/
const HEADER = /^\s*\[([^\]]*)\]/

interface EntryLine {
  index: number
  key: string
  value: string
}

function entries(lines: readonly string[]): EntryLine[] {
  const found: EntryLine[] = []
  lines.forEach((line, index) => {
    if (HEADER.test(line)) return
    const m = ENTRY.exec(line)
    if (m) found.push({index, key: m[2]!, value: m[4]!})
  })
  return found
}

function headers(lines: readonly string[]): number[] {
  return lines.flatMap((line, index) => (/^\s*\[/.test(line) ? [index] : []))
}

/** [start, end) of the section whose header is at `header` (up to the next header or the end). */
function sectionRange(lines: readonly string[], header: number): [number, number] {
  const next = headers(lines).find((h) => h > header)
  return [header, next ?? lines.length]
}

function setValue(lines: string[], index: number, value: string): void {
  const m = ENTRY.exec(lines[index]!)
  if (!m) throw new Error(`fuzz generator bug: line ${index + 1} is not key = value`)
  lines[index] = `${m[1]}${m[2]}${m[3]}${value}`
}

function setKey(lines: string[], index: number, key: string): void {
  const m = ENTRY.exec(lines[index]!)
  if (!m) throw new Error(`fuzz generator bug: line ${index + 1} is not key = value`)
  lines[index] = `${m[1]}${key}${m[3]}${m[4]}`
}

function nonBlank(lines: readonly string[]): number[] {
  return lines.flatMap((line, index) => (line.trim() === '' ? [] : [index]))
}

/** Lines of the base; a final '' stands for the trailing newline. */
function baseLines(): string[] {
  return baseInventoryText().split('\n')
}

function encode(lines: readonly string[]): Buffer {
  return Buffer.from(lines.join('\n'), 'utf8')
}

const show = (s: string): string => {
  const json = JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…(${s.length} chars)` : s)
  return json
}

// ---- value pools ------------------------------------------------------------------------------------------

/** Values of the wrong type, by the type they are (each key gets one of every type but its own). */
export const WRONG_VALUES: Record<string, readonly string[]> = {
  boolean: ['true', 'false', 'TRUE', 'True', 'yes', 'no', '1', '0', 'on', 'off', 'null', 't'],
  number: ['0', '-1', '1', '65535', '65536', '99999', '4294967296', '99999999999999999999', '1e3', '0x50', '1.5', '22.0', '+22', '022', 'Infinity', 'NaN', '-0', '9007199254740993'],
  host: ['localhost', '::1', '[::1]', 'fe80::1%eth0', '2001:db8::1', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '127.0.0.1:22', 'example..com', 'host.', '.', '_srv.example.com', 'a'.repeat(64) + '.com', '0', '1.1.1.1/32', '::ffff:10.0.0.1'],
  cidr: ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0/24', '10.0.0.0/24/24', '/24', '10.0.0.0/', '10.0.0.0/024', '::/0', 'fd00::/64', '0.0.0.0/0', '10.0.0.1/24', '256.0.0.0/8', '10.0.0.0/31', '10.0.0.0/32', '10.0.0.0/7', '10.0.0.0 /24', '10.0.0.0/24,10.1.0.0/24', '10.0.0.0/255.255.255.0'],
  path: ['~root/.ssh/id', '~', '/', '.', '..', '../../../etc/passwd', '/dev/null', 'C:\\keys\\id', 'keys dir/id', '/tmp/x*', '%h/id', '-i'],
  name: ['node-a', 'node-d', 'node-z', 'NODE-A', 'node_a', 'network', 'ssh', '-node', 'constructor', '__proto__', 'node-a,node-b', 'root@127.0.0.1:22', '[::1]:22'],
  list: ['', ' ', ',', '10.0.0.1,', ',10.0.0.1', '10.0.0.1,,1.1.1.1', '10.0.0.1 1.1.1.1', '10.0.0.1;1.1.1.1', 'mesh', 'hub', 'star', 'MESH', 'wg0', 'wg0123456789abcdef', 'wg/0', 'null', 'undefined', '[]', '{}', '=', '==', 'a=b'],
}

/** The type of each key's value, so wrong-type damage skips a key's own type. */
const KEY_TYPES: Record<string, keyof typeof WRONG_VALUES> = {
  cidr: 'cidr',
  port: 'number',
  keepalive: 'number',
  interface: 'list',
  mtu: 'number',
  topology: 'list',
  dns: 'list',
  user: 'name',
  identity: 'path',
  known_hosts: 'path',
  host: 'host',
  address: 'host',
  endpoint: 'host',
  nat: 'boolean',
  relay: 'boolean',
  ssh_user: 'name',
  ssh_port: 'number',
  jump: 'name',
  exit_via: 'name',
}

/** Keys a section of each kind may hold that the base leaves out: wrong-type damage adds them. */
const ABSENT_KEYS: Record<string, readonly string[]> = {
  network: ['dns'],
  ssh: [],
  'node-a': ['endpoint', 'port', 'nat', 'identity', 'jump', 'exit_via', 'dns'],
  'node-b': ['port', 'nat', 'relay', 'identity', 'jump'],
  'node-c': ['relay', 'ssh_user', 'exit_via'],
  'node-d': ['port', 'identity', 'endpoint'],
}

/** Every (section, key) slot that wrong-type damage fills: the base's keys plus the absent ones. */
export function wrongTypeSlots(): Array<{section: string; key: string}> {
  const lines = baseLines()
  const slots: Array<{section: string; key: string}> = []
  let section = ''
  for (const line of lines) {
    const h = HEADER.exec(line)
    if (h) {
      section = h[1]!
      continue
    }
    const m = ENTRY.exec(line)
    if (m && !line.trim().startsWith(';')) slots.push({section, key: m[2]!})
  }
  for (const [sec, keys] of Object.entries(ABSENT_KEYS)) for (const key of keys) slots.push({section: sec, key})
  return slots
}

const SHELL_VALUES = [
  '127.0.0.1;reboot',
  '127.0.0.1 && reboot',
  '$(reboot)',
  '`reboot`',
  'a|b',
  'a&b',
  '-oProxyCommand=reboot',
  '--help',
  '127.0.0.1 -p 22',
  "it's",
  '"quoted"',
  "'quoted'",
  'a\\b',
  'a>b',
  'a<b',
  '(a)',
  '{a,b}',
  'a*',
  'a?',
  '!a',
  '~root',
  'a\tb',
  '${IFS}',
  '$HOME',
  'a\vb',
  'a\fb',
  'a%0ab',
  '127.0.0.1#x',
  'root;x',
]

const UNICODE_PIECES = [
  '\u202e', // RIGHT-TO-LEFT OVERRIDE
  '\u202d', // LEFT-TO-RIGHT OVERRIDE
  '\u2066', // LEFT-TO-RIGHT ISOLATE
  '\u200b', // ZERO WIDTH SPACE
  '\u200c',
  '\u200d', // ZERO WIDTH JOINER
  '\u2060', // WORD JOINER
  '\ufeff', // a BOM in the middle
  '\u00a0', // NO-BREAK SPACE
  '\u3000', // IDEOGRAPHIC SPACE
  '\u2028', // LINE SEPARATOR
  '\u2029', // PARAGRAPH SEPARATOR
  '\u0085', // NEXT LINE
  '\u0301', // COMBINING ACUTE
  '😀',
  '👨‍👩‍👧',
  '🇫🇷',
  '\ud83d', // a lone surrogate (encodes as U+FFFD)
  '\ufffd',
  'ß',
  'İ',
  'ﬁ',
  '\u0661\u0662', // ARABIC-INDIC ONE TWO
  '１２', // FULLWIDTH
  'Ⅻ',
  '\u05d0', // HEBREW ALEF
]

/** Letters that look like ASCII ones. */
const HOMOGLYPHS: Record<string, readonly string[]> = {
  a: ['а', 'ɑ'], // Cyrillic a, Latin alpha
  e: ['е'],
  o: ['о', 'ο', '0'],
  c: ['с'],
  p: ['р'],
  s: ['ѕ'],
  i: ['і', 'ı'],
  d: ['ԁ'],
  h: ['һ'],
  n: ['ո'],
  t: ['т'],
  '0': ['О', '০'],
  '1': ['l', 'І', '١'],
  '.': ['․', '。', '．'],
  '-': ['‐', '–', '−'],
  '=': ['＝', '꓿'],
  '[': ['［'],
  ']': ['］'],
}

// ---- the kinds of damage ----------------------------------------------------------------------------------

export const MUTATION_KINDS = [
  'delete-line',
  'swap-values',
  'duplicate-line',
  'duplicate-section',
  'random-bytes',
  'huge-value',
  'unicode',
  'wrong-type',
  'shell-meta',
  'line-endings',
  'truncate',
  'garble-header',
  'rename-key',
  'move-line',
  'syntax',
  'semantic',
  'combo',
] as const

export type MutationKind = (typeof MUTATION_KINDS)[number]

export interface DamageCase {
  /** `<kind>#<n>` (prefixed `<seed>:` for a non-default run seed): reproduces the case. */
  id: string
  kind: MutationKind
  /** What was done, for a failure message. */
  note: string
  /** The damaged file (port: FUZZ_PORT_SENTINEL; see withPort). */
  bytes: Buffer
}

interface Damage {
  bytes: Buffer
  note: string
}

type LineMutation = (lines: string[], rng: Rng) => string

function lineDamage(mutation: LineMutation): (rng: Rng) => Damage {
  return (rng) => {
    const lines = baseLines()
    const note = mutation(lines, rng)
    return {bytes: encode(lines), note}
  }
}

const deleteLine: LineMutation = (lines, rng) => {
  const count = rng.chance(0.75) ? 1 : rng.between(2, 4)
  const removed: number[] = []
  for (let i = 0; i < count; i++) {
    const candidates = nonBlank(lines)
    if (candidates.length === 0) break
    const at = rng.pick(candidates)
    removed.push(at + 1)
    lines.splice(at, 1)
  }
  return `deleted line(s) ${removed.join(', ')} (numbered as the lines were at the time)`
}

const swapValues: LineMutation = (lines, rng) => {
  const all = entries(lines)
  const a = rng.pick(all)
  let b = rng.pick(all)
  for (let tries = 0; b.index === a.index && tries < 10; tries++) b = rng.pick(all)
  setValue(lines, a.index, b.value)
  setValue(lines, b.index, a.value)
  return `swapped the values of line ${a.index + 1} (${a.key}) and line ${b.index + 1} (${b.key})`
}

const duplicateLine: LineMutation = (lines, rng) => {
  const at = rng.pick(nonBlank(lines))
  const to = rng.chance(0.5) ? at + 1 : rng.int(lines.length + 1)
  const copy = lines[at]!
  lines.splice(to, 0, copy)
  return `copied line ${at + 1} (${show(copy)}) to before line ${to + 1}`
}

const duplicateSection: LineMutation = (lines, rng) => {
  const header = rng.pick(headers(lines))
  const [start, end] = sectionRange(lines, header)
  const copy = lines.slice(start, end)
  // Sometimes give the copy other values, so that it is not an exact repeat.
  if (rng.chance(0.4)) {
    for (let i = 1; i < copy.length; i++) {
      const m = ENTRY.exec(copy[i]!)
      if (m && m[2] === 'address') copy[i] = `${m[1]}${m[2]}${m[3]}10.0.0.${rng.between(5, 254)}`
    }
  }
  const where = rng.pick(['after', 'end', 'start'] as const)
  const to = where === 'after' ? end : where === 'end' ? lines.length : 0
  lines.splice(to, 0, ...(where === 'end' ? ['', ...copy] : copy))
  return `copied section ${show(lines[header]!)} (lines ${start + 1}-${end}) to the ${where}`
}

const INTERESTING_BYTES: ReadonlyArray<readonly number[]> = [
  [0x00],
  [0x00, 0x00, 0x00],
  [0x01],
  [0x07],
  [0x08],
  [0x09],
  [0x0b],
  [0x0c],
  [0x0d],
  [0x0a],
  [0x1b, 0x5b, 0x32, 0x4a], // ESC [2J
  [0x1b, 0x5d, 0x30, 0x3b, 0x78, 0x07], // OSC set title
  [0x7f],
  [0x80], // a lone continuation byte
  [0xbf, 0xbf],
  [0xc0, 0xaf], // overlong "/"
  [0xc3], // a truncated 2-byte sequence
  [0xe2, 0x82], // a truncated 3-byte sequence
  [0xed, 0xa0, 0x80], // a UTF-8-encoded surrogate
  [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xfe],
  [0xff],
  [0xff, 0xfe], // a UTF-16 BOM
  [0xef, 0xbb, 0xbf], // a UTF-8 BOM, in the middle
  [0xc2, 0x85], // NEL
  [0xc2, 0x9b], // CSI (C1)
  [0xe2, 0x80, 0xae], // RLO
]

function randomBytes(rng: Rng): Damage {
  let bytes = Buffer.from(baseInventoryText(), 'utf8')
  const edits = rng.chance(0.7) ? 1 : rng.between(2, 6)
  const notes: string[] = []
  for (let i = 0; i < edits; i++) {
    const chunk = rng.chance(0.6)
      ? Buffer.from(rng.pick(INTERESTING_BYTES))
      : Buffer.from(Array.from({length: rng.between(1, 16)}, () => rng.int(256)))
    const at = rng.int(bytes.length + 1)
    const replace = rng.chance(0.3) ? Math.min(chunk.length, bytes.length - at) : 0
    bytes = Buffer.concat([bytes.subarray(0, at), chunk, bytes.subarray(at + replace)])
    notes.push(`${replace ? 'overwrote' : 'inserted'} ${chunk.toString('hex')} at byte ${at}`)
  }
  return {bytes, note: notes.join('; ')}
}

const HUGE = 100 * 1024

function hugeValue(rng: Rng): Damage {
  const lines = baseLines()
  const filler = rng.pick(['a', '9', '1.', 'node-', ' ', ';', '\\', '[', '=', 'é', '😀', '\u200b', '0123456789abcdef'])
  const huge = filler.repeat(Math.ceil(HUGE / filler.length)).slice(0, HUGE)
  // A 100 kB unknown key costs the parser most of a second (its "did you mean" edit distance): fewer of those.
  const target = rng.pick(['value', 'value', 'value', 'value', 'key', 'section', 'comment', 'line', 'lines'] as const)
  const all = entries(lines)
  switch (target) {
    case 'value': {
      const e = rng.pick(all)
      const prefixed = rng.chance(0.3) ? `${e.value}${huge}` : huge
      setValue(lines, e.index, prefixed)
      return {bytes: encode(lines), note: `line ${e.index + 1} (${e.key}): a ${prefixed.length}-character value of ${show(filler)}`}
    }
    case 'key': {
      const e = rng.pick(all)
      if (rng.chance(0.5)) {
        setValue(lines, e.index, huge)
        return {bytes: encode(lines), note: `line ${e.index + 1} (${e.key}): a ${HUGE}-character value of ${show(filler)}`}
      }
      setKey(lines, e.index, huge.replace(/[\s=;#[]/g, 'k'))
      return {bytes: encode(lines), note: `line ${e.index + 1}: a ${HUGE}-character key of ${show(filler)}`}
    }
    case 'section': {
      const h = rng.pick(headers(lines))
      lines[h] = `[${huge.replace(/]/g, 'x')}]`
      return {bytes: encode(lines), note: `line ${h + 1}: a ${HUGE}-character section name of ${show(filler)}`}
    }
    case 'comment': {
      const at = rng.int(lines.length)
      lines.splice(at, 0, `; ${huge}`)
      return {bytes: encode(lines), note: `a ${HUGE}-character comment before line ${at + 1}`}
    }
    case 'line': {
      const at = rng.int(lines.length)
      lines.splice(at, 0, huge)
      return {bytes: encode(lines), note: `a ${HUGE}-character line of ${show(filler)} before line ${at + 1}`}
    }
    case 'lines': {
      // Many lines rather than one long one: 5,000 repeated entries or sections (about 100 kB).
      const kind = rng.pick(['entries', 'sections', 'blank'] as const)
      const extra =
        kind === 'entries'
          ? Array.from({length: 5000}, (_, i) => `key${i} = ${i}`)
          : kind === 'sections'
            ? Array.from({length: 2000}, (_, i) => `[n${i}]\nhost = 127.0.0.1\naddress = 10.${(i >> 8) & 255}.${i & 255}.1`)
            : Array.from({length: 50000}, () => '')
      lines.splice(rng.int(lines.length + 1), 0, ...extra)
      return {bytes: encode(lines), note: `${extra.length} extra ${kind}`}
    }
  }
}

function homoglyphize(text: string, rng: Rng): string {
  const positions = [...text].map((c, i) => (HOMOGLYPHS[c] ? i : -1)).filter((i) => i >= 0)
  if (positions.length === 0) return `${text}${rng.pick(UNICODE_PIECES)}`
  const chars = [...text]
  const at = rng.pick(positions)
  chars[at] = rng.pick(HOMOGLYPHS[chars[at]!]!)
  return chars.join('')
}

const unicode: LineMutation = (lines, rng) => {
  const what = rng.pick(['value', 'value', 'key', 'header', 'line', 'homoglyph-value', 'homoglyph-key', 'homoglyph-header', 'replace-value'] as const)
  const piece = rng.pick(UNICODE_PIECES)
  const all = entries(lines)
  const e = rng.pick(all)
  const insert = (text: string) => {
    const chars = [...text]
    const at = rng.int(chars.length + 1)
    chars.splice(at, 0, piece)
    return chars.join('')
  }
  switch (what) {
    case 'value':
      setValue(lines, e.index, insert(e.value))
      return `line ${e.index + 1} (${e.key}): ${show(piece)} inserted in the value`
    case 'key':
      setKey(lines, e.index, insert(e.key))
      return `line ${e.index + 1}: ${show(piece)} inserted in the key ${e.key}`
    case 'header': {
      const h = rng.pick(headers(lines))
      lines[h] = insert(lines[h]!)
      return `line ${h + 1}: ${show(piece)} inserted in the header`
    }
    case 'line': {
      const at = rng.int(lines.length)
      lines[at] = rng.chance(0.5) ? `${piece}${lines[at]}` : `${lines[at]}${piece}`
      return `line ${at + 1}: ${show(piece)} at an end of the line`
    }
    case 'homoglyph-value':
      setValue(lines, e.index, homoglyphize(e.value, rng))
      return `line ${e.index + 1} (${e.key}): a look-alike character in the value`
    case 'homoglyph-key':
      setKey(lines, e.index, homoglyphize(e.key, rng))
      return `line ${e.index + 1}: a look-alike character in the key ${e.key}`
    case 'homoglyph-header': {
      const h = rng.pick(headers(lines))
      lines[h] = homoglyphize(lines[h]!, rng)
      return `line ${h + 1}: a look-alike character in the header`
    }
    case 'replace-value': {
      const value = rng.pick(['１０.０.０.１', '١٠.٠.٠.١', 'ｔｒｕｅ', 'nöde-a', 'xn--nde-a-mua', '😀.example', 'пример.рф', '２２', 'ⅰ', '\u202e1.0.0.721'])
      setValue(lines, e.index, value)
      return `line ${e.index + 1} (${e.key}) = ${show(value)}`
    }
  }
}

/** The wrong-type case `n`: slot n / types, type n % types (skipping the slot's own type). */
function wrongType(n: number, rng: Rng): Damage {
  const slots = wrongTypeSlots()
  const types = Object.keys(WRONG_VALUES) as Array<keyof typeof WRONG_VALUES>
  const slot = slots[Math.floor(n / types.length) % slots.length]!
  let type = types[n % types.length]!
  if (type === KEY_TYPES[slot.key]) type = types[(n + 1) % types.length]!
  const value = rng.pick(WRONG_VALUES[type]!)
  const lines = baseLines()
  const header = lines.findIndex((l) => l === `[${slot.section}]`)
  const [, end] = sectionRange(lines, header)
  const existing = entries(lines).find((e) => e.index > header && e.index < end && e.key === slot.key)
  if (existing) setValue(lines, existing.index, value)
  else lines.splice(header + 1, 0, `${slot.key} = ${value}`)
  return {bytes: encode(lines), note: `[${slot.section}] ${slot.key} = ${show(value)} (a ${type}${existing ? '' : ', key added'})`}
}

/** wrong-type covers every slot with every wrong type: its count is fixed by the slots, not by perKind. */
export function wrongTypeCount(): number {
  return wrongTypeSlots().length * Object.keys(WRONG_VALUES).length
}

const shellMeta: LineMutation = (lines, rng) => {
  const e = rng.pick(entries(lines))
  const meta = rng.pick(SHELL_VALUES)
  const how = rng.pick(['replace', 'append', 'prepend'] as const)
  const value = how === 'replace' ? meta : how === 'append' ? `${e.value}${meta}` : `${meta}${e.value}`
  setValue(lines, e.index, value)
  return `line ${e.index + 1} (${e.key}) = ${show(value)}`
}

function lineEndings(rng: Rng): Damage {
  const lines = baseLines()
  const style = rng.pick(['crlf', 'cr', 'mixed', 'bom', 'bom-crlf', 'double-bom', 'bom-mixed', 'utf16le', 'utf16be', 'no-final-newline', 'crcrlf', 'lf-cr'] as const)
  const body = lines.join('\n')
  const mixed = () => lines.map((l, i) => (i === lines.length - 1 ? l : l + rng.pick(['\n', '\r\n', '\r', '\n\r', '\r\r\n']))).join('')
  let text: string
  switch (style) {
    case 'crlf':
      text = lines.join('\r\n')
      break
    case 'cr':
      text = lines.join('\r')
      break
    case 'mixed':
      text = mixed()
      break
    case 'bom':
      text = `\ufeff${body}`
      break
    case 'bom-crlf':
      text = `\ufeff${lines.join('\r\n')}`
      break
    case 'double-bom':
      text = `\ufeff\ufeff${body}`
      break
    case 'bom-mixed':
      text = `\ufeff${mixed()}`
      break
    case 'utf16le':
      return {bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]), note: 'the whole file in UTF-16LE with its BOM'}
    case 'utf16be': {
      const le = Buffer.from(body, 'utf16le')
      const be = Buffer.alloc(le.length)
      for (let i = 0; i + 1 < le.length; i += 2) {
        be[i] = le[i + 1]!
        be[i + 1] = le[i]!
      }
      return {bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), be]), note: 'the whole file in UTF-16BE with its BOM'}
    }
    case 'no-final-newline':
      text = body.trimEnd()
      break
    case 'crcrlf':
      text = lines.join('\r\r\n')
      break
    case 'lf-cr':
      text = lines.join('\n\r')
      break
  }
  return {bytes: Buffer.from(text, 'utf8'), note: `line endings: ${style}`}
}

function truncate(rng: Rng): Damage {
  const text = rng.chance(0.3) ? `${baseInventoryText()}; é😀 ✓\n`.replace('; the relay', '; the relay — né😀') : baseInventoryText()
  const bytes = Buffer.from(text, 'utf8')
  const how = rng.pick(['anywhere', 'anywhere', 'anywhere', 'empty', 'whitespace', 'first-line', 'mid-multibyte'] as const)
  switch (how) {
    case 'empty':
      return {bytes: Buffer.alloc(0), note: 'an empty file'}
    case 'whitespace':
      return {bytes: Buffer.from(rng.pick(['\n', '\n\n\n', '   ', '\t\n \r\n', '\ufeff', '\ufeff\n', '; only a comment\n', '# comment\n; another'])), note: 'blank or comments only'}
    case 'first-line':
      return {bytes: bytes.subarray(0, rng.between(1, text.indexOf('\n'))), note: 'cut inside the first line'}
    case 'mid-multibyte': {
      const multi = [...bytes.entries()].filter(([, b]) => b >= 0xc0).map(([i]) => i)
      if (multi.length === 0) return {bytes: bytes.subarray(0, 10), note: 'cut at byte 10'}
      const at = rng.pick(multi) + 1
      return {bytes: bytes.subarray(0, at), note: `cut at byte ${at}, inside a multi-byte character`}
    }
    case 'anywhere': {
      const at = rng.int(bytes.length)
      return {bytes: bytes.subarray(0, at), note: `cut at byte ${at} of ${bytes.length}`}
    }
  }
}

const GARBLED_HEADERS: ReadonlyArray<(name: string) => string> = [
  (n) => `[${n}`,
  (n) => `${n}]`,
  (n) => `[[${n}]]`,
  (n) => `[${n}]]`,
  (n) => `[[${n}]`,
  (n) => `[ ${n} ]`,
  (n) => `[${n.replace('-', ' ')}]`,
  (n) => `[${n.replace('-', '.')}]`,
  (n) => `[${n.replace('-', '_')}]`,
  (n) => `[${n}.sub]`,
  (n) => `[${n.toUpperCase()}]`,
  (n) => `[${n[0]!.toUpperCase()}${n.slice(1)}]`,
  (n) => `[${n}] extra`,
  (n) => `[${n}] ; comment`,
  (n) => `[${n}];comment`,
  (n) => `[${n}]#`,
  (n) => ` [${n}]`,
  (n) => `\t[${n}]`,
  (n) => `[${n}]   `,
  () => '[]',
  () => '[ ]',
  () => '[',
  () => ']',
  () => '[]]',
  (n) => `[${n}=x]`,
  (n) => `[${n};x]`,
  (n) => `[-${n}]`,
  (n) => `[${n}-]`,
  () => '[constructor]',
  () => '[__proto__]',
  () => '[prototype]',
  () => '[hasownproperty]',
  () => '[tostring]',
  (n) => `[${n}${n}${n}${n}${n}${n}${n}${n}${n}]`, // longer than 63
  () => '[network]',
  () => '[ssh]',
  () => '[node-a]',
  (n) => `[${n}\\]`,
  (n) => `["${n}"]`,
  (n) => `[${n}[]]`,
  (n) => `{${n}}`,
  (n) => `(${n})`,
  (n) => `<${n}>`,
  (n) => `[${n}]\\`,
  () => '[0]',
  () => '[1]',
  () => '[-]',
  () => '[a]',
  () => '[xn--nde-a-mua]',
]

const garbleHeader: LineMutation = (lines, rng) => {
  const h = rng.pick(headers(lines))
  const name = HEADER.exec(lines[h]!)?.[1] ?? 'node-a'
  const garble = rng.pick(GARBLED_HEADERS)
  lines[h] = garble(name)
  return `line ${h + 1}: header [${name}] written as ${show(lines[h]!)}`
}

const KEY_RENAMES: ReadonlyArray<(key: string) => string> = [
  (k) => k.toUpperCase(),
  (k) => `${k[0]!.toUpperCase()}${k.slice(1)}`,
  (k) => k.replace(/_/g, '-'),
  (k) => k.replace(/_/g, ''),
  (k) => k.replace(/_/g, ' '),
  (k) => k.replace(/_(.)/g, (_, c: string) => c.toUpperCase()),
  (k) => `${k}s`,
  (k) => k.slice(0, -1),
  (k) => `${k}[]`,
  (k) => `${k}.x`,
  (k) => `x.${k}`,
  (k) => `${k}:`,
  (k) => `_${k}`,
  (k) => `${k}_`,
  (k) => k.split('').reverse().join(''),
  (k) => (k.length > 2 ? `${k.slice(0, 1)}${k.slice(2, 3)}${k.slice(1, 2)}${k.slice(3)}` : k + k),
  () => 'ansible_host',
  () => 'ansible_user',
  () => 'user',
  () => 'hostname',
  () => 'ip',
  () => 'listen_port',
  () => 'proxyjump',
  () => 'subnet',
  () => '__proto__',
  () => 'constructor',
  () => 'toString',
  () => 'hasOwnProperty',
  () => 'cidr',
  () => 'known_hosts',
]

const renameKey: LineMutation = (lines, rng) => {
  const e = rng.pick(entries(lines))
  const rename = rng.pick(KEY_RENAMES)
  const key = rename(e.key)
  setKey(lines, e.index, key)
  return `line ${e.index + 1}: key ${e.key} renamed ${show(key)}`
}

const moveLine: LineMutation = (lines, rng) => {
  const from = rng.pick(nonBlank(lines))
  const [line] = lines.splice(from, 1)
  const where = rng.pick(['top', 'other-section', 'anywhere'] as const)
  let to: number
  if (where === 'top') to = 0
  else if (where === 'other-section') to = rng.pick(headers(lines)) + 1
  else to = rng.int(lines.length + 1)
  lines.splice(to, 0, line!)
  return `moved line ${from + 1} (${show(line!)}) to before line ${to + 1} (${where})`
}

const SYNTAX_DAMAGE: ReadonlyArray<(key: string, value: string) => string> = [
  (k, v) => `${k} ${v}`,
  (k, v) => `${k}: ${v}`,
  (k, v) => `${k}:${v}`,
  (k, v) => `${k}=${v}`,
  (k, v) => `${k} == ${v}`,
  (k, v) => `${k} = = ${v}`,
  (k, v) => `${k} = "${v}"`,
  (k, v) => `${k} = '${v}'`,
  (k, v) => `${k} = "${v}`,
  (k, v) => `${k} = ${v};comment`,
  (k, v) => `${k} = ${v}#comment`,
  (k, v) => `${k} = ${v} ; comment`,
  (k, v) => `${k} = ${v} # comment`,
  (k, v) => `${k} = ${v}\\`,
  (k, v) => `${k} = ${v} \\`,
  (k) => `${k} =`,
  (k) => `${k} = `,
  (k) => `${k}`,
  (k) => `${k} = ;`,
  (_k, v) => `= ${v}`,
  (k, v) => `  ${k} = ${v}`,
  (k, v) => `\t${k}\t=\t${v}\t`,
  (k, v) => `${k} = ${v} ${v}`,
  (k, v) => `${k} = ${v},${v}`,
  (k, v) => `${k}\t${v}`,
  (k, v) => `${k} = [${v}]`,
  (k, v) => `${k} = {${v}}`,
  (k, v) => `${k}[] = ${v}`,
  (k, v) => `${k} = ${v}\u0000`,
  (k, v) => `; ${k} = ${v}`,
  (k, v) => `# ${k} = ${v}`,
  (k, v) => `${k} = ${v} ;`,
  (k, v) => `${k} = ${v} ;; x = y`,
  (k, v) => `${k}=${v}=${v}`,
  (k, v) => `${k} = ${v}\r`,
  (k, v) => `${k} = ${v}\r${k} = ${v}`,
  (k, v) => `${k}  =  ${v}  `,
  (k, v) => `${k}${v}`,
  (k, v) => `[${k} = ${v}]`,
  (k, v) => `${k} = ${v}]`,
  (k, v) => `- ${k}: ${v}`,
  (k, v) => `${k} ${v} ansible_user=root`,
  (_k, v) => `${v}`,
]

const syntax: LineMutation = (lines, rng) => {
  const e = rng.pick(entries(lines))
  const damage = rng.pick(SYNTAX_DAMAGE)
  lines[e.index] = damage(e.key, e.value)
  return `line ${e.index + 1} written as ${show(lines[e.index]!)}`
}

/** Plausible edits that make the fleet inconsistent as a whole (or keep it valid in another shape). */
const semantic: LineMutation = (lines, rng) => {
  const notes: string[] = []
  const edits = rng.between(1, 3)
  for (let i = 0; i < edits; i++) {
    const node = rng.pick(BASE_NODES)
    const header = lines.findIndex((l) => l === `[${node}]`)
    if (header < 0) continue
    const [, end] = sectionRange(lines, header)
    const key = rng.pick(['address', 'address', 'nat', 'relay', 'jump', 'exit_via', 'endpoint', 'port', 'cidr', 'topology', 'keepalive', 'mtu'] as const)
    const value: string = {
      address: () => rng.pick([`10.0.0.${rng.between(0, 255)}`, '10.0.1.1', '10.0.0.1', '10.0.0.2', '10.0.0.255', '10.0.0.0']),
      nat: () => rng.pick(['true', 'false']),
      relay: () => rng.pick(['true', 'false']),
      jump: () => rng.pick([...BASE_NODES, 'node-z', 'root@127.0.0.1', 'admin@127.0.0.1:2222', '[::1]:22']),
      exit_via: () => rng.pick([...BASE_NODES, 'node-z']),
      endpoint: () => rng.pick(['127.0.0.1', '127.0.0.1:51820', '[::1]:51820', '::1', 'vpn.example.com:1', '127.0.0.1:0']),
      port: () => rng.pick(['51820', '1', '65535', '51821']),
      cidr: () => rng.pick(['10.0.0.0/8', '10.0.0.0/30', '10.0.0.0/29', '192.168.0.0/16', '10.0.0.0/25']),
      topology: () => rng.pick(['hub', 'mesh']),
      keepalive: () => rng.pick(['0', '1', '65535']),
      mtu: () => rng.pick(['576', '9000', '1280']),
    }[key]()
    const inNetwork = key === 'cidr' || key === 'topology' || key === 'keepalive' || key === 'mtu'
    const sectionHeader = inNetwork ? lines.findIndex((l) => l === '[network]') : header
    const [, sectionEnd] = inNetwork ? sectionRange(lines, sectionHeader) : [header, end]
    const existing = entries(lines).find((e) => e.index > sectionHeader && e.index < sectionEnd && e.key === key)
    if (existing) setValue(lines, existing.index, value)
    else lines.splice(sectionHeader + 1, 0, `${key} = ${value}`)
    notes.push(`[${inNetwork ? 'network' : node}] ${key} = ${value}`)
  }
  return notes.join('; ')
}

const COMBINABLE: readonly LineMutation[] = [deleteLine, swapValues, duplicateLine, duplicateSection, unicode, shellMeta, garbleHeader, renameKey, moveLine, syntax, semantic]

const combo: LineMutation = (lines, rng) => {
  const count = rng.between(2, 5)
  const notes: string[] = []
  for (let i = 0; i < count; i++) {
    if (entries(lines).length === 0 || headers(lines).length === 0) break
    notes.push(rng.pick(COMBINABLE)(lines, rng))
  }
  return notes.join(' | ')
}

const GENERATORS: Record<Exclude<MutationKind, 'wrong-type'>, (rng: Rng) => Damage> = {
  'delete-line': lineDamage(deleteLine),
  'swap-values': lineDamage(swapValues),
  'duplicate-line': lineDamage(duplicateLine),
  'duplicate-section': lineDamage(duplicateSection),
  'random-bytes': randomBytes,
  'huge-value': hugeValue,
  unicode: lineDamage(unicode),
  'shell-meta': lineDamage(shellMeta),
  'line-endings': lineEndings,
  truncate,
  'garble-header': lineDamage(garbleHeader),
  'rename-key': lineDamage(renameKey),
  'move-line': lineDamage(moveLine),
  syntax: lineDamage(syntax),
  semantic: lineDamage(semantic),
  combo: lineDamage(combo),
}

// ---- cases ------------------------------------------------------------------------------------------------

/** The default run seed; another (WGFLEET_FUZZ_SEED) explores other cases under ids prefixed with it. */
export const DEFAULT_FUZZ_SEED = 0

const ID = /^(?:(\d+):)?([a-z-]+)#(\d+)$/

/** The case with this id (`kind#n` or `seed:kind#n`). */
export function damageCase(id: string): DamageCase {
  const match = ID.exec(id)
  const kind = match?.[2] as MutationKind | undefined
  if (!match || !kind || !MUTATION_KINDS.includes(kind)) throw new Error(`not a damage case id: ${id} (expected <kind>#<n>, kind one of ${MUTATION_KINDS.join(', ')})`)
  const seed = match[1] === undefined ? DEFAULT_FUZZ_SEED : Number(match[1])
  const n = Number(match[3])
  const rng = new Rng(hashSeed(`${seed}:${kind}#${n}`))
  const damage = kind === 'wrong-type' ? wrongType(n, rng) : GENERATORS[kind](rng)
  return {id, kind, ...damage}
}

export interface GenerateOptions {
  /** Cases per kind (wrong-type always gets wrongTypeCount(): every slot × every wrong type). Default 80. */
  perKind?: number
  /** Run seed (default DEFAULT_FUZZ_SEED); ids carry it when it is not the default. */
  seed?: number
}

/** Every case, kind by kind, in a stable order. */
export function generateDamageCases(options: GenerateOptions = {}): DamageCase[] {
  const perKind = options.perKind ?? 80
  const seed = options.seed ?? DEFAULT_FUZZ_SEED
  const prefix = seed === DEFAULT_FUZZ_SEED ? '' : `${seed}:`
  const cases: DamageCase[] = []
  for (const kind of MUTATION_KINDS) {
    const count = kind === 'wrong-type' ? wrongTypeCount() : perKind
    for (let n = 0; n < count; n++) cases.push(damageCase(`${prefix}${kind}#${n}`))
  }
  return cases
}
