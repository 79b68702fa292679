/**
 * What each transport can do, answered before any connection (so `wgfleet ssh-config` says it too): ssh2
 * 1.17 speaks no OpenSSH certificates. No ssh2 import here.
 */
import {type KnownHostEntry, entriesForName, entryMatchesName, readKnownHosts} from './known-hosts.js'
import {SshError} from './errors.js'
import type {SshTarget} from './target.js'

/** The transport to name when ssh2 cannot do what a host needs. */
const OPENSSH_TRANSPORT_HINT =
  'the openssh transport drives your own `ssh`: set `transport = openssh` for the node (or in [ssh]), or pass --transport openssh'

/**
 * ssh2 1.17 speaks no OpenSSH certificates: a hop with a CertificateFile, or whose host key is known only
 * through a `@cert-authority` line, fails before any connection — so --accept-new-host-keys can never
 * record a plain key for a host that is trusted through its CA.
 */
export function refuseWhatSsh2CannotDo(node: string, hop: SshTarget, via?: string): void {
  const where = via ? `${via} (${hop.alias})` : hop.alias
  if (hop.certificateFiles.length > 0) {
    throw new SshError('ssh-config', node, `${where} authenticates with an OpenSSH certificate (CertificateFile ${hop.certificateFiles.join(', ')}), which wgfleet's built-in SSH client (ssh2) cannot use: reach it with \`transport = openssh\``, {
      hint: OPENSSH_TRANSPORT_HINT,
    })
  }
  let entries: KnownHostEntry[]
  try {
    entries = readKnownHostsFiles(hop.knownHostsFiles)
  } catch {
    return // the verifier reports an unreadable file
  }
  const plain = entriesForName(entries, hop.knownHostName)
  const byAuthority = entries.some((entry) => entry.marker === 'cert-authority' && entryMatchesName(entry, hop.knownHostName))
  if (byAuthority && !plain.some((entry) => entry.marker === undefined)) {
    throw new SshError('ssh-config', node, `the host key of ${where} is known only through a @cert-authority line (${hop.knownHostsFiles.join(', ')}), and wgfleet's built-in SSH client (ssh2) cannot check host certificates (no key was recorded): reach it with \`transport = openssh\``, {
      hint: OPENSSH_TRANSPORT_HINT,
    })
  }
}

/** Every known_hosts file of a hop, in order (a missing file is an empty one). */
export function readKnownHostsFiles(files: readonly string[]): Array<KnownHostEntry & {file: string}> {
  return files.flatMap((file) => readKnownHosts(file).map((entry) => ({...entry, file})))
}

