/**
 * The preshared keys' part of a converge (`preshared_keys = true`; plan/preshared-keys decides, this runs
 * it): between the key barrier and the apply, each pair that needs a new key gets one made on its
 * generating end (`psk.sh generate`: printed, nothing written) and stored on both ends at once (`psk.sh
 * store`: file, running entry, config) — so that both sides hold it before the next handshake, and a key
 * is only ever in wgfleet's memory on its way (never in state, logs, errors or the transcript). Then the
 * plan is made again if some entry has to go without a key for now (its peer was not reached).
 * A rerun with nothing to do runs nothing here: the probe's report of names and digests is enough.
 */
import type {Fleet} from '../inventory/model.js'
import {entriesWithoutKey, planFleet, planPresharedKeys, type KnownHosts, type PlanOptions, type PresharedKeyDigest, type PresharedKeyPair} from '../plan/index.js'
import type {FleetPlan} from '../plan/model.js'
import type {PresharedKeyFile} from '../remote/preshared-keys.js'
import {deletePresharedKeys, generatePresharedKeys, storePresharedKeys, type PresharedKeyToStore, type PresharedKeyValue} from '../tasks/psk-steps.js'
import type {RemoteShell} from '../tasks/remote-shell.js'
import {runPerNode} from '../tasks/runner.js'

/** One pair's key in this run (what rotate-psk reports; init's report carries it too). */
export interface PresharedKeyPairResult {
  /** The two ends, the generating one first. */
  nodes: [string, string]
  result: 'created' | 'would-create' | 'failed'
}

export interface PresharedKeySettlement {
  /** The plan to apply: the one given, or made again with the entries that go without a key. */
  plan: FleetPlan
  pairs: PresharedKeyPairResult[]
  /** Nodes whose generate or store failed: they fail, and are not applied. */
  failures: Map<string, unknown>
  /** Node → its files to remove once its config no longer names them (after its apply). */
  remove: Map<string, string[]>
  /** Node → the peers whose key it stored in this run (its steps). */
  stored: Map<string, string[]>
}

export interface SettleArgs {
  fleet: Fleet
  plan: FleetPlan
  known: KnownHosts
  planOptions: PlanOptions
  /** Reached and trusted nodes, with their shells and what their probes reported. */
  reached: ReadonlyMap<string, {shell: RemoteShell; presharedKeys: ReadonlyMap<string, PresharedKeyFile>}>
  dryRun: boolean
  silent: boolean
  signal?: AbortSignal
  /** rotate-psk: pairs renewed whatever they hold. */
  renew?: (a: string, b: string) => boolean
}

export async function settlePresharedKeys(args: SettleArgs): Promise<PresharedKeySettlement> {
  const {fleet, reached} = args
  const files = new Map<string, Map<string, PresharedKeyDigest>>([...reached].map(([name, r]) => [name, new Map(r.presharedKeys)]))
  const work = planPresharedKeys({plan: args.plan, reached: new Set(reached.keys()), files, renew: args.renew})
  const failures = new Map<string, unknown>()
  const stored = new Map<string, string[]>()
  let pairs: PresharedKeyPairResult[]

  if (args.dryRun) {
    pairs = work.create.map((p) => ({nodes: [p.generator, p.other], result: 'would-create'}))
    // Those would get their key: none of their entries goes without one.
    for (const p of work.create) {
      files.get(p.generator)!.set(p.other, {digest: 'pending'})
      files.get(p.other)!.set(p.generator, {digest: 'pending'})
    }
  } else {
    pairs = await createKeys(args, work.create, files, failures, stored)
  }

  const alive = new Set([...reached.keys()].filter((name) => !failures.has(name)))
  const without = entriesWithoutKey(args.plan, alive, files)
  const plan = Object.keys(without).length === 0 ? args.plan : planFleet(fleet, {...args.known, withoutPresharedKey: without}, args.planOptions)
  return {plan, pairs, failures, remove: work.remove, stored}
}

/** Generate on each generating end (one exec for all its pairs), then store on every end at once. */
async function createKeys(
  args: SettleArgs,
  create: PresharedKeyPair[],
  files: Map<string, Map<string, PresharedKeyDigest>>,
  failures: Map<string, unknown>,
  stored: Map<string, string[]>,
): Promise<PresharedKeyPairResult[]> {
  if (create.length === 0) return []
  const iface = args.fleet.network.interface
  const byGenerator = new Map<string, PresharedKeyPair[]>()
  for (const pair of create) byGenerator.set(pair.generator, [...(byGenerator.get(pair.generator) ?? []), pair])
  const values = new Map<PresharedKeyPair, PresharedKeyValue>()
  const generated = await runPerNode(
    [...byGenerator.keys()],
    async (name, progress) => {
      args.signal?.throwIfAborted()
      const pairs = byGenerator.get(name)!
      progress(`making ${pairs.length} preshared key${pairs.length === 1 ? '' : 's'}`)
      const keys = await generatePresharedKeys(args.reached.get(name)!.shell, iface, pairs.length)
      pairs.forEach((pair, i) => values.set(pair, keys[i]!))
    },
    {concurrency: Math.max(1, byGenerator.size), silent: args.silent},
  )
  for (const [name, outcome] of generated) if (!outcome.ok) failures.set(name, outcome.error)

  // Every end of every pair with a key, all at once: both sides of a pair take it within one round trip.
  const toStore = new Map<string, PresharedKeyToStore[]>()
  const publicKeyOf = (name: string) => (Object.hasOwn(args.known.publicKeys, name) ? args.known.publicKeys[name]! : null)
  for (const [pair, key] of values) {
    for (const [end, peer] of [[pair.generator, pair.other], [pair.other, pair.generator]] as const) {
      toStore.set(end, [...(toStore.get(end) ?? []), {peer, publicKey: publicKeyOf(peer), key}])
    }
  }
  const storedOutcomes = await runPerNode(
    [...toStore.keys()],
    async (name, progress) => {
      args.signal?.throwIfAborted()
      progress('storing preshared keys')
      const report = await storePresharedKeys(args.reached.get(name)!.shell, iface, toStore.get(name)!)
      files.set(name, new Map(report))
      return report
    },
    {concurrency: Math.max(1, toStore.size), silent: args.silent},
  )
  const position = new Map(args.fleet.nodes.map((n, i) => [n.name, i]))
  for (const [name, outcome] of storedOutcomes) {
    // Peer names in inventory order (the report's, whatever order the pairs were made in).
    if (outcome.ok) stored.set(name, toStore.get(name)!.map((k) => k.peer).sort((a, b) => position.get(a)! - position.get(b)!))
    else failures.set(name, outcome.error)
  }
  return create.map((pair) => {
    const ok = values.has(pair) && !failures.has(pair.generator) && !failures.has(pair.other)
    return {nodes: [pair.generator, pair.other], result: ok ? 'created' : 'failed'}
  })
}

/** After a node's apply: its files that no entry uses any more. */
export async function removeUnusedKeys(shell: RemoteShell, iface: string, peers: readonly string[] | undefined): Promise<string[]> {
  if (!peers || peers.length === 0) return []
  await deletePresharedKeys(shell, iface, peers)
  return [...peers]
}
