/**
 * Unified diff of a node's config: last applied (from state) → planned. Private keys are masked on both
 * sides before diffing (defense in depth: state only ever holds the marker, but a diff must never print a key).
 */
import {createTwoFilesPatch, FILE_HEADERS_ONLY} from 'diff'

import {PRIVATE_KEY_MARKER} from './model.js'

/** Same secrecy for preshared keys, which wgfleet does not use but a hand-written config may. */
const PRESHARED_KEY_MASK = '(hidden)'

/**
 * Replaces every PrivateKey/PresharedKey line (wg-quick keys are case-insensitive) with its canonical
 * masked form — the same form the probe masks a host's config to, so masked texts compare equal.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(/^[ \t]*PrivateKey[ \t]*=.*$/gim, `PrivateKey = ${PRIVATE_KEY_MARKER}`)
    .replace(/^[ \t]*PresharedKey[ \t]*=.*$/gim, `PresharedKey = ${PRESHARED_KEY_MASK}`)
}

/**
 * `--- label (applied)` / `+++ label (planned)` unified diff; a never-applied config diffs against
 * /dev/null. Empty string when the two are equal.
 */
export function diffConfig(oldText: string | null, newText: string, label: string): string {
  const before = maskSecrets(oldText ?? '')
  const after = maskSecrets(newText)
  if (oldText !== null && before === after) return ''
  return createTwoFilesPatch(oldText === null ? '/dev/null' : label, label, before, after, oldText === null ? undefined : 'applied', 'planned', {
    headerOptions: FILE_HEADERS_ONLY,
  })
}
