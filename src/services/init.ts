/** `wgfleet init`: validate (exit 2, nothing opened), lock, converge, report. */
import {loadFleet} from './fleet-loader.js'
import {lockInventory} from '../lib/lock.js'
import {stateDirFor} from '../state/state.js'
import {convergeFleet, convergeOptionsFor} from './converge.js'
import {finishPendingRotations} from './rotate-key.js'
import type {ConvergeReport} from './converge-report.js'
import {shellPoolFor, type ConnectionSettings, type FleetDependencies} from './connections.js'

export interface InitRequest extends ConnectionSettings {
  inventory: string
  dryRun: boolean
  adopt: boolean
  concurrency: number
  verifyTimeoutSeconds: number
  /** --accept-key-change NODE. */
  acceptKeyChange?: string[]
  silent: boolean
}

export async function runInit(request: InitRequest, deps: FleetDependencies = {}): Promise<ConvergeReport> {
  const fleet = await loadFleet(request.inventory)
  // A dry run changes nothing, so it does not take the lock (like status and plan).
  const unlock = request.dryRun ? async () => undefined : await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  const shells = shellPoolFor(fleet, request, deps)
  try {
    // A rotation cut off (rotate-key interrupted) is finished, or rolled back, before the converge judges keys.
    const signal = 'signal' in unlock ? unlock.signal : undefined
    const rotations = request.dryRun ? [] : await finishPendingRotations(fleet, {openShell: shells.open, clock: deps.clock, signal})
    const report = await convergeFleet(
      fleet,
      convergeOptionsFor({command: 'init', request, openShell: shells.open, clock: deps.clock, signal}, {dryRun: request.dryRun, adopt: request.adopt, acceptKeyChange: request.acceptKeyChange}),
    )
    return rotations.length > 0 ? {...report, rotations} : report
  } finally {
    await shells.closeAll()
    await unlock()
  }
}
