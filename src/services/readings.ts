/**
 * What the read-only commands (status, doctor) share: one exec of a host script per node, the classified
 * reason a node gave no reading, and the public keys the plan is judged with.
 */
import type {NodeSpec} from '../inventory/model.js'
import {WgfleetError} from '../lib/errors.js'
import type {HostFacts} from '../plan/model.js'
import {loadScript, type ScriptName} from '../remote/scripts.js'
import {SshError} from '../ssh/errors.js'
import type {NodeProblem} from '../judges/status.js'
import type {ShellFactory} from './converge.js'

export class ScriptFailedError extends WgfleetError {}

/** One connection, one privileged exec; the shell is closed at once (a large fleet must not hold every connection). */
export async function readNodeWith<T>(
  open: ShellFactory,
  node: NodeSpec,
  script: ScriptName,
  args: string[],
  timeoutMs: number,
  parse: (stdout: string) => T,
): Promise<T> {
  const shell = await open(node)
  try {
    // Privileged: `wg show`, firewall status and the key file need root.
    const result = await shell.run(loadScript(script), args, {timeoutMs, privileged: true})
    if (result.code !== 0) {
      const stderr = result.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ')
      throw new ScriptFailedError(`the ${script} script failed: ${stderr || `exit code ${result.code}`}`)
    }
    return parse(result.stdout)
  } finally {
    await shell.close().catch(() => undefined)
  }
}

/** The classified reason a node gave no reading (the node name is shown beside it already). */
export function problemOf(error: unknown): NodeProblem {
  if (error instanceof SshError) {
    const prefix = `${error.node}: `
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
    return {kind: error.kind, message, ...(error.hint ? {hint: error.hint} : {})}
  }
  if (error instanceof ScriptFailedError) return {kind: 'script-failed', message: error.message}
  if (error instanceof WgfleetError) return {kind: 'bad-output', message: error.message, ...(error.hint ? {hint: error.hint} : {})}
  return {kind: 'error', message: error instanceof Error ? error.message : String(error)}
}

/**
 * Public keys for the plan — state's, overridden by what reachable nodes report for themselves — and a
 * key → name map that also keeps state's older keys, so a stale key on an interface is still named.
 */
export function knownKeys(stateNodes: Record<string, {publicKey?: string; facts?: HostFacts}>, reported: Map<string, string | null | undefined>) {
  const publicKeys: Record<string, string> = {}
  const facts: Record<string, HostFacts> = {}
  const names = new Map<string, string>()
  for (const [name, node] of Object.entries(stateNodes)) {
    if (node.publicKey) {
      publicKeys[name] = node.publicKey
      names.set(node.publicKey, name)
    }
    if (node.facts) facts[name] = node.facts
  }
  for (const [name, key] of reported) {
    if (key) {
      publicKeys[name] = key
      names.set(key, name)
    }
  }
  return {publicKeys, facts, names}
}
