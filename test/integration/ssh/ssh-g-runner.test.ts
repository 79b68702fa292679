/**
 * The `ssh -G` runner (src/ssh/ssh-g-runner.ts): one real bash runs every query, against a fake `ssh` that
 * prints what it was given — and, through the evaluator, the real `ssh -G` gives the same options as one
 * process per query.
 */
import {chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {createConfigEvaluator, findOnPath} from '../../../src/ssh/evaluate.js'
import {SshGRunner, SshGTimeout} from '../../../src/ssh/ssh-g-runner.js'

const BASH = findOnPath('bash')!
// Not `wgfleet-ssh-*`: e2e 70 counts those (the openssh transport's ControlMaster folders) to be none left.
const dir = mkdtempSync(join(tmpdir(), 'wgfleet-sshg-runner-'))
const homes: string[] = []
afterAll(() => {
  for (const folder of [dir, ...homes]) rmSync(folder, {recursive: true, force: true})
})
/** Prints its parent (the runner's bash) and each argument on a line; `fail` exits 255 with a message; `hang` sleeps. */
const FAKE_SSH = join(dir, 'fake-ssh')
writeFileSync(
  FAKE_SSH,
  `#!${BASH}
case "\${*: -1}" in
  fail) echo "command-line: Bad configuration option: bogus" >&2; exit 255 ;;
  hang) exec sleep 30 ;;
esac
echo "runner $PPID"
for a in "$@"; do printf 'arg %s\\n' "$a"; done
echo "a warning" >&2
`,
)
chmodSync(FAKE_SSH, 0o755)

describe('ssh -G runner', () => {
  it('answers many queries at once, each with its own output, stderr and exit code, from one bash', async () => {
    const runner = new SshGRunner(BASH, [FAKE_SSH, '-F', '/dev/null'], 10_000, 1 << 20)
    const queries = Array.from({length: 40}, (_, i) => (i % 7 === 3 ? ['-G', '--', 'fail'] : ['-G', '--', `host-${i}`]))
    const results = await Promise.all(queries.map((q) => runner.run(q)))
    const runners = new Set<string>()
    results.forEach((result, i) => {
      if (i % 7 === 3) {
        expect(result).toEqual({code: 255, stdout: '', stderr: 'command-line: Bad configuration option: bogus\n'})
        return
      }
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('a warning\n')
      const lines = result.stdout.trim().split('\n')
      runners.add(lines[0]!)
      expect(lines.slice(1)).toEqual(['arg -F', 'arg /dev/null', 'arg -G', 'arg --', `arg host-${i}`])
    })
    expect(runners.size).toBe(1)
    runner.close()
  })

  it('passes arguments as they are: blanks, quotes, $(…), globs and line breaks are never shell code', async () => {
    const runner = new SshGRunner(BASH, [FAKE_SSH], 10_000, 1 << 20)
    const odd = ['a b', `it's`, '$(touch /tmp/wgfleet-pwned)', '*', 'two\nlines', '-', '']
    const result = await runner.run(['-G', ...odd, '--', 'h'])
    const printed = result.stdout.split('\n').slice(1, -1).join('\n')
    expect(printed).toBe(['-G', ...odd, '--', 'h'].map((a) => `arg ${a}`).join('\n'))
    expect(existsSync('/tmp/wgfleet-pwned')).toBe(false)
    runner.close()
  })

  it('a query that hangs times out alone; the next one gets a new runner', async () => {
    const runner = new SshGRunner(BASH, [FAKE_SSH], 500, 1 << 20)
    const hung = runner.run(['-G', '--', 'hang'])
    const after = runner.run(['-G', '--', 'next'])
    await expect(hung).rejects.toBeInstanceOf(SshGTimeout)
    const result = await after
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('arg next')
    runner.close()
  })

  it('close waits for the runner to end (its CPU is then this process\'s children\'s); a later query starts a new one', async () => {
    const runner = new SshGRunner(BASH, [FAKE_SSH], 10_000, 1 << 20)
    const first = (await runner.run(['-G', '--', 'a'])).stdout.split('\n')[0]
    await runner.close()
    const pid = Number(first!.split(' ')[1])
    expect(() => process.kill(pid, 0)).toThrow()
    const second = (await runner.run(['-G', '--', 'b'])).stdout.split('\n')[0]
    expect(second).not.toBe(first)
    await runner.close()
  })

  it('through the evaluator, real `ssh -G` gives the same options as one process per query', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wgfleet-sshg-home-'))
    homes.push(home)
    const config = join(home, 'config')
    writeFileSync(config, 'Host web-*\n  User deploy\n  Port 2222\nHost *\n  User plain\n')
    const local = {user: 'tester', homeDir: home, uid: 0, hostname: 'operator'}
    const pooled = createConfigEvaluator({sshCommand: [findOnPath('ssh')!, '-F', config], local})
    const alone = createConfigEvaluator({sshCommand: [findOnPath('ssh')!, '-F', config], local, sshGRunner: false})
    for (const alias of ['web-1', 'db-1', 'web-2.example']) {
      const [a, b] = await Promise.all([pooled.evaluate({alias}), alone.evaluate({alias})])
      expect([...a.entries()]).toEqual([...b.entries()])
      expect(a.get('user')).toEqual([alias.startsWith('web-') ? 'deploy' : 'plain'])
    }
  })
})
