/**
 * One changing run per inventory at a time (docs/design.md §5.7). The lock lives in `.wgfleet/` beside the
 * inventory; a second run fails at once (exit 1) instead of waiting. Read-only commands never take it.
 *
 * A held lock can be lost: its folder deleted mid-run, or — after this process was suspended or stalled
 * for longer than the stale time — taken over by another run. proper-lockfile then calls onCompromised
 * (by default it throws from a timer: an uncaught exception). Here that aborts the lock's `signal`: the
 * run starts no new change, lets the steps in flight finish, and `release()` fails with LockLostError.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import lockfile from 'proper-lockfile'

import {LockedError, WgfleetError} from './errors.js'

/** A lock not refreshed for this long is taken over by the next run (proper-lockfile refreshes it every half). */
const STALE_MS = 30_000

/**
 * A held lock. Calling it releases it (as before: `const unlock = await lockInventory(...)`, then
 * `await unlock()` in a `finally`); the release rejects with the LockLostError when the lock was lost
 * during the run, so that run ends with that message and exit 1.
 */
export interface InventoryLock {
  (): Promise<void>
  /**
   * Aborted, with a LockLostError as its reason, once the lock is lost. Call `signal.throwIfAborted()`
   * before starting each change (a step that changes a host or a file).
   */
  readonly signal: AbortSignal
}

/** The lock was lost while the run held it: another run may be changing the same fleet. */
export class LockLostError extends WgfleetError {
  constructor(inventoryFile: string, lockPath: string, cause: Error, staleMs = STALE_MS) {
    const why = /stale threshold/.test(cause.message)
      ? `it was not refreshed for over ${staleMs / 1000} s (was this machine suspended?) and another run may have taken it over`
      : /^ENOENT/.test(cause.message)
        ? `${lockPath} was deleted`
        : cause.message
    super(`lost the lock on ${inventoryFile} during the run: ${why}; no change was started after that`, {
      cause,
      exitCode: 1,
      hint:
        'make sure no other wgfleet run works on this inventory, then rerun the command (a rerun converges); ' +
        'leave .wgfleet/ in place while a run goes on',
    })
  }
}

export interface LockTiming {
  /** Default 30 s; proper-lockfile's floor is 2 s (tests use that). */
  staleMs?: number
  /** How often the lock is refreshed; default half the stale time, at least 1 s. */
  updateMs?: number
}

export async function lockInventory(inventoryFile: string, stateDir: string, timing: LockTiming = {}): Promise<InventoryLock> {
  await mkdir(stateDir, {recursive: true})
  const lockPath = join(stateDir, 'run.lock')
  const staleMs = timing.staleMs ?? STALE_MS
  const lost = new AbortController()
  const onCompromised = (error: Error) => {
    if (!lost.signal.aborted) lost.abort(new LockLostError(inventoryFile, lockPath, error, staleMs))
  }
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(inventoryFile, {
      lockfilePath: lockPath,
      retries: 0,
      stale: staleMs,
      update: timing.updateMs,
      realpath: false,
      onCompromised,
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new LockedError(`another wgfleet run holds the lock on ${inventoryFile}`, `wait for it to finish (lock: ${lockPath}); a lock older than ${staleMs / 1000} s without updates is taken over`)
    }
    throw error
  }
  const unlock = async () => {
    // A lost lock may be another run's by now: never remove it.
    if (!lost.signal.aborted) {
      try {
        await release()
      } catch (error) {
        if (!lost.signal.aborted) throw error
      }
    }
    lost.signal.throwIfAborted()
  }
  return Object.assign(unlock, {signal: lost.signal})
}
