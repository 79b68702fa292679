/**
 * src/remote/verify.sh under a real bash (HostBox: fakes for wg, wg-quick and ping; private namespaces).
 * What each mode may send and what it counts — the rules that keep one pair's two sides from disagreeing
 * (the flake: node-c counted a handshake that node-b's own verify had thrown away by re-adding node-c).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import {parseHandshakes} from '../../../src/tasks/host-steps.js'
import {HostBox} from './host-box.js'

const NODE_A = 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE='
const NODE_C = 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M='
const CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.2/24
ListenPort = 51820
PrivateKey = cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY=

# node-a
[Peer]
PublicKey = ${NODE_A}
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.0.0.1/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = ${NODE_C}
AllowedIPs = 10.0.0.3/32
PersistentKeepalive = 25
`

let box: HostBox
const now = () => Math.floor(Date.now() / 1000)

beforeEach(() => {
  box = new HostBox()
  box.writeWireguard('wg0.conf', CONFIG)
  box.set(`peer.${NODE_A}`, '0')
  box.set(`peer.${NODE_C}`, '0')
})

function verify(timeout: number, finish: 'yes' | 'no', ...peers: string[]) {
  const started = Date.now()
  const lines: string[] = []
  for (let i = 0; i < peers.length; i += 3) lines.push(`${peers[i]} ${peers[i + 1]} ${peers[i + 2]} 0\n`)
  const run = box.run(loadScript('verify'), ['wg0', String(timeout), finish, String(lines.length)], `${lines.join('')}end\n`)
  return {...run, ms: Date.now() - started, reading: parseHandshakes(run.stdout)}
}

describe('verify.sh', () => {
  it('await: waits for the starter\'s handshake, never re-adds the peer and never sends it anything', () => {
    // node-c (NAT-ed) starts; its handshake lands on the 5th reading (~1 s in). The old verify re-added a
    // never-handshaked peer after two rounds — and a re-added entry loses the session node-c holds.
    box.set(`arrive.${NODE_C}`, '5')
    const run = verify(5, 'no', NODE_C, '10.0.0.3', 'await')
    expect(run.code).toBe(0)
    expect(run.reading.verified).toEqual(new Set([NODE_C]))
    expect(box.calls().filter((c) => / remove$|^ping |addconf|syncconf/.test(c))).toEqual([])
    expect(run.reading.latest[NODE_C]).toBeGreaterThan(0)
  })

  it('await: a handshake that never comes is reported missing at the deadline, still without sending', () => {
    const run = verify(1, 'no', NODE_C, '10.0.0.3', 'await')
    expect(run.reading.verified.size).toBe(0)
    expect(run.ms).toBeLessThan(4000)
    expect(box.calls().filter((c) => /^ping |remove/.test(c))).toEqual([])
  })

  it('initiate: a handshake alone does not count, only an answered ping through the tunnel (the peer took our data)', () => {
    box.set(`peer.${NODE_A}`, String(now() + 1)) // a response came back: our side "has" a session
    const unanswered = verify(1, 'no', NODE_A, '10.0.0.1', 'initiate')
    expect(unanswered.reading.verified.size).toBe(0)
    expect(box.calls()).toContain('ping 10.0.0.1')

    box.set('answers.10.0.0.1')
    const answered = verify(3, 'no', NODE_A, '10.0.0.1', 'initiate')
    expect(answered.reading.verified).toEqual(new Set([NODE_A]))
    expect(answered.stdout).toMatch(new RegExp(`^verified=${NODE_A.replace(/[+/]/g, '\\$&')} ping$`, 'm'))
    expect(box.calls().filter((c) => / remove$|addconf/.test(c))).toEqual([])
  })

  it('reset: re-adds only that peer\'s section from the file, once, then starts with a ping', () => {
    box.set(`peer.${NODE_C}`, '1000') // an old session, dead on the other side
    box.set('answers.10.0.0.3')
    const run = verify(3, 'no', NODE_C, '10.0.0.3', 'reset')
    expect(run.reading.verified).toEqual(new Set([NODE_C]))
    expect(box.calls().filter((c) => c.endsWith(' remove'))).toEqual([`wg set wg0 peer ${NODE_C} remove`])
    const [section] = box.received('addconf')
    expect(section).toBe(`[Peer]\nPublicKey = ${NODE_C}\nAllowedIPs = 10.0.0.3/32\nPersistentKeepalive = 25\n`)
    expect(box.received('syncconf')).toEqual([])
    expect(box.calls().indexOf('ping 10.0.0.3')).toBeGreaterThan(box.calls().findIndex((c) => c.includes('addconf')))
  })

  it('live: a handshake after the check began counts; with none yet it never pings (that would initiate)', () => {
    box.set(`peer.${NODE_A}`, String(now() + 1))
    const run = verify(2, 'no', NODE_A, '10.0.0.1', 'live', NODE_C, '10.0.0.3', 'live')
    expect(run.reading.verified).toEqual(new Set([NODE_A]))
    expect(box.calls().filter((c) => c.startsWith('ping '))).toEqual([])
  })

  it('live: an older handshake counts once a ping over that session is answered', () => {
    box.set(`peer.${NODE_A}`, '1000')
    box.set('answers.10.0.0.1')
    const run = verify(3, 'no', NODE_A, '10.0.0.1', 'live')
    expect(run.stdout).toMatch(/ ping$/m)
    expect(run.reading.verified).toEqual(new Set([NODE_A]))
  })

  it('any: an existing handshake counts at once; a missing one is provoked with a ping', () => {
    box.set(`peer.${NODE_A}`, '1000')
    const run = verify(1, 'no', NODE_A, '10.0.0.1', 'any', NODE_C, '10.0.0.3', 'any')
    expect(run.reading.verified).toEqual(new Set([NODE_A]))
    expect(box.calls().filter((c) => c.startsWith('ping '))).toContain('ping 10.0.0.3')
    expect(box.calls()).not.toContain('ping 10.0.0.1')
  })

  it('finish: turns every keepalive of the file on (one wg set, no syncconf) and clears the pending marker, done or not', () => {
    box.writeWireguard('.wg0.pending', '')
    const run = verify(1, 'yes', NODE_C, '10.0.0.3', 'await')
    expect(run.reading.verified.size).toBe(0)
    expect(box.read('set')).toBe(`peer ${NODE_A} persistent-keepalive 25 peer ${NODE_C} persistent-keepalive 25\n`)
    // A syncconf would re-apply ListenPort, and wireguard-go rebinds its socket under arriving packets.
    expect(box.received('syncconf')).toEqual([])
    expect(box.readWireguard('.wg0.pending')).toBeUndefined()
    expect(run.stdout).not.toContain('PrivateKey')
  })

  it('finish: when the file cannot be read, nothing is set; the marker stays, with a warning', () => {
    box.writeWireguard('.wg0.pending', '')
    box.set('fail-strip')
    const run = verify(0, 'yes')
    expect(box.read('set')).toBeUndefined()
    expect(box.readWireguard('.wg0.pending')).toBe('')
    expect(run.reading.warnings).toEqual([expect.stringMatching(/could not read \/etc\/wireguard\/wg0.conf/)])
  })

  it('finish: a failed wg set keeps the marker (the next run restarts the interface from the file)', () => {
    box.writeWireguard('.wg0.pending', '')
    box.set('fail-set')
    const run = verify(0, 'yes')
    expect(box.readWireguard('.wg0.pending')).toBe('')
    expect(run.reading.warnings).toEqual([expect.stringMatching(/could not turn the keepalives of wg0 on/)])
  })

  it('a host clock that stands still does not keep it waiting: bounded in rounds too', () => {
    box.freezeClock(1_600_000_000)
    const run = verify(1, 'no', NODE_C, '10.0.0.3', 'await', NODE_A, '10.0.0.1', 'initiate')
    expect(run.code).toBe(0)
    expect(run.reading.verified.size).toBe(0)
    expect(run.ms).toBeLessThan(5000)
  })

  it('await on an old entry without a live session: the dead handshake does not count, only a newer one; nothing sent', () => {
    const dead = now() - 900
    box.set(`peer.${NODE_C}`, String(dead))
    const stale = box.run(loadScript('verify'), ['wg0', '1', 'no', '1'], `${NODE_C} 10.0.0.3 await ${dead}\nend\n`)
    expect(parseHandshakes(stale.stdout).verified.size).toBe(0)
    box.set(`arrive.${NODE_C}`, '3')
    const fresh = box.run(loadScript('verify'), ['wg0', '5', 'no', '1'], `${NODE_C} 10.0.0.3 await ${dead}\nend\n`)
    expect(parseHandshakes(fresh.stdout).verified).toEqual(new Set([NODE_C]))
    expect(box.calls().filter((c) => /^ping |remove$|addconf/.test(c))).toEqual([])
  })

  it('the peer list comes on stdin: one cut short, or a malformed line, is refused before anything is done', () => {
    const cut = box.run(loadScript('verify'), ['wg0', '1', 'no', '2'], `${NODE_A} 10.0.0.1 any 0\n`)
    expect(cut.code).toBe(2)
    expect(cut.stderr).toMatch(/cut short \(1 of 2\)/)
    const bad = box.run(loadScript('verify'), ['wg0', '1', 'no', '1'], `${NODE_A} 10.0.0.1 any 0; reboot\nend\n`)
    expect(bad.code).toBe(2)
    expect(box.calls()).toEqual([])
  })

  it('3,000 peers (past the command line\'s limit for one argument): at most 32 pings out at once, and the deadline holds', () => {
    const peers: string[] = []
    for (let i = 0; i < 3000; i++) {
      const key = Buffer.alloc(32, 0).fill(i % 256, 0, 16).fill(Math.floor(i / 256), 16).toString('base64')
      peers.push(key, `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, 'any')
    }
    // 6 s: room for a few rounds (a pass over 3,000 peers in bash takes up to a second on a busy machine).
    const run = verify(6, 'no', ...peers)
    expect(run.code, run.stderr).toBe(0)
    const pinged = new Set(box.calls().filter((c) => c.startsWith('ping ')))
    expect(pinged.size).toBeGreaterThan(32)
    const most = Number(readFileSync(join(box.state, 'max-inflight'), 'utf8'))
    expect(most).toBeGreaterThan(1)
    expect(most).toBeLessThanOrEqual(32)
    expect(run.ms).toBeLessThan(20_000)
  })

  it('no finish: the interface is left as it is', () => {
    verify(0, 'no')
    expect(box.read('set')).toBeUndefined()
  })
})
