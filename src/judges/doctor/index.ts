/**
 * The doctor model (pure): what doctor.sh read on every node, judged against the plan, gives a list of
 * findings — each names the node, what is wrong, how to fix it (a concrete command) and a severity.
 *
 *   parseDoctorOutput(text)                      → DoctorReading (one node)
 *   diagnoseFleet(plan, outcomes, options)       → Finding[] (deterministic: plan order, errors first)
 *
 * The checklist, in the order findings are listed for a node:
 * - reachability: `unreachable` (SSH, with the classified reason), `read-failed` (the script's output)
 * - `key-not-trusted`: the key the node reports is refused by plan/key-trust (another node's, or changed
 *   from the pinned one); its peers are judged by the pinned key
 * - the interface: `wg-missing`, `interface-down`, `wg-error`, `config-missing`, `own-key-mismatch`,
 *   `address-mismatch`, `unit-not-enabled`, `unit-inactive`, `no-systemd`
 * - the peers (the running interface when it is up, else the config file — what it will run):
 *   `wrong-peer-key`, `missing-peer`, `unknown-peer`, `allowed-ips-mismatch`, `allowed-ips-overlap`,
 *   `nat-no-endpoint`, `nat-no-keepalive`
 * - across nodes: `firewall-port-closed`, `firewall-port-not-permanent`, `handshake-failing` (only when no
 *   other finding explains it)
 * - relays: `relay-no-forwarding`, `relay-forwarding-not-persistent`, `relay-forward-blocked`
 * - `config-drift` (the config file vs the running interface), `path-mtu`
 * - `key-too-old` (a warning): the key state records is older than `[network] key_max_age_days`
 *
 * Judged against the plan, not the inventory: with a relay, a NAT-ed node has no entry for another
 * NAT-ed node on purpose. Handshake ages use each node's own clock.
 */
import {firewallNeedsOf, firewallVerdict} from '../../firewall/verdict.js'
import {parseRenderedConfig} from '../../plan/parse-config.js'
import type {FleetPlan} from '../../plan/model.js'
import {DEFAULT_STALE_AFTER_SECONDS, handshakeAge, handshakeState} from '../../wireguard/handshake.js'
import {checkFirewalls, checkPresharedKeys, checkUnexplainedHandshakes} from './fleet.js'
import {CHECKS, configEntries, liveEntry, type DiagnoseOptions, type DoctorOutcome, type Finding, type NodeView, type Severity, type Trouble} from './model.js'
import {checkDrift, checkHostsFile, checkInterface, checkPathMtu, unreachableFinding} from './node.js'
import {checkPeers} from './peers.js'
import {checkForwarding} from './relay.js'
import {keysPastAge} from '../key-age.js'

export {CHECKS, normalizeRange, type CheckId, type DiagnoseOptions, type DoctorOutcome, type Finding, type Severity} from './model.js'

export function diagnoseFleet(plan: FleetPlan, outcomes: ReadonlyMap<string, DoctorOutcome>, options: DiagnoseOptions = {}): Finding[] {
  const stale = options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS
  const names = options.names ?? new Map<string, string>()
  const iface = plan.interface
  const findings: Finding[] = []
  const add = (f: Finding) => findings.push(f)
  const hostRoutes = new Map(plan.nodes.map((n) => [n.name, `${n.address.split('/')[0]}/32`]))

  // Relays: nodes that carry other nodes' traffic between their peers.
  const relaySets = new Map<string, Set<string>>()
  const carries = (via: string, node: string) => {
    const set = relaySets.get(via)
    if (set) set.add(node)
    else relaySets.set(via, new Set([node]))
  }
  for (const n of plan.nodes) {
    for (const r of n.relayed) carries(r.via, n.name)
    if (n.overlayVia !== undefined) carries(n.overlayVia, n.name)
  }
  const relayFor = new Map([...relaySets].map(([via, nodes]) => [via, [...nodes]]))

  // Per node: the node's own checks and the handshakes it sees. Only what the cross-node checks need
  // (plan, reading, firewall verdict) is kept afterwards: the parsed entries of a 1,000-node mesh are a
  // million objects.
  const views = new Map<string, Pick<NodeView, 'plan' | 'reading' | 'firewall'>>()
  const troubles: Trouble[] = []
  for (const nodePlan of plan.nodes) {
    const outcome = outcomes.get(nodePlan.name)
    if (!outcome) continue
    if (!outcome.ok) {
      add(unreachableFinding(nodePlan.name, outcome.problem))
      continue
    }
    const untrusted = options.untrustedKeys?.get(nodePlan.name)
    if (untrusted) add({node: nodePlan.name, severity: 'error', check: 'key-not-trusted', ...untrusted})
    const reading = outcome.reading
    const parsedConfig = reading.config === null ? null : parseRenderedConfig(reading.config)
    const view: NodeView = {
      plan: nodePlan,
      reading,
      live: reading.link === 'up' && reading.peers !== null ? reading.peers.map(liveEntry) : null,
      config: parsedConfig ? configEntries(parsedConfig) : null,
      parsedConfig,
      // The same question init asks of this node's firewall.
      firewall: firewallVerdict(reading, firewallNeedsOf(nodePlan, reading.listenPort ?? nodePlan.listenPort, reading.uplink, reading.routes)),
    }
    views.set(nodePlan.name, {plan: nodePlan, reading, firewall: view.firewall})
    checkInterface(view, iface, add)
    checkPeers(view, iface, names, hostRoutes, add)
    // A node without wg has one finding (wg-missing): forwarding follows once init converged it.
    if (view.reading.wgInstalled) checkForwarding(view, iface, relayFor.get(nodePlan.name) ?? [], add)
    checkDrift(view, iface, names, add)
    checkPathMtu(view, add)
    checkHostsFile(view, add)
    for (const t of handshakeTroubles(view, stale)) troubles.push(t)
  }

  const planned = plan.nodes.map((n) => n.name)
  for (const {node, age} of keysPastAge(planned, options.keyAges ?? new Map(), options.keyMaxAgeDays)) {
    add({
      node,
      severity: 'warning',
      check: 'key-too-old',
      message: `its WireGuard key is ${age.ageDays} days old (created ${age.createdAt}), older than key_max_age_days = ${options.keyMaxAgeDays}`,
      fix: `wgfleet rotate-key ${node}`,
    })
  }

  checkFirewalls(views, troubles, add)
  checkPresharedKeys(plan, views, add)
  checkUnexplainedHandshakes(plan, views, troubles, findings, add)

  const order = new Map(plan.nodes.map((n, i) => [n.name, i]))
  const checkOrder = new Map(CHECKS.map((c, i) => [c, i]))
  return findings
    .map((f, i) => ({f, i}))
    .sort(
      (a, b) =>
        (order.get(a.f.node) ?? 0) - (order.get(b.f.node) ?? 0) ||
        severityRank(a.f.severity) - severityRank(b.f.severity) ||
        checkOrder.get(a.f.check)! - checkOrder.get(b.f.check)! ||
        a.i - b.i,
    )
    .map(({f}) => f)
}

/** 1 when any finding is an error (the fleet needs fixing); 0 otherwise (warnings allowed). */
export function doctorExitCode(findings: readonly Finding[]): 0 | 1 {
  return findings.some((f) => f.severity === 'error') ? 1 : 0
}

/** Handshakes that are not fresh, as `view`'s node sees them on its correct entries. */
function handshakeTroubles(view: NodeView, stale: number): Trouble[] {
  if (!view.live) return []
  const byKey = new Map(view.live.map((e) => [e.publicKey, e]))
  const troubles: Trouble[] = []
  for (const peer of view.plan.peers) {
    const entry = peer.publicKey === null ? undefined : byKey.get(peer.publicKey)
    if (!entry || entry.latestHandshake === null) continue
    const state = handshakeState(entry.latestHandshake, view.reading.now, stale)
    // Keepalive off in the plan: silence is not a fault (status calls it idle).
    if (state === 'ok' || peer.keepalive === 0) continue
    troubles.push({node: view.plan.name, peer: peer.name, age: handshakeAge(entry.latestHandshake, view.reading.now)})
  }
  return troubles
}

function severityRank(s: Severity): number {
  return s === 'error' ? 0 : 1
}

// --- per-node checks --------------------------------------------------------------------------------
