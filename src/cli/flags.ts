import {Errors, Flags} from '@oclif/core'

import {SSH_TRANSPORTS} from '../inventory/model.js'
import type {SshTransport} from '../inventory/model.js'
import {isLabel} from '../inventory/values.js'
import {escapeInvisible} from '../lib/errors.js'

/** -i/--inventory, shared by every command. */
export const inventoryFlag = Flags.string({
  char: 'i',
  summary: 'Inventory file.',
  default: './inventory.ini',
  env: 'WGFLEET_INVENTORY',
  helpValue: 'FILE',
})

/** Flags of every command that connects over SSH. */
export const connectionFlags = {
  concurrency: Flags.integer({summary: 'Nodes worked on at once.', default: 10, min: 1, max: 500, helpValue: 'N'}),
  // No default here: an unset flag defers to the ssh config's ConnectTimeout, else 10 s.
  'connect-timeout': Flags.integer({summary: 'Seconds to wait for each SSH connection (default: the ssh config\'s ConnectTimeout, else 10).', min: 1, max: 600, helpValue: 'SECONDS'}),
  transport: Flags.option({
    summary: 'Reach every node with ssh2 (wgfleet\'s own client) or openssh (your `ssh`, needed for certificates); default: each node\'s `transport`, else ssh2.',
    options: SSH_TRANSPORTS,
  })(),
  'known-hosts': Flags.string({
    summary: 'known_hosts file (default: known_hosts in the inventory, else the ssh config\'s UserKnownHostsFile and GlobalKnownHostsFile).',
    helpValue: 'FILE',
    // An empty value must not silently fall back to another file (where new keys would then be written).
    async parse(value) {
      if (value.trim() === '') throw new Errors.CLIError('--known-hosts needs a file name', {exit: 2})
      return value
    },
  }),
  'accept-new-host-keys': Flags.boolean({summary: 'Record host keys not yet in known_hosts instead of refusing them (not for a host whose ssh config says StrictHostKeyChecking yes; a changed key is always refused).', default: false}),
}

/** The connection settings every connecting service takes, from the parsed connection flags. */
export function connectionSettingsOf(flags: {
  concurrency: number
  'connect-timeout'?: number
  'known-hosts'?: string
  'accept-new-host-keys': boolean
  transport?: SshTransport
}) {
  return {
    concurrency: flags.concurrency,
    connectTimeoutSeconds: flags['connect-timeout'],
    knownHosts: flags['known-hosts'],
    acceptNewHostKeys: flags['accept-new-host-keys'],
    transport: flags.transport,
  }
}

/** --verify-timeout of the changing commands (init, add-node, remove-node). */
export const verifyTimeoutFlag = Flags.integer({summary: 'Seconds to wait for handshakes after a change.', default: 40, min: 0, max: 600, helpValue: 'SECONDS'})

/**
 * --accept-key-change NODE (repeatable) of init and add-node: NODE's public key may differ from the one
 * pinned in state (a reinstalled host). Never accepts another node's key, nor a key file that disagrees
 * with the running interface. Non-greedy: add-node's NAME argument is not taken for a second value.
 */
export const acceptKeyChangeFlag = Flags.string({
  summary: 'Trust NODE\'s new public key although state pins another (repeatable).',
  helpValue: 'NODE',
  multiple: true,
  multipleNonGreedy: true,
  async parse(value) {
    if (!isLabel(value)) throw new Errors.CLIError(`--accept-key-change ${escapeInvisible(JSON.stringify(value))} is not a node name`, {exit: 2})
    return value
  },
})
