#!/usr/bin/env node
// Soak (lab only, never CI): consecutive fresh converges of the seed scenario while a CPU hog keeps every
// core busy — the condition under which a fresh `init` once ended `partial` (one run in six). Each run
// starts from truly fresh hosts (`lab down` + `lab up --scenario seed`: new containers from the image,
// about 6 s), runs `wgfleet init --json`, and checks that every interface is what its file says
// (keepalives on, no pending marker). Prints every run's result and duration; writes the figures into
// bench/RESULTS.md (section "soak"); exit 0 only when every run exited 0.
//
//   flock /tmp/wgfleet-e2e.lock node bench/soak.mjs [--runs 20] [--no-hog]    (root; `npm run build` first)
//
// Bounded: at most 50 runs, each init at most 120 s, the whole soak at most 45 minutes. The hog runs
// during each init: one busy loop per core, each under `timeout 150`, killed by its process group as the
// init ends (and on exit).
import {spawn} from 'node:child_process'

import {CORES, INVENTORY, MACHINE, lab, liveEqualsFile, measure, onInterrupt, preflight, writeResultsSection} from './lab.mjs'

const argv = process.argv.slice(2)
const opt = (name, fallback) => {
  const at = argv.indexOf(name)
  return at === -1 ? fallback : argv[at + 1]
}
const RUNS = Math.min(50, Math.max(1, Number(opt('--runs', '20')) || 20))
const HOG = !argv.includes('--no-hog')
const SOAK_LIMIT_MS = 45 * 60_000
const NODES = ['node-a', 'node-b', 'node-c', 'node-d']

preflight('soak')

/** One busy loop per core, each ending on its own after `seconds` (timeout), in its own process group. */
function startHog(seconds) {
  return Array.from({length: CORES}, () => {
    const child = spawn('timeout', [String(seconds), 'sh', '-c', 'while :; do :; done'], {stdio: 'ignore', detached: true})
    child.unref()
    return child
  })
}
function stopHog(hogs) {
  for (const child of hogs) {
    try {
      process.kill(-child.pid, 'SIGKILL') // its group: timeout and the loop under it
    } catch {
      // already ended (timeout)
    }
  }
}

const started = Date.now()
const results = []
let hogs = []
process.on('exit', () => stopHog(hogs))
onInterrupt(() => {
  stopHog(hogs)
  lab('down')
})
try {
  for (let i = 1; i <= RUNS; i++) {
    if (Date.now() - started > SOAK_LIMIT_MS) {
      console.log(`soak: stopped after ${i - 1} runs (time limit)`)
      break
    }
    lab('down')
    lab('up', '--scenario', 'seed')
    hogs = HOG ? startHog(150) : []
    const run = measure(['init', '-i', INVENTORY, '--json'], {allowFail: true, timeoutMs: 120_000})
    stopHog(hogs)
    hogs = []
    let doc
    try {
      doc = JSON.parse(run.stdout)
    } catch {
      doc = undefined
    }
    const failed = (doc?.nodes ?? []).filter((n) => n.result === 'failed').map((n) => `${n.name}: ${n.error}`)
    const drift = run.code === 0 ? liveEqualsFile(NODES) : []
    const ok = run.code === 0 && drift.length === 0
    const row = {run: i, code: run.code, result: doc?.result ?? 'no JSON', wall: run.wall, ok, notes: [...failed, ...drift.map((d) => `live ≠ file: ${d}`)]}
    results.push(row)
    console.log(`soak run ${String(i).padStart(2)}/${RUNS}: exit ${run.code}, ${row.result}, ${run.wall.toFixed(2)} s${row.notes.length ? ` — ${row.notes.join('; ')}` : ''}`)
  }
} finally {
  stopHog(hogs)
  lab('down')
}

const passed = results.filter((r) => r.ok).length
const walls = results.map((r) => r.wall)
const summary = `soak: ${passed}/${results.length} exit 0 with the interfaces as their files say (${HOG ? `${CORES} busy loops on ${CORES} cores` : 'no hog'}); init ${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)} s`
console.log(summary)
writeResultsSection(
  'soak',
  [
    '## Soak: fresh `init` of the seed scenario under CPU load',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${MACHINE}: \`flock /tmp/wgfleet-e2e.lock node bench/soak.mjs\` —`,
    `${results.length} consecutive fresh converges (\`lab down\` + \`lab up --scenario seed\` before each: new hosts), ${HOG ? `with ${CORES} busy loops keeping all ${CORES} cores busy` : 'without a CPU hog'}.`,
    'Each run must exit 0 and leave every interface as its file says (keepalives on, no pending marker).',
    '',
    `**${passed}/${results.length} passed.**`,
    '',
    '| run | exit | result | wall (s) | notes |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.run} | ${r.code} | ${r.result} | ${r.wall.toFixed(2)} | ${r.notes.join('; ').replace(/\|/g, '\\|') || '-'} |`),
  ].join('\n'),
)
process.exitCode = passed === results.length && results.length === RUNS ? 0 : 1
