import {describe, expect, it} from 'vitest'

import {DEFAULT_STALE_AFTER_SECONDS, handshakeAge, handshakeState} from '../../../src/wireguard/index.js'

const NOW = 1_718_000_000

describe('handshakeAge', () => {
  it('is null when there never was a handshake', () => {
    expect(handshakeAge(0, NOW)).toBeNull()
  })

  it('is seconds since the handshake, never negative', () => {
    expect(handshakeAge(NOW - 42, NOW)).toBe(42)
    expect(handshakeAge(NOW, NOW)).toBe(0)
    expect(handshakeAge(NOW + 5, NOW)).toBe(0)
  })
})

describe('handshakeState', () => {
  it("'never' for 0", () => {
    expect(handshakeState(0, NOW)).toBe('never')
  })

  it("'ok' up to and including the stale threshold (default 180 s), 'stale' after", () => {
    expect(DEFAULT_STALE_AFTER_SECONDS).toBe(180)
    expect(handshakeState(NOW - 5, NOW)).toBe('ok')
    expect(handshakeState(NOW - 180, NOW)).toBe('ok')
    expect(handshakeState(NOW - 181, NOW)).toBe('stale')
  })

  it('honours a custom threshold', () => {
    expect(handshakeState(NOW - 100, NOW, 60)).toBe('stale')
    expect(handshakeState(NOW - 100, NOW, 600)).toBe('ok')
  })
})
