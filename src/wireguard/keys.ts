/**
 * WireGuard key format: base64 of 32 bytes = 43 significant characters and one '=' of padding.
 * The 43rd character carries only 4 bits of the key (the last 2 bits must be zero), exactly as `wg`
 * itself checks, so a string that merely looks right is not mistaken for a key.
 */
const WIREGUARD_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/

export function isWireGuardKey(value: string): boolean {
  return WIREGUARD_KEY.test(value)
}
