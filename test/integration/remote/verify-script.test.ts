/**
 * Contract of src/remote/verify.sh with verifyHandshakes/parseHandshakes (src/tasks/host-steps.ts): the
 * real script, run by a real bash in a host sandbox against fake wg, wg-quick, ping, date and sleep (the
 * fake sleep moves the fake clock on, so a bounded wait takes no real time). Proves: `any` and `live`
 * verification, the wait bounded by its timeout, a never-seen peer re-added once, the output parsed as
 * the converge reads it — and the private key, piped from wg-quick to wg, never printed.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {verifyHandshakes, type VerifyMode} from '../../../src/tasks/host-steps.js'
import {NODE_CLOCK, PEER_B, PEER_C, PRIVATE_KEY} from '../../helpers/host-fakes.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {convergedNode} from './node-fixture.js'

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox({installed: ['wg', 'wg-quick', 'ping']})
  convergedNode(box)
})
afterEach(() => box.destroy())

function peers(b: VerifyMode, c: VerifyMode) {
  return [
    {publicKey: PEER_B, address: '10.0.0.2', mode: b},
    {publicKey: PEER_C, address: '10.0.0.3', mode: c},
  ]
}

describe('verify.sh → verifyHandshakes', () => {
  it('every peer has a handshake: verified in the first round, no waiting', async () => {
    box.fakes.handshakes('wg0', {[PEER_B]: NODE_CLOCK - 40, [PEER_C]: NODE_CLOCK - 3})
    const shell = box.shell()
    const reading = await verifyHandshakes(shell, 'wg0', peers('any', 'any'), 10)
    expect(reading).toEqual({now: NODE_CLOCK, latest: {[PEER_B]: NODE_CLOCK - 40, [PEER_C]: NODE_CLOCK - 3}, verified: new Set([PEER_B, PEER_C])})
    expect(box.fakes.calls().filter((c) => c.startsWith('sleep') || c.startsWith('wg set'))).toEqual([])
    expect(shell.runs[0]!.result.stdout).toMatch(new RegExp(`^verified=${PEER_B.replace(/[+/]/g, '\\$&')} handshake$`, 'm'))
  })

  it('live: an old handshake counts only with an answered ping; a handshake after the check began counts by itself', async () => {
    box.fakes.handshakes('wg0', {[PEER_B]: NODE_CLOCK - 100, [PEER_C]: NODE_CLOCK + 1})
    const shell = box.shell()
    const reading = await verifyHandshakes(shell, 'wg0', peers('live', 'live'), 10)
    expect(reading.verified).toEqual(new Set([PEER_B, PEER_C]))
    const out = shell.runs[0]!.result.stdout
    expect(out).toContain(`verified=${PEER_B} ping`)
    expect(out).toContain(`verified=${PEER_C} handshake`)
    expect(box.fakes.calls()).toContain('ping -c 1 -W 1 10.0.0.2')
  })

  it('live with an old handshake and no answer: not verified, the wait ends at the timeout', async () => {
    box.fakes.handshakes('wg0', {[PEER_B]: NODE_CLOCK - 100, [PEER_C]: NODE_CLOCK - 100})
    box.fakes.set('ping-dead', '10.0.0.2\n10.0.0.3\n')
    const reading = await verifyHandshakes(box.shell(), 'wg0', peers('live', 'live'), 5)
    expect(reading.verified).toEqual(new Set())
    expect(reading.now).toBe(NODE_CLOCK + 5)
    expect(reading.latest).toEqual({[PEER_B]: NODE_CLOCK - 100, [PEER_C]: NODE_CLOCK - 100})
  })

  it('a peer never seen after two rounds is re-added once (it then initiates at once); the private key is never printed', async () => {
    box.fakes.handshakes('wg0', {[PEER_B]: NODE_CLOCK - 40})
    const shell = box.shell()
    const reading = await verifyHandshakes(shell, 'wg0', peers('any', 'any'), 4)
    expect(reading.verified).toEqual(new Set([PEER_B]))
    expect(reading.latest[PEER_C]).toBe(0)
    const calls = box.fakes.calls()
    expect(calls.filter((c) => c.startsWith('wg set'))).toEqual([`wg set wg0 peer ${PEER_C} remove`])
    expect(calls).toContain('wg-quick strip wg0')
    expect(calls).toContain('wg syncconf wg0 /dev/stdin')
    // Re-added from the config file: the interface runs node-c's peer again.
    expect(box.fakes.loaded('wg0')).toContain(`PublicKey = ${PEER_C}`)
    expect(calls.filter((c) => c.startsWith('sleep'))).toHaveLength(4)
    const {stdout, stderr} = shell.runs[0]!.result
    expect(stdout + stderr).not.toContain(PRIVATE_KEY)
    expect(stdout).not.toMatch(/^warning=/m)
  })
})
