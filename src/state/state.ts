/**
 * `.wgfleet/` beside the inventory: public data only — each node's public key, the host facts the
 * rendering depends on, and the config last applied to it (as rendered: the private-key marker, never a
 * key). It lets `plan` diff, and lets a run that cannot reach a node still render that node's peers on
 * every other node (a partial run must never wipe peers).
 */
import {mkdir, open, readFile, readdir, rename, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import type {HostFacts} from '../plan/model.js'
import {WgfleetError} from '../lib/errors.js'

export const STATE_DIR_NAME = '.wgfleet'

export interface NodeState {
  publicKey?: string
  facts?: HostFacts
  /** ISO time of the last successful apply (state only; never rendered into a config). */
  appliedAt?: string
}

export interface FleetState {
  version: 1
  nodes: Record<string, NodeState>
}

export interface StateStore {
  readonly dir: string
  load(): Promise<FleetState>
  /** The config text last applied to NODE, or null. */
  appliedConfig(node: string): Promise<string | null>
  /** Merge `update` into NODE's state and write atomically. */
  updateNode(node: string, update: NodeState): Promise<void>
  saveAppliedConfig(node: string, config: string): Promise<void>
  removeNode(node: string): Promise<void>
}

export function stateDirFor(inventoryDir: string): string {
  return join(inventoryDir, STATE_DIR_NAME)
}

export function openStateStore(inventoryDir: string): StateStore {
  const dir = stateDirFor(inventoryDir)
  const stateFile = join(dir, 'state.json')
  const configFile = (node: string) => join(dir, 'configs', `${node}.conf`)
  // Serialise writes from concurrent node tasks within one process.
  let queue: Promise<unknown> = Promise.resolve()
  let pending = new Map<string, Partial<NodeState>>()
  let flush: Promise<void> | undefined
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn)
    queue = next.catch(() => undefined)
    return next
  }

  const load = async (): Promise<FleetState> => {
    let text: string
    try {
      text = await readFile(stateFile, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {version: 1, nodes: {}}
      throw error
    }
    try {
      const parsed = JSON.parse(text) as FleetState
      if (parsed?.version !== 1 || typeof parsed.nodes !== 'object') throw new Error('unknown layout')
      return parsed
    } catch (error) {
      throw new WgfleetError(`state file ${stateFile} is unreadable: ${(error as Error).message}`, {
        hint: `it holds only public data; move it away and run \`wgfleet init\` to rebuild it`,
        exitCode: 1,
      })
    }
  }

  const save = async (state: FleetState) => {
    await mkdir(dir, {recursive: true, mode: 0o755})
    await writeAtomically(stateFile, JSON.stringify(state, null, 2) + '\n')
  }

  return {
    dir,
    load,
    async appliedConfig(node) {
      try {
        return await readFile(configFile(node), 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw error
      }
    },
    // Updates that arrive while a write is under way are merged into the next one: a fleet of N nodes
    // reporting in costs a few writes of state.json, not N reads and N (fsynced) writes of an O(N) file.
    updateNode: (node, update) => {
      const merged = {...pending.get(node), ...update}
      pending.set(node, merged)
      flush ??= serially(async () => {
        const batch = pending
        pending = new Map()
        flush = undefined
        const state = await load()
        for (const [name, changes] of batch) state.nodes[name] = {...state.nodes[name], ...changes}
        await save(state)
      })
      return flush
    },
    saveAppliedConfig: (node, config) =>
      serially(async () => {
        // A no-op run must not rewrite (and fsync) every node's file.
        const current = await readFile(configFile(node), 'utf8').catch(() => null)
        if (current === config) return
        await mkdir(join(dir, 'configs'), {recursive: true})
        await writeAtomically(configFile(node), config)
      }),
    removeNode: (node) =>
      serially(async () => {
        const state = await load()
        delete state.nodes[node]
        await save(state)
        await rm(configFile(node), {force: true})
      }),
  }
}

/** The file operations writeAtomically uses (node:fs/promises; a unit test wraps them to see the order). */
export interface AtomicWriteFs {
  open(path: string, flags: string, mode?: number): Promise<{writeFile(data: string): Promise<void>; sync(): Promise<void>; close(): Promise<void>}>
  rename(from: string, to: string): Promise<void>
  rm(path: string, options: {force: boolean}): Promise<void>
}

const nodeFs: AtomicWriteFs = {open, rename, rm}

/**
 * Write to a temp file in the same folder, flush it, rename it over the file, then flush the folder: a
 * reader never sees half a file, and after a crash or power loss the file is the old or the new one —
 * never empty (ext4/xfs may otherwise persist the rename before the data).
 */
export async function writeAtomically(path: string, content: string, mode = 0o644, fs: AtomicWriteFs = nodeFs): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  try {
    const file = await fs.open(tmp, 'wx', mode)
    try {
      await file.writeFile(content)
      await file.sync()
    } finally {
      await file.close()
    }
    await fs.rename(tmp, path)
  } catch (error) {
    await fs.rm(tmp, {force: true})
    throw error
  }
  await syncFolder(dirname(path), fs)
}

/** fsync a folder, so that a rename in it is on disk. Filesystems that cannot do it say so; that is no failure. */
async function syncFolder(folder: string, fs: AtomicWriteFs): Promise<void> {
  const handle = await fs.open(folder, 'r')
  try {
    await handle.sync()
  } catch (error) {
    if (!['EINVAL', 'ENOTSUP', 'EISDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
  } finally {
    await handle.close()
  }
}

/** Names of nodes with an applied config on record (for diffing removed nodes). */
export async function listAppliedConfigs(store: StateStore): Promise<string[]> {
  try {
    return (await readdir(join(store.dir, 'configs'))).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -5)).sort()
  } catch {
    return []
  }
}
