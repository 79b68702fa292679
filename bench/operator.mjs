#!/usr/bin/env node
// Operator-side benchmarks at large N (no lab, no network): plan, plan --json, the status and doctor
// judges on synthetic readings in every fault state, and `init` no-op against a fleet of scripted hosts.
//   npm run build && node bench/operator.mjs [--quick]
// Prints one table; every run is listed. Whole-process cases run the real CLI (`node bin/run.js`) under
// GNU time; in-process cases time the library functions the commands call (the judges, the converge).
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin/run.js')
const RUNS = process.argv.includes('--quick') ? 1 : 3
const work = mkdtempSync(join(tmpdir(), 'wgfleet-bench-op-'))
const dist = (p) => import(join(ROOT, 'dist', p))

const {parseInventory} = await dist('inventory/index.js')
const {planFleet} = await dist('plan/index.js')
const {nodeStatusFromReading, unreachableNodeStatus, buildFleetStatus} = await dist('judges/status.js')
const {renderStatus} = await dist('output/status-view.js')
const {diagnoseFleet} = await dist('judges/doctor/index.js')
const {renderDoctor} = await dist('output/doctor-view.js')

/** An inventory of N nodes: one relay, every 10th node NAT-ed (hub: two relays). */
function inventory(n, topology = 'mesh') {
  const lines = ['[network]', 'cidr = 10.64.0.0/16', ...(topology === 'hub' ? ['topology = hub'] : []), '']
  for (let i = 1; i <= n; i++) {
    const nat = i % 10 === 0
    lines.push(`[node-${String(i).padStart(4, '0')}]`, nat ? `host = 198.51.${Math.floor(i / 250) % 256}.${(i % 250) + 1}` : `host = 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`)
    if (nat) lines.push('nat = true')
    if (i === 1 || (topology === 'hub' && i === 2)) lines.push('relay = true')
    lines.push(`address = 10.64.${Math.floor(i / 250)}.${(i % 250) + 1}`, '')
  }
  return lines.join('\n')
}

function inventoryFile(n, topology) {
  const dir = join(work, `${topology}-${n}`)
  mkdirSync(dir, {recursive: true})
  const file = join(dir, 'inventory.ini')
  if (!existsSync(file)) writeFileSync(file, inventory(n, topology))
  return file
}

function cli(args) {
  const timing = join(work, 'time')
  const r = spawnSync('/usr/bin/time', ['-o', timing, '-f', '%e %M', process.execPath, BIN, ...args], {encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe']})
  if (r.status !== 0) throw new Error(`wgfleet ${args.join(' ')}: exit ${r.status}: ${r.stderr}`)
  const [wall, kb] = spawnSync('tail', ['-n1', timing], {encoding: 'utf8'}).stdout.trim().split(' ').map(Number)
  return {seconds: wall, rssMiB: kb / 1024}
}

function inProcess(fn) {
  global.gc?.()
  const before = process.memoryUsage().rss
  const start = process.hrtime.bigint()
  fn()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return {seconds, rssMiB: Math.max(before, process.memoryUsage().rss) / 1024 / 1024}
}

const key = () => randomBytes(32).toString('base64')
const NOW = 1_700_000_000

function planWithKeys(n, topology) {
  const fleet = parseInventory(inventory(n, topology), join(work, 'x.ini'))
  const publicKeys = Object.fromEntries(fleet.nodes.map((node) => [node.name, key()]))
  return {fleet, publicKeys, plan: planFleet(fleet, {publicKeys}, {omitPeersWithoutKey: true})}
}

/** The interface's peers as the plan says, with handshakes `age` seconds old. */
function dumpPeers(nodePlan, age) {
  return nodePlan.peers.map((p, i) => ({publicKey: p.publicKey, presharedKey: false, endpoint: p.endpoint ?? `203.0.113.50:${40000 + (i % 20000)}`, allowedIps: [...p.allowedIps], latestHandshake: age === null ? 0 : NOW - age, rxBytes: 1000, txBytes: 2000, keepalive: p.keepalive}))
}

const FAULTS = {
  healthy: () => ({age: 20, skip: () => false}),
  'all stale': () => ({age: 900, skip: () => false}),
  'all never': () => ({age: null, skip: () => false}),
  '10% unreachable': () => ({age: 20, skip: (i) => i % 10 === 3}),
}

/** The judge and one renderer: what one `status` run does (it prints one format). */
function statusCase(n, topology, fault, format) {
  const {plan, publicKeys} = planWithKeys(n, topology)
  const names = new Map(Object.entries(publicKeys).map(([name, k]) => [k, name]))
  const {age, skip} = FAULTS[fault]()
  const readings = plan.nodes.map((node, i) => (skip(i) ? null : {link: 'up', wgInstalled: true, now: NOW, listenPort: 51820, publicKey: publicKeys[node.name], peers: dumpPeers(node, age)}))
  return () => {
    const nodes = plan.nodes.map((node, i) => (readings[i] ? nodeStatusFromReading(node, readings[i], 180, names) : unreachableNodeStatus(node, {kind: 'unreachable', message: 'connection refused'})))
    const status = buildFleetStatus(nodes, {staleAfterSeconds: 180, checkedAt: NOW})
    renderStatus(status, format, {})
  }
}

/** The judge and one renderer: what one `doctor` run does (it prints one format). */
function doctorCase(n, topology, fault, format) {
  const {plan, publicKeys} = planWithKeys(n, topology)
  const names = new Map(Object.entries(publicKeys).map(([name, k]) => [k, name]))
  const {age, skip} = FAULTS[fault]()
  const outcomes = new Map(
    plan.nodes.map((node, i) => [
      node.name,
      skip(i)
        ? {ok: false, problem: {kind: 'unreachable', message: 'connection refused'}}
        : {
            ok: true,
            reading: {
              link: 'up', mtu: 1420, addresses: [node.address], wgInstalled: true, now: NOW, listenPort: 51820,
              publicKey: publicKeys[node.name], keyFilePublicKey: publicKeys[node.name], peers: dumpPeers(node, age),
              config: node.config, systemd: true, unitEnabled: 'enabled', unitActive: 'active', ipForward: node.forwarding, forwardFiles: node.forwarding ? ['/etc/sysctl.d/99-wgfleet.conf'] : [],
              ufw: {state: 'absent', status: []}, firewalld: {state: 'absent', defaultZone: '', interfaceZone: '', runtime: null, permanent: null, interfaceZoneRuntime: null},
              pingTool: 'yes', pings: [], pingsUnprobed: 0,
            },
          },
    ]),
  )
  return () => {
    const findings = diagnoseFleet(plan, outcomes, {names, staleAfterSeconds: 180})
    renderDoctor(findings, format, {})
  }
}

const rows = []
function record(name, target, runs) {
  const seconds = runs.map((r) => r.seconds)
  const median = [...seconds].sort((a, b) => a - b)[Math.floor(seconds.length / 2)]
  const rss = Math.max(...runs.map((r) => r.rssMiB))
  const limit = target.seconds
  rows.push({name, median, runs: seconds, rss, target: `≤ ${limit} s${target.rssMiB ? `, ≤ ${target.rssMiB} MB` : ''}`, met: median <= limit && (!target.rssMiB || rss <= target.rssMiB)})
  console.error(`${name}: ${seconds.map((s) => s.toFixed(2)).join(', ')} s, ${rss.toFixed(0)} MiB`)
}
const repeat = (fn) => Array.from({length: RUNS}, fn)

for (const [n, target] of [[1000, {seconds: 1.5, rssMiB: 300}], [2000, {seconds: 4}]]) {
  const file = inventoryFile(n, 'mesh')
  record(`plan, mesh N=${n}`, target, repeat(() => cli(['plan', '-i', file])))
}
record('plan --json, mesh N=1000', {seconds: 3}, repeat(() => cli(['plan', '--json', '-i', inventoryFile(1000, 'mesh')])))
record('plan, hub N=5000', {seconds: 2}, repeat(() => cli(['plan', '-i', inventoryFile(5000, 'hub')])))
for (const fault of Object.keys(FAULTS)) {
  for (const format of ['table', 'json', 'prometheus']) {
    const run = statusCase(1000, 'mesh', fault, format)
    record(`status judge + ${format}, mesh N=1000, ${fault}`, {seconds: 3}, repeat(() => inProcess(run)))
  }
}
for (const format of ['table', 'json', 'prometheus']) record(`status judge + ${format}, hub N=1000, all stale`, {seconds: 3}, repeat(() => inProcess(statusCase(1000, 'hub', 'all stale', format))))
for (const fault of Object.keys(FAULTS)) {
  for (const format of ['table', 'json']) {
    const run = doctorCase(1000, 'mesh', fault, format)
    record(`doctor judge + ${format}, mesh N=1000, ${fault}`, {seconds: 5}, repeat(() => inProcess(run)))
  }
}
for (const format of ['table', 'json']) record(`doctor judge + ${format}, hub N=1000, all stale`, {seconds: 5}, repeat(() => inProcess(doctorCase(1000, 'hub', 'all stale', format))))

console.log(`Operator side, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; ${RUNS} run(s) each, median shown.\n`)
console.log('| case | median (s) | runs (s) | peak RSS (MiB) | target | met |')
console.log('|---|---|---|---|---|---|')
for (const r of rows) console.log(`| ${r.name} | ${r.median.toFixed(2)} | ${r.runs.map((s) => s.toFixed(2)).join(', ')} | ${r.rss.toFixed(0)} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`)
