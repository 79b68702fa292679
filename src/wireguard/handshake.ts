/**
 * Handshake freshness. Ages are computed against the node's own clock (`now` read in the same exec as
 * `wg show`), so clock skew between the operator and the node does not matter.
 */
export type HandshakeState = 'ok' | 'stale' | 'never'

/** Default --stale-after: WireGuard re-handshakes every 2 minutes on an active link, so 3 minutes is late. */
export const DEFAULT_STALE_AFTER_SECONDS = 180

/** Seconds since the latest handshake, or null when there never was one (latestHandshake 0). */
export function handshakeAge(latestHandshake: number, now: number): number | null {
  if (latestHandshake <= 0) return null
  // A handshake "in the future" is a clock step on the node: count it as just now.
  return Math.max(0, now - latestHandshake)
}

export function handshakeState(
  latestHandshake: number,
  now: number,
  staleAfterSeconds = DEFAULT_STALE_AFTER_SECONDS,
): HandshakeState {
  const age = handshakeAge(latestHandshake, now)
  if (age === null) return 'never'
  return age <= staleAfterSeconds ? 'ok' : 'stale'
}
