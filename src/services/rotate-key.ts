/**
 * `wgfleet rotate-key NODE... | --all`: under the inventory's lock, each node in turn (one rotation at a
 * time, so a pair never has both ends moving) goes through plan/rotation's sequence; then one converge
 * writes every config to match what the interfaces already run. `init` calls `finishPendingRotations`
 * first, so an interrupted rotation is finished (or rolled back) by the next init as well.
 *
 * Orchestration only: plan/rotation decides each step from state and what the node reports (key trust
 * through plan/key-trust), tasks/rotate-steps runs it on the hosts.
 */
import {loadFleet} from './fleet-loader.js'
import type {Fleet} from '../inventory/model.js'
import {lockInventory} from '../lib/lock.js'
import {escapeInvisible, UsageError, WgfleetError} from '../lib/errors.js'
import {planFleet} from '../plan/index.js'
import {pendingRotations, planRotation, type RotationDecision, type RotationPlan} from '../plan/rotation.js'
import {factsInState, openStateStore, stateDirFor, type FleetState, type StateStore} from '../state/state.js'
import {addPeerEntry, commitNewKey, movePeerEntry, readRotationKeys, switchInterfaceKey} from '../tasks/rotate-steps.js'
import type {RemoteShell} from '../tasks/remote-shell.js'
import {shellPoolFor, type ConnectionSettings, type FleetDependencies, type ShellFactory} from './connections.js'
import {convergeFleet, convergeOptionsFor} from './converge.js'
import type {PeerMoveOutcome, RotationOutcome, RotationStage} from './rotation-report.js'
import {rotateResult, type RotateReport} from './rotate-report.js'

export interface RotateKeyRequest extends ConnectionSettings {
  inventory: string
  /** NODE arguments (empty with --all). */
  nodes: string[]
  all: boolean
  concurrency: number
  verifyTimeoutSeconds: number
  silent: boolean
}

/** NODE... or --all, never both, never neither; every name an inventory node (exit 2, nothing opened). */
export function rotationTargets(nodeNames: readonly string[], nodes: readonly string[], all: boolean): string[] {
  if (all && nodes.length > 0) throw new UsageError('give NODE names or --all, not both', 'wgfleet rotate-key node-a node-b, or wgfleet rotate-key --all')
  if (!all && nodes.length === 0) throw new UsageError('no node to rotate', 'name the nodes (wgfleet rotate-key node-a), or give --all')
  const unknown = nodes.filter((n) => !nodeNames.includes(n))
  if (unknown.length > 0) throw new UsageError(`${unknown.map((n) => JSON.stringify(escapeInvisible(n))).join(', ')}: no such node in the inventory`, `nodes: ${nodeNames.join(', ')}`)
  const twice = nodes.filter((n, i) => nodes.indexOf(n) !== i)
  if (twice.length > 0) throw new UsageError(`${[...new Set(twice)].join(', ')} given more than once`, 'name each node once')
  return all ? [...nodeNames] : nodeNames.filter((n) => nodes.includes(n))
}

export async function runRotateKey(request: RotateKeyRequest, deps: FleetDependencies = {}): Promise<RotateReport> {
  const fleet = await loadFleet(request.inventory)
  const requested = rotationTargets(fleet.nodes.map((n) => n.name), request.nodes, request.all)
  const unlock = await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  const shells = shellPoolFor(fleet, request, deps)
  const signal = 'signal' in unlock ? unlock.signal : undefined
  try {
    const rotations = await rotateNodes(fleet, {requested, openShell: shells.open, clock: deps.clock, signal})
    const converge = await convergeFleet(fleet, convergeOptionsFor({command: 'rotate-key', request, openShell: shells.open, clock: deps.clock, signal}))
    return {result: rotateResult(rotations, converge), rotations, converge}
  } finally {
    await shells.closeAll()
    await unlock()
  }
}

/** The rotations state holds as pending, finished (or rolled back) before a converge; [] when there are none. */
export async function finishPendingRotations(fleet: Fleet, options: Omit<RotateOptions, 'requested'>): Promise<RotationOutcome[]> {
  const state = await openStateStore(fleet.dir).load()
  if (pendingRotations(fleet.nodes.map((n) => n.name), state.nodes).length === 0) return []
  return rotateNodes(fleet, {...options, requested: []})
}

export interface RotateOptions {
  /** Nodes the operator asked to rotate; pending rotations of other nodes are finished too. */
  requested: string[]
  openShell: ShellFactory
  clock?: () => number
  signal?: AbortSignal
}

/** Each target in turn, in inventory order; the connections are opened once and closed at the end. */
export async function rotateNodes(fleet: Fleet, options: RotateOptions): Promise<RotationOutcome[]> {
  const store = openStateStore(fleet.dir)
  const names = fleet.nodes.map((n) => n.name)
  const pending = new Set(pendingRotations(names, (await store.load()).nodes))
  const targets = names.filter((n) => pending.has(n) || options.requested.includes(n))
  const nodesByName = new Map(fleet.nodes.map((n) => [n.name, n]))
  const opened = new Map<string, Promise<RemoteShell>>()
  const shellOf = (name: string): Promise<RemoteShell> => {
    let shell = opened.get(name)
    if (!shell) {
      shell = options.openShell(nodesByName.get(name)!)
      shell.catch(() => opened.delete(name))
      opened.set(name, shell)
    }
    return shell
  }
  const outcomes: RotationOutcome[] = []
  try {
    for (const name of targets) {
      outcomes.push(await rotateNode({fleet, name, requested: options.requested.includes(name), store, shellOf, clock: options.clock ?? Date.now, signal: options.signal}))
    }
  } finally {
    await Promise.all([...opened.values()].map(async (s) => (await s).close().catch(() => undefined)).map((p) => p.catch(() => undefined)))
  }
  return outcomes
}

interface RotateNodeArgs {
  fleet: Fleet
  name: string
  requested: boolean
  store: StateStore
  shellOf: (name: string) => Promise<RemoteShell>
  clock: () => number
  signal?: AbortSignal
}

class StageFailure extends Error {
  constructor(
    readonly stage: RotationStage,
    readonly failure: unknown,
  ) {
    super(failure instanceof Error ? failure.message : String(failure))
  }
}

async function rotateNode(args: RotateNodeArgs): Promise<RotationOutcome> {
  const {fleet, name, store} = args
  const iface = fleet.network.interface
  const started = args.clock()
  let newPublicKey: string | undefined
  try {
    const shell = await atStage('read', () => args.shellOf(name))
    const decide = async (generate: boolean): Promise<RotationDecision> => {
      const report = await atStage('read', () => readRotationKeys(shell, iface, generate))
      const state = await store.load()
      return planRotation({node: name, nodes: fleet.nodes.map((n) => n.name), pinned: state.nodes, report, requested: args.requested, plan: planOf(fleet, state)})
    }
    let decision = await decide(false)
    if (decision.kind === 'generate') {
      if (decision.clearPending) await store.updateNode(name, {pendingPublicKey: undefined})
      args.signal?.throwIfAborted()
      decision = await decide(true)
    }
    switch (decision.kind) {
      case 'refused':
        return {
          node: name,
          result: 'failed',
          stage: 'read',
          ...(decision.refusal.reason === 'key-refused' ? {keyRefusal: decision.refusal.refusal} : {refused: decision.refusal.reason}),
          peers: [],
        }
      case 'rolled-back':
        await store.updateNode(name, {pendingPublicKey: undefined})
        return {node: name, result: 'rolled-back', pendingPublicKey: decision.pendingPublicKey}
      case 'generate':
        return {node: name, result: 'failed', stage: 'read', refused: 'no-new-key', peers: []}
      case 'rotate':
        newPublicKey = decision.plan.newPublicKey
        return await executeRotation(args, shell, decision.plan, started)
    }
  } catch (error) {
    const stage = error instanceof StageFailure ? error.stage : 'read'
    const cause = error instanceof StageFailure ? error.failure : error
    return {
      node: name,
      result: 'failed',
      stage,
      error: cause instanceof Error ? cause.message : String(cause),
      ...(cause instanceof WgfleetError && cause.hint ? {hint: cause.hint} : {}),
      ...(newPublicKey ? {newPublicKey} : {}),
      peers: [],
    }
  }
}

/** The plan's steps, in order; nothing here decides (plan/rotation did). */
async function executeRotation(args: RotateNodeArgs, shell: RemoteShell, plan: RotationPlan, started: number): Promise<RotationOutcome> {
  const {store, clock, signal} = args
  const iface = args.fleet.network.interface
  const peerShells = await Promise.all(plan.peers.map(async (p) => ({move: p, shell: await args.shellOf(p.peer).catch((error: unknown) => error as Error)})))
  const reached = peerShells.filter((p): p is {move: (typeof p)['move']; shell: RemoteShell} => !(p.shell instanceof Error))
  const outcomes = new Map<string, PeerMoveOutcome>(peerShells.filter((p) => p.shell instanceof Error).map((p) => [p.move.peer, {peer: p.move.peer, result: 'not-reached', error: (p.shell as Error).message}]))
  // Before the switch, every peer must be reachable: a peer left on the old key would lose the node.
  // Once switched (an interrupted run), the rotation is finished with the peers reached; the converge
  // after it moves the others when they are back.
  if (plan.switchInterface && outcomes.size > 0) {
    throw new StageFailure('preflight', new WgfleetError(`cannot reach ${[...outcomes.keys()].join(', ')}: nothing was switched`, {hint: 'rerun once every peer of the node is reachable'}))
  }
  signal?.throwIfAborted()
  if (plan.recordPending) await store.updateNode(plan.node, {pendingPublicKey: plan.newPublicKey})

  await atStage('add', () => Promise.all(reached.map(({move, shell: s}) => addPeerEntry(s, iface, plan.newPublicKey, move.endpoint, move.keepalive, move.presharedKey ? plan.node : null))))
  signal?.throwIfAborted()
  const switchedAt = clock()
  if (plan.switchInterface) await atStage('switch', () => switchInterfaceKey(shell, iface, plan.newPublicKey))
  // No abort check from here on: the node runs the new key, its peers must follow at once.
  const moved = await Promise.allSettled(reached.map(({move, shell: s}) => movePeerEntry(s, iface, plan.newPublicKey, plan.oldPublicKey, move.allowedIps)))
  const switchToMoveMs = clock() - switchedAt
  reached.forEach(({move}, i) => {
    const result = moved[i]!
    outcomes.set(move.peer, result.status === 'fulfilled' ? {peer: move.peer, result: 'moved'} : {peer: move.peer, result: 'failed', error: (result.reason as Error).message})
  })
  if (plan.commit) await atStage('commit', () => commitNewKey(shell, iface, plan.newPublicKey))
  await store.updateNode(plan.node, {publicKey: plan.newPublicKey, pendingPublicKey: undefined, keyCreatedAt: new Date(clock()).toISOString()})
  return {
    node: plan.node,
    result: 'rotated',
    resumed: plan.resumed,
    oldPublicKey: plan.oldPublicKey,
    newPublicKey: plan.newPublicKey,
    peers: plan.peers.map((p) => outcomes.get(p.peer)!),
    switchToMoveMs,
    durationMs: clock() - started,
  }
}

async function atStage<T>(stage: RotationStage, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    throw error instanceof StageFailure ? error : new StageFailure(stage, error)
  }
}

/** The fleet's plan over the keys state pins (the entries the peers hold for the node now). */
function planOf(fleet: Fleet, state: FleetState) {
  const publicKeys: Record<string, string> = {}
  for (const node of fleet.nodes) {
    const key = state.nodes[node.name]?.publicKey
    if (key !== undefined) publicKeys[node.name] = key
  }
  return planFleet(fleet, {publicKeys, facts: factsInState(state)}, {omitPeersWithoutKey: true})
}
