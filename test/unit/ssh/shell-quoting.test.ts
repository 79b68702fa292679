import {BugError} from '../../../src/lib/errors.js'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
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
  it('is the fixed clean-bash line, with sudo -n when asked', () => {
    const clean = 'env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV'
    expect(buildCommandLine([], false)).toBe(`${clean} bash --norc --noprofile -s --`)
    expect(buildCommandLine(['wg0', '10.0.0.1'], false)).toBe(`${clean} bash --norc --noprofile -s -- 'wg0' '10.0.0.1'`)
    expect(buildCommandLine(['wg0'], true)).toBe(`sudo -n ${clean} WGFLEET_SSH_CONNECTION="$SSH_CONNECTION" bash --norc --noprofile -s -- 'wg0'`)
  })

  it('runs the script without the tracing a login environment exports (SHELLOPTS, BASH_ENV, BASHOPTS)', () => {
    const bashEnv = join(mkdtempSync(join(tmpdir(), 'wgfleet-bashenv-')), 'env.sh')
    writeFileSync(bashEnv, 'set -xv\necho BASH_ENV-RAN >&2\n')
    const script = 'secret=$(cat)\nprintf "%s" "${#secret} $-"'
    // Executed word by word, as the login shell would after splitting it (no argument needs quoting).
    const [command, ...words] = buildCommandLine([], false).split(' ')
    const result = spawnSync(command!, words, {
      input: buildStdin(script, 'THE-SECRET'),
      encoding: 'utf8',
      timeout: 10_000,
      env: {...process.env, SHELLOPTS: 'xtrace:verbose', BASH_ENV: bashEnv, ENV: bashEnv, BASHOPTS: 'xpg_echo'},
    })
    expect(result.stderr).toBe('')
    // Neither x nor v among the running shell's flags.
    expect(result.stdout).toMatch(/^10 [^xv]*$/)
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
  it('wraps the script in a function, read by its byte count and called on one line, then the payload follows for cat', () => {
    const body = '__wgfleet_main() {\necho hi\n}\n'
    expect(buildStdin('echo hi', 'DATA')).toBe(
      `set +xv\nLC_ALL=C IFS= read -r -N ${body.length} __wgfleet_script || exit 125; eval "$__wgfleet_script"; unset __wgfleet_script; __wgfleet_main "$@"; exit $?\n${body}DATA`,
    )
  })

  it('turns off xtrace and verbose before bash reads the script, whatever the shell inherited', () => {
    const result = spawnSync('bash', ['-xv', '-s', '--'], {input: buildStdin('secret=$(cat); echo "${#secret} $-"', 'THE-SECRET'), encoding: 'utf8', timeout: 10_000})
    expect(result.stdout).toMatch(/^10 [^xv]*\n$/)
    // bash -v echoes the first line it reads and -x traces it; nothing after.
    expect(result.stderr).toBe('set +xv\n+ set +xv\n')
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
