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
  /** The output ended inside a block: it was cut off. */
  cut: boolean
}

/** KEY must look like a key (lower case, digits, `_`, `.`): anything else is not a `key=value` line. */
const KEY = /^[a-z0-9_.]+$/i

export function parseScriptOutput(text: string, blockNames: ReadonlySet<string>): ScriptOutput {
  const entries: Array<[string, string]> = []
  const values = new Map<string, string[]>()
  const blocks = new Map<string, string[]>()
  let open: string[] | null = null
  let openName = ''
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (open !== null) {
      if (line === `--- end ${openName}`) open = null
      else open.push(line)
      continue
    }
    const start = line.startsWith('--- ') ? line.slice(4) : null
    if (start !== null && blockNames.has(start)) {
      openName = start
      open = []
      blocks.set(start, open)
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0 || !KEY.test(line.slice(0, eq))) continue
    const key = line.slice(0, eq)
    const value = line.slice(eq + 1)
    entries.push([key, value])
    const list = values.get(key)
    if (list) list.push(value)
    else values.set(key, [value])
  }
  return {
    entries,
    one: (key) => values.get(key)?.at(-1),
    all: (key) => values.get(key) ?? [],
    block: (name) => blocks.get(name),
    cut: open !== null,
  }
}

/** `key=value` lines of prepare.sh / apply.sh / verify.sh / teardown.sh output, in order. */
export function parseKeyValues(text: string): Array<[string, string]> {
  return parseScriptOutput(text, new Set()).entries
}

/** VALUE when it is one of ALLOWED, else FALLBACK (a host cannot invent states). */
export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback
}
