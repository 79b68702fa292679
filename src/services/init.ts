/** `wgfleet init`: validate (exit 2, nothing opened), lock, converge, report. */
import {loadInventory} from '../inventory/index.js'
import {lockInventory} from '../lib/lock.js'
import {stateDirFor} from '../state/state.js'
import {convergeFleet} from './converge.js'
import type {ConvergeReport} from './converge-report.js'
import {makeShellFactory, type ConnectionSettings} from './connections.js'

export interface InitRequest extends ConnectionSettings {
  inventory: string
  dryRun: boolean
  adopt: boolean
  concurrency: number
  verifyTimeoutSeconds: number
  silent: boolean
}

export async function runInit(request: InitRequest): Promise<ConvergeReport> {
  const fleet = await loadInventory(request.inventory)
  // A dry run changes nothing, so it does not take the lock (like status and plan).
  const unlock = request.dryRun ? async () => undefined : await lockInventory(fleet.file, stateDirFor(fleet.dir))
  const shells = makeShellFactory(fleet, request)
  try {
    return await convergeFleet(fleet, {
      dryRun: request.dryRun,
      adopt: request.adopt,
      concurrency: request.concurrency,
      silent: request.silent,
      verifyTimeoutSeconds: request.verifyTimeoutSeconds,
      staleAfterSeconds: 180,
      openShell: shells.open,
      command: 'init',
      signal: 'signal' in unlock ? unlock.signal : undefined,
    })
  } finally {
    await shells.closeAll()
    await unlock()
  }
}
