/**
 * Contract of src/remote/rotate.sh with tasks/rotate-steps.ts: the real script, under a real bash in a host
 * sandbox, against the shared fake wg. Proves each step does what the rotation sequence needs and only
 * that: the new key is made once (0600) and never printed, the switch and the commit refuse a key no
 * file holds, the commit rewrites the config's PrivateKey before the key file, every step can run again
 * (an interrupted rotation is finished by running it again), and a peer moves AllowedIPs and drops the old
 * entry in one `wg set`.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {addPeerEntry, commitNewKey, movePeerEntry, readRotationKeys, switchInterfaceKey} from '../../../src/tasks/rotate-steps.js'
import {PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY, PUBLIC_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'

const NEW_PRIVATE = 'bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmU='
const NEW_PUBLIC = 'WIf5yPvDn3r6j0h9vDz1hEXLEcNXUeS5u3nTNz7PqVw='
const OTHER_PRIVATE = 'b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyb3Q='

const CONFIG = (key: string) => `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.1/24
ListenPort = 51820
PrivateKey = ${key}

# node-b
[Peer]
PublicKey = ${PEER_B}
AllowedIPs = 10.0.0.2/32
Endpoint = 198.51.100.2:51820
PersistentKeepalive = 25
`

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
  box.fakes.set('keypairs', `${PRIVATE_KEY} ${PUBLIC_KEY}\n${NEW_PRIVATE} ${NEW_PUBLIC}\n${OTHER_PRIVATE} ${PEER_C}\n`)
  box.fakes.set('genkey', `${NEW_PRIVATE}\n`)
})
afterEach(() => box.destroy())

function rotatedNode(): void {
  box.sh('mkdir -p /etc/wireguard && chmod 700 /etc/wireguard')
  box.write('/etc/wireguard/wg0.key', `${PRIVATE_KEY}\n`, 0o600)
  box.write('/etc/wireguard/wg0.conf', CONFIG(PRIVATE_KEY), 0o600)
  box.fakes.run('wg0', `[Interface]\nListenPort = 51820\nPrivateKey = ${PRIVATE_KEY}\n\n[Peer]\nPublicKey = ${PEER_B}\nAllowedIPs = 10.0.0.2/32\n`)
}

describe('rotate.sh on the rotated node', () => {
  it('read → generate (once) → switch → commit: each key where the sequence needs it, no private key printed', async () => {
    rotatedNode()
    const shell = box.shell()
    expect(await readRotationKeys(shell, 'wg0', false)).toEqual({keyFile: PUBLIC_KEY, newKey: undefined, interface: PUBLIC_KEY})
    expect(box.exists('/etc/wireguard/wg0.key.new')).toBe(false)

    expect(await readRotationKeys(shell, 'wg0', true)).toEqual({keyFile: PUBLIC_KEY, newKey: NEW_PUBLIC, interface: PUBLIC_KEY})
    expect(box.read('/etc/wireguard/wg0.key.new')).toBe(`${NEW_PRIVATE}\n`)
    expect(box.stat('/etc/wireguard/wg0.key.new')).toEqual({mode: '600', uid: 0})
    // A second generate never replaces the new key (an interrupted run's key is the pending one).
    box.fakes.set('genkey', `${OTHER_PRIVATE}\n`)
    expect((await readRotationKeys(shell, 'wg0', true)).newKey).toBe(NEW_PUBLIC)

    await switchInterfaceKey(shell, 'wg0', NEW_PUBLIC)
    expect(box.fakes.loaded('wg0')).toContain(`PrivateKey = ${NEW_PRIVATE}`)
    expect(box.fakes.loaded('wg0')).toContain(`PublicKey = ${PEER_B}`)
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual(['wg set wg0 private-key /etc/wireguard/wg0.key.new'])
    // The files are still the old key until the commit.
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${PRIVATE_KEY}\n`)
    expect(await readRotationKeys(shell, 'wg0', false)).toEqual({keyFile: PUBLIC_KEY, newKey: NEW_PUBLIC, interface: NEW_PUBLIC})

    await commitNewKey(shell, 'wg0', NEW_PUBLIC)
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(CONFIG(NEW_PRIVATE))
    expect(box.stat('/etc/wireguard/wg0.conf')).toEqual({mode: '600', uid: 0})
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${NEW_PRIVATE}\n`)
    expect(box.stat('/etc/wireguard/wg0.key')).toEqual({mode: '600', uid: 0})
    expect(box.exists('/etc/wireguard/wg0.key.new')).toBe(false)
    expect(box.sh('ls -A /etc/wireguard').stdout.split('\n').filter(Boolean).sort()).toEqual(['wg0.conf', 'wg0.key'])

    // Run again (an interrupted run is finished by repeating the steps): nothing changes, nothing fails.
    await switchInterfaceKey(shell, 'wg0', NEW_PUBLIC)
    await commitNewKey(shell, 'wg0', NEW_PUBLIC)
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${NEW_PRIVATE}\n`)
    expect(await readRotationKeys(shell, 'wg0', false)).toEqual({keyFile: NEW_PUBLIC, newKey: undefined, interface: NEW_PUBLIC})

    for (const run of shell.runs) {
      for (const secret of [PRIVATE_KEY, NEW_PRIVATE, OTHER_PRIVATE]) expect(run.result.stdout + run.result.stderr).not.toContain(secret)
    }
  })

  it('an inherited xtrace (SHELLOPTS=xtrace) prints no private key in any step', async () => {
    rotatedNode()
    const shell = box.shell('node-a', {SHELLOPTS: 'xtrace'})
    await readRotationKeys(shell, 'wg0', true)
    await switchInterfaceKey(shell, 'wg0', NEW_PUBLIC)
    await commitNewKey(shell, 'wg0', NEW_PUBLIC)
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${NEW_PRIVATE}\n`)
    for (const run of shell.runs) {
      for (const secret of [PRIVATE_KEY, NEW_PRIVATE]) expect(run.result.stdout + run.result.stderr).not.toContain(secret)
    }
  })

  it('the switch refuses a key no file on the host holds; the commit refuses while the interface runs another key', async () => {
    rotatedNode()
    const shell = box.shell()
    await expect(switchInterfaceKey(shell, 'wg0', PEER_C)).rejects.toThrow(`no key file on this host has the public key ${PEER_C}`)
    expect(box.fakes.loaded('wg0')).toContain(`PrivateKey = ${PRIVATE_KEY}`)
    await readRotationKeys(shell, 'wg0', true)
    await expect(commitNewKey(shell, 'wg0', NEW_PUBLIC)).rejects.toThrow('does not run the new key: not committing')
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${PRIVATE_KEY}\n`)
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(CONFIG(PRIVATE_KEY))
  })

  it('a rotation cut after the commit moved the config but not the key file: the next commit finishes it', async () => {
    rotatedNode()
    const shell = box.shell()
    await readRotationKeys(shell, 'wg0', true)
    await switchInterfaceKey(shell, 'wg0', NEW_PUBLIC)
    box.write('/etc/wireguard/wg0.conf', CONFIG(NEW_PRIVATE), 0o600)
    await commitNewKey(shell, 'wg0', NEW_PUBLIC)
    expect(box.read('/etc/wireguard/wg0.key')).toBe(`${NEW_PRIVATE}\n`)
    expect(box.read('/etc/wireguard/wg0.conf')).toBe(CONFIG(NEW_PRIVATE))
  })
})

describe('rotate.sh on a peer', () => {
  const LIVE = `[Interface]\nListenPort = 51820\nPrivateKey = ${OTHER_PRIVATE}\n\n[Peer]\nPublicKey = ${PUBLIC_KEY}\nAllowedIPs = 10.0.0.1/32,10.0.0.4/32\nEndpoint = 198.51.100.1:51820\nPersistentKeepalive = 25\n`

  it('add: the new key as an extra entry without AllowedIPs; move: AllowedIPs to it and the old entry gone, in one wg set', async () => {
    box.fakes.run('wg0', LIVE)
    const shell = box.shell('node-b')
    await addPeerEntry(shell, 'wg0', NEW_PUBLIC, '198.51.100.1:51820', 25)
    const added = box.fakes.loaded('wg0')!
    expect(added).toContain(`PublicKey = ${PUBLIC_KEY}\nAllowedIPs = 10.0.0.1/32,10.0.0.4/32`)
    expect(added).toContain(`PublicKey = ${NEW_PUBLIC}\nEndpoint = 198.51.100.1:51820\nPersistentKeepalive = 25`)

    await movePeerEntry(shell, 'wg0', NEW_PUBLIC, PUBLIC_KEY, ['10.0.0.1/32', '10.0.0.4/32'])
    const moved = box.fakes.loaded('wg0')!
    expect(moved).not.toContain(PUBLIC_KEY)
    expect(moved).toContain(`PublicKey = ${NEW_PUBLIC}\nAllowedIPs = 10.0.0.1/32,10.0.0.4/32\nEndpoint = 198.51.100.1:51820\nPersistentKeepalive = 25`)
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual([
      `wg set wg0 peer ${NEW_PUBLIC} endpoint 198.51.100.1:51820 persistent-keepalive 25`,
      `wg set wg0 peer ${NEW_PUBLIC} allowed-ips 10.0.0.1/32,10.0.0.4/32 peer ${PUBLIC_KEY} remove`,
    ])
    // Again (a run finishing an interrupted rotation): the same result.
    await addPeerEntry(shell, 'wg0', NEW_PUBLIC, '198.51.100.1:51820', 25)
    await movePeerEntry(shell, 'wg0', NEW_PUBLIC, PUBLIC_KEY, ['10.0.0.1/32', '10.0.0.4/32'])
    expect(box.fakes.loaded('wg0')).toBe(moved)
  })

  it('preshared keys on: the extra entry takes the pair\'s key from the peer\'s file for the rotated node (never printed); no file: refused before anything is added', async () => {
    box.fakes.run('wg0', LIVE)
    const shell = box.shell('node-b')
    await expect(addPeerEntry(shell, 'wg0', NEW_PUBLIC, '198.51.100.1:51820', 25, 'node-a')).rejects.toThrow(/no preshared key for node-a on this host/)
    expect(box.fakes.loaded('wg0')).not.toContain(NEW_PUBLIC)
    box.sh('mkdir -p /etc/wireguard/wg0.psk && chmod 700 /etc/wireguard/wg0.psk')
    box.write('/etc/wireguard/wg0.psk/node-a', `${PRESHARED_KEY}\n`, 0o600)
    await addPeerEntry(shell, 'wg0', NEW_PUBLIC, '198.51.100.1:51820', 25, 'node-a')
    expect(box.fakes.loaded('wg0')).toContain(`PublicKey = ${NEW_PUBLIC}\nPresharedKey = ${PRESHARED_KEY}\nEndpoint = 198.51.100.1:51820`)
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual([
      `wg set wg0 peer ${NEW_PUBLIC} endpoint 198.51.100.1:51820 persistent-keepalive 25 preshared-key /etc/wireguard/wg0.psk/node-a`,
    ])
    await expect(addPeerEntry(shell, 'wg0', NEW_PUBLIC, null, 0, '../x')).rejects.toThrow(/unvalidated node name/)
    for (const run of shell.runs) expect(run.result.stdout + run.result.stderr).not.toContain(PRESHARED_KEY)
  })

  it('a NAT-ed rotated node: no endpoint, keepalive off → neither is set', async () => {
    box.fakes.run('wg0', LIVE)
    const shell = box.shell('node-b')
    await addPeerEntry(shell, 'wg0', NEW_PUBLIC, null, 0)
    expect(box.fakes.calls().filter((c) => c.startsWith('wg set'))).toEqual([`wg set wg0 peer ${NEW_PUBLIC}`])
  })

  it('values are validated before they become arguments', async () => {
    const shell = box.shell('node-b')
    await expect(addPeerEntry(shell, 'wg0', NEW_PUBLIC, '1.2.3.4:51820; reboot', 25)).rejects.toThrow(/unvalidated endpoint/)
    await expect(movePeerEntry(shell, 'wg0', NEW_PUBLIC, PUBLIC_KEY, ['10.0.0.1/32 peer x remove'])).rejects.toThrow(/unvalidated AllowedIPs/)
    await expect(movePeerEntry(shell, 'wg0', 'not-a-key', PUBLIC_KEY, ['10.0.0.1/32'])).rejects.toThrow(/unvalidated public key/)
    expect(shell.runs).toEqual([])
  })
})
