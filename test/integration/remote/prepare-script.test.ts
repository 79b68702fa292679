/**
 * Contract of src/remote/prepare.sh with prepareHost (src/tasks/host-steps.ts): the real script, run by a
 * real bash in a host sandbox against a fake apt-get/dnf and wg. Proves: the packages are installed (a
 * stale package list refreshed once), the key pair is made only when absent (0600 in a 0700 folder) and
 * only its public key printed, the output parses, failures carry the package manager's words — and no
 * file is ever written through a name that another user could have planted in /tmp.
 */
import {readdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import {prepareHost} from '../../../src/tasks/host-steps.js'
import {PRIVATE_KEY, PUBLIC_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox({installed: ['apt-get']})
})
afterEach(() => box.destroy())

/** Names the old prepare.sh wrote to as root: /tmp/wgfleet-apt.$$ and /tmp/wgfleet-dnf.$$. In the sandbox's pid namespace $$ is small. */
function plantSymlinks(target: string): void {
  for (let pid = 1; pid <= 2000; pid++) {
    for (const name of [`wgfleet-apt.${pid}`, `wgfleet-dnf.${pid}`]) symlinkSync(target, join(box.outside('/tmp/'), name))
  }
}

describe('prepare.sh → prepareHost', () => {
  it('installs wireguard-tools (refreshing stale package lists once), makes the key pair, prints only the public key', async () => {
    box.fakes.set('install-fail', '1')
    const shell = box.shell()
    const outcome = await prepareHost(shell, 'wg0', 'apt', ['wireguard-tools'])
    expect(outcome).toEqual({installed: ['wireguard-tools'], key: 'new', publicKey: PUBLIC_KEY})
    expect(box.fakes.calls().filter((c) => c.startsWith('apt-get'))).toEqual([
      'apt-get -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y --no-install-recommends wireguard-tools',
      'apt-get -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold update',
      'apt-get -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y --no-install-recommends wireguard-tools',
    ])
    expect(box.fakes.installed('wg')).toBe(true)
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${PRIVATE_KEY}\n`)
    expect(box.stat('/etc/wireguard/wg0.key')).toEqual({mode: '600', uid: 0})
    expect(box.stat('/etc/wireguard')).toEqual({mode: '700', uid: 0})
    const {stdout, stderr} = shell.runs[0]!.result
    expect(stdout + stderr).not.toContain(PRIVATE_KEY)
    // Nothing left behind: no log in /tmp, no temporary key file.
    expect(readdirSync(box.outside('/tmp/'))).toEqual([])
    expect(readdirSync(box.outside('/etc/wireguard'))).toEqual(['wg0.key'])
  })

  it('Debian 11 (no wireguard-go in the release): refused with what to do, nothing installed, no key made', async () => {
    box.write('/etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\n')
    box.fakes.set('missing', 'wireguard-go\n')
    const failure = await prepareHost(box.shell(), 'wg0', 'apt', ['wireguard-tools', 'wireguard-go']).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(failure).toBeInstanceOf(Error)
    const message = (failure as Error).message
    expect(message).toContain('has no WireGuard module and Debian GNU/Linux 11 (bullseye) packages no wireguard-go')
    expect(message).toMatch(/boot a kernel with WireGuard .* or upgrade the host to a release that packages wireguard-go/)
    expect(box.fakes.installed('wg')).toBe(false)
    expect(readdirSync(box.outside('/etc/')).includes('wireguard') ? readdirSync(box.outside('/etc/wireguard')) : []).toEqual([])
  })

  it('a key that exists is kept (never regenerated); its mode is put right', async () => {
    box.fakes.install('wg', 'wg-quick')
    box.write('/etc/wireguard/wg0.key', `${PRIVATE_KEY}\n`, 0o644)
    const outcome = await prepareHost(box.shell(), 'wg0', 'apt', [])
    expect(outcome).toEqual({installed: [], key: 'kept', publicKey: PUBLIC_KEY})
    expect(box.fakes.calls().some((c) => c === 'wg genkey' || c.startsWith('apt-get'))).toBe(false)
    expect(box.stat('/etc/wireguard/wg0.key')).toEqual({mode: '600', uid: 0})
  })

  it('no file is written through a symlink planted at the names the old script used (/tmp/wgfleet-apt.$$, /tmp/wgfleet-dnf.$$)', async () => {
    box.write('/etc/victim', 'untouched\n')
    plantSymlinks('/etc/victim')
    box.fakes.set('install-fail', '1') // both writes of the apt path: the first install, then update and install again
    await prepareHost(box.shell(), 'wg0', 'apt', ['wireguard-tools'])
    expect(box.read('/etc/victim')).toBe('untouched\n')

    box.fakes.install('dnf')
    box.fakes.uninstall('wg', 'wg-quick')
    await prepareHost(box.shell(), 'wg0', 'dnf', ['wireguard-tools'])
    expect(box.read('/etc/victim')).toBe('untouched\n')
    // Only the planted links are left in /tmp: the script's own temporary file is gone.
    expect(readdirSync(box.outside('/tmp/')).filter((f) => !f.startsWith('wgfleet-apt.') && !f.startsWith('wgfleet-dnf.'))).toEqual([])
  })

  it('dnf: installed under a bounded wait', async () => {
    box.fakes.uninstall('apt-get')
    box.fakes.install('dnf')
    expect(await prepareHost(box.shell(), 'wg0', 'dnf', ['wireguard-tools'])).toMatchObject({installed: ['wireguard-tools'], key: 'new'})
    expect(box.fakes.calls()).toContain('dnf install -y wireguard-tools')
  })

  it('an install that keeps failing: exit 20, the error line, the tail of the log on stderr, no log left', async () => {
    box.fakes.set('install-fail', '2')
    const shell = box.shell()
    await expect(prepareHost(shell, 'wg0', 'apt', ['wireguard-tools'])).rejects.toThrow('installing wireguard-tools failed: apt-get install wireguard-tools failed')
    const {code, stderr} = shell.runs[0]!.result
    expect(code).toBe(20)
    expect(stderr).toContain('E: Unable to locate package wireguard-tools')
    expect(readdirSync(box.outside('/tmp/'))).toEqual([])
  })

  it('no package manager: exit 21', async () => {
    const shell = box.shell()
    await expect(prepareHost(shell, 'wg0', 'none', ['wireguard-tools'])).rejects.toThrow(/no supported package manager/)
    expect(shell.runs[0]!.result.code).toBe(21)
  })

  it('wg still missing after the install: exit 22, and no key made', async () => {
    const shell = box.shell()
    await expect(prepareHost(shell, 'wg0', 'apt', ['iptables'])).rejects.toThrow(/wg is still missing/)
    expect(shell.runs[0]!.result.code).toBe(22)
    expect(box.exists('/etc/wireguard/wg0.key')).toBe(false)
  })

  it('an inherited xtrace (SHELLOPTS=xtrace) prints no secret', () => {
    box.fakes.install('wg', 'wg-quick')
    const run = box.run(loadScript('prepare'), ['wg0', 'apt'], {env: {SHELLOPTS: 'xtrace'}})
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`pubkey=${PUBLIC_KEY}`)
    expect(run.stdout + run.stderr).not.toContain(PRIVATE_KEY)
  })
})
