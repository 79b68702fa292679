/**
 * What holds for every host script (src/remote/*.sh): it is sent with lib.sh (and the function files it
 * uses, such as firewall-listings.sh) in front of it; those only define functions (so an inherited xtrace
 * has nothing to show before the script's first command); that first command is `set +xv`; the whole
 * text is valid bash; it is sent without its whole-line comments, ASCII (ssh/shell.ts reads it by byte
 * count), and no comment-looking line is anywhere but outside quotes or inside an awk program, so that
 * leaving such lines out never changes what a script does.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

import {MANAGED_MARKER} from '../../../src/plan/model.js'
import {loadLib, loadScript, SCRIPT_FUNCTIONS, withoutCommentLines, type ScriptName} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'
import {BASH} from '../../helpers/host-fakes.js'

const REMOTE = fileURLToPath(new URL('../../../src/remote/', import.meta.url))
const SCRIPTS: ScriptName[] = ['probe', 'prepare', 'apply', 'verify', 'status', 'teardown', 'doctor', 'hosts', 'rotate', 'psk', 'peer-add']
/** The function files sent in front of scripts: lib.sh (every script) and those of SCRIPT_FUNCTIONS. */
const FUNCTION_FILES = ['lib', ...new Set(Object.values(SCRIPT_FUNCTIONS).flat())]
const read = (name: string) => readFileSync(join(REMOTE, `${name}.sh`), 'utf8')

/**
 * Lines that start with `#` while a quote is open, each with the line its quote opened on. A rough bash
 * quote scanner (backslashes, single and double quotes, comments): enough for these files, which a test
 * below also parses with bash itself.
 */
function commentLinesInQuotes(text: string): {line: number; openedOn: string}[] {
  const found: {line: number; openedOn: string}[] = []
  let quote: string | undefined
  let openedOn = ''
  text.split('\n').forEach((line, index) => {
    if (/^[ \t]*#/.test(line)) {
      if (quote !== undefined) found.push({line: index + 1, openedOn})
      else return
    }
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!
      if (quote === undefined) {
        if (c === '#' && (i === 0 || ' \t;'.includes(line[i - 1]!))) break
        if (c === '\\') i++
        else if (c === "'" || c === '"') [quote, openedOn] = [c, line]
      } else if (quote === "'") {
        if (c === "'") quote = undefined
      } else if (c === '\\') i++
      else if (c === '"') quote = undefined
    }
  })
  return found
}

describe('host scripts', () => {
  it('every .sh file beside the function files is a script wgfleet sends', () => {
    const files = readdirSync(REMOTE).filter((f) => f.endsWith('.sh')).map((f) => f.replace(/\.sh$/, '')).filter((f) => !FUNCTION_FILES.includes(f))
    expect(files.sort()).toEqual([...SCRIPTS].sort())
    expect(FUNCTION_FILES).toEqual(['lib', 'firewall-listings', 'preshared-keys', 'wg-routes'])
  })

  it.each(FUNCTION_FILES)('%s.sh runs no command of its own: under xtrace it traces nothing', (name) => {
    const run = spawnSync(BASH, ['--norc', '-x', '-s'], {input: read(name), encoding: 'utf8', env: {PATH: process.env.PATH}})
    expect(run.status).toBe(0)
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe('')
  })

  it.each(SCRIPTS)('%s.sh: sent as lib.sh (+ its function files) + the file, whose first command is `set +xv`, and valid bash', (name) => {
    const file = read(name)
    expect(loadLib()).toBe(read('lib'))
    expect(loadScript(name)).toBe(withoutCommentLines([loadLib(), ...(SCRIPT_FUNCTIONS[name] ?? []).map(read), file].join('\n')))
    expect(loadScript(name).split('\n').filter((l) => /^[ \t]*#/.test(l))).toEqual([])
    expect(/[^\x00-\x7f]/.test(loadScript(name))).toBe(false)
    const firstCommand = file.split('\n').find((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    expect(firstCommand).toBe('set +xv')
    const check = spawnSync(BASH, ['--norc', '-n'], {input: loadScript(name), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
  it('no file has a heredoc, and a comment-looking line inside quotes is only ever an awk comment', () => {
    for (const file of readdirSync(REMOTE).filter((f) => f.endsWith('.sh'))) {
      const text = readFileSync(join(REMOTE, file), 'utf8')
      expect(text, file).not.toMatch(/<<-?\s*['"]?[A-Za-z_]/)
      for (const {line, openedOn} of commentLinesInQuotes(text)) expect(openedOn, `${file}:${line}`).toMatch(/\bawk\b/)
    }
  })

  it("lib.sh's set_marker spells the marker line the renderer writes, and no other script spells it", () => {
    const run = spawnSync(BASH, ['--norc', '-s'], {input: `${read('lib')}\nset_marker\nprintf '%s' "$marker"`, encoding: 'utf8', env: {PATH: process.env.PATH}})
    expect(run.stdout).toBe(MANAGED_MARKER)
    for (const file of readdirSync(REMOTE).filter((f) => f.endsWith('.sh') && f !== 'lib.sh')) {
      expect(readFileSync(join(REMOTE, file), 'utf8'), file).not.toContain(MANAGED_MARKER)
    }
  })

  it('withoutCommentLines drops whole-line comments only', () => {
    expect(withoutCommentLines('a\n  # b\nc # d\n#e')).toBe('a\nc # d')
  })

  it('stdin: the script read by byte count in any locale, then exactly the payload left for the script', () => {
    const script = 'IFS= read -r first; printf "%s|" "$first" "$#" "$1"; cat'
    const input = 'é payload\nsecond line\n'
    for (const locale of ['C', 'C.UTF-8']) {
      const r = spawnSync(BASH, ['--norc', '--noprofile', '-s', '--', 'arg one'], {input: buildStdin(script, input), encoding: 'utf8', env: {PATH: process.env.PATH, LANG: locale, LC_ALL: locale}})
      expect(r.stdout, locale).toBe('é payload|1|arg one|second line\n')
      expect(r.status, locale).toBe(0)
    }
    expect(() => buildStdin('echo é')).toThrow(/ASCII/)
  })

  it('a script cut short runs nothing', () => {
    const stdin = buildStdin('echo ran')
    const r = spawnSync(BASH, ['--norc', '--noprofile', '-s'], {input: stdin.slice(0, -5), encoding: 'utf8'})
    expect(r.stdout).toBe('')
    expect(r.status).toBe(125)
  })
})
