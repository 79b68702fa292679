/**
 * The package as an administrator installs it. `npm pack` runs in a clean copy of the repository (the files
 * git tracks or would track: no dist/, no oclif.manifest.json, so `prepack` must build them); the tarball is
 * installed with `npm install -g` into an empty prefix by a PATH that holds only `node` and `sh` — no
 * compiler, make or Python, so ssh2's optional native parts cannot build — and the installed `wgfleet` runs
 * from a folder outside the repository, on that same PATH.
 *
 * Dependencies come from the npm cache `npm ci` filled (--prefer-offline): the registry is asked only for
 * what the cache lacks, which is the packages' metadata, once, on a cold cache.
 */
import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, relative} from 'node:path'
import {parse as parseIni} from 'ini'
import ssh2 from 'ssh2'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startTestServer} from '../ssh/helpers/ssh-test-server.js'
import {repoRoot, run, userEnv, type RunResult} from './helpers.js'

const version: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version

let work: string
let clone: string
let tarball: string
let prefix: string
/** The only programs on PATH for the install and the installed CLI. */
let tools: string
/** Where the installed CLI runs: outside the repository, its own HOME. */
let outside: string
let install: RunResult

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'wgfleet-package-'))
  clone = cleanCopy(join(work, 'clone'))
  const packed = join(work, 'packed')
  mkdirSync(packed)
  // The maintainer's side: a full PATH (tsc, oclif and sh build the package in prepack).
  const pack = await run(process.execPath, [npmCli(), 'pack', '--pack-destination', packed], {cwd: clone, env: userEnv(), timeoutMs: 120_000})
  expect(pack.code, pack.stdout + pack.stderr).toBe(0)
  const tarballs = readdirSync(packed).filter((f) => f.endsWith('.tgz'))
  expect(tarballs).toEqual([`wgfleet-${version}.tgz`])
  tarball = join(packed, tarballs[0]!)

  tools = join(work, 'tools')
  mkdirSync(tools)
  symlinkSync(process.execPath, join(tools, 'node'))
  symlinkSync('/bin/sh', join(tools, 'sh'))
  prefix = join(work, 'prefix')
  outside = join(work, 'outside')
  mkdirSync(join(outside, 'home'), {recursive: true})
  install = await run(
    process.execPath,
    [npmCli(), 'install', '--global', '--prefix', prefix, '--prefer-offline', '--fetch-retries=0', '--no-audit', '--no-fund', '--foreground-scripts', tarball],
    {cwd: outside, env: userEnv({PATH: tools}), timeoutMs: 120_000},
  )
}, 240_000)

afterAll(() => {
  if (work) rmSync(work, {recursive: true, force: true})
})

/** The installed CLI, from outside the repository, with only node and sh on PATH. */
function wgfleet(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(join(prefix, 'bin', 'wgfleet'), args, {
    cwd: outside,
    env: userEnv({PATH: tools, HOME: join(outside, 'home'), WGFLEET_INVENTORY: '', SSH_AUTH_SOCK: '', ...env}),
    timeoutMs: 30_000,
  })
}

describe('the npm package', () => {
  it('npm pack in a clean clone builds a complete package of runtime files only', () => {
    const entries = execFileSync('tar', ['-tzf', tarball], {encoding: 'utf8'})
      .split('\n')
      .filter((line) => line !== '' && !line.endsWith('/'))
    // Every module compiled (no source maps, no tests), the host scripts, the manifest, and nothing else.
    const sources = listFiles(join(clone, 'src'))
    const expected = [
      'package/README.md',
      'package/bin/run.js',
      'package/oclif.manifest.json',
      'package/package.json',
      ...sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => `package/dist/${f.replace(/\.ts$/, '.js')}`),
      ...sources.filter((f) => /^remote\/[^/]+\.sh$/.test(f)).map((f) => `package/dist/${f}`),
    ]
    expect(entries.sort()).toEqual(expected.sort())
    expect(expected).toContain('package/dist/commands/plan.js')
    expect(expected).toContain('package/dist/remote/apply.sh')
  })

  it('npm install -g into an empty prefix works with no compiler: ssh2 goes without its native parts', () => {
    expect(install.code, install.stdout + install.stderr).toBe(0)
    const installed = join(prefix, 'lib', 'node_modules', 'wgfleet')
    expect(realpathSync(join(prefix, 'bin', 'wgfleet'))).toBe(join(installed, 'bin', 'run.js'))
    // The build was tried and failed (this PATH has no compiler), and the install went on.
    expect(install.stdout + install.stderr).toContain('Failed to build optional crypto binding')
    expect(listFiles(installed).filter((f) => f.endsWith('.node'))).toEqual([])
    // npm dropped the optional dependency whose build failed.
    expect(existsSync(join(installed, 'node_modules', 'cpu-features'))).toBe(false)
    expect(existsSync(join(installed, 'node_modules', 'ssh2', 'package.json'))).toBe(true)
  })

  it('wgfleet --version prints the package version', async () => {
    const result = await wgfleet(['--version'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^wgfleet/${version.replaceAll('.', '\\.')} \\S+ node-v\\d+\\.`))
  })

  it('wgfleet --help lists every command', async () => {
    const result = await wgfleet(['--help'])
    expect(result.code, result.stderr).toBe(0)
    const commands = readdirSync(join(clone, 'src', 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''))
    expect(commands.length).toBeGreaterThan(0)
    expect(result.stdout).toContain('$ wgfleet [COMMAND]')
    for (const command of commands) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'))
  })

  it('wgfleet autocomplete bash sets up shell completion (the plugin ships with the package): commands and their flags complete in a real bash', async () => {
    const cache = join(outside, 'cache')
    // What the README says a user does: build the cache, add the setup line to the shell's rc, open a shell.
    const instructions = await wgfleet(['autocomplete', 'bash'], {XDG_CACHE_HOME: cache})
    expect(instructions.code, instructions.stderr).toBe(0)
    expect(instructions.stdout).toContain('wgfleet autocomplete script bash')
    const setup = await wgfleet(['autocomplete', 'script', 'bash'], {XDG_CACHE_HOME: cache})
    expect(setup.code, setup.stderr).toBe(0)
    writeFileSync(join(outside, 'home', '.bashrc'), setup.stdout)
    // The completion function bash calls on TAB, with the words typed so far; prints what bash would offer.
    const complete = (...words: string[]) =>
      run('bash', ['-c', 'source ~/.bashrc && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && _wgfleet_autocomplete && printf "%s\\n" "${COMPREPLY[@]}"', 'bash', ...words], {
        cwd: outside,
        env: userEnv({HOME: join(outside, 'home'), XDG_CACHE_HOME: cache}),
        timeoutMs: 10_000,
      })
    const commands = await complete('wgfleet', '')
    expect(commands.code, commands.stderr).toBe(0)
    const entries = readdirSync(join(clone, 'src', 'commands'), {withFileTypes: true})
    const sources = entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => e.name.replace(/\.ts$/, ''))
    // A topic (a folder of commands: `client`) completes as its name (the plugin lists it once per command).
    const topics = entries.filter((e) => e.isDirectory()).map((e) => e.name)
    expect([...new Set(commands.stdout.split('\n').filter(Boolean))].sort()).toEqual([...sources, ...topics, 'autocomplete'].sort())
    expect((await complete('wgfleet', 'client', '')).stdout.split('\n').filter(Boolean).sort()).toEqual(['add', 'list', 'remove'])
    expect((await complete('wgfleet', 'st')).stdout).toBe('status\n')
    expect((await complete('wgfleet', 'status', '--st')).stdout).toBe('--stale-after\n')
    expect((await complete('wgfleet', 'plan', '--')).stdout.split('\n')).toContain('--show-config')
  })

  it('wgfleet plan -i inventory.example.ini prints every node of the example', async () => {
    writeFileSync(join(outside, 'inventory.example.ini'), readFileSync(join(clone, 'inventory.example.ini')))
    const result = await wgfleet(['plan', '-i', 'inventory.example.ini'])
    expect(result.code, result.stderr).toBe(0)
    const example = parseIni(readFileSync(join(clone, 'inventory.example.ini'), 'utf8'))
    const prefixLength = String(example.network.cidr).split('/')[1]
    const nodes = Object.keys(example).filter((section) => section !== 'network' && section !== 'ssh')
    expect(nodes.length).toBeGreaterThan(1)
    expect(result.stdout.split('\n')[0]).toContain(`${nodes.length} nodes.`)
    for (const node of nodes) {
      expect(result.stdout).toMatch(new RegExp(`^${node} +${example[node].address.replaceAll('.', '\\.')}/${prefixLength} `, 'm'))
    }
    expect(result.stderr).toBe('')
  })

  it("wgfleet status speaks SSH with ssh2's fallback crypto (Node's own): key exchange, then an encrypted auth refusal", async () => {
    // The server accepts another key than the one wgfleet offers: the refusal arrives only after the key
    // exchange, over the encrypted transport. Nothing is executed.
    const server = await startTestServer({users: {root: {publicKey: ssh2.utils.generateKeyPairSync('ed25519').public}}})
    try {
      const home = join(outside, 'home')
      writeFileSync(join(home, 'id_ed25519'), ssh2.utils.generateKeyPairSync('ed25519').private, {mode: 0o600})
      writeFileSync(join(home, 'known_hosts'), server.knownHostsLine() + '\n')
      writeFileSync(
        join(outside, 'inventory.ini'),
        `[network]\ncidr = 10.0.0.0/24\n\n[node-a]\nhost = 127.0.0.1\nssh_port = ${server.port}\naddress = 10.0.0.1\nidentity = ${join(home, 'id_ed25519')}\n`,
      )
      const result = await wgfleet(['status', '-i', 'inventory.ini', '--known-hosts', join(home, 'known_hosts'), '--connect-timeout', '5'])
      expect(result.code).toBe(1)
      expect(result.stdout).toMatch(/^node-a .*unreachable: authentication failed/m)
      expect(server.logins).toEqual([])
      expect(server.commands).toEqual([])
    } finally {
      await server.close()
    }
  })
})

/** The repository as a fresh clone has it (plus files not yet committed), with the installed node_modules. */
function cleanCopy(to: string): string {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {cwd: repoRoot, encoding: 'utf8'})
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(repoRoot, f)))
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), {recursive: true})
    cpSync(join(repoRoot, file), join(to, file))
  }
  expect(existsSync(join(to, 'dist'))).toBe(false)
  expect(existsSync(join(to, 'oclif.manifest.json'))).toBe(false)
  symlinkSync(join(repoRoot, 'node_modules'), join(to, 'node_modules'))
  return to
}

/** Paths of every file under `dir`, relative to it. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
}

/** npm's own entry script, to run it with a PATH that lacks npm (the one running this test, else the one on PATH). */
function npmCli(): string {
  const running = process.env.npm_execpath
  if (running && /npm-cli\.js$/.test(running)) return running
  return realpathSync(execFileSync('sh', ['-c', 'command -v npm'], {encoding: 'utf8'}).trim())
}
