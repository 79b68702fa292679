import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag} from '../cli/flags.js'
import {chooseFormat, renderStatus, STATUS_FORMATS} from '../output/status-view.js'
import {DEFAULT_STALE_AFTER_SECONDS} from '../wireguard/handshake.js'

export default class Status extends BaseCommand {
  static override summary = 'Show every tunnel\'s last handshake, traffic and state; exit 1 when the fleet is unhealthy.'
  static override description = `Read-only: one SSH connection and one exec per node; never waits for the inventory's lock.

Peers are judged against the plan: ok (handshake within --stale-after), stale, never, idle (keepalive off and no recent handshake: not a problem), unknown-peer, missing-peer, down (interface not up), unreachable. Handshake ages use each node's own clock.

Exit 0 when healthy, 1 when not (\`wgfleet status || alert\`), 2 on a bad inventory or flags, before any connection.

--output writes atomically (temp file, then rename), e.g. for node_exporter's textfile collector.`
  static override examples = [
    '<%= config.bin %> status -i inventory.ini',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --format prometheus --output /var/lib/node_exporter/textfile/wgfleet.prom',
  ]
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    'stale-after': Flags.integer({summary: 'Seconds after which a handshake counts as stale.', default: DEFAULT_STALE_AFTER_SECONDS, min: 1, max: 31_536_000, helpValue: 'SECONDS'}),
    format: Flags.option({summary: 'Output format (default: table; --json is --format json).', options: STATUS_FORMATS})(),
    output: Flags.string({char: 'o', summary: 'Write the result to FILE atomically (temp file + rename) instead of stdout.', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Status)
    // ssh2 loads only here, not for --help.
    const {checkOutputPath, runStatus, writeStatusFile} = await import('../services/status.js')
    const format = chooseFormat(flags.format, this.jsonEnabled())
    const output = flags.output === undefined ? undefined : await checkOutputPath(flags.output)

    const {status, exitCode} = await runStatus({
      inventory: flags.inventory,
      staleAfterSeconds: flags['stale-after'],
      ...connectionSettingsOf(flags),
    })

    const color = format === 'table' && !output && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
    const text = renderStatus(status, format, {color})
    if (output) {
      await writeStatusFile(output, text)
      // A note for a person at a terminal only: cron mails whatever is printed.
      if (process.stderr.isTTY) process.stderr.write(`wrote ${output} (${status.healthy ? 'healthy' : `UNHEALTHY: ${status.problems} problems`})\n`)
    } else {
      process.stdout.write(text)
    }
    process.exitCode = exitCode
  }
}
