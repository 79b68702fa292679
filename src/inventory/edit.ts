/**
 * Helpers for commands that add a node or a client (add-node, client add): the next free address, and the
 * INI text of a new section appended to the file without changing any byte already there.
 */
import {BugError, InventoryError} from '../lib/errors.js'
import {broadcastOf, formatIPv4, parseIPv4} from './ipv4.js'
import {CLIENT_KEYS, NODE_KEYS} from './keys.js'
import type {Fleet} from './model.js'
import type {ClientValues, NodeValues} from './parse.js'
import {checkCidr, isLabel} from './values.js'

/** The lowest host address of the network's cidr that no node (nor client) uses. Throws InventoryError when it is full. */
export function nextFreeAddress(fleet: Fleet): string {
  const cidr = checkCidr(fleet.network.cidr)
  if (!cidr.ok) throw new BugError(`the fleet's cidr ${fleet.network.cidr} is not valid`)
  const used = new Set([...fleet.nodes, ...(fleet.clients ?? [])].map((n) => parseIPv4(n.address)))
  for (let address = cidr.value.base + 1; address < broadcastOf(cidr.value); address++) {
    if (!used.has(address)) return formatIPv4(address)
  }
  throw new InventoryError(
    {file: fleet.file, line: 0, section: 'network', key: 'cidr'},
    `no free address left in ${fleet.network.cidr}`,
    'use a larger network in [network] cidr (a shorter prefix, e.g. /23 instead of /24); every node is then reconfigured',
  )
}

/**
 * The INI text of a node section (LF line endings, keys in NODE_KEYS order, undefined values left out).
 * The values must have passed validateNewNode; anything that would change how the file reads is a bug.
 */
export function renderNodeSection(name: string, values: NodeValues): string {
  return renderSection(name, NODE_KEYS, values)
}

/** A client's section (`client = true` first, then the keys in CLIENT_KEYS order); values passed validateNewClient. */
export function renderClientSection(name: string, values: ClientValues): string {
  return renderSection(name, CLIENT_KEYS, {client: true, ...values})
}

function renderSection(name: string, keys: readonly string[], values: Partial<Record<string, string | number | boolean>>): string {
  if (!isLabel(name)) throw new BugError(`section name ${JSON.stringify(name)} was not validated`)
  for (const key of Object.keys(values)) {
    if (!keys.includes(key)) throw new BugError(`unknown key ${JSON.stringify(key)} for [${name}]`)
  }
  const lines = [`[${name}]`]
  for (const key of keys) {
    const value = values[key]
    if (value === undefined) continue
    const text = String(value)
    if (text === '' || text !== text.trim() || /[\r\n;#"'\\]/.test(text)) {
      throw new BugError(`value of ${key} ${JSON.stringify(text)} was not validated`)
    }
    lines.push(`${key} = ${text}`)
  }
  return lines.join('\n') + '\n'
}

/**
 * `text` followed by `section`, separated by one blank line, in the file's own line endings (CRLF if it
 * uses them). The result starts with `text` unchanged: only bytes are appended.
 */
export function appendNodeSection(text: string, section: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const body = section.replace(/\r?\n/g, eol)
  if (text === '') return body
  const endsWithNewline = text.endsWith('\n') || text.endsWith('\r')
  if (!endsWithNewline) return text + eol + eol + body
  const lines = text.split(/\r\n|\r|\n/)
  // After the final newline split() yields '', so the last line of the file is the one before it.
  const lastLine = lines[lines.length - 2] ?? ''
  return text + (lastLine.trim() === '' ? '' : eol) + body
}

/**
 * `text` without node NAME's section: its header line, its key lines, and the blank lines that end it.
 * Comment lines right before the next header stay (they usually describe the next section); every other
 * byte is unchanged. Throws (a bug) when the section is not there exactly once.
 */
export function removeNodeSection(text: string, name: string): string {
  const lines = text.split(/(?<=\r\n|\n|\r(?!\n))/) // keep each line's own ending (LF, CRLF or a lone CR, as the parser reads them)
  const header = (line: string) => /^\s*\[([^\]]*)\]/.exec(line.replace(/^\uFEFF/, ''))?.[1]?.trim()
  const starts = lines.flatMap((line, index) => (header(line) === name ? [index] : []))
  if (starts.length !== 1) throw new BugError(`section [${name}] appears ${starts.length} times`)
  const start = starts[0]!
  let next = lines.findIndex((line, index) => index > start && header(line) !== undefined)
  if (next === -1) next = lines.length
  // Walk back over the comments and blank lines that lead into the next section.
  let end = next
  while (end > start + 1 && /^\s*([;#][^\r\n]*)?(\r\n|\n|\r)?$/.test(lines[end - 1]!)) end--
  // ...but remove the blank lines that directly follow the section's last key.
  while (end < next && /^[^\S\r\n]*(\r\n|\n|\r)?$/.test(lines[end]!)) end++
  // The last section: also drop the one blank line that separated it (what appendNodeSection added).
  let from = start
  if (end === lines.length && from > 0 && /^[^\S\r\n]*(\r\n|\n|\r)$/.test(lines[from - 1]!)) from--
  return [...lines.slice(0, from), ...lines.slice(end)].join('')
}
