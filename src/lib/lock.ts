/**
 * One changing run per inventory at a time (docs/design.md §5.7). The lock lives in `.wgfleet/` beside the
 * inventory; a second run fails at once (exit 1) instead of waiting. Read-only commands never take it.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import lockfile from 'proper-lockfile'

import {LockedError} from './errors.js'

export async function lockInventory(inventoryFile: string, stateDir: string): Promise<() => Promise<void>> {
  await mkdir(stateDir, {recursive: true})
  const lockPath = join(stateDir, 'run.lock')
  try {
    return await lockfile.lock(inventoryFile, {lockfilePath: lockPath, retries: 0, stale: 30_000, realpath: false})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new LockedError(`another wgfleet run holds the lock on ${inventoryFile}`, `wait for it to finish (lock: ${lockPath}); a lock older than 30 s without updates is taken over`)
    }
    throw error
  }
}
