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
  let entries: readonly KnownHostEntry[]
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
export function readKnownHostsFiles(files: readonly string[]): ReadonlyArray<KnownHostEntry & {file: string}> {
  if (files.length === 1) return withFile(files[0]!)
  return files.flatMap((file) => withFile(file))
}

/**
 * One file's entries, each tagged with the file: tagged once per parse (readKnownHosts keeps a parse while
 * the file is unchanged), not per call; every connection asks three times, so a run of N nodes would
 * otherwise copy N entries 3N times.
 */
const taggedEntries = new WeakMap<readonly KnownHostEntry[], ReadonlyArray<KnownHostEntry & {file: string}>>()
function withFile(file: string): ReadonlyArray<KnownHostEntry & {file: string}> {
  const entries = readKnownHosts(file)
  let tagged = taggedEntries.get(entries)
  if (!tagged) {
    tagged = Object.freeze(entries.map((entry) => ({...entry, file})))
    taggedEntries.set(entries, tagged)
  }
  return tagged
}

