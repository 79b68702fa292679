import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, inventoryFlag} from '../cli/flags.js'
import {renderSshConfigText, sshConfigToJson} from '../output/ssh-config-view.js'

export default class SshConfig extends BaseCommand {
  static override summary = 'Show how each node will be reached: transport, hops, ProxyCommand, keys, known_hosts — as OpenSSH evaluates your ssh config.'
  static override description = `Connects nowhere. The ssh config is evaluated by OpenSSH itself (\`ssh -G\`, once per host and jump hop) when
\`ssh\` is on PATH — \`Match exec\` commands run, as they would for \`ssh HOST\` — else by a built-in parser that says
what it could not evaluate. What the inventory sets (ssh_user, ssh_port, identity, known_hosts, jump) wins.

Exit 0, or 1 when some node cannot be reached this way (a broken ssh config; OpenSSH certificates over ssh2).`
  static override examples = ['<%= config.bin %> ssh-config', '<%= config.bin %> ssh-config node-a node-c --json', '<%= config.bin %> ssh-config --transport openssh']
  static override strict = false
  static override args = {node: Args.string({description: 'Nodes to show (default: every node).', required: false})}
  static override flags = {
    inventory: inventoryFlag,
    'known-hosts': connectionFlags['known-hosts'],
    'connect-timeout': connectionFlags['connect-timeout'],
    transport: connectionFlags.transport,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SshConfig)
    const {describeReach} = await import('../services/ssh-config.js')
    const {report, exitCode} = await describeReach({
      inventory: flags.inventory,
      nodes: argv as string[],
      knownHosts: flags['known-hosts'],
      transport: flags.transport,
      connectTimeoutSeconds: flags['connect-timeout'],
    })
    if (this.jsonEnabled()) this.printJson(sshConfigToJson(report))
    else process.stdout.write(renderSshConfigText(report))
    process.exitCode = exitCode
  }
}
