/**
 * A throw-away host for running the real host scripts (src/remote/*.sh) under a real bash, as root, with
 * the fake programs of ./host-fakes.ts — without touching this machine. The scripts write to absolute
 * paths (/etc/wireguard, /etc/sysctl.d, /proc/sys/net/ipv4/ip_forward, /tmp, /run); rather than a test
 * switch in every script, each run happens in private namespaces (`unshare`: mount, network, pid) where
 *   /etc                            is an overlay on the real /etc: writes land in this sandbox's folder
 *   /tmp, /run                      are this sandbox's own folders (/run/systemd/system only when a test
 *                                   makes it: "systemd" is then the init)
 *   /usr/lib/sysctl.d, /sys/module  are empty folders of this sandbox's
 *   /proc/sys/net/ipv4/ip_forward   is a plain file of this sandbox's (the fake sysctl writes it), and so
 *                                   are IPv6's all/forwarding and lo/accept_ra (lo stands for an uplink)
 * The network namespace has only a loopback that is down: nothing a script runs can reach any network.
 * The pid namespace makes `$$` small and predictable (a test can plant files at the names an old script
 * would have derived from it). State persists from one run to the next, as on a real host.
 *
 * Needs root and util-linux `unshare` (the fast suite runs as root; the tests fail, not skip, without).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {buildStdin, shellQuote} from '../../src/ssh/shell.js'
import type {ExecResult, RemoteShell, RunOptions} from '../../src/tasks/remote-shell.js'
import {BASH, FakeMachine, type OptionalTool} from './host-fakes.js'

/**
 * Runs as pid 1 of the new namespaces: mounts the sandbox, sets up what the test wrote since the last run
 * (the prelude), then runs the command with only the given environment. (`bash --norc -c`: with stdin a
 * socket, as Node's pipes are, bash -c would read ~/.bashrc.)
 */
const SETUP = `set -eu
h=$1 prelude=$2; shift 2
fail() { echo "sandbox: $1" >&2; exit 125; }
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$h/etc.upper,workdir=$h/etc.work" /etc || fail "cannot mount an overlay on /etc"
mount --bind "$h/tmp" /tmp || fail "cannot mount /tmp"
mount --bind "$h/run" /run || fail "cannot mount /run"
if [ -d /usr/lib/sysctl.d ]; then mount --bind "$h/usr-lib-sysctl.d" /usr/lib/sysctl.d || fail "cannot mount /usr/lib/sysctl.d"; fi
if [ -d /sys/module ]; then mount --bind "$h/sys-module" /sys/module || fail "cannot mount /sys/module"; fi
mount --bind "$h/ip_forward" /proc/sys/net/ipv4/ip_forward || fail "cannot mount over /proc/sys/net/ipv4/ip_forward"
mount --bind "$h/ip6_forward" /proc/sys/net/ipv6/conf/all/forwarding || fail "cannot mount over /proc/sys/net/ipv6/conf/all/forwarding"
mount --bind "$h/lo_accept_ra" /proc/sys/net/ipv6/conf/lo/accept_ra || fail "cannot mount over /proc/sys/net/ipv6/conf/lo/accept_ra"
cd /
if [ -n "$prelude" ]; then bash --norc -e -c "$prelude" </dev/null || fail "setting the host up failed"; fi
set +e
env -i "$@"
`

/** Left from the real /etc, so that each sandbox starts from a host without WireGuard, sysctl settings or firewall defaults. */
const RESET = 'rm -rf /etc/wireguard /etc/sysctl.conf /etc/sysctl.d /etc/default/ufw /etc/yum.repos.d /etc/os-release; mkdir -p /etc/sysctl.d'

export interface SandboxOptions {
  /** Optional fake programs installed from the start (default: wg and wg-quick). */
  installed?: readonly OptionalTool[]
  /** systemd is the init (/run/systemd/system exists). Default true. */
  systemd?: boolean
}

export class HostSandbox {
  readonly dir: string
  readonly fakes: FakeMachine
  /** Set-up commands not run yet: they run, in the sandbox, before the next command (one namespace for all). */
  private pending: string[] = [RESET]

  constructor(options: SandboxOptions = {}) {
    if (process.getuid?.() !== 0) throw new Error('the host-script tests run each script in private namespaces (unshare): they need root')
    // Not under /tmp: the sandbox mounts its own folder there.
    this.dir = mkdtempSync('/var/tmp/wgfleet-host-')
    for (const d of ['etc.upper', 'etc.work', 'tmp', 'run', 'usr-lib-sysctl.d', 'sys-module']) mkdirSync(join(this.dir, d))
    chmodSync(join(this.dir, 'tmp'), 0o1777)
    // The fake sysctl refuses to run anywhere but here.
    writeFileSync(join(this.dir, 'run', 'wgfleet-test-sandbox'), '')
    if (options.systemd ?? true) mkdirSync(join(this.dir, 'run', 'systemd', 'system'), {recursive: true})
    writeFileSync(join(this.dir, 'ip_forward'), '0\n')
    writeFileSync(join(this.dir, 'ip6_forward'), '0\n')
    writeFileSync(join(this.dir, 'lo_accept_ra'), '1\n')
    this.fakes = new FakeMachine(join(this.dir, 'fake'), {tools: 'isolated', installed: options.installed ?? ['wg', 'wg-quick']})
  }

  /** Run a script the way RemoteShell does: `bash -s -- ARGS`, the script on stdin wrapped in a function, then the input. */
  run(script: string, args: string[] = [], options: {input?: string; env?: Record<string, string>; timeoutMs?: number} = {}): ExecResult {
    return this.exec([BASH, '-s', '--', ...args], buildStdin(script, options.input), options.env ?? {}, options.timeoutMs)
  }

  /** A RemoteShell onto this sandbox, for the real step functions (probeHost, applyHost, ...). */
  shell(node = 'node-a', env: Record<string, string> = {}): RemoteShell & {runs: Array<{args: string[]; result: ExecResult}>} {
    const runs: Array<{args: string[]; result: ExecResult}> = []
    return {
      node,
      user: 'root',
      runs,
      run: async (script: string, args: string[] = [], options: RunOptions = {}) => {
        const result = this.run(script, args, {input: options.input, env, timeoutMs: options.timeoutMs})
        runs.push({args, result})
        return result
      },
      close: async () => undefined,
    }
  }

  /** A command inside the sandbox, as root (to set a host up: files, links, modes). */
  sh(command: string, input = ''): ExecResult {
    return this.exec([BASH, '--norc', '-c', command], input, {})
  }

  /** Write a file inside the sandbox (its folder made as needed), before the next command runs. */
  write(path: string, content: string, mode = 0o644): void {
    const q = shellQuote(path)
    const data = Buffer.from(content).toString('base64')
    this.pending.push(`mkdir -p "$(dirname ${q})" && printf %s ${data} | base64 -d >${q} && chmod ${mode.toString(8)} ${q}`)
  }

  /** Remove a file or folder inside the sandbox, before the next command runs. */
  remove(path: string): void {
    this.pending.push(`rm -rf ${shellQuote(path)}`)
  }

  /** Where PATH lives outside the sandbox: what the scripts wrote there is read (and stat'ed) from here. */
  outside(path: string): string {
    if (this.pending.length > 0) this.sh('true')
    if (path === '/proc/sys/net/ipv4/ip_forward') return join(this.dir, 'ip_forward')
    for (const [prefix, dir] of [['/etc/', 'etc.upper'], ['/tmp/', 'tmp'], ['/run/', 'run']] as const) {
      if (path.startsWith(prefix)) return join(this.dir, dir, path.slice(prefix.length))
    }
    throw new Error(`${path} is not kept in the sandbox's folder`)
  }

  /** A file's content as the sandbox sees it (null when absent; a file removed in the overlay is absent). */
  read(path: string): string | null {
    const file = this.outside(path)
    if (!existsSync(file) || !lstatSync(file).isFile()) return null
    return readFileSync(file, 'utf8')
  }

  exists(path: string): boolean {
    const file = this.outside(path)
    return existsSync(file) && !lstatSync(file).isCharacterDevice()
  }

  /** Mode bits and owner of a path the scripts made or changed. */
  stat(path: string): {mode: string; uid: number} {
    const s = statSync(this.outside(path))
    return {mode: (s.mode & 0o7777).toString(8), uid: s.uid}
  }

  get ipForward(): string {
    return readFileSync(join(this.dir, 'ip_forward'), 'utf8').trim()
  }

  set ipForward(value: string) {
    writeFileSync(join(this.dir, 'ip_forward'), `${value}\n`)
  }

  /** net.ipv6.conf.all.forwarding as the scripts see it. */
  get ip6Forward(): string {
    return readFileSync(join(this.dir, 'ip6_forward'), 'utf8').trim()
  }

  set ip6Forward(value: string) {
    writeFileSync(join(this.dir, 'ip6_forward'), `${value}\n`)
  }

  /** net.ipv6.conf.lo.accept_ra (lo plays an uplink whose default route came from a router advertisement). */
  get loAcceptRa(): string {
    return readFileSync(join(this.dir, 'lo_accept_ra'), 'utf8').trim()
  }

  destroy(): void {
    rmSync(this.dir, {recursive: true, force: true})
  }

  private exec(argv: string[], input: string, env: Record<string, string>, timeoutMs = 20_000): ExecResult {
    const pairs = Object.entries({...this.fakes.env(), ...env}).map(([k, v]) => `${k}=${v}`)
    const prelude = this.pending.join('\n')
    this.pending = []
    const result = spawnSync(
      'unshare',
      ['--mount', '--net', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--', BASH, '--norc', '-c', SETUP, 'sandbox', this.dir, prelude, ...pairs, ...argv],
      // Nothing of this process's environment but PATH (no BASH_ENV, SHELLOPTS): the command gets only `pairs`.
      {input, encoding: 'utf8', timeout: timeoutMs, env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}},
    )
    if (result.error) throw result.error
    if (result.status === 125 && result.stderr.startsWith('sandbox: ')) throw new Error(result.stderr.trim())
    return {code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr}
  }
}
