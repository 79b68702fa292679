/**
 * How to reach a node: host, port, user, keys, certificates, known_hosts, the host key checking policy,
 * a ProxyCommand, and the chain of jump hosts — as OpenSSH evaluates the administrator's config for it
 * (see evaluate.ts), with what the inventory really sets passed in as `ssh` would take it from its
 * command line (`-l`, `-p`, `-i`), and the inventory's `jump` replacing the config's ProxyJump.
 */
import {isAbsolute, resolve} from 'node:path'
import type {Fleet, JumpSpec, NodeSpec, SshTransport} from '../inventory/model.js'
import {BugError} from '../lib/errors.js'
import {SshConfigError, SshError} from './errors.js'
import type {ConfigEvaluator, HostQuery, SshOptions} from './evaluate.js'
import {knownHostName} from './known-hosts.js'
import {type TokenValues, expandFileOption, expandProxyCommand, expandTilde} from './tokens.js'

export {DEFAULT_SSH_PORT} from '../inventory/index.js'
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Deepest jump chain we follow: far beyond any sane setup, and a guard against config loops. */
const MAX_HOPS = 8

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new'

export interface SshTarget {
  /** For messages: the node name, or `user@host:port` for a jump that is not an inventory node. */
  name: string
  /** The name given to ssh (what `Host` patterns match): the inventory's `host`, or the jump element's host. */
  alias: string
  /** Where TCP (or the previous hop's forward) connects: the resolved HostName. */
  host: string
  port: number
  user: string
  /** Private keys to offer, in order, absolute (ssh -G's list: -i first, then IdentityFile, else the defaults). */
  identityFiles: string[]
  /** CertificateFile, absolute (ssh2 cannot use them: see checkTransportSupports). */
  certificateFiles: string[]
  /** IdentitiesOnly: offer only identityFiles' keys, the agent's included. */
  identitiesOnly: boolean
  /** IdentityAgent: a socket path, `none`, or undefined (SSH_AUTH_SOCK). */
  identityAgent?: string
  /** HostKeyAlias, when the config sets it. */
  hostKeyAlias?: string
  /** The name the host key is looked up (and recorded) under: HostKeyAlias, else `host` / `[host]:port`. */
  knownHostName: string
  /** Checked in order, all of them; a new key is appended to the first. */
  knownHostsFiles: string[]
  strictHostKeyChecking: StrictHostKeyChecking
  /** HashKnownHosts: a recorded line hides the host name. */
  hashKnownHosts: boolean
  connectTimeoutMs: number
  /** ServerAliveInterval (0 = the session's own keepalive) and ServerAliveCountMax. */
  serverAliveIntervalMs: number
  serverAliveCountMax: number
  /** The expanded ProxyCommand (started as OpenSSH does); a ProxyCommand is not a hop. */
  proxyCommand?: string
  /** What the config was asked for this host (the openssh transport passes the same to `ssh`). */
  query: HostQuery
  /** Jump hosts, outermost (connected first) first; each hop's own `hops` is empty. */
  hops: SshTarget[]
}

export interface ResolveOptions {
  evaluator: ConfigEvaluator
  /** --known-hosts: the only file checked, for every hop. */
  knownHostsFlag?: string
  /** --connect-timeout when given (wins over ConnectTimeout; else the config's, else 10 s). */
  connectTimeoutMs?: number
  /** For `${VAR}` in IdentityFile / CertificateFile (default process.env). */
  env?: NodeJS.ProcessEnv
}

/** The transport a node uses: --transport, else the node's (or [ssh]'s) `transport`, else ssh2. */
export function chooseTransport(node: NodeSpec, flag?: SshTransport): SshTransport {
  return flag ?? node.ssh.transport ?? 'ssh2'
}

interface ResolveContext {
  /** The node being resolved (named in errors about its chain). */
  node: string
  fleet: Fleet
  options: ResolveOptions
  /** --known-hosts, else the inventory's known_hosts for this chain; undefined = each hop's ssh config. */
  knownHostsOverride?: string
}

/** Resolve how to reach a node. A config that cannot be used fails this node (SshError `ssh-config`). */
export async function resolveNodeTarget(fleet: Fleet, node: NodeSpec, options: ResolveOptions): Promise<SshTarget> {
  const context: ResolveContext = {node: node.name, fleet, options, knownHostsOverride: knownHostsOverrideFor(node, options)}
  try {
    return await resolveNode(context, node, [])
  } catch (error) {
    if (error instanceof SshConfigError) {
      throw new SshError('ssh-config', node.name, error.message, {hint: error.hint, cause: error})
    }
    throw error
  }
}

function knownHostsOverrideFor(node: NodeSpec, options: ResolveOptions): string | undefined {
  if (options.knownHostsFlag) return resolve(expandTilde(options.knownHostsFlag, options.evaluator.local.homeDir))
  return node.ssh.knownHosts
}

async function resolveNode(context: ResolveContext, node: NodeSpec, visiting: string[]): Promise<SshTarget> {
  if (visiting.includes(node.name) || visiting.length > MAX_HOPS) {
    throw new BugError(`jump chain through ${[...visiting, node.name].join(' -> ')} loops or is too deep`)
  }
  const query = nodeQuery(node)
  const evaluated = await evaluate(context, query)
  const target = await targetFrom(context, node.name, query, evaluated)
  const hops = node.jump
    ? await resolveInventoryJump(context, node.jump, [...visiting, node.name])
    : await resolveProxyJump(context, evaluated.get('proxyjump')?.[0], [...visiting, node.name])
  return {...target, hops}
}

/** What the config is asked for a node: only what the inventory really sets (an unset user/port defers). */
export function nodeQuery(node: NodeSpec): HostQuery {
  const query: HostQuery = {alias: node.host}
  if (node.ssh.user !== undefined) query.user = node.ssh.user
  if (node.ssh.port !== undefined) query.port = node.ssh.port
  if (node.ssh.identity !== undefined) query.identity = node.ssh.identity
  if (node.jump !== undefined) query.noProxy = true
  return query
}

/**
 * The HostName OpenSSH resolves a node's `host` to (the same evaluation as its connection, cached), or
 * undefined when the config cannot be evaluated (the connection will say why).
 */
export async function resolvedHostName(node: NodeSpec, evaluator: ConfigEvaluator): Promise<string | undefined> {
  try {
    return (await evaluator.evaluate(nodeQuery(node))).get('hostname')?.[0]
  } catch {
    return undefined
  }
}

async function resolveInventoryJump(context: ResolveContext, jump: JumpSpec, visiting: string[]): Promise<SshTarget[]> {
  if (jump.kind === 'node') {
    const jumpNode = context.fleet.nodes.find((candidate) => candidate.name === jump.node)
    if (!jumpNode) throw new BugError(`jump to unknown node ${jump.node} passed inventory validation`)
    // The jump node is reached as itself (its own inventory settings), under this chain's known_hosts choice.
    const jumpContext = {...context, knownHostsOverride: knownHostsOverrideFor(jumpNode, context.options)}
    const jumpTarget = await resolveNode(jumpContext, jumpNode, visiting)
    return [...jumpTarget.hops, {...jumpTarget, hops: []}]
  }
  // `jump = user@host:port` is not a node: the inventory's [ssh] user and identity still apply to it.
  const spec = {alias: jump.host, user: jump.user ?? context.fleet.ssh.user, port: jump.port, identity: context.fleet.ssh.identity}
  return resolveFirstHop(context, spec, visiting)
}

/**
 * A ProxyJump `a,b,c` as OpenSSH runs it (ssh.c): `c` through `ssh -J a,b`, so each element is evaluated
 * with the elements before it as its `-J` (its own ProxyJump / ProxyCommand do not apply), and the first
 * with its whole config (its own ProxyJump or ProxyCommand too).
 */
async function resolveProxyJump(context: ResolveContext, proxyJump: string | undefined, visiting: string[]): Promise<SshTarget[]> {
  if (!proxyJump || proxyJump.toLowerCase() === 'none') return []
  const elements = proxyJump.split(',').map((element) => element.trim())
  let specs: HostQuery[]
  try {
    specs = elements.map(parseJumpAddress)
  } catch (error) {
    throw new SshConfigError(`ProxyJump ${proxyJump}: ${(error as Error).message}`, {hint: 'fix ProxyJump in the ssh config (check it with `ssh -G HOST`)'})
  }
  const hops = await resolveFirstHop(context, specs[0]!, visiting)
  for (const [index, spec] of specs.entries()) {
    if (index === 0) continue
    const query = {...spec, proxyJump: elements.slice(0, index).join(',')}
    hops.push({...(await targetFrom(context, describeAddress(spec), query, await evaluate(context, query))), hops: []})
  }
  if (hops.length > MAX_HOPS) throw new SshConfigError(`ProxyJump chain ${proxyJump} is deeper than ${MAX_HOPS} hops`)
  return hops
}

/** The first jump element: the hops to reach it (its own ProxyJump), then itself. */
async function resolveFirstHop(context: ResolveContext, spec: HostQuery, visiting: string[]): Promise<SshTarget[]> {
  const name = describeAddress(spec)
  if (visiting.includes(name) || visiting.length > MAX_HOPS) {
    throw new SshConfigError(`ProxyJump chain through ${[...visiting, name].join(' -> ')} loops or is too deep`, {
      hint: 'fix ProxyJump in the ssh config (check it with `ssh -G HOST`), or set `jump` for the node in the inventory',
    })
  }
  const evaluated = await evaluate(context, spec)
  const before = await resolveProxyJump(context, evaluated.get('proxyjump')?.[0], [...visiting, name])
  return [...before, {...(await targetFrom(context, name, spec, evaluated)), hops: []}]
}

function evaluate(context: ResolveContext, query: HostQuery): Promise<SshOptions> {
  return context.options.evaluator.evaluate(query)
}

/** One host's target (without hops) from the options the evaluator gave for it. */
async function targetFrom(context: ResolveContext, name: string, query: HostQuery, options: SshOptions): Promise<Omit<SshTarget, 'hops'>> {
  const {evaluator} = context.options
  const first = (key: string): string | undefined => options.get(key)?.[0]
  const all = (key: string): readonly string[] => options.get(key) ?? []
  const host = first('hostname') ?? query.alias
  const port = wholeNumber(first('port')) ?? 22
  const user = first('user') ?? evaluator.local.user
  const hostKeyAlias = first('hostkeyalias')
  const fileOptions = [...all('identityfile'), ...all('certificatefile')]
  const usesConnectionHash = fileOptions.some((value) => /(^|[^%])(%%)*%C/.test(value))
  const tokens: TokenValues = {
    host,
    originalHost: query.alias,
    port,
    remoteUser: user,
    localUser: evaluator.local.user,
    homeDir: evaluator.local.homeDir,
    uid: evaluator.local.uid,
    localHostname: evaluator.local.hostname,
    hostKeyAlias,
    proxyJump: first('proxyjump') ?? '',
    connectionHash: usesConnectionHash ? await evaluator.connectionHashStyle() : 'lhpr',
  }
  const env = context.options.env ?? process.env
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(path))
  const files = (key: string, what: string) => all(key).map((path) => absolute(expandFileOption(path, tokens, env, what)))
  // ssh -G has expanded the known_hosts files already; the fallback has not.
  const knownHostsFiles =
    context.knownHostsOverride !== undefined
      ? [context.knownHostsOverride]
      : [...words(first('userknownhostsfile')), ...words(first('globalknownhostsfile'))].map((path) =>
          absolute(evaluator.source === 'ssh -G' ? path : expandFileOption(path, tokens, env, 'UserKnownHostsFile')),
        )
  const proxyCommand = first('proxycommand')
  const configTimeout = wholeNumber(first('connecttimeout'))
  const identityAgent = first('identityagent')
  return {
    name,
    alias: query.alias,
    query,
    host,
    port,
    user,
    identityFiles: withInventoryIdentity(query.identity, files('identityfile', 'IdentityFile')),
    certificateFiles: files('certificatefile', 'CertificateFile'),
    identitiesOnly: first('identitiesonly')?.toLowerCase() === 'yes',
    ...(identityAgent !== undefined && identityAgent !== 'SSH_AUTH_SOCK' ? {identityAgent: identityAgent === 'none' ? 'none' : absolute(expandTilde(identityAgent, tokens.homeDir))} : {}),
    ...(hostKeyAlias !== undefined ? {hostKeyAlias} : {}),
    // HostKeyAlias replaces the whole lookup name (OpenSSH adds no [..]:port to it).
    knownHostName: hostKeyAlias ?? knownHostName(host, port),
    knownHostsFiles,
    strictHostKeyChecking: strictHostKeyCheckingOf(first('stricthostkeychecking')),
    hashKnownHosts: first('hashknownhosts')?.toLowerCase() === 'yes',
    connectTimeoutMs: context.options.connectTimeoutMs ?? (configTimeout && configTimeout > 0 ? configTimeout * 1000 : DEFAULT_CONNECT_TIMEOUT_MS),
    serverAliveIntervalMs: (wholeNumber(first('serveraliveinterval')) ?? 0) * 1000,
    serverAliveCountMax: wholeNumber(first('serveralivecountmax')) ?? 3,
    ...(proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none' ? {proxyCommand: expandProxyCommand(proxyCommand, tokens)} : {}),
  }
}

/**
 * `ssh -i FILE` drops a FILE that does not exist (with a warning); wgfleet keeps the inventory's identity
 * first anyway, so that a failure names the missing file instead of trying other keys silently.
 */
function withInventoryIdentity(identity: string | undefined, files: string[]): string[] {
  if (identity === undefined || files.includes(identity)) return files
  return [identity, ...files.filter((file) => !isDefaultIdentity(file))]
}

/** OpenSSH's default identity files (`ssh -G` lists them when nothing else is configured). */
function isDefaultIdentity(file: string): boolean {
  return /\/\.ssh\/id_(rsa|ecdsa|ecdsa_sk|ed25519|ed25519_sk|xmss|dsa)$/.test(file)
}

/** ssh -G prints yes as `true` and no as `false`. */
function strictHostKeyCheckingOf(value: string | undefined): StrictHostKeyChecking {
  switch (value?.toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes'
    case 'no':
    case 'false':
    case 'off':
      return 'no'
    case 'accept-new':
      return 'accept-new'
    default:
      return 'ask'
  }
}

/** A known-hosts option's files (`none` = no file). */
function words(value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(/\s+/).filter((word) => word !== '' && word.toLowerCase() !== 'none')
}

function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined
}

/** Parse a ProxyJump element: `[user@]host[:port]`, `[user@][v6addr]:port`, or `ssh://user@host:port`. */
export function parseJumpAddress(spec: string): HostQuery {
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
  return {alias: host, ...(user === undefined ? {} : {user}), ...(port === undefined ? {} : {port})}
}

function describeAddress(spec: HostQuery): string {
  const host = spec.alias.includes(':') ? `[${spec.alias}]` : spec.alias
  return `${spec.user ? `${spec.user}@` : ''}${host}${spec.port ? `:${spec.port}` : ''}`
}
