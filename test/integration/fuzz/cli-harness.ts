/**
 * Running the built CLI against damaged input, many cases at a time, each in its own folder with its own
 * connection-counting listener — so that a connection attempt is pinned on the case that made it.
 *
 * Every case folder holds what a run needs to really connect when its input is (wrongly) accepted: a
 * usable SSH key (`id_ed25519`, without one wgfleet gives up before dialling and a missed error would go
 * unnoticed), an empty `known_hosts`, and HOME pointing at the folder (nothing under the real ~/.ssh is
 * read or written). Only 127.0.0.1 is ever dialled.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {connectionCounter, runCli, type CliResult} from '../cli/helpers.js'
import {usableKeyPair} from '../../helpers/keys.js'

/** A stack frame in output: "    at fn (file.js:12:34)". */
export const STACK_TRACE = /\n\s+at .*:\d+:\d+/
export const INTERNAL_ERROR = /internal error/i
const DIST_MISSING = /MODULE_NOT_FOUND|ERR_MODULE_NOT_FOUND|Cannot find module '[^']*\/dist\//

/** One key for every case folder (generating one per case costs time for nothing). */
let sharedKey: string | undefined
function clientKey(): string {
  sharedKey ??= usableKeyPair('ed25519').private
  return sharedKey
}

export interface CaseFolder {
  dir: string
  /** `<dir>/inventory.ini` (also what ./inventory.ini, the default -i, finds with cwd = dir). */
  inventory: string
}

let root: string | undefined

/** Removes every case folder made so far (call it from afterAll). */
export function removeCaseFolders(): void {
  if (root) rmSync(root, {recursive: true, force: true})
  root = undefined
}

/** A fresh folder with the inventory `bytes`, a key and an empty known_hosts. */
export function caseFolder(bytes: Buffer | string, label: string): CaseFolder {
  root ??= mkdtempSync(join(tmpdir(), 'wgfleet-fuzz-'))
  const dir = mkdtempSync(join(root, `${label.replace(/[^a-zA-Z0-9-]+/g, '_').slice(0, 40)}-`))
  mkdirSync(dir, {recursive: true})
  const inventory = join(dir, 'inventory.ini')
  writeFileSync(inventory, bytes)
  writeFileSync(join(dir, 'id_ed25519'), clientKey(), {mode: 0o600})
  writeFileSync(join(dir, 'known_hosts'), '')
  return {dir, inventory}
}

export interface CountedRun extends CliResult {
  /** Connection attempts the case's listener saw (after a short grace period for late dials). */
  connections: number
  /** Whether the inventory file still holds exactly the bytes it was written with. */
  inventoryUnchanged: boolean
  /** The inventory bytes the case wrote (with the listener's port). */
  written: Buffer
}

/**
 * Runs `wgfleet ARGS` for one case: `makeArgs` gets the listener's port and returns the inventory bytes
 * and the arguments (which may name the case folder's files).
 */
export async function runCounted(
  label: string,
  setup: (port: number) => {bytes: Buffer | string; args: (folder: CaseFolder) => string[]; env?: NodeJS.ProcessEnv},
): Promise<CountedRun & {folder: CaseFolder; args: string[]}> {
  const listener = await connectionCounter()
  try {
    const {bytes, args: makeArgs, env} = setup(listener.port)
    const folder = caseFolder(bytes, label)
    const args = makeArgs(folder)
    const options = {
      cwd: folder.dir,
      // NODE_ENV=test (vitest sets it) puts oclif in its development path: it looks for TypeScript sources and
      // tries to register tsx/ts-node on every start — twice the start-up time, and not how anyone runs wgfleet.
      env: {HOME: folder.dir, NODE_ENV: undefined, SSH_AUTH_SOCK: undefined, WGFLEET_INVENTORY: undefined, WGFLEET_TRANSCRIPT: undefined, ...env},
    }
    let result = await runCli(args, options)
    // `npm run build` starts with rm -rf dist: a build running next to the suite makes commands vanish for
    // a moment. That is not the case's doing — wait for the build and run it again.
    for (let attempt = 1; attempt <= 5 && DIST_MISSING.test(result.stderr); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 2000 * attempt))
      result = await runCli(args, options)
    }
    // A dial started just before exit still lands: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 20))
    const written = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)
    return {...result, connections: listener.count(), inventoryUnchanged: readFileSync(folder.inventory).equals(written), written, folder, args}
  } finally {
    await listener.close()
  }
}

/** Runs `work` over `items`, `limit` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!, index)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}

/** How many CLI runs go at once (WGFLEET_FUZZ_JOBS, default 4). */
export const CLI_JOBS = Math.max(1, Number(process.env.WGFLEET_FUZZ_JOBS) || 4)

/** A short, printable excerpt of output for a failure message. */
export function excerpt(text: string, max = 400): string {
  const flat = JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text)
  return flat
}

/** What is wrong with a run that had to be refused (exit 2, a message, no stack, no connection). */
export function refusalProblems(run: CountedRun, options: {json: boolean}): string[] {
  const problems: string[] = []
  if (run.code !== 2) problems.push(`exit code ${run.code}, expected 2`)
  if (run.connections > 0) problems.push(`${run.connections} connection attempt(s) reached the listener`)
  if (!run.inventoryUnchanged) problems.push('the inventory file was changed')
  for (const [name, text] of [['stdout', run.stdout], ['stderr', run.stderr]] as const) {
    if (STACK_TRACE.test(text)) problems.push(`a stack trace on ${name}`)
    if (INTERNAL_ERROR.test(text)) problems.push(`"internal error" on ${name}`)
  }
  if (options.json && run.stdout.trim() !== '') {
    // With --json, what is on stdout must be the one JSON document: the error.
    try {
      const doc = JSON.parse(run.stdout) as {error?: {message?: unknown; exitCode?: unknown}}
      if (!doc.error || typeof doc.error.message !== 'string' || doc.error.message.trim() === '') problems.push('--json: stdout is JSON but holds no error message')
      else if (doc.error.exitCode !== 2) problems.push(`--json: error.exitCode is ${String(doc.error.exitCode)}, expected 2`)
    } catch {
      problems.push('--json: stdout is not one JSON document')
    }
  } else {
    if (options.json && !/\S/.test(run.stderr)) problems.push('--json: neither a JSON error on stdout nor a message on stderr')
    if (!options.json) {
      if (run.stdout.trim() !== '') problems.push('output on stdout for a refused run')
      if (!/\S/.test(run.stderr)) problems.push('no message on stderr')
      else if (!/error/i.test(run.stderr)) problems.push('the message on stderr does not say "Error"')
    }
  }
  return problems
}

/** A failure line: the case, what was run, what went wrong, what the CLI said. */
export function describeFailure(id: string, run: CountedRun & {args: string[]}, problems: string[], note?: string): string {
  return [
    `${id}: ${problems.join('; ')}`,
    ...(note ? [`    damage: ${note}`] : []),
    `    ran: wgfleet ${run.args.map((a) => (/^[\w./:=@,+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`,
    `    exit ${run.code}, ${run.connections} connection(s); stderr ${excerpt(run.stderr)}; stdout ${excerpt(run.stdout, 200)}`,
  ].join('\n')
}
