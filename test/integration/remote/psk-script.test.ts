/**
 * Contract of src/remote/psk.sh and preshared-keys.sh (the fill in apply.sh, the report in probe.sh) with
 * tasks/psk-steps.ts and the real decideApply: each script under a real bash in a host sandbox, against the
 * shared fake wg. Proves: a stored key is a 0600 file per peer (folder 0700) that apply fills into the
 * config as it fills the private key; the probe reports names and digests, never a value, and a second look
 * finds nothing to do; a new key (rotate-psk) reaches the running entry (`wg set … preshared-key`) and the
 * config on disk in the same exec; a list cut short changes nothing; a marker without a file is refused;
 * no value is printed, even under an inherited xtrace; teardown removes the files.
 */
import {createHash} from 'node:crypto'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {planFleet, type NodePlan} from '../../../src/plan/index.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {decideApply} from '../../../src/tasks/decide.js'
import {applyHost, probeHost} from '../../../src/tasks/host-steps.js'
import {deletePresharedKeys, generatePresharedKeys, PresharedKeyValue, storePresharedKeys} from '../../../src/tasks/psk-steps.js'
import {PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {fleet} from '../../unit/plan/fixtures.js'
import {filled, KEYS, withKey} from './node-fixture.js'

const PSK_B = PRESHARED_KEY
const PSK_C = 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M='
const NEW_B = 'bmV3cHNrbmV3cHNrbmV3cHNrbmV3cHNrbmV3cHNrbmU='
const SECRETS = [PSK_B, PSK_C, NEW_B, PRIVATE_KEY]

const NODE_A: NodePlan = planFleet(
  fleet(
    [
      {name: 'node-a', address: '10.0.0.1', relay: true},
      {name: 'node-b', address: '10.0.0.2'},
      {name: 'node-c', address: '10.0.0.3', nat: true},
    ],
    {presharedKeys: true},
  ),
  {publicKeys: KEYS},
).nodes[0]!

const digest = (key: string) => createHash('sha256').update(`${key}\n`).digest('hex').slice(0, 16)
const withPsks = (config: string, psks: Record<string, string>) => {
  let text = filled(config)
  for (const [peer, psk] of Object.entries(psks)) {
    text = text.replace(new RegExp(`(# ${peer}\\n\\[Peer\\]\\nPublicKey = [^\\n]+\\n)PresharedKey = @WGFLEET_PRESHARED_KEY@`), `$1PresharedKey = ${psk}`)
  }
  return text
}

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
})
afterEach(() => box.destroy())

function noSecretIn(runs: Array<{args: string[]; result: {stdout: string; stderr: string}}>): void {
  for (const run of runs) {
    // `generate` prints its new keys on stdout: the one place a value is printed (wgfleet carries it on).
    const printed = run.args[0] === 'generate' ? run.result.stderr : run.result.stdout + run.result.stderr
    for (const secret of SECRETS) expect(printed, run.args.join(' ')).not.toContain(secret)
  }
}

describe('psk.sh → psk-steps, apply.sh and probe.sh with preshared keys', () => {
  it('store → apply fills them in → probe finds nothing to do → a new key reaches the running entry and the config → delete', async () => {
    withKey(box)
    const shell = box.shell()
    const stored = await storePresharedKeys(shell, 'wg0', [
      {peer: 'node-b', publicKey: PEER_B, key: new PresharedKeyValue(PSK_B)},
      {peer: 'node-c', publicKey: null, key: new PresharedKeyValue(PSK_C)},
    ])
    expect([...stored.values()]).toEqual([
      {peer: 'node-b', digest: digest(PSK_B), config: 'none', live: 'down'},
      {peer: 'node-c', digest: digest(PSK_C), config: 'none', live: 'down'},
    ])
    expect(box.stat('/etc/wireguard/wg0.psk')).toEqual({mode: '700', uid: 0})
    expect(box.stat('/etc/wireguard/wg0.psk/node-b')).toEqual({mode: '600', uid: 0})
    expect(box.read('/etc/wireguard/wg0.psk/node-c')).toBe(`${PSK_C}\n`)
    expect(box.sh('ls -A /etc/wireguard/wg0.psk').stdout).toBe('node-b\nnode-c\n')

    const decision = decideApply(await probeHost(shell, 'wg0'), NODE_A, 51820)
    await applyHost(shell, {iface: 'wg0', decision, config: NODE_A.config, adopt: false})
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(withPsks(NODE_A.config, {'node-b': PSK_B, 'node-c': PSK_C}))
    expect(box.fakes.loaded('wg0')).toContain(`PresharedKey = ${PSK_B}`)

    const probe = await probeHost(shell, 'wg0')
    expect(probe.presharedKeys.get('node-b')).toEqual({peer: 'node-b', digest: digest(PSK_B), config: 'same', live: 'same'})
    expect(probe.configText).toContain('PresharedKey = @WGFLEET_PRESHARED_KEY@')
    box.remove('/etc/wireguard/.wg0.pending')
    expect(decideApply(await probeHost(shell, 'wg0'), NODE_A, 51820).needed).toBe(false)

    // rotate-psk: a new key made on the host (nothing written there), then stored: the running entry and the
    // config on disk take it in the same exec.
    box.fakes.set('genpsk', `${NEW_B}\n`)
    const [fresh] = await generatePresharedKeys(shell, 'wg0', 1)
    expect(box.read('/etc/wireguard/wg0.psk/node-b')).toBe(`${PSK_B}\n`)
    expect(String(fresh)).toBe('(preshared key)')
    expect(JSON.stringify({fresh})).not.toContain(NEW_B)
    box.fakes.clearCalls()
    const after = await storePresharedKeys(shell, 'wg0', [{peer: 'node-b', publicKey: PEER_B, key: fresh!}])
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual(['wg set wg0 peer ' + PEER_B + ' preshared-key /etc/wireguard/wg0.psk/node-b'])
    expect(after.get('node-b')).toEqual({peer: 'node-b', digest: digest(NEW_B), config: 'same', live: 'same'})
    expect(after.get('node-c')).toEqual({peer: 'node-c', digest: digest(PSK_C), config: 'same', live: 'same'})
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(withPsks(NODE_A.config, {'node-b': NEW_B, 'node-c': PSK_C}))
    expect(box.fakes.loaded('wg0')).toContain(`PresharedKey = ${NEW_B}`)
    expect(decideApply(await probeHost(shell, 'wg0'), NODE_A, 51820).needed).toBe(false)

    await deletePresharedKeys(shell, 'wg0', ['node-c', 'node-d'])
    expect(box.sh('ls -A /etc/wireguard/wg0.psk').stdout).toBe('node-b\n')
    expect(box.sh('ls -A /etc/wireguard').stdout.split('\n').filter((f) => f.startsWith('.wgfleet.'))).toEqual([])
    noSecretIn(shell.runs)
  })

  it('the running entry or the config holding another value than the file: the probe says so and the apply writes and syncs again', async () => {
    withKey(box)
    const shell = box.shell()
    await storePresharedKeys(shell, 'wg0', [
      {peer: 'node-b', publicKey: PEER_B, key: new PresharedKeyValue(PSK_B)},
      {peer: 'node-c', publicKey: PEER_C, key: new PresharedKeyValue(PSK_C)},
    ])
    await applyHost(shell, {iface: 'wg0', decision: decideApply(await probeHost(shell, 'wg0'), NODE_A, 51820), config: NODE_A.config, adopt: false})
    box.remove('/etc/wireguard/.wg0.pending')
    // A store cut off after the file, before the config and the interface: the file is the new key.
    box.write('/etc/wireguard/wg0.psk/node-b', `${NEW_B}\n`, 0o600)
    const probe = await probeHost(shell, 'wg0')
    expect(probe.presharedKeys.get('node-b')).toMatchObject({config: 'differs', live: 'differs'})
    const decision = decideApply(probe, NODE_A, 51820)
    expect(decision).toMatchObject({writeConfig: true, action: 'syncconf'})
    await applyHost(shell, {iface: 'wg0', decision, config: NODE_A.config, adopt: false})
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(withPsks(NODE_A.config, {'node-b': NEW_B, 'node-c': PSK_C}))
    expect((await probeHost(shell, 'wg0')).presharedKeys.get('node-b')).toMatchObject({config: 'same', live: 'same'})
    noSecretIn(shell.runs)
  })

  it('a marker whose file is missing: apply refuses and nothing changes', async () => {
    withKey(box)
    const shell = box.shell()
    await storePresharedKeys(shell, 'wg0', [{peer: 'node-b', publicKey: null, key: new PresharedKeyValue(PSK_B)}])
    const decision = decideApply(await probeHost(shell, 'wg0'), NODE_A, 51820)
    await expect(applyHost(shell, {iface: 'wg0', decision, config: NODE_A.config, adopt: false})).rejects.toThrow(/preshared key file is missing/)
    expect(box.exists('/etc/wireguard/wg0.conf')).toBe(false)
    noSecretIn(shell.runs)
  })

  it('a list cut short or malformed changes nothing', async () => {
    withKey(box)
    const script = loadScript('psk')
    const cut = box.run(script, ['store', 'wg0', '2'], {input: `node-b - ${PSK_B}\n`})
    expect(cut.code).toBe(51)
    const bad = box.run(script, ['store', 'wg0', '1'], {input: `node-b - ${PSK_B};reboot\nend\n`})
    expect(bad.code).toBe(51)
    const twice = box.run(script, ['store', 'wg0', '2'], {input: `node-b - ${PSK_B}\nnode-b - ${PSK_C}\nend\n`})
    expect(twice.code).toBe(51)
    expect(box.sh('ls -A /etc/wireguard/wg0.psk').stdout).toBe('')
    for (const run of [cut, bad, twice]) for (const secret of SECRETS) expect(run.stdout + run.stderr).not.toContain(secret)
  })

  it('an inherited xtrace (SHELLOPTS=xtrace) prints no value in store, apply or probe', async () => {
    withKey(box)
    const shell = box.shell('node-a', {SHELLOPTS: 'xtrace'})
    await storePresharedKeys(shell, 'wg0', [
      {peer: 'node-b', publicKey: PEER_B, key: new PresharedKeyValue(PSK_B)},
      {peer: 'node-c', publicKey: PEER_C, key: new PresharedKeyValue(PSK_C)},
    ])
    await applyHost(shell, {iface: 'wg0', decision: decideApply(await probeHost(shell, 'wg0'), NODE_A, 51820), config: NODE_A.config, adopt: false})
    await storePresharedKeys(shell, 'wg0', [{peer: 'node-b', publicKey: PEER_B, key: new PresharedKeyValue(NEW_B)}])
    await probeHost(shell, 'wg0')
    expect(box.read('/etc/wireguard/wg0.psk/node-b')).toBe(`${NEW_B}\n`)
    noSecretIn(shell.runs)
  })

  it('teardown removes the preshared keys', async () => {
    withKey(box)
    await storePresharedKeys(box.shell(), 'wg0', [{peer: 'node-b', publicKey: null, key: new PresharedKeyValue(PSK_B)}])
    const run = box.run(loadScript('teardown'), ['wg0', '51820', 'no'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('psk=removed')
    expect(box.exists('/etc/wireguard/wg0.psk')).toBe(false)
  })
})
