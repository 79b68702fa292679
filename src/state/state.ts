/**
 * `.wgfleet/` beside the inventory: public data only — each node's public key, the host facts the
 * rendering depends on, and the config last applied to it (as rendered: the private-key marker, never a
 * key). It lets `plan` diff, and lets a run that cannot reach a node still render that node's peers on
 * every other node (a partial run must never wipe peers).
 */
import {mkdir, open, readFile, readdir, rename, rm} from 'node:fs/promises'
import {isIP} from 'node:net'
import {dirname, join} from 'node:path'

import {isLabel} from '../inventory/values.js'
import type {HostFacts} from '../plan/model.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {isWireGuardKey} from '../wireguard/keys.js'

export const STATE_DIR_NAME = '.wgfleet'

export interface NodeState {
  /** The node's pinned public key (plan/key-trust decides when it may change). */
  publicKey?: string
  /**
   * A key rotation wgfleet started: the new public key, recorded before the host switches to it. It is
   * the one new key accepted without --accept-key-change; cleared once the host reports it.
   */
  pendingPublicKey?: string
  facts?: HostFacts
  /** ISO time of the last successful apply (state only; never rendered into a config). */
  appliedAt?: string
}

export interface FleetState {
  version: 1
  nodes: Record<string, NodeState>
}

/** Part of state.json that was ignored on load (and so is never written back): the node, and which part. */
export interface StateProblem {
  node: string
  /** `entry`: the whole entry (a name that is no node name, or not an object). */
  field: 'entry' | 'publicKey' | 'pendingPublicKey' | 'facts' | 'appliedAt'
}

export interface LoadedState {
  state: FleetState
  ignored: StateProblem[]
}

export interface StateStore {
  readonly dir: string
  /** The state, with what is malformed in it left out. */
  load(): Promise<FleetState>
  /** The state and what of it was left out as malformed (to warn about). */
  read(): Promise<LoadedState>
  /** The config text last applied to NODE, or null. */
  appliedConfig(node: string): Promise<string | null>
  /** Merge `update` into NODE's state and write atomically. */
  updateNode(node: string, update: NodeState): Promise<void>
  /** Merge each node's update (one write for all). */
  updateNodes(updates: Record<string, NodeState>): Promise<void>
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
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn)
    queue = next.catch(() => undefined)
    return next
  }

  const read = async (): Promise<LoadedState> => {
    let text: string
    try {
      text = await readFile(stateFile, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {state: {version: 1, nodes: {}}, ignored: []}
      throw error
    }
    let parsed: {version?: unknown; nodes?: unknown}
    try {
      parsed = JSON.parse(text) as typeof parsed
      if (parsed?.version !== 1 || !isRecord(parsed.nodes)) throw new Error('unknown layout')
    } catch (error) {
      throw new WgfleetError(`state file ${stateFile} is unreadable: ${(error as Error).message}`, {
        hint: `it holds only public data; move it away and run \`wgfleet init\` to rebuild it`,
        exitCode: 1,
      })
    }
    const {nodes, ignored} = validateStateNodes(parsed.nodes as Record<string, unknown>)
    return {state: {version: 1, nodes}, ignored}
  }
  const load = async (): Promise<FleetState> => (await read()).state

  const updateNodes = (updates: Record<string, NodeState>) =>
    serially(async () => {
      for (const [node, update] of Object.entries(updates)) assertStorable(node, update)
      const state = await load()
      for (const [node, update] of Object.entries(updates)) state.nodes[node] = {...state.nodes[node], ...update}
      await save(state)
    })

  const save = async (state: FleetState) => {
    await mkdir(dir, {recursive: true, mode: 0o755})
    await writeAtomically(stateFile, JSON.stringify(state, null, 2) + '\n')
  }

  return {
    dir,
    load,
    read,
    async appliedConfig(node) {
      try {
        return await readFile(configFile(node), 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw error
      }
    },
    updateNode: (node, update) => updateNodes({[node]: update}),
    updateNodes,
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

/**
 * State is read back into configs and plans: an entry whose name is no node name, a key that is not a
 * WireGuard key, or facts a config cannot carry are left out (and reported), never fatal for the whole
 * fleet. Fields this version does not know are kept as they are.
 */
export function validateStateNodes(raw: Record<string, unknown>): {nodes: Record<string, NodeState>; ignored: StateProblem[]} {
  const nodes: Record<string, NodeState> = {}
  const ignored: StateProblem[] = []
  for (const [name, value] of Object.entries(raw)) {
    if (!isLabel(name) || !isRecord(value)) {
      ignored.push({node: name, field: 'entry'})
      continue
    }
    const entry: Record<string, unknown> = {...value}
    for (const field of ['publicKey', 'pendingPublicKey'] as const) {
      if (entry[field] !== undefined && !(typeof entry[field] === 'string' && isWireGuardKey(entry[field]))) {
        delete entry[field]
        ignored.push({node: name, field})
      }
    }
    if (entry.facts !== undefined && !isUsableFacts(entry.facts)) {
      delete entry.facts
      ignored.push({node: name, field: 'facts'})
    }
    if (entry.appliedAt !== undefined && typeof entry.appliedAt !== 'string') {
      delete entry.appliedAt
      ignored.push({node: name, field: 'appliedAt'})
    }
    nodes[name] = entry as NodeState
  }
  return {nodes, ignored}
}

function isUsableFacts(facts: unknown): facts is HostFacts {
  if (!isRecord(facts)) return false
  if (facts.uplink !== undefined && !(typeof facts.uplink === 'string' && isInterfaceName(facts.uplink))) return false
  const sources = facts.managementSources
  return sources === undefined || (Array.isArray(sources) && sources.every((s) => typeof s === 'string' && isIP(s) !== 0))
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Each node's host facts as state has them (for nodes not probed in this run). */
export function factsInState(state: FleetState): Record<string, HostFacts> {
  const facts: Record<string, HostFacts> = {}
  for (const [name, node] of Object.entries(state.nodes)) if (node.facts) facts[name] = node.facts
  return facts
}

/** What wgfleet writes must read back: a malformed key never reaches state.json. */
function assertStorable(node: string, update: NodeState): void {
  if (!isLabel(node)) throw new BugError(`state for ${JSON.stringify(node)}, which is no node name`)
  for (const key of [update.publicKey, update.pendingPublicKey]) {
    if (key !== undefined && !isWireGuardKey(key)) throw new BugError(`${node}: refusing to record ${JSON.stringify(key)} as a public key`)
  }
}
