import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../cli/flags.js'
import {exitCodeOf} from '../lib/exit-codes.js'
import {renderRotateText, rotateToJson} from '../output/rotate-view.js'

export default class RotateKey extends BaseCommand {
  static override summary = "Rotate nodes' WireGuard keys: a new key pair on each host, its peers moved to it live."
  static override description = `Per node, one at a time: a new key pair is generated on the host (the private key never leaves it),
its public key recorded in state as pending, added on every peer as an extra entry without AllowedIPs;
then the node switches to the new private key and every peer moves the AllowedIPs to the new entry and
drops the old one in one \`wg set\` — only the node's own pairs lose packets, for well under a second.
Then every config on disk is written to match. An interrupted rotation is finished by the next
rotate-key or init.`
  static override examples = ['<%= config.bin %> rotate-key node-b', '<%= config.bin %> rotate-key --all --json']
  static override strict = false
  static override args = {
    node: Args.string({description: 'nodes to rotate (or --all)', required: false}),
  }
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    all: Flags.boolean({summary: 'Rotate every node of the inventory.', default: false}),
    'verify-timeout': verifyTimeoutFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RotateKey)
    const {runRotateKey} = await import('../services/rotate-key.js')
    const report = await runRotateKey({
      inventory: flags.inventory,
      nodes: argv as string[],
      all: flags.all,
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      silent: this.jsonEnabled(),
    })
    if (this.jsonEnabled()) this.printJson(rotateToJson(report))
    else process.stdout.write(renderRotateText(report))
    process.exitCode = exitCodeOf(report.result)
  }
}
