/** The one-call way from an inventory node to a ready RemoteShell. */
import type SSHConfig from 'ssh-config'
import type {Fleet, NodeSpec} from '../inventory/model.js'
import {BugError, WgfleetError} from '../lib/errors.js'
import {connectNode, type ConnectOptions} from './session.js'
import {SshRemoteShell, openTranscript, transcriptFileFrom} from './shell.js'
import {loadSshConfig, resolveSshTarget} from './target.js'

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
  if (!spec) throw new BugError(`openShell: no node ${String(node)} in the fleet`)
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
