/**
 * `wgfleet ssh-config [NODE...]`: how each node will be reached — transport, hops, ProxyCommand, keys,
 * certificates, known_hosts, host key policy — as OpenSSH evaluates the config (`ssh -G`). Connects
 * nowhere; what a node's transport cannot do (certificates over ssh2) is said here too.
 */
import type {NodeSpec, SshTransport} from '../inventory/model.js'
import {UsageError, WgfleetError} from '../lib/errors.js'
import type {ConfigEvaluator, EvaluatorSource} from '../ssh/evaluate.js'
import type {SshTarget, StrictHostKeyChecking} from '../ssh/target.js'
import {loadFleet} from './fleet-loader.js'

export interface SshConfigRequest {
  inventory: string
  /** Nodes to show, in this order; empty = every node, in inventory order. */
  nodes: readonly string[]
  knownHosts?: string
  transport?: SshTransport
  connectTimeoutSeconds?: number
}

export interface ReachHop {
  /** The node's name, or `user@host:port` for a jump that is not a node. */
  name: string
  /** The name ssh was given (what Host patterns match). */
  alias: string
  host: string
  port: number
  user: string
}

export interface NodeReach {
  name: string
  transport: SshTransport
  /** The ProxyJump hosts in order, the node itself last. */
  hops: ReachHop[]
  proxyCommand: string | null
  identityFiles: string[]
  certificateFiles: string[]
  identitiesOnly: boolean
  knownHostsFiles: string[]
  strictHostKeyChecking: StrictHostKeyChecking | null
  hostKeyAlias: string | null
  /** Why this node cannot be reached this way (a broken config, certificates over ssh2); absent when it can. */
  problem?: {kind: string; message: string; hint: string | null}
}

export interface SshConfigReport {
  evaluatedBy: EvaluatorSource
  /** What the evaluator could not do exactly (the fallback parser). */
  warnings: string[]
  nodes: NodeReach[]
}

export interface SshConfigDependencies {
  evaluator?: ConfigEvaluator
}

export async function describeReach(request: SshConfigRequest, deps: SshConfigDependencies = {}): Promise<{report: SshConfigReport; exitCode: 0 | 1}> {
  const {defaultConfigEvaluator} = await import('../ssh/evaluate.js')
  const {chooseTransport, resolveNodeTarget} = await import('../ssh/target.js')
  const {refuseWhatSsh2CannotDo} = await import('../ssh/transport-check.js')
  const evaluator = deps.evaluator ?? defaultConfigEvaluator()
  const fleet = await loadFleet(request.inventory, evaluator)
  const chosen = chooseNodes(fleet.nodes, request.nodes, fleet.file)

  const nodes = await Promise.all(
    chosen.map(async (node): Promise<NodeReach> => {
      const transport = chooseTransport(node, request.transport)
      let target: SshTarget
      try {
        target = await resolveNodeTarget(fleet, node, {
          evaluator,
          knownHostsFlag: request.knownHosts,
          connectTimeoutMs: request.connectTimeoutSeconds === undefined ? undefined : request.connectTimeoutSeconds * 1000,
        })
      } catch (error) {
        return unresolved(node, transport, error)
      }
      const reach = reachOf(node, transport, target)
      if (transport === 'ssh2') {
        try {
          for (const hop of [...target.hops, target]) refuseWhatSsh2CannotDo(node.name, hop, hop === target ? undefined : `jump ${hop.name}`)
        } catch (error) {
          reach.problem = problemOf(error)
        }
      }
      return reach
    }),
  )
  const report = {evaluatedBy: evaluator.source, warnings: evaluator.warnings(), nodes}
  return {report, exitCode: nodes.some((node) => node.problem) ? 1 : 0}
}

function chooseNodes(nodes: readonly NodeSpec[], names: readonly string[], file: string): NodeSpec[] {
  if (names.length === 0) return [...nodes]
  const unknown = names.filter((name) => !nodes.some((node) => node.name === name))
  if (unknown.length > 0) {
    throw new UsageError(`no node named ${unknown.join(', ')} in ${file}`, `nodes: ${nodes.map((node) => node.name).join(', ')}`)
  }
  return names.map((name) => nodes.find((node) => node.name === name)!)
}

function reachOf(node: NodeSpec, transport: SshTransport, target: SshTarget): NodeReach {
  return {
    name: node.name,
    transport,
    hops: [...target.hops, target].map((hop) => ({name: hop.name, alias: hop.alias, host: hop.host, port: hop.port, user: hop.user})),
    proxyCommand: [...target.hops, target].find((hop) => hop.proxyCommand)?.proxyCommand ?? null,
    identityFiles: target.identityFiles,
    certificateFiles: target.certificateFiles,
    identitiesOnly: target.identitiesOnly,
    knownHostsFiles: target.knownHostsFiles,
    strictHostKeyChecking: target.strictHostKeyChecking,
    hostKeyAlias: target.hostKeyAlias ?? null,
  }
}

function unresolved(node: NodeSpec, transport: SshTransport, error: unknown): NodeReach {
  return {
    name: node.name,
    transport,
    hops: [],
    proxyCommand: null,
    identityFiles: [],
    certificateFiles: [],
    identitiesOnly: false,
    knownHostsFiles: [],
    strictHostKeyChecking: null,
    hostKeyAlias: null,
    problem: problemOf(error),
  }
}

function problemOf(error: unknown): NonNullable<NodeReach['problem']> {
  if (error instanceof WgfleetError) {
    const kind = (error as {kind?: string}).kind ?? 'ssh-config'
    return {kind, message: error.message, hint: error.hint ?? null}
  }
  throw error
}
