/**
 * `wgfleet rotate-psk [NODE...]`: under the inventory's lock, every pair (or the pairs of NODEs) gets a new
 * preshared key — a converge whose preshared-key step renews those pairs (services/preshared-keys): the new
 * key is made on the pair's lower-named end and stored on both ends at once, file and running entry
 * (`wg set … preshared-key`) and config, before the next handshake. A preshared key is used only by the next
 * handshake, so no packet is lost. Orchestration only.
 */
import type {Outcome} from '../lib/exit-codes.js'
import {escapeInvisible, UsageError} from '../lib/errors.js'
import {lockInventory} from '../lib/lock.js'
import {stateDirFor} from '../state/state.js'
import {shellPoolFor, type ConnectionSettings, type FleetDependencies} from './connections.js'
import type {ConvergeReport} from './converge-report.js'
import {convergeFleet, convergeOptionsFor} from './converge.js'
import {loadFleet} from './fleet-loader.js'
import type {PresharedKeyPairResult} from './preshared-keys.js'

export interface RotatePskRequest extends ConnectionSettings {
  inventory: string
  /** NODE arguments: the pairs involving them; empty = every pair. */
  nodes: string[]
  concurrency: number
  verifyTimeoutSeconds: number
  silent: boolean
}

/** Typed result (output/rotate-psk-view.ts): the pairs renewed (or not), then the converge around it. */
export interface RotatePskReport {
  result: Outcome
  /** The pairs the run gave a new key (`created`), or could not (`failed`). */
  pairs: PresharedKeyPairResult[]
  converge: ConvergeReport
}

/** Every NODE an inventory node, each once; preshared keys on (exit 2 before anything is opened). */
export function presharedKeyTargets(nodeNames: readonly string[], nodes: readonly string[], enabled: boolean): ReadonlySet<string> | 'all' {
  if (!enabled) throw new UsageError('preshared keys are off in this inventory: there is none to rotate', 'add `preshared_keys = true` to [network], then run wgfleet init')
  const unknown = nodes.filter((n) => !nodeNames.includes(n))
  if (unknown.length > 0) throw new UsageError(`${unknown.map((n) => JSON.stringify(escapeInvisible(n))).join(', ')}: no such node in the inventory`, `nodes: ${nodeNames.join(', ')}`)
  const twice = nodes.filter((n, i) => nodes.indexOf(n) !== i)
  if (twice.length > 0) throw new UsageError(`${[...new Set(twice)].join(', ')} given more than once`, 'name each node once')
  return nodes.length === 0 ? 'all' : new Set(nodes)
}

export async function runRotatePsk(request: RotatePskRequest, deps: FleetDependencies = {}): Promise<RotatePskReport> {
  const fleet = await loadFleet(request.inventory)
  const targets = presharedKeyTargets(fleet.nodes.map((n) => n.name), request.nodes, fleet.network.presharedKeys === true)
  const unlock = await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  const shells = shellPoolFor(fleet, request, deps)
  try {
    const signal = 'signal' in unlock ? unlock.signal : undefined
    const renew = targets === 'all' ? () => true : (a: string, b: string) => targets.has(a) || targets.has(b)
    const converge = await convergeFleet(fleet, convergeOptionsFor({command: 'rotate-psk', request, openShell: shells.open, clock: deps.clock, signal}, {renewPresharedKeys: renew}))
    const pairs = converge.presharedKeys ?? []
    const failed = pairs.some((p) => p.result === 'failed')
    return {result: converge.result === 'ok' && failed ? 'partial' : converge.result, pairs, converge}
  } finally {
    await shells.closeAll()
    await unlock()
  }
}
