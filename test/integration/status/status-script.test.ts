/**
 * src/remote/status.sh run by a real bash, locally, against fake `wg`, `ip` and `date` on PATH (the shared
 * fakes of test/helpers/host-fakes.ts and only the few real tools the script needs, so a real `wg` on
 * this machine is never used). Proves: the interface line of `wg show dump` — the private key — is dropped on the host;
 * the output parses; the clock comes from the host's `date`; and the script only reads.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'
import {parseStatusOutput} from '../../../src/remote/status.js'
import {DUMP_INTERFACE_LINE, type FakeMachine} from '../../helpers/host-fakes.js'
import {BASH, NODE_CLOCK, PEER_B, PEER_C, PRIVATE_KEY, PRESHARED_KEY, PUBLIC_KEY, statusHost} from './fakes.js'

let host: FakeMachine

beforeEach(() => {
  host = statusHost(mkdtempSync(join(tmpdir(), 'wgfleet-status-sh-')), 'isolated')
})

/** Run status.sh the way RemoteShell does: `bash -s -- 'wg0'`, the script on stdin wrapped in a function. */
function runStatusScript() {
  const result = spawnSync(BASH, ['-s', '--', 'wg0'], {
    input: buildStdin(loadScript('status')),
    env: host.env(),
    encoding: 'utf8',
  })
  return {code: result.status, stdout: result.stdout, stderr: result.stderr, calls: host.calls()}
}

describe('status.sh', () => {
  it('drops the interface line on the host: the private key never appears in the output', () => {
    const run = runStatusScript()
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain(PRIVATE_KEY)
    expect(run.stderr).not.toContain(PRIVATE_KEY)
    // The fake really printed it: the script had it in its pipe and dropped it.
    expect(run.calls).toContain('wg show wg0 dump')
  })

  it('prints the node clock, interface state, port, public key and the peer lines, which parse', () => {
    const run = runStatusScript()
    const reading = parseStatusOutput(run.stdout)
    expect(reading).toMatchObject({link: 'up', wgInstalled: true, now: NODE_CLOCK, listenPort: 51820, publicKey: PUBLIC_KEY})
    expect(reading.peers!.map((p) => [p.publicKey, p.endpoint, p.latestHandshake, p.rxBytes, p.txBytes, p.keepalive, p.allowedIps])).toEqual([
      [PEER_B, '203.0.113.2:51820', NODE_CLOCK - 12, 1234, 5678, 25, ['10.0.0.2/32']],
      [PEER_C, null, 0, 0, 92, 0, ['10.0.0.3/32', '10.0.0.4/32']],
    ])
  })

  it('only reads: wg show and ip link show, nothing else', () => {
    const run = runStatusScript()
    expect(run.calls.every((c) => /^(wg show wg0 (dump|listen-port|public-key)|ip -o link show dev wg0)$/.test(c))).toBe(true)
    expect(run.calls.filter((c) => c.startsWith('wg show wg0 dump'))).toHaveLength(1)
  })

  it('an interface with no peers: an empty peer block', () => {
    host.dump('wg0', [DUMP_INTERFACE_LINE])
    const run = runStatusScript()
    expect(run.stdout).not.toContain(PRIVATE_KEY)
    expect(parseStatusOutput(run.stdout).peers).toEqual([])
  })

  it('a preshared key never leaves the host: only whether one is set', () => {
    const run = runStatusScript()
    expect(run.stdout).not.toContain(PRESHARED_KEY)
    expect(parseStatusOutput(run.stdout).peers!.map((p) => p.presharedKey)).toEqual([false, true])
  })

  it('interface down: reported, still read', () => {
    host.link('wg0', 'down')
    const reading = parseStatusOutput(runStatusScript().stdout)
    expect(reading).toMatchObject({link: 'down', now: NODE_CLOCK})
  })

  it('interface absent: reported, wg not asked', () => {
    host.link('wg0', 'absent')
    const run = runStatusScript()
    expect(parseStatusOutput(run.stdout)).toMatchObject({link: 'absent', peers: null, now: NODE_CLOCK})
    expect(run.calls.some((c) => c.startsWith('wg '))).toBe(false)
  })

  it('wg show failing is reported as such, not as "no peers"', () => {
    host.set('wg-fail', '')
    const run = runStatusScript()
    expect(run.code).toBe(0)
    const reading = parseStatusOutput(run.stdout)
    expect(reading.peers).toBeNull()
    expect(reading.wgError).toMatch(/wg show wg0 failed/)
  })

  it('wg not installed', () => {
    host.uninstall('wg')
    expect(parseStatusOutput(runStatusScript().stdout)).toMatchObject({wgInstalled: false, peers: null, link: 'up'})
  })

  it('is valid bash (bash -n)', () => {
    const check = spawnSync(BASH, ['-n'], {input: loadScript('status'), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
