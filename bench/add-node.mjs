#!/usr/bin/env node
// add-node into a converged mesh of N real hosts, again and again: `add-node` (measured), `remove-node`
// (not measured), repeat — one scale lab, one fresh init, so that builds of wgfleet can be compared on the
// same hosts, in turn (--bin A --bin B: A, B, A, B, ...). Each run reports its wall time against the hosts'
// CPU floor, as bench/scale.mjs does. Every run is listed; nothing is written to RESULTS.md (paste a table).
//   flock /tmp/wgfleet-e2e.lock node bench/add-node.mjs [--nodes 100] [--runs 3] [--bin path/to/bin/run.js ...]
//     [--keep-lab] [--reuse-lab]   (leave the lab up at the end; use the one a --keep-lab run left)
// Needs root (the lab) and built CLIs. At N=100: about 4 minutes for the lab and init, then ~50 s per run
// and build (add-node, remove-node, the purge).
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, CORES, INVENTORY, MACHINE, lab, labExec, measure, nodeCpuSeconds, onInterrupt, preflight, waitForKeepaliveLull, waitForQuiet} from './lab.mjs'

preflight('add-node')
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback)
const N = Number(arg('--nodes', '100'))
const RUNS = Number(arg('--runs', '3'))
const bins = process.argv.flatMap((a, i) => (a === '--bin' ? [process.argv[i + 1]] : []))
const BINS = bins.length > 0 ? bins : [BIN]
/** --save DIR: each add-node's --json report (add-node-RUN-BUILD.json) and every transcript kept there. */
const SAVE = arg('--save', undefined)
if (SAVE) mkdirSync(SAVE, {recursive: true})
/** --node-arg ARG: passed to node before the CLI (e.g. --cpu-prof). */
const NODE_ARGS = process.argv.flatMap((a, i) => (a === '--node-arg' ? [process.argv[i + 1]] : []))
if (!(N >= 2 && N <= 109) || !(RUNS >= 1 && RUNS <= 20)) throw new Error('--nodes 2..109, --runs 1..20')
/** --keep-lab: leave the lab up at the end; --reuse-lab: use the lab a --keep-lab run left (no lab up, no init). */
const KEEP = process.argv.includes('--keep-lab')
const REUSE = process.argv.includes('--reuse-lab')
if (!KEEP) onInterrupt(() => lab('down'))

/** One measured CLI run (bench/lab.mjs `measure`, as bench/scale.mjs uses), with the newcomer's own CPU. */
function wgfleet(bin, args, timeoutMs = 600_000) {
  const newcomerBefore = nodeCpuSeconds(spare)
  const r = measure(args, {allowFail: true, timeoutMs, bin, nodeArgs: NODE_ARGS, ...(SAVE ? {transcriptDir: SAVE} : {})})
  return {...r, rss: r.rssMiB, newcomerCpu: nodeCpuSeconds(spare) - newcomerBefore}
}

const spare = `node-${String(N + 1).padStart(2, '0')}`
const concurrency = ['--concurrency', '20']
if (REUSE) {
  if (readFileSync(INVENTORY, 'utf8').includes(`\n[${spare}]`)) throw new Error(`--reuse-lab: ${spare} is in the inventory (an add-node left it): remove-node it first`)
} else {
  lab('down')
  lab('up', '--scenario', 'scale', '--nodes', String(N + 1))
  const text = readFileSync(INVENTORY, 'utf8')
  writeFileSync(INVENTORY, text.slice(0, text.indexOf(`\n[${spare}]`) + 1))
  waitForQuiet({maxSeconds: 60})
  const init = wgfleet(BINS[0], ['init', '--json', '-i', INVENTORY, ...concurrency], 900_000)
  if (init.code !== 0) throw new Error(`init exited ${init.code}: ${init.stderr.slice(-2000)}${init.stdout.slice(-2000)}`)
  console.log(`init N=${N}: ${init.wall.toFixed(1)} s`)
}

const rows = []
try {
  for (let run = 0; run < RUNS; run++) {
    for (const bin of BINS) {
      waitForQuiet({maxSeconds: 60})
      const lull = waitForKeepaliveLull()
      const r = wgfleet(bin, ['add-node', spare, '--host', `198.18.1.${N + 1}`, '--json', '-i', INVENTORY, ...concurrency])
      if (SAVE) writeFileSync(join(SAVE, `add-node-${run + 1}-${BINS.indexOf(bin) + 1}.json`), r.stdout)
      let failed = NaN
      try { failed = JSON.parse(r.stdout).nodes.filter((n) => n.result === 'failed').length } catch {}
      const floor = (r.hostsCpu + r.cliCpu) / CORES
      const row = {run: run + 1, bin, ...r, floor, failed, lull: lull.burst}
      rows.push(row)
      console.log(`run ${run + 1} ${bin}: add-node ${r.wall.toFixed(2)} s, floor ${floor.toFixed(2)} s, wgfleet CPU ${r.cliCpu.toFixed(2)} s, hosts CPU ${r.hostsCpu.toFixed(2)} s (newcomer ${r.newcomerCpu.toFixed(2)}), exit ${r.code}, ${failed} failed${lull.burst ? `, started after a keepalive burst (waited ${lull.waited.toFixed(1)} s)` : ', no keepalive burst seen'}`)
      const removed = wgfleet(bin, ['remove-node', spare, '--purge', '-i', INVENTORY, ...concurrency])
      if (removed.code !== 0) throw new Error(`remove-node exited ${removed.code}: ${removed.stderr.slice(-2000)}${removed.stdout.slice(-2000)}`)
      // The spare as it was: no WireGuard packages (the next add-node installs them, as a first one does).
      const purged = labExec(spare, 'apt-get purge -y -qq wireguard-tools wireguard-go >/dev/null 2>&1 && apt-get autoremove -y -qq >/dev/null 2>&1; ! command -v wg')
      if (purged.code !== 0) throw new Error(`could not remove WireGuard from ${spare}`)
    }
  }
} finally {
  if (!KEEP) lab('down')
}
console.log([
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${MACHINE}: \`node bench/add-node.mjs --nodes ${N} --runs ${RUNS}\` (add-node, then remove-node --purge and the WireGuard packages purged, repeated on one lab).`,
  '',
  '| run | build | wall (s) | floor (s) | wall / floor | wgfleet CPU (s) | hosts CPU (s) | newcomer CPU (s) | peak RSS (MiB) | exit | failed nodes | after a keepalive burst |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.run} | ${r.bin} | ${r.wall.toFixed(2)} | ${r.floor.toFixed(2)} | ${(r.wall / r.floor).toFixed(2)} | ${r.cliCpu.toFixed(2)} | ${r.hostsCpu.toFixed(2)} | ${r.newcomerCpu.toFixed(2)} | ${r.rss.toFixed(0)} | ${r.code} | ${r.failed} | ${r.lull ? 'yes' : 'none seen'} |`),
].join('\n'))
