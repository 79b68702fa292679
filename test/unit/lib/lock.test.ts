/**
 * The inventory lock against the real file system (proper-lockfile as used by every changing run), with
 * proper-lockfile's shortest timing: stale after 2 s, refreshed every 1 s.
 */
import {existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {LockedError} from '../../../src/lib/errors.js'
import {LockLostError, lockInventory, type InventoryLock} from '../../../src/lib/lock.js'

const FAST = {staleMs: 2_000, updateMs: 1_000}

let dir: string
let inventory: string
let stateDir: string
const uncaught: unknown[] = []
const onUncaught = (error: unknown) => uncaught.push(error)

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-lock-'))
  inventory = join(dir, 'inventory.ini')
  writeFileSync(inventory, '[network]\n')
  stateDir = join(dir, '.wgfleet')
  uncaught.length = 0
  process.on('uncaughtException', onUncaught)
})
afterEach(() => {
  process.off('uncaughtException', onUncaught)
  rmSync(dir, {recursive: true, force: true})
})

/**
 * The reason the lock's signal aborts with, or undefined when it has not within `ms` (proper-lockfile
 * notices a lost lock at its next refresh, 1 s here). Waits the whole time when nothing reports: an
 * uncaught exception in the meantime is then seen too.
 */
async function lossOf(lock: InventoryLock, ms = 3_000): Promise<unknown> {
  const deadline = Date.now() + ms
  while (!lock.signal?.aborted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  return lock.signal?.aborted ? lock.signal.reason : undefined
}

describe('lockInventory', () => {
  it('holds the lock until released; a second run fails at once with LockedError', async () => {
    const unlock = await lockInventory(inventory, stateDir, FAST)
    await expect(lockInventory(inventory, stateDir, FAST)).rejects.toBeInstanceOf(LockedError)
    await unlock()
    expect(existsSync(join(stateDir, 'run.lock'))).toBe(false)
    const again = await lockInventory(inventory, stateDir, FAST)
    await again()
    expect(again.signal.aborted).toBe(false)
  })

  it('.wgfleet deleted mid-run: no uncaught exception; the signal aborts and the release fails with LockLostError', async () => {
    const unlock = await lockInventory(inventory, stateDir, FAST)
    rmSync(stateDir, {recursive: true, force: true})
    const reason = await lossOf(unlock)
    expect(uncaught).toEqual([])
    expect(reason).toBeInstanceOf(LockLostError)
    const error = reason as LockLostError
    expect(error.message).toBe(`lost the lock on ${inventory} during the run: ${join(stateDir, 'run.lock')} was deleted; no change was started after that`)
    expect(error.exitCode).toBe(1)
    expect(error.hint).toMatch(/rerun/)
    expect(() => unlock.signal.throwIfAborted()).toThrow(LockLostError)
    await expect(unlock()).rejects.toBe(error)
  })

  it('a lock left stale (a suspended laptop) and taken over by another run: lost here, held there', async () => {
    const first = await lockInventory(inventory, stateDir, FAST)
    // As if this process had not refreshed it for an hour: the next run may take it over.
    const anHourAgo = new Date(Date.now() - 3_600_000)
    utimesSync(join(stateDir, 'run.lock'), anHourAgo, anHourAgo)
    const second = await lockInventory(inventory, stateDir, FAST)
    const reason = await lossOf(first)
    expect(uncaught).toEqual([])
    expect(reason).toBeInstanceOf(LockLostError)
    expect((reason as Error).message).toMatch(/not refreshed for over 2 s \(was this machine suspended\?\) and another run may have taken it over/)
    // Releasing the lost lock leaves the other run's lock alone.
    await expect(first()).rejects.toBeInstanceOf(LockLostError)
    expect(existsSync(join(stateDir, 'run.lock'))).toBe(true)
    expect(second.signal.aborted).toBe(false)
    await second()
    expect(existsSync(join(stateDir, 'run.lock'))).toBe(false)
  })
})
