import {Args, Flags} from '@oclif/core'

import {ConvergeCommand} from '../cli/converge-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../cli/flags.js'

export default class RemoveNode extends ConvergeCommand {
  static override summary = 'Remove a node: drop it from every peer live, stop it, and take it out of the inventory.'
  static override description = `Every other node loses the peer with \`wg syncconf\` (no tunnel restarts) and in its config file; on
NAME, wg-quick@<iface> is stopped and disabled and its config removed (the key stays unless --purge,
which also removes the key, the firewall rule and the forwarding settings wgfleet added). Then NAME's
section and state are removed. When NAME is unreachable, the others are still updated and the summary
says NAME was not cleaned (exit 1).`
  static override examples = ['<%= config.bin %> remove-node node-e', '<%= config.bin %> remove-node node-e --purge']
  static override args = {
    name: Args.string({description: 'node to remove', required: true}),
  }
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    purge: Flags.boolean({summary: 'Also remove the key, firewall rule and forwarding settings on the node.', default: false}),
    'verify-timeout': verifyTimeoutFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(RemoveNode)
    const {removeNode} = await import('../services/membership.js')
    const report = await removeNode({
      inventory: flags.inventory,
      name: args.name,
      purge: flags.purge,
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      silent: this.jsonEnabled(),
    })
    this.printReport(report)
  }
}
