import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../../cli/flags.js'
import {exitCodeOf} from '../../services/converge-report.js'

export default class ClientRemove extends BaseCommand {
  static override summary = 'Remove a roaming client: its section, its peer on the via nodes and its routes on every other node.'
  static override description = `Removes the client's section from the inventory (no other byte changes), then updates every node live
(\`wg syncconf\`): the via nodes drop its peer entry, the others the route to it. Its key stops working at once.
Takes the inventory's lock.`
  static override examples = ['<%= config.bin %> client remove phone']
  static override args = {
    name: Args.string({description: 'client name', required: true}),
  }
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    'verify-timeout': verifyTimeoutFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ClientRemove)
    const {removeClient} = await import('../../services/client.js')
    const view = await import('../../output/client-view.js')
    const json = this.jsonEnabled()
    const result = await removeClient({
      inventory: flags.inventory,
      name: args.name,
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      silent: json,
    })
    if (json) this.printJson(view.clientRemoveToJson(result))
    else process.stdout.write(view.renderClientRemoveText(result))
    process.exitCode = exitCodeOf(result.report)
  }
}
