#!/usr/bin/env node
// Benchmarks of the real CLI against real hosts in the lab's scale scenario (needs root: the lab).
//   npm run bench              all of it, then writes bench/RESULTS.md
//   npm run bench -- --quick   one run per case (a smoke test of the harness)
// Each case: whole-process wall time and peak RSS of `node bin/run.js ...` (GNU time), median of 3 runs;
// SSH connections and remote execs per node, counted from the transcript (WGFLEET_TRANSCRIPT).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const LAB = join(ROOT, 'test/lab/lab')
const RUN = join(ROOT, 'test/lab/.run')
const BIN = join(ROOT, 'bin/run.js')
const RUNS = process.argv.includes('--quick') ? 1 : 3
const work = mkdtempSync(join(tmpdir(), 'wgfleet-bench-'))

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (it runs the lab: network namespaces and containers)')
  process.exit(1)
}
if (!existsSync('/usr/bin/time')) execFileSync('apt-get', ['install', '-y', '-qq', 'time'], {stdio: 'inherit'})

function lab(...args) {
  const r = spawnSync(LAB, args, {cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000})
  if (r.status !== 0) throw new Error(`lab ${args.join(' ')} failed`)
}

/** Fresh hosts: a new lab of N public hosts. */
function freshLab(n) {
  lab('down')
  lab('up', '--scenario', 'scale', '--nodes', String(n))
}

/** Run the CLI in the operator namespace under GNU time; returns wall seconds, peak RSS (MiB), exit code, transcript. */
function measure(args, {allowFail = false} = {}) {
  const timing = join(work, `time-${Date.now()}`)
  const transcript = join(work, `transcript-${Date.now()}`)
  const r = spawnSync(LAB, ['op', '--', '/usr/bin/time', '-o', timing, '-f', '%e %M', process.execPath, BIN, ...args], {
    cwd: ROOT,
    env: {...process.env, NO_COLOR: '1', WGFLEET_TRANSCRIPT: transcript},
    encoding: 'utf8',
    timeout: 600_000,
  })
  if (r.status !== 0 && !allowFail) throw new Error(`wgfleet ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`)
  const [wall, rssKb] = readFileSync(timing, 'utf8').trim().split('\n').pop().split(' ').map(Number)
  const counts = countTranscript(existsSync(transcript) ? readFileSync(transcript, 'utf8') : '')
  return {wall, rssMiB: rssKb / 1024, code: r.status, counts}
}

/** Per node: SSH connections (a shell's exec numbering starts at #1 on each new connection) and execs. */
function countTranscript(text) {
  const perNode = {}
  for (const m of text.matchAll(/^=== \S+ (\S+) exec #(\d+) /gm)) {
    const node = (perNode[m[1]] ??= {connections: 0, execs: 0})
    node.execs++
    if (m[2] === '1') node.connections++
  }
  const nodes = Object.values(perNode)
  return {
    nodes: nodes.length,
    maxConnections: Math.max(0, ...nodes.map((n) => n.connections)),
    maxExecs: Math.max(0, ...nodes.map((n) => n.execs)),
    totalExecs: nodes.reduce((a, n) => a + n.execs, 0),
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function summarise(name, runs, floor) {
  const row = {
    name,
    wall: median(runs.map((r) => r.wall)),
    walls: runs.map((r) => r.wall),
    rss: median(runs.map((r) => r.rssMiB)),
    connections: Math.max(...runs.map((r) => r.counts.maxConnections)),
    execs: Math.max(...runs.map((r) => r.counts.maxExecs)),
    floor,
  }
  console.log(`${name}: median ${row.wall.toFixed(2)} s (${row.walls.join(', ')}), peak RSS ${row.rss.toFixed(0)} MiB, ≤${row.connections} conn/node, ≤${row.execs} execs/node`)
  return row
}

const rows = []
const inventory = join(RUN, 'inventory.ini')

// Start-up.
lab('up', '--scenario', 'scale', '--nodes', '1')
for (const args of [['--help'], ['--version']]) {
  const runs = Array.from({length: Math.max(RUNS, 5)}, () => measure(args))
  rows.push(summarise(`wgfleet ${args[0]}`, runs, 'no SSH'))
}

// init on fresh hosts.
for (const n of [1, 5, 10, 20]) {
  const runs = []
  for (let i = 0; i < RUNS; i++) {
    freshLab(n)
    runs.push(measure(['init', '-i', inventory, '--concurrency', '20']))
  }
  rows.push(summarise(`init, fresh hosts, N=${n}`, runs, '4 execs: probe, install+key, apply, verify (the key barrier needs 2)'))
}

// No-op rerun and status on a converged fleet.
for (const n of [10, 20]) {
  freshLab(n)
  measure(['init', '-i', inventory, '--concurrency', '20'])
  rows.push(summarise(`init, no-op rerun, N=${n}`, Array.from({length: RUNS}, () => measure(['init', '-i', inventory, '--concurrency', '20'])), '1 exec: probe'))
  rows.push(summarise(`status, N=${n}`, Array.from({length: RUNS}, () => measure(['status', '-i', inventory, '--concurrency', '20'])), '1 exec'))
}

// add-node into a converged N=10 fleet: the lab has 11 hosts, the inventory 10 of them.
{
  const runs = []
  for (let i = 0; i < RUNS; i++) {
    freshLab(11)
    const text = readFileSync(inventory, 'utf8')
    const ten = text.slice(0, text.indexOf('\n[node-11]') + 1)
    writeFileSync(inventory, ten)
    measure(['init', '-i', inventory, '--concurrency', '20'])
    runs.push(measure(['add-node', 'node-11', '--host', '203.0.113.21', '-i', inventory, '--concurrency', '20']))
  }
  rows.push(summarise('add-node into converged N=10', runs, 'new node 4 execs; each other node 3 (probe, syncconf, verify)'))
}
lab('down')

// Targets.
const get = (name) => rows.find((r) => r.name === name)
const checks = [
  ['init N=10 within 1.5× of N=1', get('init, fresh hosts, N=10').wall <= 1.5 * get('init, fresh hosts, N=1').wall, `${(get('init, fresh hosts, N=10').wall / get('init, fresh hosts, N=1').wall).toFixed(2)}×`],
  ['no-op rerun N=10 under 1.8 s', get('init, no-op rerun, N=10').wall < 1.8, `${get('init, no-op rerun, N=10').wall.toFixed(2)} s`],
  ['status N=20 under 1.5 s', get('status, N=20').wall < 1.5, `${get('status, N=20').wall.toFixed(2)} s`],
  ['--help under 0.3 s', get('wgfleet --help').wall < 0.3, `${get('wgfleet --help').wall.toFixed(2)} s`],
  ['≤ 1 connection per node per command', rows.every((r) => r.connections <= 1), `max ${Math.max(...rows.map((r) => r.connections))}`],
  ['no-op init ≤ 2 execs per node', get('init, no-op rerun, N=20').execs <= 2, `${get('init, no-op rerun, N=20').execs}`],
]

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
const md = [
  '# Benchmarks',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, against the lab's scale scenario (systemd-nspawn Debian 12`,
  'hosts, WireGuard via wireguard-go, packages from the offline repository inside the image). `npm run bench` (root).',
  `Whole-process wall time and peak RSS of \`node bin/run.js ...\` under GNU time, median of ${RUNS} runs (all runs listed);`,
  'connections and remote execs per node counted from the transcript (`WGFLEET_TRANSCRIPT`).',
  '',
  '| case | median wall (s) | runs (s) | peak RSS (MiB) | SSH conn./node | execs/node | floor |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${r.wall.toFixed(2)} | ${r.walls.map((w) => w.toFixed(2)).join(', ')} | ${r.rss.toFixed(0)} | ${r.connections} | ${r.execs} | ${r.floor} |`),
  '',
  '## Targets',
  '',
  '| target | met | measured |',
  '|---|---|---|',
  ...checks.map(([what, ok, value]) => `| ${what} | ${ok ? 'yes' : '**no**'} | ${value} |`),
  '',
]
mkdirSync(join(ROOT, 'bench'), {recursive: true})
writeFileSync(join(ROOT, 'bench/RESULTS.md'), md.join('\n') + readNotes())
rmSync(work, {recursive: true, force: true})
console.log(md.join('\n'))

function readNotes() {
  const notes = join(ROOT, 'bench/NOTES.md')
  return existsSync(notes) ? '\n' + readFileSync(notes, 'utf8') : ''
}
