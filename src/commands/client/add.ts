import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../../cli/flags.js'
import {exitCodeOf} from '../../services/converge-report.js'

export default class ClientAdd extends BaseCommand {
  static override summary = 'Add a roaming client (laptop, phone): print its WireGuard config once, as text and a QR code.'
  static override description = `Makes the client's key pair on this machine (a phone has no SSH), appends the client to the inventory
(\`client = true\`, its public key, address and via nodes — never its private key), adds it live to its via
node(s) and routes it from every other node through the first one (\`wg syncconf\`, no tunnel restarts).
Then prints the client's wg-quick config and a QR code of it: the only time wgfleet shows a private key,
and it keeps it nowhere. With --output the config is written to FILE (mode 0600, never over an existing
file) instead. Takes the inventory's lock. The via nodes need a known key: run \`wgfleet init\` first.`
  static override examples = [
    '<%= config.bin %> client add phone',
    '<%= config.bin %> client add laptop --via node-a --via node-b --dns 10.0.0.1 --output laptop.conf',
    '<%= config.bin %> client add travel --full-tunnel',
  ]
  static override args = {
    name: Args.string({description: 'client name (a [a-z0-9-] label)', required: true}),
  }
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    via: Flags.string({summary: 'Public node the client dials (repeatable; default: the first relay). The first routes the client for the fleet.', multiple: true, helpValue: 'NODE'}),
    address: Flags.string({summary: 'Overlay address (default: the next free one).', helpValue: 'IP'}),
    'full-tunnel': Flags.boolean({summary: 'Send all of the client\'s traffic through its first via node (which masquerades it).', default: false}),
    dns: Flags.string({summary: 'DNS server for the client\'s config (repeatable).', multiple: true, helpValue: 'IP'}),
    output: Flags.string({summary: 'Write the config to FILE (0600; refuses to overwrite) instead of printing it.', helpValue: 'FILE'}),
    'verify-timeout': verifyTimeoutFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ClientAdd)
    const {addClient} = await import('../../services/client.js')
    const view = await import('../../output/client-view.js')
    const json = this.jsonEnabled()
    const result = await addClient({
      inventory: flags.inventory,
      name: args.name,
      via: flags.via,
      address: flags.address,
      fullTunnel: flags['full-tunnel'],
      dns: flags.dns,
      output: flags.output,
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      silent: json,
    })
    const color = !json && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
    if (json) this.printJson(view.clientAddToJson(result))
    else process.stdout.write(await view.renderClientAddText(result, {color}))
    process.exitCode = exitCodeOf(result.report)
  }
}
