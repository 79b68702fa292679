/** The one-call way from an inventory node to a ready RemoteShell, over the node's transport. */
import type {Fleet, NodeSpec, SshTransport} from '../inventory/model.js'
import {BugError} from '../lib/errors.js'
import {SshError} from './errors.js'
import {type ConfigEvaluator, defaultConfigEvaluator, findOnPath} from './evaluate.js'
import {type ControlDirectory, connectOpenSsh} from './openssh-transport.js'
import {connectNode, type ConnectOptions} from './session.js'
import {SshRemoteShell, openTranscript, transcriptFileFrom} from './shell.js'
import {chooseTransport, resolveNodeTarget} from './target.js'

export interface OpenShellOptions extends ConnectOptions {
  /** --known-hosts */
  knownHostsFlag?: string
  /** --transport (wins over the inventory's). */
  transport?: SshTransport
  /** Who evaluates the ssh config (default: one per process, see defaultConfigEvaluator). */
  evaluator?: ConfigEvaluator
  /** Where the openssh transport keeps its ControlMaster sockets (the pool removes it at the end). */
  controlDirectory?: ControlDirectory
  /** The `ssh` the openssh transport runs (default: `ssh` on PATH). */
  sshBinary?: string
  /** Transcript file (defaults to env WGFLEET_TRANSCRIPT). */
  transcriptFile?: string
}

/** Resolve a node's target, connect (through its jumps) and return a RemoteShell over it. */
export async function openShell(fleet: Fleet, node: NodeSpec | string, options: OpenShellOptions = {}): Promise<SshRemoteShell> {
  const spec = typeof node === 'string' ? fleet.nodes.find((candidate) => candidate.name === node) : node
  if (!spec) throw new BugError(`openShell: no node ${String(node)} in the fleet`)
  const target = await resolveNodeTarget(fleet, spec, {
    evaluator: options.evaluator ?? defaultConfigEvaluator(),
    knownHostsFlag: options.knownHostsFlag,
    connectTimeoutMs: options.connectTimeoutMs,
    env: options.env,
  })
  const transport = chooseTransport(spec, options.transport)
  const sshBinary = transport === 'openssh' ? (options.sshBinary ?? findOnPath('ssh', options.env ?? process.env)) : undefined
  if (transport === 'openssh' && !sshBinary) {
    throw new SshError('ssh-config', spec.name, 'transport openssh needs OpenSSH\'s `ssh`, which is not on PATH', {
      hint: 'install the OpenSSH client (e.g. apt-get install openssh-client), or use transport = ssh2',
    })
  }
  // A transcript that must be refused is refused before anything goes over the wire.
  const transcriptFile = transcriptFileFrom(options)
  const transcript = transcriptFile ? openTranscript(transcriptFile, spec.name) : undefined
  try {
    let session
    if (sshBinary) {
      if (!options.controlDirectory) throw new BugError('openShell: the openssh transport needs a control directory')
      session = await connectOpenSsh(target, {...options, sshBinary, controlDirectory: options.controlDirectory})
    } else {
      session = await connectNode(target, options)
    }
    return new SshRemoteShell(session, {stepTimeoutMs: options.stepTimeoutMs, transcript})
  } catch (error) {
    transcript?.close()
    throw error
  }
}
