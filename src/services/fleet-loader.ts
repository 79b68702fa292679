/**
 * The inventory as every command reads it: parsed and validated, then — for a node whose `host` is an
 * ssh_config alias and which sets no `endpoint` — the WireGuard endpoint made the HostName OpenSSH
 * resolves the alias to (peers cannot dial `node-a`, they dial what `ssh node-a` connects to). Local
 * evaluation only (`ssh -G`), no connection; IP addresses are left as they are without asking.
 */
import {isIP} from 'node:net'
import {loadInventory} from '../inventory/index.js'
import type {Fleet, NodeSpec} from '../inventory/model.js'
import type {ConfigEvaluator} from '../ssh/evaluate.js'

export async function loadFleet(inventory: string, evaluator?: ConfigEvaluator): Promise<Fleet> {
  return withResolvedEndpoints(await loadInventory(inventory), evaluator)
}

export async function withResolvedEndpoints(fleet: Fleet, evaluator?: ConfigEvaluator): Promise<Fleet> {
  const aliases = fleet.nodes.filter((node) => node.endpointFromHost && node.endpointHost !== undefined && isIP(node.host) === 0)
  if (aliases.length === 0) return fleet
  // Loaded only when some host is a name: ssh -G is not needed for addresses.
  const {defaultConfigEvaluator} = await import('../ssh/evaluate.js')
  const {resolvedHostName} = await import('../ssh/target.js')
  const using = evaluator ?? defaultConfigEvaluator()
  const resolved = new Map<string, string>()
  await Promise.all(
    aliases.map(async (node) => {
      const hostName = await resolvedHostName(node, using)
      if (hostName && hostName !== node.host) resolved.set(node.name, hostName)
    }),
  )
  if (resolved.size === 0) return fleet
  const nodes = fleet.nodes.map((node): NodeSpec => (resolved.has(node.name) ? {...node, endpointHost: resolved.get(node.name)} : node))
  return {...fleet, nodes}
}
