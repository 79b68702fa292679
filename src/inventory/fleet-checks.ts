/**
 * Checks that involve several nodes: unique addresses, jump and exit_via references, relays for NAT-ed nodes.
 */
import type {Topology} from './model.js'
import type {Problems} from './problems.js'
import {lineOfKey, type NodeDraft} from './sections.js'

export interface FleetCheckOptions {
  topology: Topology
  /** Line of [network] topology, for problems about the topology as a whole. */
  topologyLine: number
}

export function checkFleet(nodes: NodeDraft[], options: FleetCheckOptions, problems: Problems): void {
  checkUniqueAddresses(nodes, problems)
  checkJumps(nodes, problems)
  checkRelays(nodes, problems)
  checkExits(nodes, options.topology, problems)
  if (options.topology === 'hub') checkHubHasRelay(nodes, options.topologyLine, problems)
  else checkMeshSize(nodes, options.topologyLine, problems)
}

/**
 * The largest full mesh wgfleet plans: every node carries an entry for every other, so N nodes are N²
 * peer entries (4 million at 2,000) on the hosts as much as here. Past it, a hub.
 */
export const MAX_MESH_NODES = 2000

function checkMeshSize(nodes: NodeDraft[], topologyLine: number, problems: Problems): void {
  if (nodes.length <= MAX_MESH_NODES) return
  problems.add(
    {line: topologyLine, section: 'network', key: 'topology'},
    `a full mesh of ${nodes.length} nodes is ${nodes.length * (nodes.length - 1)} peer entries; wgfleet plans meshes of up to ${MAX_MESH_NODES} nodes`,
    'set `topology = hub` in [network] (nodes peer with the relays only; mark a few public nodes `relay = true`)',
  )
}

function report(problems: Problems, node: NodeDraft, key: string, message: string, hint?: string): void {
  problems.add({line: lineOfKey(node, key), section: node.name, key}, message, hint)
}

/** "[a]", "[a] and [b]", "[a], [b] and [c]" (or "or") */
function listNodes(names: string[], conjunction: 'and' | 'or' = 'and'): string {
  const quoted = names.map((n) => `[${n}]`)
  return quoted.length <= 1 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} ${conjunction} ${quoted[quoted.length - 1]}`
}

function describeLine(node: NodeDraft, key: string): string {
  const line = lineOfKey(node, key)
  return line > 0 ? `[${node.name}] (line ${line})` : `[${node.name}]`
}

function checkUniqueAddresses(nodes: NodeDraft[], problems: Problems): void {
  const owner = new Map<string, NodeDraft>()
  for (const node of nodes) {
    if (node.address === undefined) continue
    const first = owner.get(node.address)
    if (first) {
      report(problems, node, 'address', `${node.address} is already the address of ${describeLine(first, 'address')}`, 'every node needs its own address')
    } else {
      owner.set(node.address, node)
    }
  }
}

function checkJumps(nodes: NodeDraft[], problems: Problems): void {
  const byName = new Map(nodes.map((n) => [n.name, n]))
  for (const node of nodes) {
    if (node.jump?.kind !== 'node') continue
    const target = node.jump.node
    if (target === node.name) {
      report(problems, node, 'jump', `[${node.name}] jumps through itself`, 'name another node, or remove `jump` to connect directly')
    } else if (!byName.has(target)) {
      report(
        problems,
        node,
        'jump',
        `there is no node named \`${target}\``,
        `jump names another node of this inventory (${listNodes([...byName.keys()].filter((n) => n !== node.name), 'or')}); for a host outside it write [user@]host[:port], e.g. jump = admin@${target}:22`,
      )
    }
  }
  reportJumpCycles(nodes, byName, problems)
}

/** A cycle (a → b → a) is reported once, at the jump of its first node in inventory order. */
function reportJumpCycles(nodes: NodeDraft[], byName: Map<string, NodeDraft>, problems: Problems): void {
  const reported = new Set<string>()
  for (const start of nodes) {
    const path: string[] = []
    let current: NodeDraft | undefined = start
    while (current && !path.includes(current.name)) {
      path.push(current.name)
      const next: string | undefined = current.jump?.kind === 'node' ? current.jump.node : undefined
      current = next === undefined || next === current.name ? undefined : byName.get(next)
    }
    if (!current) continue
    const cycle = path.slice(path.indexOf(current.name))
    const key = [...cycle].sort().join(' ')
    if (reported.has(key)) continue
    reported.add(key)
    const first = nodes.find((n) => cycle.includes(n.name)) as NodeDraft
    const from = cycle.indexOf(first.name)
    const ordered = [...cycle.slice(from), ...cycle.slice(0, from), first.name]
    report(problems, first, 'jump', `jump cycle: ${ordered.join(' → ')}`, 'SSH would never arrive: remove `jump` from one of these nodes')
  }
}

/** Two NAT-ed nodes cannot dial each other: they need a relay that both can dial. */
function checkRelays(nodes: NodeDraft[], problems: Problems): void {
  const natted = nodes.filter((n) => n.nat)
  if (natted.length < 2 || nodes.some((n) => n.relay && !n.nat)) return
  const publicNode = nodes.find((n) => !n.nat)
  const hint = publicNode
    ? `NAT-ed nodes cannot dial each other: set relay = true on a node they can reach (not nat), e.g. [${publicNode.name}]`
    : 'NAT-ed nodes cannot dial each other: at least one node must be reachable (nat = false) and have relay = true'
  report(problems, natted[1]!, 'nat', `${listNodes(natted.map((n) => n.name))} are behind NAT and no public node has relay = true`, hint)
}

function checkExits(nodes: NodeDraft[], topology: Topology, problems: Problems): void {
  const byName = new Map(nodes.map((n) => [n.name, n]))
  for (const node of nodes) {
    if (node.exitVia === undefined) continue
    const exit = byName.get(node.exitVia)
    const publicNodes = nodes.filter((n) => !n.nat && n.name !== node.name).map((n) => n.name)
    const candidates = publicNodes.length > 0 ? ` (public nodes: ${listNodes(publicNodes)})` : ''
    if (node.exitVia === node.name) {
      report(problems, node, 'exit_via', `[${node.name}] cannot be its own exit`, `name the node whose connection this node's internet traffic should leave through${candidates}`)
    } else if (!exit) {
      report(problems, node, 'exit_via', `there is no node named \`${node.exitVia}\``, `exit_via names another node of this inventory${candidates}`)
    } else if (exit.nat) {
      report(problems, node, 'exit_via', `[${exit.name}] is behind NAT (nat = true) and cannot be an exit`, `an exit node must be reachable by its clients: choose a public node${candidates}`)
    } else if (exit.exitVia !== undefined) {
      report(problems, node, 'exit_via', `[${exit.name}] sends its own traffic through exit_via = ${exit.exitVia}`, `an exit node must use its own uplink: remove exit_via from [${exit.name}], or choose another exit`)
    } else if (topology === 'hub' && !exit.relay && !node.relay) {
      report(problems, node, 'exit_via', `with topology = hub, [${node.name}] peers only with relays and [${exit.name}] is not one`, `exit through a relay, or set relay = true on [${exit.name}]`)
    }
  }
}

function checkHubHasRelay(nodes: NodeDraft[], topologyLine: number, problems: Problems): void {
  if (nodes.length === 0 || nodes.some((n) => n.relay && !n.nat)) return
  problems.add(
    {line: topologyLine, section: 'network', key: 'topology'},
    'topology = hub needs a relay, and no public node has relay = true',
    'in a hub, nodes peer only with relays: set relay = true on at least one node the others can reach',
  )
}
