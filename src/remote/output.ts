/**
 * The one parser of what host scripts print: `key=value` lines and `--- NAME` … `--- end NAME` blocks
 * (raw listings: a config, `wg show dump`, firewall listings). What a host prints is untrusted: lines are
 * split, never evaluated; callers validate every value they use.
 */
export interface ScriptOutput {
  /** Every `key=value` line outside blocks, in order. */
  entries: Array<[string, string]>
  /** The last value printed for KEY. */
  one(key: string): string | undefined
  /** Every value printed for KEY, in order. */
  all(key: string): string[]
  /** The lines of block NAME; undefined when it was not printed. */
  block(name: string): string[] | undefined
  /**
   * The lines of block NAME joined by "\n" (as `block(name).join('\n')`), taken from the text without
   * splitting it; with `terminated`, one more "\n" at the end (as `join('\n') + '\n'`).
   */
  blockText(name: string, terminated?: boolean): string | undefined
  /** The output ended inside a block: it was cut off. */
  cut: boolean
}

/** KEY must look like a key (lower case, digits, `_`, `.`): anything else is not a `key=value` line. */
const KEY = /^[a-z0-9_.]+$/i

/** Where a block's lines are in the text: [start, end) holds them, "\n"-separated; `empty` = no line at all. */
interface BlockRange {
  start: number
  end: number
  empty: boolean
  lines?: string[]
}

/**
 * Lines are found with indexOf, and a block is kept as a range of the text, split only when asked for:
 * a probe carries the node's whole config and `wg show dump` (O(N) lines at N peers), and splitting them
 * into lines only to join them again was most of the allocations of a no-op init at a thousand nodes.
 */
export function parseScriptOutput(input: string, blockNames: ReadonlySet<string>): ScriptOutput {
  // Each line loses one trailing "\r" (CRLF output), as if split first and then stripped.
  const text = input.includes('\r') ? input.replace(/\r(?=\n|$)/g, '') : input
  const entries: Array<[string, string]> = []
  const values = new Map<string, string[]>()
  const blocks = new Map<string, BlockRange>()
  let cut = false
  let pos = 0
  while (pos <= text.length) {
    const newline = text.indexOf('\n', pos)
    const lineEnd = newline === -1 ? text.length : newline
    const next = lineEnd + 1
    const name = text.startsWith('--- ', pos) ? text.slice(pos + 4, lineEnd) : null
    if (name !== null && blockNames.has(name)) {
      const range = blockRange(text, name, next)
      blocks.set(name, range)
      if (range.cut) {
        cut = true
        break
      }
      pos = range.resume
      continue
    }
    const line = text.slice(pos, lineEnd)
    const eq = line.indexOf('=')
    if (eq > 0 && KEY.test(line.slice(0, eq))) {
      const key = line.slice(0, eq)
      const value = line.slice(eq + 1)
      entries.push([key, value])
      const list = values.get(key)
      if (list) list.push(value)
      else values.set(key, [value])
    }
    pos = next
  }
  const linesOf = (range: BlockRange): string[] => (range.lines ??= range.empty ? [] : text.slice(range.start, range.end).split('\n'))
  return {
    entries,
    one: (key) => values.get(key)?.at(-1),
    all: (key) => values.get(key) ?? [],
    block: (name) => {
      const range = blocks.get(name)
      return range && linesOf(range)
    },
    blockText: (name, terminated = false) => {
      const range = blocks.get(name)
      if (!range) return undefined
      if (range.empty) return terminated ? '\n' : ''
      if (!terminated) return text.slice(range.start, range.end)
      // The "\n" before the end line is in the text already: one slice, not a copy made on first use.
      return range.end < text.length ? text.slice(range.start, range.end + 1) : text.slice(range.start) + '\n'
    },
    cut,
  }
}

/**
 * The block whose lines start at START, up to its `--- end NAME` line (a line of exactly that); `resume`
 * is where the line after that one starts. No such line: the block runs to the end of the text (cut off).
 */
function blockRange(text: string, name: string, start: number): BlockRange & {cut: boolean; resume: number} {
  // The block's marker line was the text's last, with no "\n": no line follows it.
  if (start > text.length) return {start, end: start, empty: true, cut: true, resume: start}
  const marker = `--- end ${name}`
  let at = start
  while (!(text.startsWith(marker, at) && (at + marker.length === text.length || text[at + marker.length] === '\n'))) {
    const found = text.indexOf(`\n${marker}`, at)
    if (found === -1) return {start, end: text.length, empty: false, cut: true, resume: text.length + 1}
    at = found + 1
  }
  return {start, end: Math.max(start, at - 1), empty: at === start, cut: false, resume: at + marker.length + 1}
}

/** `key=value` lines of prepare.sh / apply.sh / verify.sh / teardown.sh output, in order. */
export function parseKeyValues(text: string): Array<[string, string]> {
  return parseScriptOutput(text, new Set()).entries
}

/** VALUE when it is one of ALLOWED, else FALLBACK (a host cannot invent states). */
export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback
}
