import {BugError} from '../../../src/lib/errors.js'
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {buildCommandLine, buildStdin, shellQuote} from '../../../src/ssh/shell.js'

/** Run a command line the way sshd does (`$SHELL -c LINE`) with stdin, locally. */
function runLocally(commandLine: string, stdin: string) {
  const result = spawnSync('bash', ['-c', commandLine], {input: stdin, encoding: 'utf8', timeout: 10_000})
  return {code: result.status, stdout: result.stdout, stderr: result.stderr}
}

describe('shellQuote', () => {
  it('single-quotes and escapes single quotes as quote-backslash-quote-quote', () => {
    expect(shellQuote('plain')).toBe(`'plain'`)
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`)
    expect(shellQuote('')).toBe(`''`)
  })
})

describe('buildCommandLine', () => {
  it('is the fixed bash -s -- line, with sudo -n when asked', () => {
    expect(buildCommandLine([], false)).toBe('bash -s --')
    expect(buildCommandLine(['wg0', '10.0.0.1'], false)).toBe(`bash -s -- 'wg0' '10.0.0.1'`)
    expect(buildCommandLine(['wg0'], true)).toBe(`sudo -n env WGFLEET_SSH_CONNECTION="$SSH_CONNECTION" bash -s -- 'wg0'`)
  })

  it('rejects NUL and line breaks as a bug', () => {
    expect(() => buildCommandLine(['a\nb'], false)).toThrow(BugError)
    expect(() => buildCommandLine(['a\0b'], false)).toThrow(BugError)
    expect(() => buildCommandLine(['a\rb'], false)).toThrow(BugError)
  })

  it('delivers hostile arguments to the script verbatim, never evaluated', () => {
    const hostile = [`it's`, '$(echo INJECTED >&2)', '`id`', '; rm -rf /', '"double" \\ back', '*', '$HOME', ' spaced  out ', '']
    const script = 'for a in "$@"; do printf "<%s>\\n" "$a"; done'
    const result = runLocally(buildCommandLine(hostile, false), buildStdin(script))
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(hostile.map((a) => `<${a}>\n`).join(''))
    expect(result.stderr).toBe('')
  })
})

describe('buildStdin', () => {
  it('wraps the script in a function, then the payload follows for cat', () => {
    expect(buildStdin('echo hi', 'DATA')).toBe('__wgfleet_main() {\necho hi\n}\n__wgfleet_main "$@"; exit $?\nDATA')
  })

  it('lets the script read exactly the payload with cat, and never runs the payload', () => {
    const payload = 'line one\necho THIS MUST NOT RUN\n$(false)\nno newline at end'
    const result = runLocally(buildCommandLine(['x'], false), buildStdin('data=$(cat)\nprintf "%s|%s" "$1" "$data"', payload))
    // Had bash run the payload as commands, more output (and a non-zero status) would follow.
    expect(result.stdout).toBe(`x|${payload}`)
    expect(result.code).toBe(0)
  })

  it('propagates the exit status of the script', () => {
    expect(runLocally(buildCommandLine([], false), buildStdin('exit 7')).code).toBe(7)
    expect(runLocally(buildCommandLine([], false), buildStdin('false')).code).toBe(1)
    expect(runLocally(buildCommandLine([], false), buildStdin('true')).code).toBe(0)
  })
})
