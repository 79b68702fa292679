import {randomBytes} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {isWireGuardKey} from '../../../src/wireguard/index.js'

describe('isWireGuardKey', () => {
  it('accepts base64 of 32 bytes', () => {
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=')).toBe(true)
    expect(isWireGuardKey('/Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk=')).toBe(true)
    for (let i = 0; i < 200; i++) expect(isWireGuardKey(randomBytes(32).toString('base64'))).toBe(true)
  })

  it('refuses other lengths, alphabets, padding, and surrounding whitespace', () => {
    expect(isWireGuardKey('')).toBe(false)
    expect(isWireGuardKey(randomBytes(31).toString('base64'))).toBe(false)
    expect(isWireGuardKey(randomBytes(33).toString('base64'))).toBe(false)
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw')).toBe(false)
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw==')).toBe(false)
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk-=')).toBe(false)
    expect(isWireGuardKey(' HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=')).toBe(false)
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n')).toBe(false)
  })

  it('refuses a last character with non-zero padding bits (not a canonical 32-byte encoding)', () => {
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx=')).toBe(false)
    expect(isWireGuardKey('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykz=')).toBe(false)
  })
})
