/**
 * src/remote/apply.sh under a real bash (HostBox): peer entries it brings up come up fresh — without their
 * keepalive, so the interface sends nothing to them before every node is up — while the file on disk is
 * the full config at every moment the script is not bringing the interface up, and always at its end.
 */
import {readdirSync} from 'node:fs'
import {beforeEach, describe, expect, it} from 'vitest'

import {PRIVATE_KEY_MARKER} from '../../../src/plan/index.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {parseKeyValues} from '../../../src/remote/output.js'
import {HostBox} from './host-box.js'

const PRIVATE_KEY = 'cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY='
const NODE_A = 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE='
const NODE_C = 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M='

function rendered({keepalive = 25, withC = true} = {}): string {
  const ka = keepalive > 0 ? [`PersistentKeepalive = ${keepalive}`] : []
  return [
    '# Managed by wgfleet. Local changes are overwritten.',
    '[Interface]',
    'Address = 10.0.0.2/24',
    'ListenPort = 51820',
    `PrivateKey = ${PRIVATE_KEY_MARKER}`,
    '',
    '# node-a',
    '[Peer]',
    `PublicKey = ${NODE_A}`,
    'Endpoint = 203.0.113.1:51820',
    'AllowedIPs = 10.0.0.1/32',
    ...ka,
    ...(withC ? ['', '# node-c', '[Peer]', `PublicKey = ${NODE_C}`, 'AllowedIPs = 10.0.0.3/32', ...ka] : []),
  ].join('\n') + '\n'
}
const filled = (config: string) => config.replace(PRIVATE_KEY_MARKER, PRIVATE_KEY)

let box: HostBox

beforeEach(() => {
  box = new HostBox()
  box.writeWireguard('wg0.key', `${PRIVATE_KEY}\n`)
})

function apply(action: 'start' | 'restart' | 'syncconf', config: string) {
  const run = box.run(loadScript('apply'), ['wg0', 'yes', action, 'no', 'no', 'no', String(Buffer.byteLength(config))], config)
  const values = parseKeyValues(run.stdout)
  return {...run, get: (k: string) => values.filter(([key]) => key === k).map(([, v]) => v)}
}

/** Temp folders apply.sh made under /etc/wireguard (none may be left). */
const leftovers = () => readdirSync(box.wireguardPath('')).filter((f) => f.startsWith('.wgfleet.'))

describe('apply.sh brings peers up fresh', () => {
  it('start: wg-quick reads the config without keepalives; the file is the full config after; the marker waits for verify', () => {
    const run = apply('start', rendered())
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const seen = box.read('up-config')!
    expect(seen).not.toMatch(/PersistentKeepalive/i)
    expect(seen).toContain(`PublicKey = ${NODE_C}`)
    expect(seen).toContain(`PrivateKey = ${PRIVATE_KEY}`)
    expect(box.readWireguard('wg0.conf')).toBe(filled(rendered()))
    expect(run.get('fresh')).toEqual([NODE_A, NODE_C])
    expect(run.get('keepalive')).toEqual(['held'])
    expect(run.get('service')).toEqual(['started'])
    expect(box.readWireguard('.wg0.pending')).toBe('')
    expect(leftovers()).toEqual([])
    expect(run.stdout).not.toContain(PRIVATE_KEY)
  })

  it('restart: the same (every entry of a restarted interface is new)', () => {
    box.set('active')
    box.set('enabled')
    const run = apply('restart', rendered())
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(box.read('up-config')).not.toMatch(/PersistentKeepalive/)
    expect(box.readWireguard('wg0.conf')).toBe(filled(rendered()))
    expect(run.get('fresh')).toEqual([NODE_A, NODE_C])
    expect(run.get('service')).toEqual(['restarted'])
  })

  it('syncconf: only peers new to the running interface come up without keepalive; the others keep theirs', () => {
    box.set('active')
    box.set('enabled')
    box.set(`peer.${NODE_A}`, '1000')
    const run = apply('syncconf', rendered())
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const [synced] = box.received('syncconf')
    expect(synced).toContain(`PublicKey = ${NODE_C}\nAllowedIPs = 10.0.0.3/32\n`)
    expect(synced).not.toMatch(new RegExp(`PublicKey = ${NODE_C.replace(/[+/=]/g, '\\$&')}\\nAllowedIPs = 10.0.0.3/32\\nPersistentKeepalive`))
    expect(synced).toContain('AllowedIPs = 10.0.0.1/32\nPersistentKeepalive = 25')
    expect(run.get('fresh')).toEqual([NODE_C])
    expect(run.get('keepalive')).toEqual(['held'])
    expect(box.readWireguard('.wg0.pending')).toBe('')
    expect(leftovers()).toEqual([])
  })

  it('syncconf with no new peer (a keepalive changed): synced whole, nothing fresh, no marker left', () => {
    box.set('active')
    box.set('enabled')
    box.set(`peer.${NODE_A}`, '1000')
    box.set(`peer.${NODE_C}`, '1000')
    const run = apply('syncconf', rendered({keepalive: 21}))
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(box.received('syncconf')[0]!.match(/PersistentKeepalive = 21/g)).toHaveLength(2)
    expect(run.get('fresh')).toEqual([])
    expect(run.get('keepalive')).toEqual([])
    expect(box.readWireguard('.wg0.pending')).toBeUndefined()
  })

  it('keepalive off: nothing to hold back; the entries are still reported fresh (verify needs to know)', () => {
    const run = apply('start', rendered({keepalive: 0}))
    expect(run.code, run.stdout + run.stderr).toBe(0)
    // Nothing held back; a first bring-up's copy only says `Table = off` (apply.sh adds the routes after it).
    expect(box.read('up-config')).toBe(filled(rendered({keepalive: 0})).replace('[Interface]\n', '[Interface]\nTable = off\n'))
    expect(box.readWireguard('wg0.conf')).toBe(filled(rendered({keepalive: 0})))
    expect(run.get('fresh')).toEqual([NODE_A, NODE_C])
    expect(run.get('keepalive')).toEqual([])
    expect(box.readWireguard('.wg0.pending')).toBeUndefined()
  })

  it('a start that fails leaves the full config in place (and the marker: the next run restarts from it)', () => {
    box.set('fail-start')
    const run = apply('start', rendered())
    expect(run.code).not.toBe(0)
    expect(run.get('error')[0]).toMatch(/systemctl start wg-quick@wg0 failed/)
    expect(box.readWireguard('wg0.conf')).toBe(filled(rendered()))
    expect(box.readWireguard('.wg0.pending')).toBe('')
    expect(leftovers()).toEqual([])
  })
})
