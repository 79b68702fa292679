/**
 * Parser of /etc/os-release (os-release(5)): KEY=value lines, values optionally single- or
 * double-quoted, shell-style backslash escapes (\" \\ \$ \` and, outside quotes, any char).
 * Never executes anything: the file is read as data.
 */

export interface OsRelease {
  /** Lower-case distro id, e.g. "debian", "ubuntu", "rhel", "rocky" (os-release default: "linux"). */
  id: string
  /** ID_LIKE split on spaces, e.g. ["rhel", "centos", "fedora"]. */
  idLike: string[]
  /** VERSION_ID, e.g. "12", "24.04", "8.10"; "" when absent (rolling releases). */
  versionId: string
  /** PRETTY_NAME (os-release default: "Linux"). */
  prettyName: string
  /** NAME (os-release default: "Linux"). */
  name: string
  /** VERSION_CODENAME, e.g. "bookworm"; undefined when absent or empty. */
  versionCodename?: string
  /** Every KEY=value pair, unquoted. */
  fields: Record<string, string>
}

export function parseOsRelease(text: string): OsRelease {
  const fields = parseOsReleaseFields(text)
  const nonEmpty = (key: string): string | undefined => (fields[key] ? fields[key] : undefined)
  const codename = nonEmpty('VERSION_CODENAME')
  return {
    id: (nonEmpty('ID') ?? 'linux').toLowerCase(),
    idLike: (fields.ID_LIKE ?? '').split(/\s+/).filter((s) => s !== '').map((s) => s.toLowerCase()),
    versionId: fields.VERSION_ID ?? '',
    prettyName: nonEmpty('PRETTY_NAME') ?? 'Linux',
    name: nonEmpty('NAME') ?? 'Linux',
    ...(codename === undefined ? {} : {versionCodename: codename}),
    fields,
  }
}

/** True when the distro is `id` or says it is like `id` (ID_LIKE): e.g. osIsLike(rocky, "rhel"). */
export function osIsLike(os: Pick<OsRelease, 'id' | 'idLike'>, id: string): boolean {
  return os.id === id || os.idLike.includes(id)
}

/** Major version number of VERSION_ID ("8.10" → 8), or undefined. */
export function majorVersion(os: Pick<OsRelease, 'versionId'>): number | undefined {
  const match = /^(\d+)/.exec(os.versionId)
  return match ? Number(match[1]) : undefined
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/

export function parseOsReleaseFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const raw of text.replace(/^\uFEFF/, '').split('\n')) {
    const line = raw.replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#')) continue
    const match = ASSIGNMENT.exec(line)
    if (!match) continue // os-release(5): lines that are not assignments are ignored
    fields[match[1]!] = unquoteShellValue(match[2]!)
  }
  return fields
}

/** Shell-style unquoting of one value: concatenated '…', "…" and bare parts, with escapes. */
export function unquoteShellValue(value: string): string {
  let out = ''
  let i = 0
  while (i < value.length) {
    const c = value[i]!
    if (c === "'") {
      // Single quotes: everything literal up to the closing quote.
      const end = value.indexOf("'", i + 1)
      const stop = end === -1 ? value.length : end
      out += value.slice(i + 1, stop)
      i = stop + 1
    } else if (c === '"') {
      i += 1
      while (i < value.length && value[i] !== '"') {
        // Inside double quotes a backslash escapes only $ ` " \ (and newline); elsewhere it is literal.
        if (value[i] === '\\' && i + 1 < value.length && '$`"\\'.includes(value[i + 1]!)) {
          out += value[i + 1]
          i += 2
        } else {
          out += value[i]
          i += 1
        }
      }
      i += 1
    } else if (c === '\\' && i + 1 < value.length) {
      out += value[i + 1]
      i += 2
    } else {
      out += c
      i += 1
    }
  }
  return out
}
