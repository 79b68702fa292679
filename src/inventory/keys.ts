/**
 * The keys each kind of section accepts, and the "did you mean" suggestion for a key that is not one of them.
 */

export const NETWORK_SECTION = 'network'
export const SSH_SECTION = 'ssh'
/** Who may peer with whom (acl.ts): lines `GROUP = GROUP, ...`. */
export const ACL_SECTION = 'acl'
/** Section names that are not nodes. */
export const RESERVED_SECTIONS: readonly string[] = [NETWORK_SECTION, SSH_SECTION, ACL_SECTION]

export const NETWORK_KEYS = ['cidr', 'cidr6', 'port', 'keepalive', 'interface', 'mtu', 'dns', 'topology', 'hosts_file', 'domain', 'key_max_age_days', 'preshared_keys'] as const
export const SSH_KEYS = ['user', 'port', 'identity', 'known_hosts', 'transport'] as const
export const NODE_KEYS = [
  'host',
  'address',
  'address6',
  'endpoint',
  'port',
  'nat',
  'relay',
  'underlay',
  'ssh_user',
  'ssh_port',
  'identity',
  'known_hosts',
  'transport',
  'jump',
  'exit_via',
  'dns',
  'groups',
  'subnets',
  'subnet_snat',
] as const

/** A roaming client's section (`client = true`): no host, no SSH keys — wgfleet never connects to it. */
export const CLIENT_KEYS = ['client', 'public_key', 'address', 'via', 'full_tunnel'] as const

export type NetworkKey = (typeof NETWORK_KEYS)[number]
export type SshKey = (typeof SSH_KEYS)[number]
export type NodeKey = (typeof NODE_KEYS)[number]
export type ClientKey = (typeof CLIENT_KEYS)[number]

export type SectionKind = 'network' | 'ssh' | 'node' | 'client'

const KEYS_OF: Record<SectionKind, readonly string[]> = {
  network: NETWORK_KEYS,
  ssh: SSH_KEYS,
  node: NODE_KEYS,
  client: CLIENT_KEYS,
}

/** Names people bring from other tools (Ansible, ssh_config) or from the other sections, mapped to ours. */
const ALIASES: Record<SectionKind, Record<string, string>> = {
  network: {subnet: 'cidr', network: 'cidr', listen_port: 'port', persistent_keepalive: 'keepalive'},
  ssh: {ssh_user: 'user', ssh_port: 'port', identity_file: 'identity', identityfile: 'identity', key: 'identity', userknownhostsfile: 'known_hosts', ssh_transport: 'transport'},
  node: {
    user: 'ssh_user',
    ansible_host: 'host',
    ansible_user: 'ssh_user',
    ansible_port: 'ssh_port',
    ansible_ssh_private_key_file: 'identity',
    hostname: 'host',
    ip: 'address',
    listen_port: 'port',
    identity_file: 'identity',
    userknownhostsfile: 'known_hosts',
    ssh_transport: 'transport',
    proxyjump: 'jump',
    exit: 'exit_via',
    subnet: 'subnets',
    routes: 'subnets',
    snat: 'subnet_snat',
  },
  client: {publickey: 'public_key', key: 'public_key', pubkey: 'public_key', ip: 'address', through: 'via', full: 'full_tunnel', fulltunnel: 'full_tunnel'},
}

export function keysOf(kind: SectionKind): readonly string[] {
  return KEYS_OF[kind]
}

export function isKnownKey(kind: SectionKind, key: string): boolean {
  return KEYS_OF[kind].includes(key)
}

/** The accepted key closest to `key`, when it is close enough to be a plausible typo; else undefined. */
export function suggestKey(kind: SectionKind, key: string): string | undefined {
  const lower = key.toLowerCase()
  // Own properties only: `constructor` or `__proto__` must not find Object's.
  const alias = Object.hasOwn(ALIASES[kind], lower) ? ALIASES[kind][lower] : undefined
  if (alias) return alias
  // A huge key is no typo: skip the edit distance (it would take a table the size of the key).
  if (key.length > 64) return undefined
  let best: {key: string; distance: number} | undefined
  for (const candidate of KEYS_OF[kind]) {
    const distance = editDistance(lower, candidate)
    if (!best || distance < best.distance) best = {key: candidate, distance}
  }
  // Allow about one typo per three letters, and never fewer than two (adress, adddress, hots).
  const tolerance = Math.max(2, Math.floor(lower.length / 3))
  return best && best.distance <= tolerance ? best.key : undefined
}

/** The section kinds (other than `kind`) where `key` is valid: "`cidr` belongs in [network]". */
export function otherKindsAccepting(kind: SectionKind, key: string): SectionKind[] {
  return (Object.keys(KEYS_OF) as SectionKind[]).filter((k) => k !== kind && KEYS_OF[k].includes(key))
}

/** Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  // One flat row-major table; `at` reads within bounds by construction.
  const d = new Array<number>(rows * cols).fill(0)
  const at = (i: number, j: number) => d[i * cols + j] ?? 0
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      d[i * cols + j] = best
    }
  }
  return at(a.length, b.length)
}
