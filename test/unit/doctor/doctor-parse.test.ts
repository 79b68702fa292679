/** The parser of doctor.sh output (pure). The firewall listings in it are judged in test/unit/firewall/verdict.test.ts. */
import {describe, expect, it} from 'vitest'

import {DoctorOutputError, parseDoctorOutput} from '../../../src/remote/doctor.js'
import {WgDumpError} from '../../../src/wireguard/dump.js'
import {KEYS, UFW_ACTIVE} from './fixtures.js'

const PRIVATE = 'cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY='

function output(extra: string[] = [], over: Record<string, string> = {}): string {
  const base: Record<string, string> = {doctor: '1', port: '51820', interface: 'up', mtu: '1420', wg: 'yes', now: '1700000000', listen_port: '51820', pubkey: KEYS['node-a'], ...over}
  return [
    ...Object.entries(base).map(([k, v]) => `${k}=${v}`),
    'address=10.0.0.1/24',
    '--- peers',
    `${KEYS['node-b']}\t(hidden)\t203.0.113.2:51820\t10.0.0.2/32\t1699999990\t1\t2\t25`,
    '--- end peers',
    `keyfile_pubkey=${KEYS['node-a']}`,
    'config=yes',
    '--- config',
    '[Interface]',
    'PrivateKey = @WGFLEET_PRIVATE_KEY@',
    'end=ok',
    '--- end config',
    'systemd=yes',
    'unit_enabled=disabled',
    'unit_active=active',
    'ip_forward=0',
    'ufw=active',
    'ufw.forward_policy=DROP',
    '--- ufw',
    ...UFW_ACTIVE,
    '--- end ufw',
    'firewalld=absent',
    'uplink=eth0',
    'ping_tool=yes',
    'ping=u 203.0.113.2 1452 fail ok 1400',
    'ping=o 10.0.0.2 1392 ok - -',
    'ping=x 10.0.0.3 1392 ok - -',
    ...extra,
    'end=ok',
  ].join('\n') + '\n'
}

describe('parseDoctorOutput', () => {
  it('reads values, blocks and pings', () => {
    const r = parseDoctorOutput(output())
    expect(r).toMatchObject({
      link: 'up',
      mtu: 1420,
      addresses: ['10.0.0.1/24'],
      now: 1_700_000_000,
      listenPort: 51820,
      publicKey: KEYS['node-a'],
      keyFilePublicKey: KEYS['node-a'],
      systemd: true,
      unitEnabled: 'disabled',
      unitActive: 'active',
      ipForward: false,
      forwardFiles: [],
      ufw: {state: 'active', status: UFW_ACTIVE, forwardPolicy: 'DROP'},
      firewalld: {state: 'absent', runtime: {zones: [], policies: null}},
      uplink: 'eth0',
      pingTool: 'yes',
    })
    // `end=ok` inside the config block is config text, not the end marker.
    expect(r.config).toBe('[Interface]\nPrivateKey = @WGFLEET_PRIVATE_KEY@\nend=ok\n')
    expect(r.peers).toEqual([{publicKey: KEYS['node-b'], presharedKey: true, endpoint: '203.0.113.2:51820', allowedIps: ['10.0.0.2/32'], latestHandshake: 1_699_999_990, rxBytes: 1, txBytes: 2, keepalive: 25}])
    expect(r.pings).toEqual([
      {kind: 'underlay', host: '203.0.113.2', size: 1452, big: 'fail', small: 'ok', pathMtu: 1400},
      {kind: 'overlay', host: '10.0.0.2', size: 1392, big: 'ok', small: null, pathMtu: null},
    ])
  })

  it('cut-off output (no end=ok, or an unclosed block) is refused', () => {
    expect(() => parseDoctorOutput(output().replace(/end=ok\n$/, ''))).toThrow(DoctorOutputError)
    expect(() => parseDoctorOutput('doctor=1\ninterface=up\nnow=1\n--- peers\nend=ok\n')).toThrow(/incomplete/)
  })

  it('no clock, or no interface state: refused', () => {
    expect(() => parseDoctorOutput(output([], {now: 'x'}))).toThrow(/clock/)
    expect(() => parseDoctorOutput(output([], {interface: 'maybe'}))).toThrow(/interface state/)
  })

  it('an interface line (the private key) in the peer block is refused without echoing it', () => {
    const text = output().replace('--- peers\n', `--- peers\n${PRIVATE}\t${KEYS['node-a']}\t51820\toff\n`)
    expect(() => parseDoctorOutput(text)).toThrow(WgDumpError)
    try {
      parseDoctorOutput(text)
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(PRIVATE)
    }
  })

  it('a malformed public key is not taken; no config; absent firewalls by default', () => {
    const r = parseDoctorOutput(['doctor=1', 'interface=absent', 'wg=no', 'now=5', 'pubkey=nope', 'config=no', 'end=ok'].join('\n'))
    expect(r).toMatchObject({link: 'absent', wgInstalled: false, publicKey: null, peers: null, config: null, systemd: false, unitEnabled: null, ipForward: null, ufw: {state: 'absent'}, pingTool: null, pings: []})
  })
})
