import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag} from '../cli/flags.js'
import {writeJsonDocument} from '../output/json-stream.js'
import {chooseFormat, renderStatus, STATUS_FORMATS, STATUS_SUMMARY_THRESHOLD, statusDetail, statusJsonHead, statusJsonNodes} from '../output/status-view.js'
import {DEFAULT_STALE_AFTER_SECONDS} from '../wireguard/handshake.js'

export default class Status extends BaseCommand {
  static override summary = 'Show every tunnel\'s last handshake, traffic and state; exit 1 when the fleet is unhealthy.'
  static override description = `Read-only: one SSH connection and one exec per node; never waits for the inventory's lock.

Peers are judged against the plan: ok (handshake within --stale-after), stale, never, idle (keepalive off and no recent handshake: not a problem), unknown-peer, missing-peer, down (interface not up), unreachable. Handshake ages use each node's own clock.

Exit 0 when healthy, 1 when not (\`wgfleet status || alert\`), 2 on a bad inventory or flags, before any connection.

--output writes atomically (temp file, then rename), e.g. for node_exporter's textfile collector.

Past ${STATUS_SUMMARY_THRESHOLD} nodes the table shows per-node counts and only the peers that are not ok (--all for every peer), and
Prometheus output is per-node aggregates (wgfleet_node_peers{node,state}; --per-peer for one series per peer).`
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
    all: Flags.boolean({summary: `Every peer in the table, also past ${STATUS_SUMMARY_THRESHOLD} nodes.`, default: false, exclusive: ['summary']}),
    summary: Flags.boolean({summary: 'Per-node counts and only the peers that are not ok, whatever the size.', default: false}),
    node: Flags.string({summary: 'Only this node\'s peers (and its health decides the exit code).', helpValue: 'NAME'}),
    'per-peer': Flags.boolean({summary: `Prometheus: one series per peer, also past ${STATUS_SUMMARY_THRESHOLD} nodes.`, default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Status)
    // ssh2 loads only here, not for --help.
    const {checkOutputPath, runStatus, writeStatusFile} = await import('../services/status.js')
    const format = chooseFormat(flags.format, this.jsonEnabled())
    const output = flags.output === undefined ? undefined : await checkOutputPath(flags.output)

    const {status, exitCode} = await runStatus({
      inventory: flags.inventory,
      node: flags.node,
      staleAfterSeconds: flags['stale-after'],
      ...connectionSettingsOf(flags),
    })

    const color = format === 'table' && !output && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
    if (format === 'json' && !output) {
      // Streamed: 1,000 nodes are a million peers.
      await writeJsonDocument(process.stdout, statusJsonHead(status), {key: 'nodes', items: statusJsonNodes(status)})
      process.exitCode = exitCode
      return
    }
    const detail = statusDetail(status.nodes.length, flags)
    const text = renderStatus(status, format, {color, detail, ...(flags['per-peer'] ? {perPeer: true} : {})})
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
