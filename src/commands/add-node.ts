import {Args, Flags} from '@oclif/core'

import {ConvergeCommand} from '../cli/converge-command.js'
import {acceptKeyChangeFlag, connectionFlags, connectionSettingsOf, inventoryFlag, verifyTimeoutFlag} from '../cli/flags.js'

export default class AddNode extends ConvergeCommand {
  static override summary = 'Add a node: append it to the inventory, converge it, and add it to every other node live.'
  static override description = `Validates like the inventory does (exit 2, nothing touched, on bad input), appends the node's section
at the end of the inventory (no other byte changes), converges the new node, then adds it to every other
node live — no tunnel restarts: one exec (\`wg set\`) on a node whose config is still the one wgfleet last
applied, else the full path (probe, \`wg syncconf\`, verify). Only the new node verifies its handshakes.
Without --address, the next free address is used.`
  static override examples = ['<%= config.bin %> add-node node-e --host 203.0.113.5', '<%= config.bin %> add-node home-1 --host 203.0.113.3 --ssh-port 2223 --nat']
  static override args = {
    name: Args.string({description: 'node name (a [a-z0-9-] label)', required: true}),
  }
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    host: Flags.string({summary: 'Where SSH connects (and the endpoint unless --endpoint).', required: true, helpValue: 'HOST'}),
    address: Flags.string({summary: 'Overlay address (default: the next free one).', helpValue: 'IP'}),
    address6: Flags.string({summary: 'IPv6 overlay address, with [network] cidr6 (default: cidr6 plus the IPv4 host number).', helpValue: 'IPV6'}),
    endpoint: Flags.string({summary: 'Endpoint the others dial, host or host:port.', helpValue: 'HOST[:PORT]'}),
    port: Flags.string({summary: 'WireGuard listen port of this node.', helpValue: 'PORT'}),
    nat: Flags.boolean({summary: 'Behind NAT: no endpoint; reached through the relay.', default: false}),
    relay: Flags.boolean({summary: 'Relay for NAT-ed nodes.', default: false}),
    jump: Flags.string({summary: 'SSH through this node (or user@host:port).', helpValue: 'NODE'}),
    'ssh-user': Flags.string({summary: 'SSH login user.', helpValue: 'USER'}),
    'ssh-port': Flags.string({summary: 'SSH port.', helpValue: 'PORT'}),
    identity: Flags.string({summary: 'SSH private key file.', helpValue: 'FILE'}),
    'exit-via': Flags.string({summary: 'Send all traffic out through this public node.', helpValue: 'NODE'}),
    groups: Flags.string({summary: 'The node\'s groups for the inventory\'s [acl] rules, comma-separated.', helpValue: 'GROUP,...'}),
    subnets: Flags.string({summary: 'Site-to-site: networks behind the node that the others reach through it, comma-separated.', helpValue: 'CIDR,...'}),
    'verify-timeout': verifyTimeoutFlag,
    'accept-key-change': acceptKeyChangeFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(AddNode)
    const {addNode} = await import('../services/membership.js')
    const report = await addNode({
      inventory: flags.inventory,
      name: args.name,
      values: {
        host: flags.host,
        address: flags.address,
        address6: flags.address6,
        endpoint: flags.endpoint,
        port: flags.port,
        nat: flags.nat ? true : undefined,
        relay: flags.relay ? true : undefined,
        jump: flags.jump,
        ssh_user: flags['ssh-user'],
        ssh_port: flags['ssh-port'],
        identity: flags.identity,
        exit_via: flags['exit-via'],
        groups: flags.groups,
        subnets: flags.subnets,
      },
      ...connectionSettingsOf(flags),
      verifyTimeoutSeconds: flags['verify-timeout'],
      acceptKeyChange: flags['accept-key-change'] ?? [],
      silent: this.jsonEnabled(),
    })
    this.printReport(report)
  }
}
