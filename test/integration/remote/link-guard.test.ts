/**
 * "Never touch what isn't wgfleet's", for the host scripts: probe.sh reports what a link already named
 * like the interface is (and the uplink's addresses), apply.sh and teardown.sh never take down or delete a
 * link that is not WireGuard. Each script runs under a real bash, as root, in private namespaces
 * (`unshare`: mount and network) where the links are real — a bridge, a veth carrying the default route,
 * a tun — made with the real `ip`, and the only network is that namespace's. /etc is an overlay (writes
 * land in the test's folder), /run and /tmp are the test's own; `wg`, `wg-quick`, `systemctl` and
 * `journalctl` are fakes that log their calls; every other program is a real one, linked into an isolated
 * PATH. Needs root and util-linux `unshare` (the fast suite runs as root: the tests fail, not skip, without).
 * (A small local sandbox: a shared helper for script contract tests is being built on another branch.)
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {parseProbeOutput} from '../../../src/remote/probe.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'

const which = (tool: string): string => {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8', env: {PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}})
  if (found.status !== 0) throw new Error(`the test needs ${tool} on this machine`)
  return found.stdout.trim()
}
const BASH = which('bash')
const REAL_TOOLS = ['ip', 'awk', 'sed', 'grep', 'head', 'tail', 'tr', 'cut', 'sort', 'cat', 'wc', 'stat', 'chmod', 'chown', 'rm', 'mv', 'cp', 'mktemp', 'sync', 'id', 'uname', 'date', 'ls', 'env']

/** The link a fake wireguard-go runs: `wg show` answers for it alone, and `wg-quick down` deletes it (as wg-quick's del_if does). */
const FAKES: Record<string, string> = {
  wg: `echo "wg $*" >>"$FAKE_LOG"
case $1 in
  show)
    [ "$2" = interfaces ] && { echo "\${FAKE_WG_IFACE:-}"; exit 0; }
    [ -n "\${FAKE_WG_IFACE:-}" ] && [ "$2" = "$FAKE_WG_IFACE" ] && exit 0
    echo "Unable to access interface: Protocol not supported" >&2; exit 1 ;;
  pubkey) cat >/dev/null; echo 'e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig=' ;;
  *) exit 0 ;;
esac`,
  'wg-quick': `echo "wg-quick $*" >>"$FAKE_LOG"
if [ "$1" = down ]; then
  [ -n "\${FAKE_WG_IFACE:-}" ] && [ "$2" = "$FAKE_WG_IFACE" ] || { echo "wg-quick: \\\`$2' is not a WireGuard interface" >&2; exit 1; }
  ip link delete dev "$2"
fi`,
  systemctl: `echo "systemctl $*" >>"$FAKE_LOG"
case $1 in
  is-active) echo inactive; exit 3 ;;
  is-enabled) echo disabled; exit 1 ;;
  show) echo UnitFileState=disabled; echo ActiveState=inactive ;;
  *) exit 0 ;;
esac`,
  journalctl: 'exit 0',
}

/** Runs as the namespaces' first process: mounts the sandbox, builds the links, runs the script, reports the links after. */
const SANDBOX = `set -eu
h=$1 links=$2; shift 2
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$h/etc.upper,workdir=$h/etc.work" /etc
mount --bind "$h/run" /run
mount --bind "$h/tmp" /tmp
rm -rf /etc/wireguard /etc/sysctl.d && mkdir -p -m 0700 /etc/wireguard
ip link set lo up
bash --norc -c "$links" </dev/null >"$h/links.log" 2>&1 || { echo "sandbox: building the links failed: $(cat "$h/links.log")" >&2; exit 125; }
set +e
env -i "$@"
rc=$?
ip -o link show >"$h/links.after" 2>&1
exit $rc
`

/** The uplink as on the lab's hosts: a veth eth0 with the main table's default route and two addresses. */
const UPLINK = `ip link add eth0 type veth peer name eth0-peer
ip link set eth0-peer up && ip link set eth0 up
ip addr add 198.18.7.2/24 dev eth0 && ip addr add 198.18.7.9/24 dev eth0
ip route add default via 198.18.7.1 dev eth0`

let dir: string

beforeEach(() => {
  if (process.getuid?.() !== 0) throw new Error('these tests run each script in private namespaces (unshare): they need root')
  // Not under /tmp: the sandbox mounts its own folder there.
  dir = mkdtempSync('/var/tmp/wgfleet-link-guard-')
  for (const d of ['etc.upper', 'etc.work', 'tmp', 'run/systemd/system', 'bin']) mkdirSync(join(dir, d), {recursive: true})
  chmodSync(join(dir, 'tmp'), 0o1777)
  for (const tool of REAL_TOOLS) symlinkSync(which(tool), join(dir, 'bin', tool))
  for (const [name, body] of Object.entries(FAKES)) {
    writeFileSync(join(dir, 'bin', name), `#!${BASH}\n${body}\n`)
    chmodSync(join(dir, 'bin', name), 0o755)
  }
  writeFileSync(join(dir, 'calls.log'), '')
})

afterEach(() => rmSync(dir, {recursive: true, force: true}))

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** Calls of the fakes, in order. */
  calls: string[]
  /** Names of the links that exist after the script. */
  linksAfter: string[]
}

/** Run a script the way RemoteShell does (`bash -s -- ARGS`, the script on stdin) inside a fresh sandbox with `links` built. */
function runScript(name: 'probe' | 'apply' | 'teardown', args: string[], links: string, env: Record<string, string> = {}): Run {
  const vars = Object.entries({PATH: join(dir, 'bin'), FAKE_LOG: join(dir, 'calls.log'), ...env}).map(([k, v]) => `${k}=${v}`)
  const result = spawnSync(
    'unshare',
    ['--mount', '--net', '--fork', '--kill-child', '--propagation', 'private', '--', BASH, '--norc', '-c', SANDBOX, 'sandbox', dir, links, ...vars, BASH, '-s', '--', ...args],
    {input: buildStdin(loadScript(name)), encoding: 'utf8', timeout: 20_000},
  )
  if (result.error) throw result.error
  if (result.status === 125) throw new Error(result.stderr)
  const linksAfter = readFileSync(join(dir, 'links.after'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(': ')[1]!.split('@')[0]!)
  return {code: result.status, stdout: result.stdout, stderr: result.stderr, calls: readFileSync(join(dir, 'calls.log'), 'utf8').split('\n').filter(Boolean), linksAfter}
}

const probe = (iface: string, links: string, env: Record<string, string> = {}) => {
  const run = runScript('probe', [iface], links, env)
  expect(run.code, run.stderr).toBe(0)
  return {run, probe: parseProbeOutput(run.stdout)}
}

describe('probe.sh: what a link named like the interface is', () => {
  it("wireguard-go's tun, which `wg show` answers for: WireGuard, not the default route", () => {
    const {probe: p} = probe('wg0', `${UPLINK}\nip tuntap add dev wg0 mode tun`, {FAKE_WG_IFACE: 'wg0'})
    expect(p.interfaceLink).toEqual({kind: 'tun', wireguard: true, defaultRoute: false})
  })

  it('a tun that `wg show` does not answer for (an OpenVPN tunnel, say): not WireGuard', () => {
    const {probe: p} = probe('tun0', `${UPLINK}\nip tuntap add dev tun0 mode tun`, {FAKE_WG_IFACE: 'wg0'})
    expect(p.interfaceLink).toEqual({kind: 'tun', wireguard: false, defaultRoute: false})
  })

  it('a bridge: not WireGuard', () => {
    const {probe: p} = probe('br0', `${UPLINK}\nip link add br0 type bridge`)
    expect(p.interfaceLink).toEqual({kind: 'bridge', wireguard: false, defaultRoute: false})
  })

  it('the uplink itself (interface = eth0): a veth carrying the default route; its addresses are reported', () => {
    const {probe: p} = probe('eth0', UPLINK)
    expect(p.interfaceLink).toEqual({kind: 'veth', wireguard: false, defaultRoute: true})
    expect(p.uplink).toBe('eth0')
    expect(p.uplinkAddresses).toEqual(['198.18.7.2', '198.18.7.9'])
  })

  it('a link with no kind (a NIC; here the loopback): a "device", not WireGuard', () => {
    const {probe: p} = probe('lo', UPLINK)
    expect(p.interfaceLink).toEqual({kind: 'device', wireguard: false, defaultRoute: false})
  })

  it('a link carrying only the IPv6 default route carries the default route', () => {
    const {probe: p} = probe('br0', `${UPLINK}\nip link add br0 type bridge && ip link set br0 up && ip -6 route add default dev br0`)
    expect(p.interfaceLink?.defaultRoute).toBe(true)
  })

  it('no such link: nothing reported, and only reads', () => {
    const {probe: p, run} = probe('wg0', UPLINK)
    expect(p.interfaceLink).toBeUndefined()
    expect(p.uplinkAddresses).toEqual(['198.18.7.2', '198.18.7.9'])
    expect(run.calls.every((c) => /^(wg (show|pubkey)|systemctl show )/.test(c)), run.calls.join('\n')).toBe(true)
    expect(run.linksAfter).toEqual(['lo', 'eth0-peer', 'eth0'])
  })

  it('no default route: no uplink and no uplink addresses', () => {
    const {probe: p} = probe('wg0', 'ip link add eth0 type veth peer name eth0-peer && ip addr add 198.18.7.2/24 dev eth0')
    expect(p.uplink).toBeUndefined()
    expect(p.uplinkAddresses).toEqual([])
  })
})

/** apply.sh IFACE WRITE ACTION ENABLE FORWARD ADOPT LEN (no firewall actions) with nothing to write, the unit inactive and the interface to start: its start_service path. */
const START = ['no', 'start', 'no', 'no', 'no', '0']

describe('apply.sh: start_service never deletes a link that is not WireGuard', () => {
  it.each([
    ['a bridge', 'br0', 'ip link add br0 type bridge'],
    ['the uplink (a veth with the default route)', 'eth0', ''],
    ['a tun that wg does not answer for', 'tun0', 'ip tuntap add dev tun0 mode tun'],
  ])('%s: refused, left in place, nothing started', (_what, iface, link) => {
    const run = runScript('apply', [iface, ...START], `${UPLINK}\n${link}`, {FAKE_WG_IFACE: 'wg0'})
    expect(run.code).not.toBe(0)
    expect(run.stdout).toMatch(new RegExp(`^error=${iface} exists and is not a WireGuard interface`, 'm'))
    expect(run.linksAfter).toContain(iface)
    expect(run.calls.filter((c) => c.startsWith('wg-quick') || c.startsWith('systemctl start'))).toEqual([])
  })

  it("wgfleet's own WireGuard interface brought up by hand: taken down, then the unit started", () => {
    const run = runScript('apply', ['wg0', ...START], `${UPLINK}\nip tuntap add dev wg0 mode tun`, {FAKE_WG_IFACE: 'wg0'})
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.calls).toContain('wg-quick down wg0')
    expect(run.calls).toContain('systemctl start wg-quick@wg0')
    expect(run.linksAfter).not.toContain('wg0')
    expect(run.stdout).toMatch(/^service=started$/m)
  })
})

describe('teardown.sh never deletes a link that is not WireGuard', () => {
  it.each([
    ['a bridge', 'br0', 'ip link add br0 type bridge'],
    ['the uplink (a veth with the default route)', 'eth0', ''],
  ])('%s: left in place, with a warning', (_what, iface, link) => {
    const run = runScript('teardown', [iface, '51820', 'no'], `${UPLINK}\n${link}`, {FAKE_WG_IFACE: 'wg0'})
    expect(run.code, run.stderr).toBe(0)
    expect(run.linksAfter).toContain(iface)
    expect(run.stdout).toMatch(new RegExp(`^warning=${iface} is not a WireGuard interface: left in place`, 'm'))
    expect(run.stdout).not.toMatch(/^interface=removed$/m)
  })

  it('its own WireGuard interface: removed', () => {
    const run = runScript('teardown', ['wg0', '51820', 'no'], `${UPLINK}\nip tuntap add dev wg0 mode tun`, {FAKE_WG_IFACE: 'wg0'})
    expect(run.code, run.stderr).toBe(0)
    expect(run.linksAfter).not.toContain('wg0')
    expect(run.stdout).toMatch(/^interface=removed$/m)
  })
})
