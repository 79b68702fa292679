#!/usr/bin/env node
// Real hosts at scale: fresh `init`, no-op rerun, `status`, `doctor` and `add-node` at N = 1, 10, 30, 60, 100
// in the lab's scale scenario (198.18.0.0/16, one bridge, full mesh), and N=100 as a hub. Each case reports
// its wall time against the hosts' CPU floor (the lab cgroup's CPU during the run plus wgfleet's own, over
// the cores: no schedule finishes sooner) and wgfleet's peak RSS. Writes the "scale" section of
// bench/RESULTS.md with every run listed (one section per set of sizes).
//   flock /tmp/wgfleet-e2e.lock node bench/scale.mjs [--sizes 1,10,30,60,100] [--runs 1] [--no-hub]
// Needs root (the lab) and a built CLI (npm run build). Takes about 15-25 minutes at the full sizes.
import {readFileSync, writeFileSync} from 'node:fs'

import {CORES, INVENTORY, MACHINE, lab, measure, onInterrupt, preflight, waitForKeepaliveLull, waitForQuiet, writeResultsSection} from './lab.mjs'

preflight('scale')
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback)
const SIZES = arg('--sizes', '1,10,30,60,100').split(',').map(Number)
const RUNS = Number(arg('--runs', '1'))
const HUB = !process.argv.includes('--no-hub')
/** The lab's own limit (test/lab/lab MAX_NODES): N nodes plus the one add-node brings in. */
const LAB_MAX = 110

const rows = []
const STATUS_RUNS = 3

/**
 * From N=60 a mesh brought up by one init sends all its keepalives within a few seconds every 25 s (see
 * waitForKeepaliveLull): 4-6 CPU-s of wireguard-go on the lab's two shared cores. On a real fleet each host
 * spends that on its own CPU; here it would be measured as wgfleet's wall time, so every case after the
 * fresh init starts right after a burst, as bench/add-node.mjs does. Smaller meshes have no burst to wait for.
 */
function lull(n) {
  if (n < 60) return
  const {burst, waited} = waitForKeepaliveLull()
  console.log(`  (keepalive lull: ${burst ? 'after a burst' : 'no burst seen'}, waited ${waited.toFixed(1)} s)`)
}
onInterrupt(() => lab('down'))

/** A fresh scale lab of N hosts (plus one spare for add-node when the lab has room); inventory of N. */
function freshFleet(n, {hub = false} = {}) {
  const spare = n + 1 <= LAB_MAX
  lab('down')
  lab('up', '--scenario', 'scale', '--nodes', String(spare ? n + 1 : n))
  let text = readFileSync(INVENTORY, 'utf8')
  const last = `node-${String(n + 1).padStart(2, '0')}`
  if (spare) text = text.slice(0, text.indexOf(`\n[${last}]`) + 1)
  // A hub: node-01 is the relay the others peer with.
  if (hub) text = text.replace(/^\[network\]\n/m, '[network]\ntopology = hub\n').replace(/^\[node-01\]\n/m, '[node-01]\nrelay = true\n')
  writeFileSync(INVENTORY, text)
  return spare ? {name: last, host: `198.18.1.${n + 1}`} : null
}

function record(kind, n, topology, r) {
  const floor = (r.hostsCpu + r.cliCpu) / CORES
  const row = {kind, n, topology, wall: r.wall, floor, ratio: r.wall / floor, rss: r.rssMiB, cliCpu: r.cliCpu, hostsCpu: r.hostsCpu, failures: failures(r.stdout), code: r.code}
  rows.push(row)
  console.log(`${topology} N=${n} ${kind}: wall ${r.wall.toFixed(2)} s, floor ${floor.toFixed(2)} s (${row.ratio.toFixed(2)}×), peak RSS ${r.rssMiB.toFixed(0)} MiB, exit ${r.code}${row.failures ? `, ${row.failures} failed` : ''}`)
  return row
}

/** Nodes that ended `failed` in a --json converge report (0 for other commands). */
function failures(stdout) {
  try {
    const doc = JSON.parse(stdout)
    return Array.isArray(doc.nodes) ? doc.nodes.filter((x) => x.result === 'failed').length : 0
  } catch {
    return 0
  }
}

function measureFleet(n, topology) {
  for (let run = 0; run < RUNS; run++) {
    const spare = freshFleet(n, {hub: topology === 'hub'})
    waitForQuiet({maxSeconds: 60})
    const concurrency = ['--concurrency', '20']
    record('init, fresh', n, topology, measure(['init', '--json', '-i', INVENTORY, ...concurrency], {allowFail: true, timeoutMs: 900_000}))
    lull(n)
    record('init, no-op', n, topology, measure(['init', '--json', '-i', INVENTORY, ...concurrency], {allowFail: true}))
    // status is read-only and short: three runs, each listed (the target takes the worst).
    for (let k = 0; k < STATUS_RUNS; k++) {
      lull(n)
      record('status', n, topology, measure(['status', '-i', INVENTORY, ...concurrency], {allowFail: true}))
    }
    lull(n)
    record('doctor', n, topology, measure(['doctor', '-i', INVENTORY, ...concurrency], {allowFail: true}))
    lull(n)
    if (spare) record('add-node', n, topology, measure(['add-node', spare.name, '--host', spare.host, '--json', '-i', INVENTORY, ...concurrency], {allowFail: true}))
  }
}

try {
  for (const n of SIZES) measureFleet(n, 'mesh')
  if (HUB) measureFleet(100, 'hub')
} finally {
  lab('down')
}

// Targets at N=100, full mesh (the issue's lab targets).
const at = (kind, topology = 'mesh', n = 100) => rows.filter((r) => r.kind === kind && r.topology === topology && r.n === n)
const worst = (xs, f) => (xs.length ? Math.max(...xs.map(f)) : NaN)
const targets = [
  ['fresh init N=100: 0 failures', at('init, fresh').every((r) => r.failures === 0 && r.code === 0) && at('init, fresh').length > 0, `${worst(at('init, fresh'), (r) => r.failures)} failed, exit ${at('init, fresh').map((r) => r.code).join(', ')}`],
  ['fresh init N=100 ≤ 1.3 × host-CPU floor', worst(at('init, fresh'), (r) => r.ratio) <= 1.3, `${worst(at('init, fresh'), (r) => r.ratio).toFixed(2)}×`],
  ['no-op N=100 ≤ 5 s', worst(at('init, no-op'), (r) => r.wall) <= 5, `${worst(at('init, no-op'), (r) => r.wall).toFixed(2)} s`],
  ['status N=100 ≤ 3 s', worst(at('status'), (r) => r.wall) <= 3, `${worst(at('status'), (r) => r.wall).toFixed(2)} s`],
  ['doctor N=100 ≤ 10 s', worst(at('doctor'), (r) => r.wall) <= 10, `${worst(at('doctor'), (r) => r.wall).toFixed(2)} s`],
  ['add-node into N=100 ≤ 5 s', worst(at('add-node'), (r) => r.wall) <= 5, `${worst(at('add-node'), (r) => r.wall).toFixed(2)} s`],
  ['peak RSS ≤ 200 MB', worst(rows, (r) => r.rss) * 1.048576 <= 200, `${(worst(rows, (r) => r.rss) * 1.048576).toFixed(0)} MB`],
]
const md = [
  '## Real hosts at scale (lab scale scenario)',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${MACHINE}: \`flock /tmp/wgfleet-e2e.lock node bench/scale.mjs --sizes ${SIZES.join(',')} --runs ${RUNS}\`.`,
  'Fresh hosts for every size (`lab down` + `lab up --scenario scale --nodes N+1`: N in the inventory, one spare for add-node);',
  '`--concurrency 20`; from N=60, every case after the fresh `init` (`status`: three runs) starts right after a keepalive burst of the lab\'s mesh (bench/lab.mjs waitForKeepaliveLull). Floor = (the hosts\' CPU during the run, from the lab\'s cgroup, + wgfleet\'s own CPU) / cores. Every run listed.',
  '',
  '| topology | N | case | wall (s) | floor (s) | wall / floor | wgfleet CPU (s) | hosts CPU (s) | peak RSS (MiB) | exit | failed nodes |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.topology} | ${r.n} | ${r.kind} | ${r.wall.toFixed(2)} | ${r.floor.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.cliCpu.toFixed(2)} | ${r.hostsCpu.toFixed(2)} | ${r.rss.toFixed(0)} | ${r.code} | ${r.failures} |`),
  '',
  ...(SIZES.includes(100)
    ? ['| target (N=100, mesh) | met | measured |', '|---|---|---|', ...targets.map(([what, ok, value]) => `| ${what} | ${ok ? 'yes' : '**no**'} | ${value} |`)]
    : []),
]
// One section per set of sizes (a long run can be split: --sizes 100, then --sizes 1,10,30,60 --no-hub).
writeResultsSection(`scale-${SIZES.join('-')}${HUB ? '-hub' : ''}`, md.join('\n'))
console.log(md.join('\n'))
