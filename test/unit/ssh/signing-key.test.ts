import ssh2, {type ParsedKey} from 'ssh2'
import {describe, expect, it} from 'vitest'

import {withKeyObjectSigning} from '../../../src/ssh/signing-key.js'
import {usableKeyPair} from '../../helpers/keys.js'

const parse = (text: string, passphrase?: string): ParsedKey => {
  const parsed = ssh2.utils.parseKey(text, passphrase)
  if (parsed instanceof Error) throw parsed
  return Array.isArray(parsed) ? parsed[0]! : parsed
}
const data = Buffer.from('session id and userauth request: what ssh2 signs')

describe('withKeyObjectSigning', () => {
  it.each([
    ['ed25519', {}, [undefined]],
    ['rsa', {bits: 2048}, ['sha512', 'sha256', undefined]],
  ] as const)('%s: the same signature bytes as ssh2 itself (deterministic schemes)', (type, options, hashes) => {
    const pair = usableKeyPair(type, options)
    const fast = withKeyObjectSigning(parse(pair.private))
    const ssh2Own = parse(pair.private)
    expect(fast.sign).not.toBe(ssh2Own.sign)
    for (const hash of hashes) {
      const signature = fast.sign(data, hash)
      expect(signature).toBeInstanceOf(Buffer)
      expect(signature.equals(ssh2Own.sign(data, hash))).toBe(true)
    }
  })

  it.each([256, 384, 521])('ecdsa P-%i: a signature that ssh2 verifies with the public key (ECDSA is randomised)', (bits) => {
    const pair = usableKeyPair('ecdsa', {bits})
    const fast = withKeyObjectSigning(parse(pair.private))
    const signature = fast.sign(data)
    expect(parse(pair.public).verify(data, signature)).toBe(true)
    expect(parse(pair.public).verify(Buffer.from('other data'), signature)).toBe(false)
  })

  it('an encrypted key, once decrypted, signs the same', () => {
    const pair = usableKeyPair('ed25519', {passphrase: 'correct horse', cipher: 'aes256-ctr', rounds: 2})
    const fast = withKeyObjectSigning(parse(pair.private, 'correct horse'))
    expect(fast.sign(data).equals(parse(pair.private, 'correct horse').sign(data))).toBe(true)
  })

  it('leaves a public key alone', () => {
    const pub = parse(usableKeyPair().public)
    const sign = pub.sign
    expect(withKeyObjectSigning(pub).sign).toBe(sign)
  })
})
