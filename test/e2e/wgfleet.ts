// Running the real CLI (bin/run.js, built by `npm run test:e2e`) in the lab's operator namespace.
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {INVENTORY, REPO_ROOT, RUN_DIR, labExec, labOp, type RunOptions, type RunResult} from './helpers.js'

export const BIN = join(REPO_ROOT, 'bin/run.js')
export const SCENARIO_NODES = ['node-a', 'node-b', 'node-c', 'node-d'] as const
export const OVERLAY: Record<string, string> = {'node-a': '10.0.0.1', 'node-b': '10.0.0.2', 'node-c': '10.0.0.3', 'node-d': '10.0.0.4'}

/** `wgfleet ARGS` in the operator namespace, against the lab inventory unless -i is given. */
export function wgfleet(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const withInventory = args.includes('-i') ? args : [...args, '-i', INVENTORY]
  // Every run leaves its transcript under .run/transcripts (for reading a failure afterwards).
  const transcriptDir = join(INVENTORY, '..', 'transcripts')
  mkdirSync(transcriptDir, {recursive: true})
  const transcript = join(transcriptDir, `${Date.now()}-${args[0]}.log`)
  const env = {WGFLEET_TRANSCRIPT: transcript, ...(opts.env ?? process.env)}
  return labOp(['env', 'NO_COLOR=1', process.execPath, BIN, ...withInventory], {timeoutMs: 300_000, ...opts, env})
}

/** Overlay addresses the lab inventory gives (read back from `plan --json`, so tests follow the lab). */
export async function overlayAddresses(inventory = INVENTORY): Promise<Record<string, string>> {
  const r = await wgfleet(['plan', '--json', '-i', inventory])
  if (r.code !== 0) throw new Error(`plan failed: ${r.stderr}`)
  const doc = JSON.parse(r.stdout) as {nodes: Array<{name: string; address: string}>}
  return Object.fromEntries(doc.nodes.map((n) => [n.name, n.address.split('/')[0]!]))
}

/** Read a file inside a lab host (as root). */
export async function hostFile(node: string, path: string): Promise<string> {
  const r = await labExec(node, ['cat', path])
  if (r.code !== 0) throw new Error(`cat ${path} on ${node}: ${r.stderr}`)
  return r.stdout
}

/** The identity of the running WireGuard interface: ifindex and the wireguard-go PID (restart detector). */
export async function interfaceIdentity(node: string, iface = 'wg0'): Promise<string> {
  const r = await labExec(node, `cat /sys/class/net/${iface}/ifindex; pgrep -x wireguard-go || true`)
  return r.stdout.trim()
}

/**
 * A variant of the lab inventory in its own fresh folder (its own .wgfleet state): the seed inventory edited.
 * Fresh: state left by an earlier run pins the keys of hosts that the lab has since recreated (every init of
 * the variant then fails with "a changed key is not trusted"); global setup also drops the variants.
 */
export function variant(name: string, edit: (text: string) => string): string {
  const dir = join(RUN_DIR, 'variants', name)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const file = join(dir, 'inventory.ini')
  writeFileSync(file, edit(readFileSync(INVENTORY, 'utf8')))
  return file
}

/** One finding of `wgfleet doctor --json`. */
export interface Finding {
  node: string
  severity: 'error' | 'warning'
  check: string
  message: string
  fix: string
  peer?: string
}

/** Every ordered pair of NODES that does not ping over the overlay (2 pings each; c ↔ d go through the relay). */
export async function overlayPingFailures(nodes: readonly string[], addresses: Record<string, string>): Promise<string[]> {
  const failures: string[] = []
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue
      const r = await labExec(from, ['ping', '-c', '2', '-W', '2', '-i', '0.3', addresses[to]!])
      if (r.code !== 0) failures.push(`${from} → ${to}`)
    }
  }
  return failures
}
