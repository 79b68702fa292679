import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {connectionFlags, connectionSettingsOf, inventoryFlag} from '../cli/flags.js'
import {chooseGraphFormat, GRAPH_FORMATS, renderGraph} from '../output/graph-view.js'
import {DEFAULT_STALE_AFTER_SECONDS} from '../wireguard/handshake.js'

export default class Graph extends BaseCommand {
  static override summary = 'Draw the mesh: nodes with their overlay address and role, direct and relayed tunnels.'
  static override description = `Prints Graphviz DOT (default), Mermaid or JSON of the mesh as the planner links it: every node labelled with its
name, overlay address and role (relay, NAT-ed, exit); a solid edge for each direct tunnel, a dashed one for each
pair that talks through the relay. Nothing connects.

--live reads every node once, as \`status\` does (read-only: one SSH connection and one exec per node), and
colours each edge by its handshake state: up, idle, stale, unknown (a node not reached), down. An edge takes
the worse of its two ends; a relayed one the worst of its two legs. The exit code is 0 whenever the picture is
drawn (\`status\` is the health check).`
  static override examples = [
    '<%= config.bin %> graph | dot -Tsvg > mesh.svg',
    '<%= config.bin %> graph --format mermaid',
    '<%= config.bin %> graph --live | dot -Tpng > mesh.png',
    '<%= config.bin %> graph --json',
  ]
  static override flags = {
    inventory: inventoryFlag,
    ...connectionFlags,
    format: Flags.option({summary: 'Output format (default: dot; --json is --format json).', options: GRAPH_FORMATS})(),
    live: Flags.boolean({summary: 'Read the fleet once (as status does) and colour each edge by its handshake state.', default: false}),
    'stale-after': Flags.integer({summary: 'With --live: seconds after which a handshake counts as stale.', default: DEFAULT_STALE_AFTER_SECONDS, min: 1, max: 31_536_000, helpValue: 'SECONDS'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Graph)
    const format = chooseGraphFormat(flags.format, this.jsonEnabled())
    // ssh2 loads only here (and connects only with --live).
    const {runGraph} = await import('../services/graph.js')
    const graph = await runGraph({
      inventory: flags.inventory,
      live: flags.live,
      staleAfterSeconds: flags['stale-after'],
      ...connectionSettingsOf(flags),
    })
    process.stdout.write(renderGraph(graph, format))
  }
}
