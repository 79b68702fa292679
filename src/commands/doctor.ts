import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag} from '../cli/flags.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Run the troubleshooting checklist on the live fleet: what is wrong, where, and how to fix it.'
  static override description = `Read-only: one SSH connection and one exec per node; never waits for the inventory's lock.

Checks, judged against the plan: SSH reachability; wg installed, interface up, config file present, wg-quick@<iface> enabled and active; each node's own key; the peers on every interface (wrong or missing keys, unknown keys, AllowedIPs that differ from the plan or overlap); NAT-ed nodes' Endpoint and PersistentKeepalive toward public peers; the WireGuard port in ufw/firewalld (an error on a node others dial, or when handshakes fail); relays' forwarding (sysctl, persistent file, firewall); handshakes failing for no reason found; the config file drifting from the running interface; path MTU (don't-fragment pings to the node's own peers only, one or two each, 1 s at most).

Each finding names the node, a check id, what is wrong and a concrete fix. Exit 1 when any finding is an error, 0 otherwise (warnings allowed), 2 on a bad inventory or flags, before any connection.`
  static override examples = [
    '<%= config.bin %> doctor -i inventory.ini',
    '<%= config.bin %> doctor --json | jq \'.findings[] | select(.severity == "error")\'',
  ]
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor)
    // ssh2 loads only here, not for --help.
    const {runDoctor} = await import('../services/doctor.js')
    const {renderDoctor} = await import('../output/doctor-view.js')
    const json = this.jsonEnabled()

    const {findings, exitCode} = await runDoctor({
      inventory: flags.inventory,
      ...connectionSettingsOf(flags),
    })

    const tty = Boolean(process.stdout.isTTY)
    const color = !json && tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
    process.stdout.write(renderDoctor(findings, json ? 'json' : 'table', {color, ...(tty && process.stdout.columns ? {width: process.stdout.columns} : {})}))
    process.exitCode = exitCode
  }
}
