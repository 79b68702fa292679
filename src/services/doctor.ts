/**
 * `wgfleet doctor`: read everything the troubleshooting checklist needs from every node (one connection,
 * one read-only exec each, bounded concurrency), then judge it against the plan (doctor-model) and say
 * what is wrong and how to fix it. Never takes the inventory lock: it must not block behind `init`.
 *
 *   validate (exit 2, nothing opened) → read every node (doctor.sh) → plan over the keys known → diagnose
 *
 * The plan comes after the readings, as in `status`: the key a node reports for itself counts even when
 * .wgfleet/state.json lacks or predates it. The ping targets passed to doctor.sh come from the topology
 * alone (who peers with whom, endpoints, overlay addresses), which needs no key.
 */
import {isIP} from 'node:net'

import {loadFleet} from './fleet-loader.js'
import type {Fleet} from '../inventory/model.js'
import {dialsIn, endpointOf, planLinks} from '../plan/topology.js'
import {DEFAULT_STALE_AFTER_SECONDS} from '../wireguard/handshake.js'
import {diagnoseFleet, doctorExitCode, type Finding} from '../judges/doctor/index.js'
import {endpointHost} from '../judges/doctor/model.js'
import {describeKeyRefusal} from '../judges/key-refusal.js'
import {parseDoctorOutput} from '../remote/doctor.js'
import type {ConnectionSettings, FleetDependencies} from './connections.js'
import {readFleet} from './fleet-reader.js'
import {keyAges} from '../judges/key-age.js'
import {openStateStore} from '../state/state.js'

/**
 * One exec: ip, wg, systemctl, a few firewall-cmd calls (about a second each) and the pings (16 targets at
 * a time, at most 2 s each, none started after DOCTOR_PING_BUDGET_SECONDS). A minute is plenty unless the
 * host is in trouble.
 */
export const DOCTOR_STEP_TIMEOUT_MS = 60_000
/** Seconds into doctor.sh after which it starts no more pings (well inside the step timeout). */
export const DOCTOR_PING_BUDGET_SECONDS = 20

/** What doctor.sh accepts as a ping target (and what `ping` cannot take for an option). */
const HOST = /^[A-Za-z0-9.:][A-Za-z0-9.:-]*$/

export interface DoctorRequest extends ConnectionSettings {
  inventory: string
  concurrency: number
  /** Seconds after which a handshake counts as stale (default 180, as `status`). */
  staleAfterSeconds?: number
}

export type DoctorDependencies = FleetDependencies

export interface DoctorResult {
  findings: Finding[]
  /** Nodes checked (reached or not). */
  nodes: number
  exitCode: 0 | 1
}

export async function runDoctor(request: DoctorRequest, deps: DoctorDependencies = {}): Promise<DoctorResult> {
  const fleet = await loadFleet(request.inventory)
  const iface = fleet.network.interface
  const targets = pingTargets(fleet)
  const {plan, outcomes, names, refusals} = await readFleet(fleet, request, deps, {
    script: 'doctor',
    // The targets on stdin (a node of 1,000 peers has 2,000: too many for one command line).
    args: (node) => [iface, String(node.port), String(targets.get(node.name)?.length ?? 0), String(DOCTOR_PING_BUDGET_SECONDS)],
    input: (node) => [...(targets.get(node.name) ?? []), 'end'].join('\n') + '\n',
    timeoutMs: DOCTOR_STEP_TIMEOUT_MS,
    parse: parseDoctorOutput,
    reportedKey: (reading) => ({keyFile: reading.keyFilePublicKey, interface: reading.publicKey}),
  })
  // A key file that disagrees with the interface is own-key-mismatch already.
  const untrustedKeys = new Map(
    [...refusals].filter(([, r]) => r.reason !== 'file-and-interface-differ').map(([name, r]) => {
      const {error, hint} = describeKeyRefusal(name, r, iface)
      return [name, {message: error, fix: hint}]
    }),
  )
  const ages = keyAges(fleet.nodes.map((n) => n.name), (await openStateStore(fleet.dir).load()).nodes, (deps.clock ?? Date.now)())
  const findings = diagnoseFleet(plan, outcomes, {
    names,
    untrustedKeys,
    staleAfterSeconds: request.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS,
    keyAges: ages,
    keyMaxAgeDays: fleet.network.keyMaxAgeDays,
  })
  return {findings, nodes: fleet.nodes.length, exitCode: doctorExitCode(findings)}
}

/**
 * doctor.sh's ping targets for every node: its direct peers' endpoint hosts (`u:HOST`, underlay) and
 * overlay addresses (`o:ADDR`) — the fleet's own hosts, nothing else. At most PING_TARGETS_PER_KIND of
 * each kind per node: every target costs the host about 3 ms of CPU (a ping or two, through the tunnel for
 * an overlay one) and its peer the replies — at 100 nodes, probing all of them cost the lab's hosts 175
 * CPU-seconds per doctor run, and 16 of each kind a third of doctor's host CPU. Past that, each node takes a
 * different window of its peers (node i starts at i × the bound), so the fleet as a whole still probes
 * every peer, from several nodes.
 */
export const PING_TARGETS_PER_KIND = 8

export function pingTargets(fleet: Fleet): Map<string, string[]> {
  const out = new Map<string, string[]>()
  let index = 0
  const dials = dialsIn(fleet)
  for (const {node, peers} of planLinks(fleet)) {
    const offset = index++ * PING_TARGETS_PER_KIND
    // A Set: `includes` on the list made this O(N²) per node, O(N³) for the fleet.
    const underlay = new Set<string>()
    for (const {peer} of peers) {
      // Only an endpoint this node dials (its family): the others it cannot reach over the underlay.
      const endpoint = dials(node, peer) ? endpointOf(peer) : null
      if (endpoint !== null) {
        const host = endpointHost(endpoint)
        if (host !== null && HOST.test(host)) underlay.add(`u:${host}`)
      }
    }
    const overlay = peers.flatMap(({peer}) => (isIP(peer.address) === 4 ? [`o:${peer.address}`] : []))
    out.set(node.name, [...window([...underlay], offset), ...window(overlay, offset)])
  }
  return out
}


/** One connection, one exec; the shell is closed at once (a large fleet must not hold every connection). */

/** At most PING_TARGETS_PER_KIND of `items`, from `offset` on (wrapping), in their order; all when fewer. */
function window(items: string[], offset: number): string[] {
  if (items.length <= PING_TARGETS_PER_KIND) return items
  return Array.from({length: PING_TARGETS_PER_KIND}, (_, k) => items[(offset + k) % items.length]!)
}
