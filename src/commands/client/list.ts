import {BaseCommand} from '../../cli/base-command.js'
import {inventoryFlag} from '../../cli/flags.js'

export default class ClientList extends BaseCommand {
  static override summary = 'List the roaming clients of the inventory: name, address, via nodes, tunnel, public key.'
  static override description = 'Reads the inventory only: no connection, no lock.'
  static override examples = ['<%= config.bin %> client list', '<%= config.bin %> client list --json']
  static override flags = {
    inventory: inventoryFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ClientList)
    const {listClients} = await import('../../services/client.js')
    const view = await import('../../output/client-view.js')
    const clients = await listClients(flags.inventory)
    if (this.jsonEnabled()) this.printJson(view.clientListToJson(clients))
    else process.stdout.write(view.renderClientListText(clients))
  }
}
