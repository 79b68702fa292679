import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../cli/flags.js'
import {exitCodeOf} from '../lib/exit-codes.js'
import {renderRotatePskText, rotatePskToJson} from '../output/rotate-psk-view.js'

export default class RotatePsk extends BaseCommand {
  static override summary = 'Replace the preshared keys of every pair (or of the pairs of NODEs), with no packet lost.'
  static override description = `Needs \`preshared_keys = true\` in [network]. For each pair, a new key is made on one of its two
hosts (\`wg genpsk\`), carried to the other through wgfleet's SSH sessions in memory only, and set on
both at once: the file (/etc/wireguard/wg0.psk/PEER, 0600), the running entry (\`wg set … preshared-key\`)
and the config. WireGuard uses a preshared key only from the next handshake on, and both ends hold the
new one before it: no packet is lost. The keys are never written on this machine, nor printed.`
  static override examples = ['<%= config.bin %> rotate-psk', '<%= config.bin %> rotate-psk node-c --json']
  static override strict = false
  static override args = {
    node: Args.string({description: 'renew the pairs of these nodes (default: every pair)', required: false}),
  }
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    'verify-timeout': verifyTimeoutFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RotatePsk)
    const {runRotatePsk} = await import('../services/rotate-psk.js')
    const report = await runRotatePsk({
      inventory: flags.inventory,
      nodes: argv as string[],
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      silent: this.jsonEnabled(),
    })
    if (this.jsonEnabled()) this.printJson(rotatePskToJson(report))
    else process.stdout.write(renderRotatePskText(report))
    process.exitCode = exitCodeOf(report.result)
  }
}
