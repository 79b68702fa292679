/**
 * A private key that signs through a KeyObject made once. ssh2 1.17's ParsedKey.sign hands its PEM text to
 * crypto.sign on every signature, so OpenSSL decodes the key again each time: 0.35 ms per Ed25519
 * signature on the lab's machine against 0.025 ms with a KeyObject (bench/RESULTS.md, section
 * `n100-amd-2026-12-03`), once per connection — 100 connections per `status` of a 100-node fleet. ssh2 has no
 * option for it, so the instance's `sign` is replaced; the signature is the same bytes (Ed25519 and RSA
 * PKCS#1 v1.5 are deterministic; ECDSA is DER either way, as ssh2's own).
 */
import {createPrivateKey, sign as cryptoSign, type KeyObject} from 'node:crypto'
import type {ParsedKey} from 'ssh2'

/** The hash ssh2 signs with when it names none (its per-type default); Ed25519 takes none. */
const DEFAULT_HASH: Readonly<Record<string, string | null>> = {
  'ssh-ed25519': null,
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
  'ssh-rsa': 'sha1',
}

/** `key` with a `sign` that uses one KeyObject; `key` unchanged when it is no private key of a known type. */
export function withKeyObjectSigning(key: ParsedKey): ParsedKey {
  if (!key.isPrivateKey() || !(key.type in DEFAULT_HASH)) return key
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey(key.getPrivatePEM())
  } catch {
    return key // ssh2's own signing reports what is wrong with it
  }
  const ssh2Sign = key.sign.bind(key)
  const fallbackHash = DEFAULT_HASH[key.type] ?? null
  // ssh2 types sign() as returning a Buffer; it returns an Error instead on failure, as its own does.
  key.sign = (data: Buffer | string, algo?: string): Buffer => {
    try {
      return cryptoSign(algo || fallbackHash, typeof data === 'string' ? Buffer.from(data) : data, keyObject)
    } catch {
      return ssh2Sign(data, algo)
    }
  }
  return key
}
