/**
 * The line-by-line pass over the raw text. The `ini` package is forgiving in ways that hide mistakes
 * (it merges duplicate sections, keeps the last of duplicate keys, cuts a value at a glued `;`, nests
 * `[a.b]` under `[a]`, reads `[node-a] ; x` as a key), so this pass is the source of truth for
 * sections, keys, values and their line numbers; the `ini` result is cross-checked against it.
 */
import type {Problems} from './problems.js'
import {show} from './values.js'

export interface RawEntry {
  key: string
  /** Trimmed, end-of-line comment removed. */
  value: string
  line: number
  /** A problem was reported on this line already: the key counts as present, its value is not used. */
  invalid: boolean
}

export interface RawSection {
  name: string
  /** Line of the `[name]` header (0 when the values came from flags). */
  line: number
  /** First occurrence of each key, in file order. */
  entries: Map<string, RawEntry>
  /** A problem was reported on the header line. */
  invalid: boolean
}

export interface RawDocument {
  /** First occurrence of each section, in file order. Dotted, empty and repeated sections are left out. */
  sections: RawSection[]
  /** Whether the file has anything but blank lines and comments. */
  hasContent: boolean
}

const UTF8_BOM = '\uFEFF'

export function stripBom(text: string): string {
  return text.startsWith(UTF8_BOM) ? text.slice(1) : text
}

/** Lines of the text; CRLF, LF and lone CR all end a line (as they do for the `ini` package). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/)
}

function isComment(trimmed: string): boolean {
  return trimmed.startsWith(';') || trimmed.startsWith('#')
}

const LINE_FORMS_HINT =
  'each line is `key = value`, a [section] header, a comment starting with ; or #, or blank'
const NOT_ANSIBLE_HINT =
  "this is not an Ansible inventory: give each server its own [name] section, with `host = ...` and `address = ...` on lines of their own"

/** Scans `text` (BOM already removed), reporting syntax problems into `problems`. */
export function scanInventory(text: string, problems: Problems): RawDocument {
  const scanner = new LineScanner(problems)
  splitLines(text).forEach((line, index) => scanner.scan(line, index + 1))
  return {sections: scanner.sections, hasContent: scanner.hasContent}
}

class LineScanner {
  readonly sections: RawSection[] = []
  hasContent = false
  /** Where key = value lines go: a section, `discarded` (the header was unusable), or none yet. */
  private current: RawSection | 'discarded' | undefined
  private readonly firstHeaderLine = new Map<string, number>()

  constructor(private readonly problems: Problems) {}

  scan(line: string, lineNumber: number): void {
    const trimmed = line.trim()
    if (trimmed === '' || isComment(trimmed)) return
    this.hasContent = true
    if (trimmed.startsWith('[')) this.scanHeader(trimmed, lineNumber, line !== line.trimStart())
    else if (trimmed.includes('=')) this.scanEntry(trimmed, lineNumber)
    else this.reportNotKeyValue(trimmed, lineNumber)
  }

  private scanHeader(trimmed: string, line: number, indented: boolean): void {
    const match = /^\[([^\]]*)\](.*)$/.exec(trimmed)
    if (!match) {
      this.problems.add({line}, `${show(trimmed)} is not a section header`, 'a section header is [name] alone on its line')
      this.current = 'discarded'
      return
    }
    const name = (match[1] ?? '').trim()
    const after = (match[2] ?? '').trim()
    if (name === '') {
      this.problems.add({line}, 'empty section name []', 'name the section: [network], [ssh], or a node name such as [node-a]')
      this.current = 'discarded'
      return
    }
    if (name.includes('.')) {
      this.problems.add(
        {line, section: name},
        'a section name cannot contain "."',
        `the INI parser reads [${name}] as a subsection; node names are labels of lowercase letters, digits and "-", e.g. [${name.replace(/\./g, '-').toLowerCase()}]`,
      )
      this.current = 'discarded'
      return
    }
    const first = this.firstHeaderLine.get(name)
    if (first !== undefined) {
      this.problems.add({line, section: name}, `this section appears twice (first at line ${first})`, 'merge the two sections into one, or rename one of them')
      this.current = 'discarded'
      return
    }
    this.firstHeaderLine.set(name, line)
    const section: RawSection = {name, line, entries: new Map(), invalid: false}
    if (after !== '') this.reportTextAfterHeader(section, after)
    else if (indented) this.reportIndentedHeader(section)
    this.sections.push(section)
    this.current = section
  }

  /** The section is kept (its keys are still checked), but the line is an error. */
  private reportTextAfterHeader(section: RawSection, after: string): void {
    section.invalid = true
    const where = {line: section.line, section: section.name}
    if (isComment(after)) {
      this.problems.add(where, 'a comment after a section header is not allowed', `put the comment on its own line above [${section.name}] (the INI parser misreads this line)`)
    } else {
      this.problems.add(where, `unexpected text ${show(after)} after the section header`, 'a section header is [name] alone on its line')
    }
  }

  private reportIndentedHeader(section: RawSection): void {
    section.invalid = true
    this.problems.add(
      {line: section.line, section: section.name},
      'the section header is indented',
      `start [${section.name}] at the beginning of the line (the INI parser does not see an indented header)`,
    )
  }

  private scanEntry(trimmed: string, line: number): void {
    const equals = trimmed.indexOf('=')
    const key = trimmed.slice(0, equals).trim()
    const section = this.current === 'discarded' || this.current === undefined ? undefined : this.current.name
    if (key === '') {
      this.problems.add({line, section}, 'the line starts with "=": the key is missing', 'write `key = value`')
      return
    }
    if (/\s/.test(key)) {
      this.problems.add({line, section}, `${show(trimmed)} is not a \`key = value\` line`, NOT_ANSIBLE_HINT)
      return
    }
    const where = {line, section, key}
    const parsed = parseValue(trimmed.slice(equals + 1))
    let invalid = false
    if (parsed.gluedComment !== undefined) {
      invalid = true
      this.problems.add(
        where,
        `"${parsed.gluedComment}" is glued to the value ${show(parsed.value)}`,
        `the INI parser would silently cut the value there. A value cannot contain ; or #; for a comment, put a space before it: ${key} = value ; comment`,
      )
    } else if (isQuoted(parsed.value)) {
      invalid = true
      this.problems.add(where, `the value ${show(parsed.value)} is quoted`, `write values without quotes: ${key} = ${parsed.value.slice(1, -1)}`)
    }
    if (this.current === undefined) {
      this.problems.add(where, 'this line comes before any [section]', 'move it under [network], [ssh] or a node section')
      return
    }
    if (this.current === 'discarded') return
    const first = this.current.entries.get(key)
    if (first) {
      this.problems.add(where, `\`${key}\` is set twice in [${this.current.name}] (first at line ${first.line})`, 'keep only one of the two lines')
      return
    }
    this.current.entries.set(key, {key, value: parsed.value, line, invalid})
  }

  private reportNotKeyValue(trimmed: string, line: number): void {
    const section = this.current === 'discarded' || this.current === undefined ? undefined : this.current.name
    const colon = /^([A-Za-z_]+)\s*:\s*(.*)$/.exec(trimmed)
    if (colon && !trimmed.includes('::')) {
      this.problems.add({line, section, key: colon[1]}, `${show(trimmed)} is not a \`key = value\` line`, `write ${colon[1]} = ${colon[2]}`)
      return
    }
    const hint = /\s/.test(trimmed) || /^[\w.:-]+$/.test(trimmed) ? `${LINE_FORMS_HINT}; ${NOT_ANSIBLE_HINT}` : LINE_FORMS_HINT
    this.problems.add({line, section}, `${show(trimmed)} is not a \`key = value\` line`, hint)
  }
}

/**
 * The value after "=": a `;` or `#` that starts the value or follows whitespace begins a comment (dropped);
 * one glued to a character of the value is reported (the `ini` package would cut the value there).
 */
function parseValue(afterEquals: string): {value: string; gluedComment?: string} {
  for (let i = 0; i < afterEquals.length; i++) {
    const c = afterEquals[i]
    if (c !== ';' && c !== '#') continue
    const before = afterEquals.slice(0, i)
    if (before.trim() === '' || /\s$/.test(before)) return {value: before.trim()}
    return {value: afterEquals.trim(), gluedComment: c}
  }
  return {value: afterEquals.trim()}
}

function isQuoted(value: string): boolean {
  return value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
}
