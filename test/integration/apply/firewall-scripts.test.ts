/**
 * The firewall contract of src/remote/apply.sh, and of teardown.sh (which removes what apply adds), run by
 * a real bash against fake `ufw` and `firewall-cmd` that record their calls (PATH holds only the fakes and
 * the few real tools the scripts need; `rm`, `stat`, `chmod`, `chown` and `ip` are fakes too, so nothing of
 * this machine's /etc is touched). Proves: apply.sh runs exactly the firewall actions it is given, in
 * order, and nothing else — it never asks a firewall for its status to decide on its own; a token outside
 * the grammar stops it before anything changes; a failing command fails the apply, saying which; and
 * teardown --purge removes each kind of thing apply adds.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {actionCommands, encodeAction, type FirewallAction} from '../../../src/firewall/actions.js'
import {firewallVerdict} from '../../../src/firewall/verdict.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'
import {readingsOf, firewalldLines, publicZone} from '../../fixtures/firewall.js'

const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim()
const BASH = which('bash')

let bin: string
let log: string

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-apply-sh-'))
  bin = join(dir, 'bin')
  mkdirSync(bin)
  log = join(dir, 'calls.log')
  writeFileSync(log, '')
  // FAKE_FAIL: the arguments a ufw or firewall-cmd call fails for; FAKE_FIREWALL: which one runs (teardown asks).
  const fail = `[ -n "\${FAKE_FAIL:-}" ] && [ "$*" = "$FAKE_FAIL" ] && exit 1\nexit 0`
  const fakes: Record<string, string> = {
    ufw: `echo "ufw $*" >> "$FAKE_LOG"\n[ "$*" = status ] && { [ "\${FAKE_FIREWALL:-}" = ufw ] && echo 'Status: active' || echo 'Status: inactive'; }\n${fail}`,
    'firewall-cmd': `echo "firewall-cmd $*" >> "$FAKE_LOG"\ncase "$*" in --state) [ "\${FAKE_FIREWALL:-}" = firewalld ]; exit ;; --get-default-zone) echo public ;; --get-zone-of-interface=*) echo 'no zone' >&2; exit 2 ;; esac\n${fail}`,
    ip: `[ "$*" = "-4 route show default" ] && { echo 'default via 203.0.113.254 dev eth0 onlink'; exit 0; }\nexit 1`,
    systemctl: `echo "systemctl $*" >> "$FAKE_LOG"\necho enabled`,
    // fix_permissions reads the modes of /etc/wireguard: as they should be (nothing to fix, nothing touched).
    stat: `case "$2" in %a) echo 700 ;; %U) echo root ;; esac`,
    chmod: `echo "chmod $*" >> "$FAKE_LOG"`,
    chown: `echo "chown $*" >> "$FAKE_LOG"`,
    // The real rm for apply.sh's own temp folder; anything under /etc is only recorded.
    rm: `for a in "$@"; do case $a in /etc/*) echo "rm $*" >> "$FAKE_LOG"; exit 0 ;; esac; done\nexec ${which('rm')} "$@"`,
  }
  for (const [name, text] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!${BASH}\n${text}\n`)
    chmodSync(join(bin, name), 0o755)
  }
  for (const tool of ['cat', 'mktemp', 'head', 'grep', 'wc', 'sed']) symlinkSync(which(tool), join(bin, tool))
})

/** A script run as RemoteShell runs it (`bash -s -- ARGS`, the script on stdin): its output and the calls the fakes recorded. */
function runScript(script: 'apply' | 'teardown', args: string[], env: Record<string, string>) {
  const result = spawnSync(BASH, ['-s', '--', ...args], {input: buildStdin(loadScript(script)), env: {PATH: bin, FAKE_LOG: log, ...env}, encoding: 'utf8', timeout: 20_000})
  const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)
  return {code: result.status, stdout: result.stdout, stderr: result.stderr, calls, firewallCalls: calls.filter((c) => /^(ufw|firewall-cmd) /.test(c))}
}

/** apply.sh IFACE WRITE ACTION FORWARD ADOPT LEN, then one token per firewall action. */
const runApply = (tokens: string[], env: Record<string, string> = {}) => runScript('apply', ['wg0', 'no', 'none', 'no', 'no', '0', ...tokens], env)

/** teardown.sh IFACE PORT PURGE, with ufw active or firewalld running: the changes it makes (queries left out). */
function runTeardown(firewall: 'ufw' | 'firewalld') {
  const run = runScript('teardown', ['wg0', '51820', 'yes'], {FAKE_FIREWALL: firewall})
  return {...run, changes: run.firewallCalls.filter((c) => !/ (status|--state|--get-[a-z-]+(=\S+)?)$/.test(c))}
}

/** The calls apply.sh makes for an action: its commands, quiet (-q), with ufw's comment. */
function expectedCalls(action: FirewallAction): string[] {
  return actionCommands(action).map((c) => (c.startsWith('ufw ') ? `${c} comment wgfleet` : c.replace(/^firewall-cmd /, 'firewall-cmd -q ')))
}

const UFW_RELAY_EXIT: FirewallAction[] = [
  {kind: 'ufw-allow', port: 51820},
  {kind: 'ufw-route', in: 'wg0', out: 'wg0'},
  {kind: 'ufw-route', in: 'wg0', out: 'eth0'},
]

describe('apply.sh runs exactly the firewall actions it is given', () => {
  it('ufw: the port and the route rules, in order, each reported; no status read, nothing else', () => {
    const run = runApply(UFW_RELAY_EXIT.map(encodeAction))
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual(['ufw allow 51820/udp comment wgfleet', 'ufw route allow in on wg0 out on wg0 comment wgfleet', 'ufw route allow in on wg0 out on eth0 comment wgfleet'])
    expect(run.stdout.split('\n').filter((l) => l.startsWith('firewall='))).toEqual(UFW_RELAY_EXIT.map((a) => `firewall=${encodeAction(a)}`))
    expect(run.stdout).toMatch(/^done=yes$/m)
  })

  it('firewalld: a fresh exit node as the verdict plans it — zone, forwarding, interface, policy, reload — runtime and permanent exactly as told', () => {
    const readings = readingsOf(firewalldLines({runtime: [publicZone()]}))
    const verdict = firewallVerdict(readings, {port: 51820, iface: 'wg0', forward: true, exit: true, uplink: 'eth0', family: 'ipv4'})
    const run = runApply(verdict.actions.map(encodeAction))
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual(verdict.actions.flatMap(expectedCalls))
    expect(run.firewallCalls).toEqual([
      'firewall-cmd -q --zone=public --add-port=51820/udp',
      'firewall-cmd -q --permanent --zone=public --add-port=51820/udp',
      'firewall-cmd -q --permanent --new-zone=wgfleet',
      'firewall-cmd -q --permanent --zone=wgfleet --add-service=ssh',
      'firewall-cmd -q --permanent --zone=wgfleet --add-forward',
      'firewall-cmd -q --permanent --zone=wgfleet --change-interface=wg0',
      'firewall-cmd -q --permanent --new-policy=wgfleet-exit',
      'firewall-cmd -q --permanent --policy=wgfleet-exit --set-target=ACCEPT',
      'firewall-cmd -q --permanent --policy=wgfleet-exit --add-ingress-zone=wgfleet',
      'firewall-cmd -q --permanent --policy=wgfleet-exit --add-egress-zone=ANY',
      'firewall-cmd -q --reload',
    ])
  })

  it('runtime only, permanent only: one call each', () => {
    const actions: FirewallAction[] = [
      {kind: 'firewalld-port', zone: 'external', port: 51821, runtime: true, permanent: false},
      {kind: 'firewalld-interface', zone: 'wgfleet', iface: 'wg0', runtime: false, permanent: true},
      {kind: 'firewalld-zone-forward', zone: 'wgfleet', runtime: true, permanent: true},
      {kind: 'firewalld-policy-zone', policy: 'wgfleet-forward', side: 'egress', zone: 'external', runtime: true, permanent: false},
    ]
    const run = runApply(actions.map(encodeAction))
    expect(run.code, run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual([
      'firewall-cmd -q --zone=external --add-port=51821/udp',
      'firewall-cmd -q --permanent --zone=wgfleet --change-interface=wg0',
      'firewall-cmd -q --zone=wgfleet --add-forward',
      'firewall-cmd -q --permanent --zone=wgfleet --add-forward',
      'firewall-cmd -q --policy=wgfleet-forward --add-egress-zone=external',
    ])
  })

  it('no actions: no firewall command at all (an active ufw or firewalld is not even asked)', () => {
    const run = runApply([])
    expect(run.code, run.stderr).toBe(0)
    expect(run.firewallCalls).toEqual([])
    expect(run.stdout).not.toMatch(/^firewall=/m)
  })

  it.each([
    ['a zone that is an option', 'firewalld-port:--reload:51820:runtime'],
    ['a shell word in an interface', 'ufw-route:wg0:eth0;reboot'],
    ['a zone other than wgfleet\'s to create', 'firewalld-new-zone:trusted'],
    ['a policy other than wgfleet\'s', 'firewalld-policy-zone:allow-host-ipv6:egress:ANY:runtime'],
    ['the trusted zone for the interface', 'firewalld-interface:trusted:wg0:runtime,permanent'],
    ['a port out of range', 'ufw-allow:0'],
    ['an unknown scope', 'firewalld-port:public:51820:always'],
    ['an unknown action', 'iptables-flush'],
    ['a space', 'ufw-allow:51820 51821'],
  ])('refuses %s before anything changes (exit 2, no firewall call, not even the valid ones before it)', (_name, bad) => {
    const run = runApply([encodeAction({kind: 'ufw-allow', port: 51820}), bad])
    expect(run.code).toBe(2)
    expect(run.stdout).toContain(`error=bad firewall action ${bad}`)
    expect(run.calls).toEqual([])
  })

  it('a failing command fails the apply, saying which; nothing after it runs', () => {
    const run = runApply(UFW_RELAY_EXIT.map(encodeAction), {FAKE_FAIL: 'route allow in on wg0 out on wg0 comment wgfleet'})
    expect(run.code).toBe(30)
    expect(run.stdout).toContain('error=ufw route allow in on wg0 out on wg0 failed')
    expect(run.firewallCalls).toEqual(['ufw allow 51820/udp comment wgfleet', 'ufw route allow in on wg0 out on wg0 comment wgfleet'])
    expect(run.stdout).not.toMatch(/^done=yes$/m)
  })

  it('is valid bash (bash -n)', () => {
    const check = spawnSync(BASH, ['-n'], {input: loadScript('apply'), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})

describe('teardown.sh --purge removes what apply.sh adds', () => {
  it('ufw: the port, the route on the interface and an exit\'s route to the uplink', () => {
    const run = runTeardown('ufw')
    expect(run.code, run.stderr).toBe(0)
    expect(run.changes).toEqual([
      'ufw delete allow 51820/udp',
      'ufw route delete allow in on wg0 out on wg0',
      'ufw route delete allow in on wg0 out on eth0',
    ])
  })

  it('firewalld: the port in the uplink\'s zone, the interface out of zone wgfleet, policies and zone deleted — the trusted zone untouched, no reload', () => {
    const run = runTeardown('firewalld')
    expect(run.code, run.stderr).toBe(0)
    expect(run.changes).toEqual([
      'firewall-cmd -q --permanent --zone=public --remove-port=51820/udp',
      'firewall-cmd -q --zone=public --remove-port=51820/udp',
      'firewall-cmd -q --zone=wgfleet --remove-interface=wg0',
      'firewall-cmd -q --permanent --delete-policy=wgfleet-exit',
      'firewall-cmd -q --permanent --delete-policy=wgfleet-forward',
      'firewall-cmd -q --permanent --delete-zone=wgfleet',
    ])
    expect(run.stdout).toContain('firewall=firewalld removed 51820/udp (public)')
  })
})
