/**
 * Running over many nodes: a bounded-concurrency map (for --concurrency outside listr2, e.g. status and
 * doctor), and the one-call way from an inventory node to a ready RemoteShell.
 */
import type SSHConfig from 'ssh-config'
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {WgfleetError} from '../lib/errors.js'
import {connectNode, type ConnectOptions} from './session.js'
import {SshRemoteShell, openTranscript, transcriptFileFrom} from './shell.js'
import {loadSshConfig, resolveSshTarget} from './target.js'

/**
 * Run `fn` over `items` with at most `concurrency` at a time. Settles every item: one failure never
 * stops the others (results are in input order).
 */
export async function runBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length)
  const workers = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length))
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      try {
        results[index] = {status: 'fulfilled', value: await fn(items[index]!, index)}
      } catch (reason) {
        results[index] = {status: 'rejected', reason}
      }
    }
  }
  await Promise.all(Array.from({length: workers}, worker))
  return results
}

export interface OpenShellOptions extends ConnectOptions {
  /** --known-hosts */
  knownHostsFlag?: string
  /** Parsed ssh config: undefined = read ~/.ssh/config now; null = ignore ssh config. */
  sshConfig?: SSHConfig | null
  /** Transcript file (defaults to env WGFLEET_TRANSCRIPT). */
  transcriptFile?: string
}

/** Resolve a node's target, connect (through its jumps) and return a RemoteShell over it. */
export async function openShell(fleet: Fleet, node: NodeSpec | string, options: OpenShellOptions = {}): Promise<SshRemoteShell> {
  const spec = typeof node === 'string' ? fleet.nodes.find((candidate) => candidate.name === node) : node
  if (!spec) throw new Error(`BUG: openShell: no node ${String(node)} in the fleet`)
  const sshConfig = options.sshConfig === undefined ? readUserSshConfig() : (options.sshConfig ?? undefined)
  const target = resolveSshTarget(fleet, spec, {
    sshConfig,
    knownHostsFlag: options.knownHostsFlag,
    connectTimeoutMs: options.connectTimeoutMs,
    homeDir: options.homeDir,
  })
  // A transcript that must be refused is refused before anything goes over the wire.
  const transcriptFile = transcriptFileFrom(options)
  const transcript = transcriptFile ? openTranscript(transcriptFile, spec.name) : undefined
  try {
    const session = await connectNode(target, options)
    return new SshRemoteShell(session, {stepTimeoutMs: options.stepTimeoutMs, transcript})
  } catch (error) {
    transcript?.close()
    throw error
  }
}

/** ~/.ssh/config, or a clear error when it cannot be read or parsed. */
export function readUserSshConfig(file?: string): SSHConfig | undefined {
  try {
    return loadSshConfig(file)
  } catch (error) {
    throw new WgfleetError(`cannot read ssh config ${file ?? '~/.ssh/config'}: ${(error as Error).message}`, {
      cause: error,
      hint: 'fix the file (check it with `ssh -G HOST`)',
    })
  }
}
