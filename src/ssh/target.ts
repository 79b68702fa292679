/**
 * How to reach a node: host, port, user, keys, the name its host key is filed under, and the chain of
 * jump hosts. Pure (apart from `loadSshConfig`): the inventory wins over ~/.ssh/config, which wins over
 * the built-in defaults, as an administrator who already uses `ssh node` would expect.
 */
import {readFileSync} from 'node:fs'
import {homedir, userInfo} from 'node:os'
import {join, resolve} from 'node:path'
import SSHConfig from 'ssh-config'
import type {Fleet, JumpSpec, NodeSpec} from '../inventory/model.js'
import {SshError} from './errors.js'
import {knownHostName} from './known-hosts.js'
import {BugError} from '../lib/errors.js'

import {DEFAULT_SSH_PORT, DEFAULT_SSH_USER} from '../inventory/index.js'

export {DEFAULT_SSH_PORT, DEFAULT_SSH_USER}
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Deepest jump chain we follow: far beyond any sane setup, and a guard against config loops. */
const MAX_HOPS = 8

export interface SshTarget {
  /** For messages: the node name, or `user@host:port` for a jump that is not an inventory node. */
  name: string
  /** Where TCP (or the previous hop's forward) connects: ssh config HostName applied. */
  host: string
  port: number
  user: string
  /** Private keys to offer, in order; empty = the session falls back to ~/.ssh/id_* defaults. */
  identityFiles: string[]
  /** The name the host key is verified (and appended) under: `host`, `[host]:port`, or HostKeyAlias. */
  hostKeyAlias: string
  /** The known_hosts file this target is verified against (and --accept-new-host-keys appends to). */
  knownHostsFile: string
  /** ssh config HashKnownHosts yes: a line --accept-new-host-keys adds hides the host name. */
  hashKnownHosts: boolean
  connectTimeoutMs: number
  /** Jump hosts, outermost (connected first) first; each hop's own `hops` is empty. */
  hops: SshTarget[]
}

export interface ResolveTargetOptions {
  /** Parsed ~/.ssh/config (see loadSshConfig); undefined = none. */
  sshConfig?: SSHConfig
  /** --known-hosts */
  knownHostsFlag?: string
  connectTimeoutMs?: number
  /** Home folder for `~` and the default known_hosts (tests pass a temp dir). */
  homeDir?: string
  /** Local user name for `%u` in ssh config IdentityFile. */
  localUser?: string
}

/** Read ~/.ssh/config (or `file`); undefined when it does not exist. `Include` is not followed. */
export function loadSshConfig(file = join(homedir(), '.ssh', 'config')): SSHConfig | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  return SSHConfig.parse(text)
}

/** Known hosts file precedence: --known-hosts > [ssh] known_hosts > ~/.ssh/known_hosts. */
export function chooseKnownHostsFile(fleet: Fleet, knownHostsFlag: string | undefined, homeDir = homedir()): string {
  if (knownHostsFlag) return resolve(expandHome(knownHostsFlag, homeDir))
  if (fleet.ssh.knownHosts) return fleet.ssh.knownHosts
  return join(homeDir, '.ssh', 'known_hosts')
}

/** The values ~/.ssh/config gives for one host name (keys lowercased; Match exec never run). */
interface SshConfigValues {
  hostname?: string
  user?: string
  port?: number
  identityFiles: string[]
  proxyJump?: string
  hostKeyAlias?: string
  hashKnownHosts: boolean
}

function lookupSshConfig(config: SSHConfig | undefined, alias: string, user: string | undefined): SshConfigValues {
  if (!config) return {identityFiles: [], hashKnownHosts: false}
  const computed = config.compute(user === undefined ? {Host: alias} : {Host: alias, User: user}, {
    ignoreCase: true,
    matchExec: false,
  })
  const single = (key: string): string | undefined => {
    const value = computed[key]
    const first = Array.isArray(value) ? value[0] : value
    return first === undefined || first === '' ? undefined : first
  }
  const list = (key: string): string[] => {
    const value = computed[key]
    return value === undefined ? [] : Array.isArray(value) ? value : [value]
  }
  const portText = single('port')
  const port = portText !== undefined && /^\d+$/.test(portText) ? Number(portText) : undefined
  const proxyJump = single('proxyjump')
  return {
    hostname: single('hostname'),
    user: single('user'),
    port: port !== undefined && port > 0 && port < 65536 ? port : undefined,
    identityFiles: list('identityfile'),
    proxyJump: proxyJump && proxyJump.toLowerCase() !== 'none' ? proxyJump : undefined,
    hostKeyAlias: single('hostkeyalias'),
    hashKnownHosts: single('hashknownhosts')?.toLowerCase() === 'yes',
  }
}

export interface EndpointSpec {
  /** The name typed / written in the inventory (what ssh config `Host` patterns match). */
  alias: string
  user?: string
  port?: number
  identity?: string
}

interface ResolveContext {
  /** The node being resolved (named in errors about its jump chain). */
  node: string
  fleet: Fleet
  options: ResolveTargetOptions
  homeDir: string
  knownHostsFile: string
  connectTimeoutMs: number
}

/**
 * Resolve how to reach a node. NodeSpec.ssh carries the [ssh] defaults already merged in and does not
 * say whether a value was written explicitly, so a user of `root` and a port of 22 are treated as "not
 * set" and ~/.ssh/config User / Port may replace them.
 */
export function resolveSshTarget(fleet: Fleet, node: NodeSpec, options: ResolveTargetOptions = {}): SshTarget {
  const homeDir = options.homeDir ?? homedir()
  const context: ResolveContext = {
    node: node.name,
    fleet,
    options,
    homeDir,
    knownHostsFile: chooseKnownHostsFile(fleet, options.knownHostsFlag, homeDir),
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  }
  return resolveNode(context, node, [])
}

function resolveNode(context: ResolveContext, node: NodeSpec, visiting: string[]): SshTarget {
  if (visiting.includes(node.name) || visiting.length > MAX_HOPS) {
    throw new BugError(`jump chain through ${[...visiting, node.name].join(' -> ')} loops or is too deep`)
  }
  const explicit: EndpointSpec = {
    alias: node.host,
    user: node.ssh.user === DEFAULT_SSH_USER ? undefined : node.ssh.user,
    port: node.ssh.port === DEFAULT_SSH_PORT ? undefined : node.ssh.port,
    identity: node.ssh.identity,
  }
  const base = resolveEndpoint(context, node.name, explicit)
  let hops: SshTarget[]
  if (node.jump) hops = resolveJump(context, node.jump, [...visiting, node.name])
  else hops = resolveProxyJump(context, base.proxyJump, [...visiting, node.name])
  return {...base.target, hops}
}

function resolveJump(context: ResolveContext, jump: JumpSpec, visiting: string[]): SshTarget[] {
  if (jump.kind === 'node') {
    const jumpNode = context.fleet.nodes.find((candidate) => candidate.name === jump.node)
    if (!jumpNode) throw new BugError(`jump to unknown node ${jump.node} passed inventory validation`)
    const jumpTarget = resolveNode(context, jumpNode, visiting)
    return [...jumpTarget.hops, {...jumpTarget, hops: []}]
  }
  return resolveAddressChain(context, {alias: jump.host, user: jump.user, port: jump.port}, visiting)
}

/** ssh config ProxyJump `a,b` for a node the inventory gives no jump. */
function resolveProxyJump(context: ResolveContext, proxyJump: string | undefined, visiting: string[]): SshTarget[] {
  if (!proxyJump) return []
  let specs: EndpointSpec[]
  try {
    specs = proxyJump.split(',').map((spec) => parseJumpAddress(spec.trim()))
  } catch (error) {
    throw proxyJumpError(context, (error as Error).message)
  }
  // Like `ssh -J a,b`: a is reached with its own config (its ProxyJump too), b through a with its
  // config minus ProxyJump (the -J list overrides it).
  const hops = resolveAddressChain(context, specs[0]!, visiting)
  for (const spec of specs.slice(1)) {
    hops.push({...resolveEndpoint(context, describeAddress(spec), withFleetDefaults(context, spec)).target, hops: []})
  }
  if (hops.length > MAX_HOPS) throw proxyJumpError(context, `ProxyJump chain ${proxyJump} is deeper than ${MAX_HOPS} hops`)
  return hops
}

/** An explicit `user@host:port` jump: the hops to reach it, then itself. */
function resolveAddressChain(context: ResolveContext, spec: EndpointSpec, visiting: string[]): SshTarget[] {
  const name = describeAddress(spec)
  if (visiting.includes(name) || visiting.length > MAX_HOPS) {
    throw proxyJumpError(context, `ProxyJump chain through ${[...visiting, name].join(' -> ')} loops or is too deep`)
  }
  const resolved = resolveEndpoint(context, name, withFleetDefaults(context, spec))
  const before = resolveProxyJump(context, resolved.proxyJump, [...visiting, name])
  return [...before, {...resolved.target, hops: []}]
}

/** A jump that is not an inventory node still gets the inventory's [ssh] defaults for user and key. */
function withFleetDefaults(context: ResolveContext, spec: EndpointSpec): EndpointSpec {
  const fleetUser = context.fleet.ssh.user === DEFAULT_SSH_USER ? undefined : context.fleet.ssh.user
  return {...spec, user: spec.user ?? fleetUser, identity: spec.identity ?? context.fleet.ssh.identity}
}

/** A broken ProxyJump in ~/.ssh/config: this node cannot be reached, the others still can. */
function proxyJumpError(context: ResolveContext, message: string): SshError {
  return new SshError('unreachable', context.node, `~/.ssh/config: ${message}`, {
    hint: 'fix ProxyJump in ~/.ssh/config (check with `ssh -G HOST`), or set `jump` for the node in the inventory',
  })
}

function resolveEndpoint(
  context: ResolveContext,
  name: string,
  explicit: EndpointSpec,
): {target: Omit<SshTarget, 'hops'>; proxyJump?: string} {
  const config = lookupSshConfig(context.options.sshConfig, explicit.alias, explicit.user)
  const host = config.hostname ? expandTokens(config.hostname, {h: explicit.alias}) : explicit.alias
  const user = explicit.user ?? config.user ?? DEFAULT_SSH_USER
  const port = explicit.port ?? config.port ?? DEFAULT_SSH_PORT
  const localUser = context.options.localUser ?? safeLocalUser()
  const tokens = {h: host, r: user, p: String(port), u: localUser, d: context.homeDir, n: explicit.alias}
  const identityFiles = explicit.identity
    ? [resolve(expandHome(explicit.identity, context.homeDir))]
    : config.identityFiles.map((file) => resolve(expandHome(expandTokens(file, tokens), context.homeDir)))
  return {
    target: {
      name,
      host,
      port,
      user,
      identityFiles,
      // HostKeyAlias replaces the whole lookup name (OpenSSH adds no [..]:port to it).
      hostKeyAlias: config.hostKeyAlias ?? knownHostName(host, port),
      knownHostsFile: context.knownHostsFile,
      hashKnownHosts: config.hashKnownHosts,
      connectTimeoutMs: context.connectTimeoutMs,
    },
    proxyJump: config.proxyJump,
  }
}

/** Parse a ProxyJump element: `[user@]host[:port]`, `[user@][v6addr]:port`, or `ssh://user@host:port`. */
export function parseJumpAddress(spec: string): EndpointSpec {
  let rest = spec.replace(/^ssh:\/\//, '')
  let user: string | undefined
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    user = rest.slice(0, at) || undefined
    rest = rest.slice(at + 1)
  }
  let host = rest
  let port: number | undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest)
  if (bracketed) {
    host = bracketed[1]!
    port = bracketed[2] ? Number(bracketed[2]) : undefined
  } else {
    const colon = rest.split(':')
    if (colon.length === 2 && /^\d+$/.test(colon[1]!)) {
      host = colon[0]!
      port = Number(colon[1])
    }
  }
  if (!host) throw new Error(`ProxyJump element "${spec}" has no host`)
  return {alias: host, user, port}
}

function describeAddress(spec: EndpointSpec): string {
  const host = spec.alias.includes(':') ? `[${spec.alias}]` : spec.alias
  return `${spec.user ? `${spec.user}@` : ''}${host}${spec.port ? `:${spec.port}` : ''}`
}

function expandHome(path: string, homeDir: string): string {
  if (path === '~') return homeDir
  if (path.startsWith('~/')) return join(homeDir, path.slice(2))
  return path
}

/** ssh_config(5) TOKENS used in HostName / IdentityFile: %h %r %p %u %d %n %%. */
function expandTokens(text: string, tokens: Record<string, string>): string {
  return text.replace(/%([%a-zA-Z])/g, (whole, letter: string) =>
    letter === '%' ? '%' : (tokens[letter] ?? whole),
  )
}

function safeLocalUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? ''
  }
}
