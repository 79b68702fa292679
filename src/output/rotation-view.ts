/** The words for key rotations (rotate-key's, and the interrupted ones init finishes first): lines for people, entries of --json. */
import {escapeInvisible} from '../lib/errors.js'
import {describeKeyRefusal} from '../judges/key-refusal.js'
import type {RotationOutcome, RotationStage} from '../services/rotation-report.js'

const STAGE_WORDS: Record<RotationStage, string> = {
  read: 'before anything changed',
  preflight: 'before anything changed',
  add: 'while adding the new key on its peers (nothing switched yet; the next run finishes it)',
  switch: 'at the switch (the next run finishes it)',
  move: 'while moving its peers (the next run finishes it)',
  commit: 'while making the new key the key file (the next run finishes it)',
}

const REFUSED_WORDS = {
  'not-converged': {error: 'no pinned key in state yet', hint: 'run `wgfleet init` first'},
  'interface-down': {error: 'its interface is not up', hint: 'run `wgfleet init` to bring it up, then rotate again'},
  'no-new-key': {error: 'the host did not produce a new key', hint: 'check /etc/wireguard on the host, then rerun'},
} as const

/** One rotation as words: a summary line, and for a failure the error and hint. */
export function describeRotation(r: RotationOutcome, iface: string): {line: string; hint?: string} {
  switch (r.result) {
    case 'rotated': {
      const lagging = r.peers.filter((p) => p.result !== 'moved')
      const moved = r.peers.length - lagging.length
      const tail = lagging.length ? `; not moved: ${lagging.map((p) => `${p.peer} (${escapeInvisible(p.error ?? p.result)})`).join(', ')} — the converge moves them once reachable` : ''
      return {line: `${r.node}: key ${r.resumed ? 'rotation finished (it had been interrupted)' : 'rotated'}: ${r.oldPublicKey} → ${r.newPublicKey}; ${moved}/${r.peers.length} peers moved ${r.switchToMoveMs} ms after the switch${tail}`}
    }
    case 'rolled-back':
      return {line: `${r.node}: the interrupted rotation to ${r.pendingPublicKey} was rolled back (the host never switched to it)`}
    case 'failed': {
      const words = r.keyRefusal ? describeKeyRefusal(r.node, r.keyRefusal, iface) : r.refused ? REFUSED_WORDS[r.refused] : {error: r.error ?? 'failed', hint: r.hint}
      const pending = r.newPublicKey ? ` (pending: ${r.newPublicKey})` : ''
      return {line: `${r.node}: rotation FAILED ${STAGE_WORDS[r.stage]}${pending}: ${escapeInvisible(words.error ?? '')}`, ...(words.hint ? {hint: escapeInvisible(words.hint)} : {})}
    }
  }
}

export function renderRotationLines(rotations: readonly RotationOutcome[], iface: string): string[] {
  return rotations.flatMap((r) => {
    const {line, hint} = describeRotation(r, iface)
    return hint ? [line, `  hint: ${hint}`] : [line]
  })
}

export function rotationsToJson(rotations: readonly RotationOutcome[], iface: string) {
  return rotations.map((r) => ({...r, message: describeRotation(r, iface).line}))
}
