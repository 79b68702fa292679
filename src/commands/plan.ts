import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {inventoryFlag} from '../cli/flags.js'
import {writeJsonDocument, writeText} from '../output/json-stream.js'
import {PLAN_SUMMARY_THRESHOLD, planJsonParts, planTextMode, renderPlanText} from '../output/plan-view.js'
import {buildPlanReport} from '../services/plan.js'

export default class Plan extends BaseCommand {
  static override summary = 'Validate the inventory and show every node\'s peers, AllowedIPs, endpoints and keepalive.'
  static override description = `Nothing connects. Public keys and the configs last applied come from .wgfleet/ beside the inventory:
each node's rendered config is diffed against the one last applied to it. Past ${PLAN_SUMMARY_THRESHOLD} nodes, one line per
node and totals (--all for every table, --node NAME for one).`
  static override examples = ['<%= config.bin %> plan -i inventory.ini', '<%= config.bin %> plan --show-config', '<%= config.bin %> plan --node node-a', '<%= config.bin %> plan --json']
  static override flags = {
    inventory: inventoryFlag,
    'show-config': Flags.boolean({summary: 'Also print each node\'s rendered wg-quick config (private key as a marker).', default: false}),
    all: Flags.boolean({summary: `Every node's peer table, also past ${PLAN_SUMMARY_THRESHOLD} nodes.`, default: false, exclusive: ['summary']}),
    summary: Flags.boolean({summary: 'One line per node and totals, whatever the size.', default: false}),
    node: Flags.string({summary: 'Only this node, in full (its peers, its diff).', helpValue: 'NAME'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Plan)
    const report = await buildPlanReport({inventory: flags.inventory, node: flags.node})
    if (this.jsonEnabled()) {
      // Streamed: a large mesh's document is hundreds of MB (oclif would stringify it in one piece).
      const {head, nodes} = planJsonParts(report)
      await writeJsonDocument(process.stdout, head, {key: 'nodes', items: nodes})
      return
    }
    const mode = planTextMode(report.fleet.nodes.length, flags)
    await writeText(process.stdout, renderPlanText(report, {showConfig: flags['show-config'], mode}))
  }
}
