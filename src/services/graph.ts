/**
 * `wgfleet graph`: the mesh as the planner links it (plan/graph.ts), and with --live each edge judged by
 * the handshakes `status` reads (one connection and one read-only exec per node, the same read and the
 * same judge). Without --live nothing connects.
 */
import {judgeGraph, type LiveGraph} from '../judges/graph.js'
import {buildMeshGraph, type MeshGraph} from '../plan/graph.js'
import type {ConnectionSettings} from './connections.js'
import {loadFleet} from './fleet-loader.js'
import {readFleetStatus, type StatusDependencies} from './status.js'

export interface GraphRequest extends ConnectionSettings {
  inventory: string
  /** Read the fleet and judge each edge by its handshakes. */
  live: boolean
  staleAfterSeconds: number
  concurrency: number
}

export async function runGraph(request: GraphRequest, deps: StatusDependencies = {}): Promise<MeshGraph | LiveGraph> {
  // As every command reads it (an ssh_config alias's endpoint resolved locally, the same plan as status).
  const fleet = await loadFleet(request.inventory)
  const graph = buildMeshGraph(fleet)
  if (!request.live) return graph
  return judgeGraph(graph, await readFleetStatus(fleet, request, deps))
}
