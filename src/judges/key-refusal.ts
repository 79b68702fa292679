/**
 * The words for a refused public key (plan/key-trust's KeyRefusal): what is wrong and what to do. One
 * text for every command that judges keys (init and add-node report it as the node's failure, doctor as
 * a finding). Keys are shown as they are (a refused report is a valid key, or escaped when malformed).
 */
import {escapeInvisible} from '../lib/errors.js'
import type {KeyRefusal, KeySource} from '../plan/key-trust.js'

const SOURCE_WORDS: Record<KeySource, string> = {'key-file': 'its key file', interface: 'its running interface'}

/** Why NODE's reported key is not trusted (`error`), and what to do about it (`hint`). */
export function describeKeyRefusal(node: string, refusal: KeyRefusal, iface: string): {error: string; hint: string} {
  const keyFile = `/etc/wireguard/${iface}.key`
  const regenerate = `\`systemctl stop wg-quick@${iface}; rm ${keyFile}\``
  const init = (pinned: string | undefined) => `\`wgfleet init${pinned === undefined ? '' : ` --accept-key-change ${node}`}\``
  switch (refusal.reason) {
    case 'malformed':
      return {
        error: `${SOURCE_WORDS[refusal.source]} reports ${JSON.stringify(escapeInvisible(refusal.value))} as its public key, which is not a WireGuard key: not trusted`,
        hint: `on ${node}, check what \`wg pubkey < ${keyFile}\` and \`wg show ${iface} public-key\` print: a wg that prints anything else is broken or tampered with`,
      }
    case 'duplicate-of-other-node':
      if (refusal.heldBy !== undefined) {
        return {
          error: `${SOURCE_WORDS[refusal.source]} has the public key of ${refusal.heldBy} (${refusal.publicKey}): a clone of ${refusal.heldBy}, or a host posing as it; not trusted (${refusal.heldBy} keeps its key and its place in every config)`,
          hint: `if ${node} was cloned (a VM image), give it a key of its own: on ${node} ${regenerate}, then ${init(refusal.pinned)}`,
        }
      }
      return {
        error: `${SOURCE_WORDS[refusal.source]} has the same public key as ${refusal.alsoReportedBy.join(', ')} (${refusal.publicKey}), pinned to none of them: cloned from one machine image? Trusted for none of them`,
        hint: `give each a key of its own: on all of them but one ${regenerate}, then ${init(refusal.pinned)}`,
      }
    case 'file-and-interface-differ': {
      // Stopped, the interface reports nothing; init then writes the config from the key file and starts it.
      const stop = `\`systemctl stop wg-quick@${iface}\` on ${node}`
      const error = `its running interface uses public key ${refusal.interface}, but its key file ${keyFile} is the key of ${refusal.keyFile}: wgfleet does not pick one; not trusted`
      if (refusal.pinned === refusal.interface) {
        return {error, hint: `the key file changed under the running interface: put the old key file back; or, to move ${node} to the new key, ${stop}, then ${init(refusal.pinned)}`}
      }
      if (refusal.pinned === refusal.keyFile) return {error, hint: `the interface runs another key than its key file: ${stop}, then \`wgfleet init\``}
      return {error, hint: `to use the key file's key: ${stop}, then ${init(refusal.pinned)}`}
    }
    case 'changed-from-pinned':
      return {
        error: `reports public key ${refusal.reported}, but this machine's state pins ${refusal.pinned} to ${node}${refusal.pending ? ` (and a key rotation to ${refusal.pending} is pending)` : ''}: a changed key is not trusted without your consent (its peers keep the pinned key)`,
        hint: `if ${node} was reinstalled or its key replaced on purpose: \`wgfleet init --accept-key-change ${node}\`; if not, the host may have been replaced: check it first`,
      }
  }
}
