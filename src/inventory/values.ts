/**
 * Checks for single values, shared by the inventory parser and by commands that take the same values as
 * flags (add-node). Each check returns the parsed value, or a message and a hint for the person who wrote it.
 *
 * Hosts, users and paths end up as arguments of commands run on remote hosts (always quoted, but defence
 * in depth): anything that could smuggle shell syntax is refused outright, not escaped.
 */
import {escapeInvisible} from '../lib/errors.js'
import {homedir} from 'node:os'
import {isIPv6 as isNodeIPv6} from 'node:net'
import {isAbsolute, join, normalize, resolve} from 'node:path'
import {UNDERLAYS, type Underlay} from './underlay.js'
import {SSH_TRANSPORTS, type JumpSpec, type SshTransport, type Topology} from './model.js'
import {formatIPv4, type IPv4Network, isIPv4, maskAddress, networkOf, parseIPv4} from './ipv4.js'
import {formatIPv6, formatIPv6Network, type IPv6Network, maskIPv6, parseIPv6} from './ipv6.js'
import {interfaceNameProblem, type InterfaceNameProblem} from '../wireguard/interface-name.js'

export type Checked<T> = {ok: true; value: T} | {ok: false; message: string; hint?: string}

function ok<T>(value: T): Checked<T> {
  return {ok: true, value}
}

function bad(message: string, hint?: string): {ok: false; message: string; hint?: string} {
  return {ok: false, message, hint}
}

/** A value as it appears in a message: `plain` when printable, else JSON-escaped so a newline shows as \n. */
export function show(value: string): string {
  return /^[\x21-\x7e]+$/.test(value) && !value.includes('`') ? `\`${value}\`` : escapeInvisible(JSON.stringify(value))
}


// ---- shell safety ---------------------------------------------------------------------------------------

const SHELL_METACHARACTERS = new Set([...';|&$`<>(){}*?!"\'\\'])

const SHELL_NOTE =
  'wgfleet refuses spaces, quotes, newlines, a leading "-" and the characters ; | & $ ` < > ( ) { } * ? ! \\ ' +
  'in hosts, users and paths, so that no inventory value can be read as a shell command or an option'

function describeCharacter(c: string): string {
  if (c === ' ') return 'a space'
  if (c === '\t') return 'a tab'
  if (c === '\n') return 'a newline'
  if (c === '\r') return 'a carriage return'
  if (c === '"' || c === "'") return `a quote (${c})`
  if (c === '`') return 'a backtick (`)'
  if (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) return 'a control character'
  return `"${c}"`
}

function isUnsafeCharacter(c: string): boolean {
  return SHELL_METACHARACTERS.has(c) || /\s/.test(c) || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f
}

/** The first character of `text` that could be shell syntax, if any. */
export function findUnsafeCharacter(text: string): string | undefined {
  return [...text].find(isUnsafeCharacter)
}

/**
 * A problem when `text` could smuggle shell syntax or pass for an option; `expected` says what the value
 * should be ("a host is a DNS name or an IPv4/IPv6 address").
 */
function shellProblem(text: string, expected: string): Checked<never> | undefined {
  if (text.startsWith('-')) {
    return bad(`${show(text)} starts with "-", which a command would read as an option`, `${expected}; ${SHELL_NOTE}`)
  }
  const unsafe = findUnsafeCharacter(text)
  if (unsafe !== undefined) {
    return bad(`${show(text)} contains ${describeCharacter(unsafe)}, which could be read as shell syntax`, `${expected}; ${SHELL_NOTE}`)
  }
  return undefined
}

// ---- names and hosts ------------------------------------------------------------------------------------

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** A node name: a lowercase DNS label (it becomes part of file names, unit names and messages). */
export function isLabel(text: string): boolean {
  return LABEL.test(text)
}

export function isIPv6(text: string): boolean {
  // Zone ids (fe80::1%eth0) name a local interface: meaningless across hosts, and % is easy to misuse.
  return isNodeIPv6(text) && !text.includes('%')
}

export function isDnsName(text: string): boolean {
  if (text.length > 253) return false
  const labels = text.split('.')
  if (!labels.every((label) => DNS_LABEL.test(label))) return false
  // An all-numeric last label is a mistyped IPv4 address, not a name (RFC 3696 §2).
  return !/^[0-9]+$/.test(labels.at(-1) ?? '')
}

const NODE_NAME_HINT =
  'a node name is a label: lowercase letters, digits and "-", not starting or ending with "-", at most 63 characters (e.g. node-a)'

export function checkNodeName(text: string): Checked<string> {
  if (isLabel(text)) return ok(text)
  const suggestion = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
  const hint = isLabel(suggestion) ? `${NODE_NAME_HINT}; try [${suggestion}]` : NODE_NAME_HINT
  return bad(`${show(text)} is not a valid node name`, hint)
}

const HOST_EXPECTED = 'a host is a DNS name (e.g. db1.example.com) or an IPv4/IPv6 address'

export function checkHost(text: string): Checked<string> {
  const unsafe = shellProblem(text, HOST_EXPECTED)
  if (unsafe) return unsafe
  if (text.startsWith('[')) {
    return bad(
      `${show(text)}: brackets are only for an IPv6 address followed by a port`,
      'write the IPv6 address bare here (e.g. 2001:db8::1); brackets go in `endpoint` or `jump` with a port, e.g. [2001:db8::1]:51820',
    )
  }
  if (/^[0-9.]+$/.test(text)) {
    return isIPv4(text) ? ok(text) : bad(`${show(text)} is not a valid IPv4 address`, 'four numbers from 0 to 255 without leading zeros, e.g. 203.0.113.10')
  }
  if (text.includes(':')) {
    return isIPv6(text) ? ok(text) : bad(`${show(text)} is not a valid IPv6 address`, `${HOST_EXPECTED}; to give a port, use the key for it (ssh_port, port)`)
  }
  if (isDnsName(text)) return ok(text)
  return bad(`${show(text)} is not a valid host name or IP address`, `${HOST_EXPECTED}: letters, digits and "-" in dot-separated labels`)
}

const USER = /^[a-z_][a-z0-9_.-]*$/
const USER_EXPECTED = 'a user name is lowercase letters, digits, "_", "." and "-", starting with a letter or "_", at most 32 characters'

export function checkUser(text: string): Checked<string> {
  const unsafe = shellProblem(text, USER_EXPECTED)
  if (unsafe) return unsafe
  if (text.length > 32) return bad(`${show(text)} is longer than 32 characters`, USER_EXPECTED)
  if (!USER.test(text)) return bad(`${show(text)} is not a valid user name`, USER_EXPECTED)
  return ok(text)
}

// ---- paths ----------------------------------------------------------------------------------------------

const SAFE_PATH = /^[A-Za-z0-9._/~+@%,:=-]+$/
const PATH_EXPECTED = 'a path may use letters, digits and . _ / ~ + @ % , : = -'

/** A path as written (not resolved yet: see resolveInventoryPath). */
export function checkPath(text: string): Checked<string> {
  const unsafe = shellProblem(text, PATH_EXPECTED)
  if (unsafe) return unsafe
  const outside = [...text].find((c) => !SAFE_PATH.test(c))
  if (outside !== undefined) return bad(`${show(text)} contains ${describeCharacter(outside)}, which wgfleet does not accept in a path`, PATH_EXPECTED)
  if (/^~[^/]/.test(text)) {
    return bad(`${show(text)}: "~user" paths are not supported`, 'write ~/... (your home folder), an absolute path, or a path relative to the inventory file')
  }
  return ok(text)
}

/** Absolute form of an inventory path: `~` is the home folder, relative paths start at the inventory's folder. */
export function resolveInventoryPath(path: string, inventoryDir: string): string {
  if (path === '~') return homedir()
  if (path.startsWith('~/')) return join(homedir(), path.slice(2))
  return isAbsolute(path) ? normalize(path) : resolve(inventoryDir, path)
}

// ---- numbers, booleans, enums ---------------------------------------------------------------------------

function parseWholeNumber(text: string): number | undefined {
  return /^(0|[1-9][0-9]{0,8})$/.test(text) ? Number(text) : undefined
}

export function checkTransport(text: string): Checked<SshTransport> {
  if ((SSH_TRANSPORTS as readonly string[]).includes(text)) return ok(text as SshTransport)
  return bad(
    `${show(text)} is not a transport`,
    'transport is ssh2 (wgfleet\'s own SSH client, the default) or openssh (your `ssh` binary: needed for OpenSSH certificates)',
  )
}

export function checkPort(text: string): Checked<number> {
  const port = parseWholeNumber(text)
  if (port === undefined || port < 1 || port > 65535) {
    return bad(`${show(text)} is not a port number`, 'a port is a whole number from 1 to 65535')
  }
  return ok(port)
}

export function checkKeepalive(text: string): Checked<number> {
  const seconds = parseWholeNumber(text)
  if (seconds === undefined || seconds > 65535) {
    return bad(`${show(text)} is not a keepalive interval`, 'seconds between keepalive packets, from 0 (off) to 65535; 25 is usual')
  }
  return ok(seconds)
}

/** Longest key_max_age_days accepted (ten years): anything more is a typo, not a policy. */
export const KEY_MAX_AGE_DAYS_MAX = 3650

export function checkKeyMaxAgeDays(text: string): Checked<number> {
  const days = parseWholeNumber(text)
  if (days === undefined || days < 1 || days > KEY_MAX_AGE_DAYS_MAX) {
    return bad(`${show(text)} is not a key age`, `whole days, from 1 to ${KEY_MAX_AGE_DAYS_MAX} (e.g. 90): doctor warns about keys older than that; leave it unset for no limit`)
  }
  return ok(days)
}

export const MTU_MIN = 576
export const MTU_MAX = 9000

export function checkMtu(text: string): Checked<number> {
  const mtu = parseWholeNumber(text)
  if (mtu === undefined || mtu < MTU_MIN || mtu > MTU_MAX) {
    return bad(`${show(text)} is not a usable MTU`, `a whole number from ${MTU_MIN} to ${MTU_MAX}; leave it unset to let wg-quick choose (usually 1420)`)
  }
  return ok(mtu)
}

export function checkBoolean(text: string): Checked<boolean> {
  if (text === 'true') return ok(true)
  if (text === 'false') return ok(false)
  return bad(`${show(text)} is not a boolean`, 'write true or false (lowercase)')
}

const DOMAIN = /^(?=.{1,200}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

/** A DNS suffix for the names in /etc/hosts: lowercase labels, dot-separated (`wg`, `mesh.example`). */
export function checkDomain(text: string): Checked<string> {
  if (DOMAIN.test(text)) return ok(text)
  return bad(`${show(text)} is not a domain`, 'lowercase labels of a-z 0-9 - separated by dots, e.g. wg or mesh.example (no leading or trailing dot)')
}

export function checkUnderlay(text: string): Checked<Underlay> {
  return (UNDERLAYS as readonly string[]).includes(text) ? ok(text as Underlay) : bad(`${show(text)} is not an underlay`, 'underlay is ipv4, ipv6 or dual: the IP families this node reaches the others over')
}

export function checkTopology(text: string): Checked<Topology> {
  if (text === 'mesh' || text === 'hub') return ok(text)
  return bad(`${show(text)} is not a topology`, 'write mesh (every node peers with every node) or hub (nodes peer only with relays)')
}

// ---- WireGuard ------------------------------------------------------------------------------------------

const INTERFACE_EXPECTED = 'an interface name is 1 to 15 of a-z A-Z 0-9 _ = + . - (what wg-quick accepts), e.g. wg0'

export function checkInterfaceName(text: string): Checked<string> {
  const WHY: Record<InterfaceNameProblem, string> = {
    'too-long': 'is longer than 15 characters',
    'not-wg-quick': 'is not a name wg-quick accepts',
    dots: 'is not a valid interface name',
    dash: 'starts with "-", which a command would read as an option',
    'wg-word': 'is a word of `wg show`, not usable as an interface name',
  }
  const problem = interfaceNameProblem(text)
  return problem === null ? ok(text) : bad(`${show(text)} ${WHY[problem]}`, INTERFACE_EXPECTED)
}

export function checkCidr(text: string): Checked<IPv4Network> {
  const example = 'e.g. cidr = 10.0.0.0/24'
  const match = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(text)
  if (!match) return bad(`${show(text)} is not an IPv4 network in CIDR notation`, example)
  const addressText = match[1] ?? ''
  const prefixText = match[2] ?? ''
  const address = parseIPv4(addressText)
  if (address === undefined) {
    if (isIPv6(addressText)) return bad(`${show(text)} is an IPv6 network: cidr is the IPv4 overlay`, `use a private IPv4 network, ${example}; the IPv6 overlay goes in \`cidr6\` (e.g. cidr6 = fd42:42::/64), beside it`)
    return bad(`${show(text)} is not an IPv4 network in CIDR notation`, example)
  }
  const prefixLength = Number(prefixText)
  if (prefixLength < 8 || prefixLength > 30) {
    return bad(`${show(text)}: prefix /${prefixLength} is out of range`, 'use a prefix from /8 to /30 (/31 and /32 leave no room for nodes); /24 holds 254 nodes')
  }
  const base = maskAddress(address, prefixLength)
  if (base !== address) {
    return bad(`${show(text)} has host bits set`, `the network address of ${addressText}/${prefixLength} is ${formatIPv4(base)}: did you mean cidr = ${formatIPv4(base)}/${prefixLength}?`)
  }
  return ok(networkOf(base, prefixLength))
}

/**
 * [network] cidr6: the IPv6 overlay, a unique local prefix (fc00::/7, in practice fd00::/8: RFC 4193)
 * from /48 to /112, host bits clear. A global prefix is refused: the overlay is private, as cidr is.
 */
export function checkCidr6(text: string): Checked<IPv6Network> {
  const example = 'e.g. cidr6 = fd42:42::/64 (a unique local prefix: fd, then 40 random bits)'
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text)
  const value = match?.[1] === undefined ? undefined : parseIPv6(match[1])
  if (!match || value === undefined) {
    if (match?.[1] !== undefined && isIPv4(match[1])) return bad(`${show(text)} is an IPv4 network: cidr6 is the IPv6 overlay`, `the IPv4 overlay is \`cidr\`; ${example}`)
    return bad(`${show(text)} is not an IPv6 network in CIDR notation`, example)
  }
  const prefixLength = Number(match[2])
  if (prefixLength < 48 || prefixLength > 112) return bad(`${show(text)}: prefix /${prefixLength} is out of range`, `use a prefix from /48 to /112 (/64 is usual), ${example}`)
  if (maskIPv6(value, 7) !== ULA_PREFIX) return bad(`${show(text)} is not a unique local (fd00::/8) prefix`, `the overlay is private: ${example}`)
  const base = maskIPv6(value, prefixLength)
  if (base !== value) {
    const network = formatIPv6Network({base, prefixLength})
    return bad(`${show(text)} has host bits set`, `did you mean cidr6 = ${network}?`)
  }
  return ok({base, prefixLength})
}

const ULA_PREFIX = maskIPv6(parseIPv6('fc00::') ?? 0n, 7)

/** A bare IPv6 address (membership in cidr6 is checked by the caller). */
export function checkAddress6(text: string): Checked<string> {
  if (text.includes('/')) return bad(`${show(text)}: write the bare address, without a prefix`, 'the prefix comes from [network] cidr6, e.g. address6 = fd42:42::4')
  const value = parseIPv6(text)
  if (value === undefined) return bad(`${show(text)} is not an IPv6 address`, 'address6 is a bare IPv6 address inside [network] cidr6, e.g. fd42:42::4')
  return ok(formatIPv6(value))
}

/** A bare IPv4 address (membership in cidr is checked by the caller, which knows the network). */
export function checkAddress(text: string): Checked<string> {
  if (text.includes('/')) {
    return bad(`${show(text)}: write the bare address, without a prefix`, 'the prefix comes from [network] cidr, e.g. address = 10.0.0.4')
  }
  if (!isIPv4(text)) return bad(`${show(text)} is not an IPv4 address`, 'address is a bare IPv4 address inside [network] cidr, e.g. 10.0.0.4')
  return ok(text)
}

export function checkDnsServers(text: string): Checked<string[]> {
  const servers = text.split(',').map((s) => s.trim())
  for (const server of servers) {
    if (server === '') return bad(`${show(text)} has an empty entry`, 'a comma-separated list of IP addresses, e.g. dns = 10.0.0.1, 2001:db8::53')
    if (!isIPv4(server) && !isIPv6(server)) {
      const hint = /\s/.test(server)
        ? 'separate servers with commas, e.g. dns = 10.0.0.1, 1.1.1.1'
        : 'a comma-separated list of IPv4/IPv6 addresses (not names), e.g. dns = 10.0.0.1'
      return bad(`${show(server)} is not an IP address`, hint)
    }
  }
  return ok(servers)
}

// ---- endpoint and jump ----------------------------------------------------------------------------------

export interface HostAndPort {
  host: string
  port?: number
}

/** `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 address. */
function parseHostAndPort(text: string, example: string): Checked<HostAndPort> {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text)
  if (bracketed) {
    const v6 = bracketed[1] ?? ''
    const portText = bracketed[2]
    if (!isIPv6(v6)) return bad(`${show(text)}: ${show(v6)} is not an IPv6 address`, `brackets hold an IPv6 address, ${example}`)
    return withOptionalPort(v6, portText)
  }
  if (isIPv6(text)) return ok({host: text})
  const colon = text.lastIndexOf(':')
  if (colon < 0) {
    const host = checkHost(text)
    return host.ok ? ok({host: host.value}) : host
  }
  const hostText = text.slice(0, colon)
  if (hostText.includes(':')) {
    return bad(`${show(text)}: an IPv6 address with a port needs brackets`, `e.g. [2001:db8::1]:51820`)
  }
  const host = checkHost(hostText)
  if (!host.ok) return host
  return withOptionalPort(host.value, text.slice(colon + 1))
}

function withOptionalPort(host: string, portText: string | undefined): Checked<HostAndPort> {
  if (portText === undefined) return ok({host})
  const port = checkPort(portText)
  return port.ok ? ok({host, port: port.value}) : port
}

const ENDPOINT_EXAMPLE = 'e.g. endpoint = vpn.example.com, endpoint = 203.0.113.9:51821 or endpoint = [2001:db8::1]:51820'

/** Where other nodes dial this node: `host`, `host:port` or `[v6]:port`. */
export function checkEndpoint(text: string): Checked<HostAndPort> {
  const unsafe = shellProblem(text, `an endpoint is host, host:port or [IPv6]:port (${ENDPOINT_EXAMPLE})`)
  if (unsafe) return unsafe
  return parseHostAndPort(text, ENDPOINT_EXAMPLE)
}

const JUMP_EXAMPLE = 'jump names another node (jump = node-a) or a host outside the inventory as [user@]host[:port] (jump = admin@bastion.example.com:2222)'

/**
 * A node name (a label without "." "@" ":"), or [user@]host[:port]. Whether a named node exists is checked
 * later, against the whole inventory.
 */
export function checkJump(text: string): Checked<JumpSpec> {
  const unsafe = shellProblem(text, JUMP_EXAMPLE)
  if (unsafe) return unsafe
  if (isLabel(text)) return ok({kind: 'node', node: text})
  const at = text.indexOf('@')
  let user: string | undefined
  let rest = text
  if (at >= 0) {
    const userCheck = checkUser(text.slice(0, at))
    if (!userCheck.ok) return bad(`user ${userCheck.message}`, userCheck.hint)
    user = userCheck.value
    rest = text.slice(at + 1)
  }
  const target = parseHostAndPort(rest, JUMP_EXAMPLE)
  if (!target.ok) return target
  return ok({kind: 'address', ...(user === undefined ? {} : {user}), host: target.value.host, ...(target.value.port === undefined ? {} : {port: target.value.port})})
}

/** exit_via (and similar references): a node name; existence is checked against the whole inventory. */
export function checkNodeReference(text: string): Checked<string> {
  if (isLabel(text)) return ok(text)
  const unsafe = shellProblem(text, 'this names another node of the inventory, e.g. node-a')
  if (unsafe) return unsafe
  return bad(`${show(text)} is not a node name`, 'this names another node (its section name), e.g. exit_via = node-a')
}

/** A comma-separated list of group names (labels), each once: `groups = web, db`, and an [acl] line's value. */
export function checkGroups(text: string): Checked<string[]> {
  const groups = text.split(',').map((s) => s.trim())
  const seen = new Set<string>()
  for (const group of groups) {
    if (group === '') return bad(`${show(text)} has an empty entry`, 'a comma-separated list of group names, e.g. groups = web, db')
    if (!isLabel(group)) {
      const hint = /\s/.test(group) ? 'separate groups with commas, e.g. groups = web, db' : 'a group name is lowercase letters, digits and "-", e.g. web or db-replicas'
      return bad(`${show(group)} is not a group name`, hint)
    }
    if (seen.has(group)) return bad(`${show(group)} is listed twice`, 'name each group once')
    seen.add(group)
  }
  return ok(groups)
}
