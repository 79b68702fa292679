/**
 * Key pairs for tests. ssh2 1.17's `utils.generateKeyPairSync('ed25519')` returns, about once in 300
 * calls, a private key that its own parser then rejects ("Malformed OpenSSH private key"): a test that
 * drew such a key failed at random. Draw again until ssh2 can read the key (bounded).
 */
import ssh2 from 'ssh2'

type KeyType = 'ed25519' | 'ecdsa' | 'rsa'
type KeyOptions = {bits?: number; comment?: string; passphrase?: string; cipher?: string; rounds?: number}

export function usableKeyPair(type: KeyType = 'ed25519', options: KeyOptions = {}): {private: string; public: string} {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync(type as 'ed25519', options as never)
    const parsed = ssh2.utils.parseKey(pair.private, options.passphrase)
    if (!(parsed instanceof Error)) return pair
  }
  throw new Error(`ssh2 produced no usable ${String(type)} key in 50 attempts`)
}
