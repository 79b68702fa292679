import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {inventoryFlag} from '../cli/flags.js'
import {planToJson, renderPlanText} from '../output/plan-view.js'
import {buildPlanReport} from '../services/plan.js'

export default class Plan extends BaseCommand {
  static override summary = 'Validate the inventory and show every node\'s peers, AllowedIPs, endpoints and keepalive.'
  static override description = `Nothing connects. Public keys and the configs last applied come from .wgfleet/ beside the inventory:
each node's rendered config is diffed against the one last applied to it.`
  static override examples = ['<%= config.bin %> plan -i inventory.ini', '<%= config.bin %> plan --show-config', '<%= config.bin %> plan --json']
  static override flags = {
    inventory: inventoryFlag,
    'show-config': Flags.boolean({summary: 'Also print each node\'s rendered wg-quick config (private key as a marker).', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Plan)
    const report = await buildPlanReport(flags.inventory)
    if (this.jsonEnabled()) this.printJson(planToJson(report))
    else process.stdout.write(renderPlanText(report, {showConfig: flags['show-config']}))
  }
}
