import {Flags} from '@oclif/core'

import {ConvergeCommand} from '../cli/converge-command.js'
import {acceptKeyChangeFlag, connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../cli/flags.js'

export default class Init extends ConvergeCommand {
  static override summary = 'Converge every node: install WireGuard, keys, configs, firewall, service; verify handshakes.'
  static override description = `Per node: probe, install wireguard-tools (and wireguard-go without a kernel module), generate the key
pair on the host if absent, write the config (private key filled in on the host), open the firewall,
enable wg-quick@<iface>, then wait for a handshake with every peer. A second run changes nothing.`
  static override examples = [
    '<%= config.bin %> init -i inventory.ini',
    '<%= config.bin %> init --dry-run',
    '<%= config.bin %> init --json > result.json',
    '<%= config.bin %> init --accept-key-change node-b',
  ]
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    'dry-run': Flags.boolean({summary: 'Connect and probe, print what would change on each node, change nothing.', default: false}),
    adopt: Flags.boolean({summary: 'Replace an existing config that wgfleet did not write (it is backed up first).', default: false}),
    'verify-timeout': verifyTimeoutFlag,
    'accept-key-change': acceptKeyChangeFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Init)
    // Heavy modules (ssh2, listr2) load only here, not for --help.
    const {runInit} = await import('../services/init.js')
    const report = await runInit({
      inventory: flags.inventory,
      dryRun: flags['dry-run'],
      adopt: flags.adopt,
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      acceptKeyChange: flags['accept-key-change'] ?? [],
      silent: this.jsonEnabled(),
    })
    this.printReport(report)
  }
}
