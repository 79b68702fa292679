/**
 * A config change summarised per peer section, for people reading a large plan: which peers were added or
 * removed, and which field changed how on how many peers ("keepalive 15→25 on 58 peers"). Pure; the
 * words are chosen in output/. The full unified diff stays available (plan --node NAME, --json).
 */
import {parseRenderedConfig, type ConfigSection} from './parse-config.js'

export interface FieldChange {
  /** The wg-quick key, e.g. PersistentKeepalive, AllowedIPs, Endpoint. */
  field: string
  from: string
  to: string
  /** Peer sections with this same change. */
  peers: number
}

export interface ConfigChangeSummary {
  /** [Interface] keys whose value changed (or appeared, or went). */
  interfaceFields: string[]
  peersAdded: number
  peersRemoved: number
  fieldChanges: FieldChange[]
}

export function summarizeConfigChange(oldText: string, newText: string): ConfigChangeSummary {
  const before = parseRenderedConfig(oldText)
  const after = parseRenderedConfig(newText)
  const keyOf = (peer: ConfigSection) => peer.PublicKey?.[0] ?? ''
  const old = new Map(before.peers.map((p) => [keyOf(p), p]))
  const seen = new Set<string>()
  const changes = new Map<string, FieldChange>()
  let peersAdded = 0
  for (const peer of after.peers) {
    const key = keyOf(peer)
    seen.add(key)
    const was = old.get(key)
    if (!was) {
      peersAdded++
      continue
    }
    for (const field of new Set([...Object.keys(was), ...Object.keys(peer)])) {
      const from = (was[field] ?? []).join(', ')
      const to = (peer[field] ?? []).join(', ')
      if (from === to) continue
      const id = `${field}\u0000${from}\u0000${to}`
      const change = changes.get(id)
      if (change) change.peers++
      else changes.set(id, {field, from, to, peers: 1})
    }
  }
  let peersRemoved = 0
  for (const key of old.keys()) if (!seen.has(key)) peersRemoved++
  const interfaceFields = [...new Set([...Object.keys(before.interface), ...Object.keys(after.interface)])].filter(
    (field) => (before.interface[field] ?? []).join('\n') !== (after.interface[field] ?? []).join('\n'),
  )
  return {interfaceFields, peersAdded, peersRemoved, fieldChanges: [...changes.values()].sort((a, b) => b.peers - a.peers)}
}
