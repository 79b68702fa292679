/**
 * Checks that involve several nodes: unique addresses, jump and exit_via references, relays for NAT-ed nodes.
 */
import {aclAllows, type AclRead} from './acl.js'
import {canLink, describeUnderlay, dialFamilies, endpointFamily, type UnderlayNode} from './underlay.js'
import {editDistance} from './keys.js'
import type {Topology} from './model.js'
import type {Problems} from './problems.js'
import {lineOfKey, type NodeDraft} from './sections.js'
import {checkFleetSubnets} from './subnets.js'

export interface FleetCheckOptions {
  topology: Topology
  /** Line of [network] topology, for problems about the topology as a whole. */
  topologyLine: number
  /** The [acl] section, when there is one. */
  acl?: AclRead
}

export function checkFleet(nodes: NodeDraft[], options: FleetCheckOptions, problems: Problems): void {
  checkUniqueAddresses(nodes, problems)
  checkJumps(nodes, problems)
  if (options.acl) checkAcl(nodes, options.acl, options.topology, problems)
  const relaysOk = checkRelays(nodes, options.acl, problems)
  checkExits(nodes, options.topology, problems)
  checkFleetSubnets(nodes, problems)
  if (options.topology === 'hub') {
    if (checkHubHasRelay(nodes, options.topologyLine, problems)) checkHubUnderlay(nodes, problems)
  } else {
    checkMeshSize(nodes, options.topologyLine, problems)
    if (relaysOk) checkUnderlayPaths(nodes, options.acl, problems)
  }
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
  // IPv6 overlay addresses: written or derived (cidr6 plus the IPv4 host number), so a written address6
  // can collide with another node's derived one; the message says which is which.
  const owner6 = new Map<string, NodeDraft>()
  for (const node of nodes) {
    if (node.address6 === undefined) continue
    const first = owner6.get(node.address6)
    if (!first) {
      owner6.set(node.address6, node)
      continue
    }
    const whose = first.keyLines.has('address6') ? `the address6 of ${describeLine(first, 'address6')}` : `the IPv6 address ${describeLine(first, 'address')} gets from its address ${first.address}`
    const key = node.keyLines.has('address6') ? 'address6' : 'address'
    report(problems, node, key, `IPv6 overlay address ${node.address6} is already ${whose}`, 'every node needs its own address: set address6 on one of them to another address inside cidr6')
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

/**
 * Nodes of `among` that [acl] lets peer with another node of `among`: O(N × groups × rules), by counting
 * each group's members rather than trying every pair. No [acl]: all of them, when there are two or more.
 */
function withPartner(among: NodeDraft[], acl: AclRead | undefined): NodeDraft[] {
  if (!acl) return among.length >= 2 ? among : []
  const members = new Map<string, number>()
  for (const node of among) for (const group of node.groups ?? []) members.set(group, (members.get(group) ?? 0) + 1)
  return among.filter((node) => {
    const own = new Set(node.groups ?? [])
    return [...own].some((group) => [...(acl.rules.get(group) ?? [])].some((other) => (members.get(other) ?? 0) > (own.has(other) ? 1 : 0)))
  })
}

/**
 * [acl]: topology = mesh only (a hub's relays carry the whole overlay for every spoke); every group it
 * names is some node's (else a typo that silently cuts nodes off); every node may peer with some other.
 */
function checkAcl(nodes: NodeDraft[], acl: AclRead, topology: Topology, problems: Problems): void {
  if (topology === 'hub') {
    problems.add({line: acl.line, section: 'acl'}, '[acl] is not supported with topology = hub', 'a hub\'s relays carry the whole overlay for every node: use topology = mesh with [acl], or remove [acl]')
  }
  const known = new Set(nodes.flatMap((n) => n.groups ?? []))
  for (const [group, line] of acl.lines) {
    if (known.has(group)) continue
    const closest = [...known].map((g) => ({g, d: editDistance(group, g)})).sort((a, b) => a.d - b.d)[0]
    const hint = closest && closest.d <= Math.max(2, Math.floor(group.length / 3)) ? `did you mean \`${closest.g}\`?` : known.size > 0 ? `the nodes' groups are: ${[...known].sort().join(', ')}` : 'give nodes groups with `groups = NAME, ...` in their sections'
    problems.add({line, section: 'acl', key: group}, `\`${group}\` is no node's group`, hint)
  }
  if (nodes.length < 2) return
  const allowed = new Set(withPartner(nodes, acl))
  for (const node of nodes) {
    // A relay peers with every node it relays for, whatever its groups.
    if (allowed.has(node) || (node.relay && !node.nat)) continue
    const groups = node.groups && node.groups.length > 0 ? `its groups (${node.groups.join(', ')})` : 'it has no `groups`'
    report(problems, node, 'groups', `[${node.name}] may peer with no node under [acl]: ${groups}`, 'give it a group that an [acl] line pairs with another node\'s group, e.g. groups = web')
  }
}

/** Two NAT-ed nodes cannot dial each other: they need a relay that both can dial (with [acl]: when they may peer). */
function checkRelays(nodes: NodeDraft[], acl: AclRead | undefined, problems: Problems): boolean {
  const natted = withPartner(nodes.filter((n) => n.nat), acl)
  if (natted.length < 2 || nodes.some((n) => n.relay && !n.nat)) return true
  const publicNode = nodes.find((n) => !n.nat)
  const hint = publicNode
    ? `NAT-ed nodes cannot dial each other: set relay = true on a node they can reach (not nat), e.g. [${publicNode.name}]`
    : 'NAT-ed nodes cannot dial each other: at least one node must be reachable (nat = false) and have relay = true'
  report(problems, natted[1]!, 'nat', `${listNodes(natted.map((n) => n.name))} are behind NAT and no public node has relay = true`, hint)
  return false
}

/** A draft as inventory/underlay.ts sees it. */
function underlayOfDraft(node: NodeDraft): UnderlayNode {
  const dialHost = node.nat ? undefined : (node.endpoint?.host ?? node.host)
  return {nat: node.nat, ...(dialHost === undefined ? {} : {dialHost}), ...(node.underlay === undefined ? {} : {underlay: node.underlay})}
}

/** The key that says a node's underlay: `underlay` when written, else what it is dialled at, else `nat`. */
function underlayKey(node: NodeDraft): string {
  return node.keyLines.has('underlay') ? 'underlay' : node.nat ? 'nat' : node.keyLines.has('endpoint') ? 'endpoint' : 'host'
}

const UNDERLAY_HINT = 'set relay = true on a public node that both can reach (for IPv4 and IPv6 nodes: one with underlay = dual), or give one of the two the other family (underlay = dual)'

/**
 * Every pair that may peer can make a tunnel: one side dials the other (an endpoint of a family the other
 * has), or a public relay both can make a tunnel with carries it. Judged per kind of node (NAT-ed or not,
 * the endpoint's family, the families it dials on: a handful), not per pair — O(N), not O(N²).
 */
function checkUnderlayPaths(nodes: NodeDraft[], acl: AclRead | undefined, problems: Problems): void {
  const kinds = new Map<string, {rep: UnderlayNode; members: NodeDraft[]}>()
  for (const node of nodes) {
    const u = underlayOfDraft(node)
    const key = `${u.nat}|${endpointFamily(u)}|${[...dialFamilies(u)].join(',')}`
    const kind = kinds.get(key)
    if (kind) kind.members.push(node)
    else kinds.set(key, {rep: u, members: [node]})
  }
  // With [acl], only the first public relay relays (it peers with every node it relays for, whatever the
  // rules say: plan/topology.ts); without, any public relay both reach.
  const publicRelays = nodes.filter((n) => n.relay && !n.nat)
  const relays = (acl ? publicRelays.slice(0, 1) : publicRelays).map((n) => ({node: n, u: underlayOfDraft(n)}))
  const all = [...kinds.values()]
  for (let i = 0; i < all.length; i++) {
    for (let j = i; j < all.length; j++) {
      const [x, y] = [all[i]!, all[j]!]
      if (canLink(x.rep, y.rep)) continue
      // A relay that both kinds reach is never one of the pair: it links with its own kind's members.
      if (relays.some((r) => canLink(x.rep, r.u) && canLink(y.rep, r.u))) continue
      const pair = firstPair(x.members, y.members, acl)
      if (!pair) continue
      const [a, b] = pair
      report(
        problems,
        b,
        underlayKey(b),
        `[${a.name}] (${describeUnderlay(underlayOfDraft(a))}) and [${b.name}] (${describeUnderlay(underlayOfDraft(b))}) share no underlay family to dial each other, and no relay reaches both`,
        UNDERLAY_HINT,
      )
    }
  }
}

/** The first pair of distinct nodes, one from each list, that may peer ([acl]); undefined when none may. */
function firstPair(xs: NodeDraft[], ys: NodeDraft[], acl: AclRead | undefined): [NodeDraft, NodeDraft] | undefined {
  for (const a of xs) for (const b of ys) if (a !== b && (!acl || aclAllows(acl.rules, a.groups, b.groups))) return [a, b]
  return undefined
}

/**
 * In a hub, every node peers with every relay (and reaches the rest through the first): each of those
 * pairs must make a tunnel. O(N × relays). One problem per node, naming the first relay it cannot reach.
 */
function checkHubUnderlay(nodes: NodeDraft[], problems: Problems): void {
  const relays = nodes.filter((n) => n.relay && !n.nat).map((n) => ({node: n, u: underlayOfDraft(n)}))
  for (const node of nodes) {
    const u = underlayOfDraft(node)
    const missed = relays.find((r) => r.node !== node && !canLink(u, r.u))
    if (!missed) continue
    report(
      problems,
      node,
      underlayKey(node),
      `[${node.name}] (${describeUnderlay(u)}) cannot dial the hub relay [${missed.node.name}] (${describeUnderlay(missed.u)}), nor it [${node.name}]`,
      `in a hub every node peers with every relay: give [${missed.node.name}] underlay = dual (an endpoint of both families), or this node the relay's family`,
    )
  }
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
    } else if (!canLink(underlayOfDraft(node), underlayOfDraft(exit))) {
      report(problems, node, 'exit_via', `[${node.name}] (${describeUnderlay(underlayOfDraft(node))}) and its exit [${exit.name}] (${describeUnderlay(underlayOfDraft(exit))}) share no underlay family: neither can dial the other`, 'choose an exit this node can reach, or give one of the two the other family (underlay = dual)')
    } else if (topology === 'hub' && !exit.relay && !node.relay) {
      report(problems, node, 'exit_via', `with topology = hub, [${node.name}] peers only with relays and [${exit.name}] is not one`, `exit through a relay, or set relay = true on [${exit.name}]`)
    }
  }
}

function checkHubHasRelay(nodes: NodeDraft[], topologyLine: number, problems: Problems): boolean {
  if (nodes.length === 0 || nodes.some((n) => n.relay && !n.nat)) return true
  problems.add(
    {line: topologyLine, section: 'network', key: 'topology'},
    'topology = hub needs a relay, and no public node has relay = true',
    'in a hub, nodes peer only with relays: set relay = true on at least one node the others can reach',
  )
  return false
}
