// What the benchmarks and the soak share: the lab (test/lab/lab), the lab lock, one measured CLI run,
// the hosts' CPU, and the sections of bench/RESULTS.md. Needs root (the lab).
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const LAB = join(ROOT, 'test/lab/lab')
export const RUN = join(ROOT, 'test/lab/.run')
export const BIN = join(ROOT, 'bin/run.js')
export const INVENTORY = join(RUN, 'inventory.ini')
/** The lock every lab user takes (the team rule): `flock /tmp/wgfleet-e2e.lock node bench/...`. */
export const LAB_LOCK = '/tmp/wgfleet-e2e.lock'
/** The lab's hosts run in this cgroup (see `cgroup_enter` in test/lab/lab). */
const LAB_CPU_STAT = '/sys/fs/cgroup/unified/wgfleet-lab/cpu.stat'
export const CORES = cpus().length
export const MACHINE = `${CORES} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`

const work = mkdtempSync(join(tmpdir(), 'wgfleet-bench-'))

/** Root, GNU time, and the lab lock held by whoever started us (the lab is shared: one user at a time). */
export function preflight(what) {
  if (process.getuid?.() !== 0) {
    console.error(`${what}: needs root (it runs the lab: network namespaces and containers)`)
    process.exit(1)
  }
  // `flock -n` succeeds only when nobody holds the lock: then it is not ours either.
  if (spawnSync('flock', ['-n', LAB_LOCK, 'true']).status === 0) {
    console.error(`${what}: run it under the lab lock, e.g.  flock ${LAB_LOCK} node bench/${what}.mjs`)
    process.exit(1)
  }
  if (!existsSync('/usr/bin/time')) spawnSync('apt-get', ['install', '-y', '-qq', 'time'], {stdio: 'inherit'})
}

/** On SIGINT/SIGTERM: run `cleanup` (say, `lab down`), then exit 130 — the lab must not be left up. */
export function onInterrupt(cleanup) {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      try {
        cleanup()
      } finally {
        process.exit(130)
      }
    })
  }
}

export function lab(...args) {
  const r = spawnSync(LAB, args, {cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000})
  if (r.status !== 0) throw new Error(`lab ${args.join(' ')} failed`)
}

/** A command inside one lab host; its stdout. */
export function labExec(node, script) {
  const r = spawnSync(LAB, ['exec', node, '--', 'sh', '-c', script], {cwd: ROOT, encoding: 'utf8', timeout: 60_000})
  return {code: r.status, stdout: r.stdout ?? ''}
}

/** CPU seconds the lab's hosts have used so far. */
export function hostCpuSeconds() {
  const usage = /^usage_usec (\d+)$/m.exec(readFileSync(LAB_CPU_STAT, 'utf8'))
  if (!usage) throw new Error(`no usage_usec in ${LAB_CPU_STAT}`)
  return Number(usage[1]) / 1e6
}

/** CPU seconds one lab host has used so far (its own cgroup under the lab's; 0 before the host exists). */
export function nodeCpuSeconds(name) {
  const file = join(dirname(LAB_CPU_STAT), name, 'cpu.stat')
  const usage = existsSync(file) ? /^usage_usec (\d+)$/m.exec(readFileSync(file, 'utf8')) : null
  return usage ? Number(usage[1]) / 1e6 : 0
}

/** CPU seconds the whole machine has used so far (every core, from /proc/stat). */
export function machineCpuSeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = fields
  return (user + nice + system + irq + softirq + steal) / 100 // USER_HZ
}

/**
 * Runs the CLI in the operator namespace under GNU time: wall seconds, its own CPU seconds, peak RSS
 * (MiB), exit code, stdout, the hosts' CPU seconds during the run, per-node connections and execs.
 * `bin`: another build's bin/run.js; `nodeArgs`: node's own flags (say --cpu-prof); `transcriptDir`: the
 * transcript is written there (kept) instead of in this run's scratch folder.
 */
export function measure(args, {allowFail = false, timeoutMs = 600_000, bin = BIN, nodeArgs = [], transcriptDir = work} = {}) {
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`
  const timing = join(work, `time-${stamp}`)
  const transcript = join(transcriptDir, `transcript-${stamp}-${args[0]}`)
  const hostsBefore = hostCpuSeconds()
  const machineBefore = machineCpuSeconds()
  const r = spawnSync(LAB, ['op', '--', '/usr/bin/time', '-o', timing, '-f', '%e %M %U %S', process.execPath, ...nodeArgs, bin, ...args], {
    cwd: ROOT,
    env: {...process.env, NO_COLOR: '1', WGFLEET_TRANSCRIPT: transcript},
    encoding: 'utf8',
    timeout: timeoutMs,
  })
  const hostsCpu = hostCpuSeconds() - hostsBefore
  const machineCpu = machineCpuSeconds() - machineBefore
  if (r.status !== 0 && !allowFail) throw new Error(`wgfleet ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`)
  const last = existsSync(timing) ? readFileSync(timing, 'utf8').trim().split('\n').pop() : ''
  const [wall, rssKb, user, sys] = last.split(' ').map(Number)
  const counts = countTranscript(existsSync(transcript) ? readFileSync(transcript, 'utf8') : '')
  return {wall, rssMiB: rssKb / 1024, cliCpu: user + sys, hostsCpu, machineCpu, code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', counts}
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

/**
 * Waits (at most maxSeconds) until the machine has been quiet for quietSeconds in a row: others' work on
 * a shared 2-core machine would be measured as ours. Returns the busy share of the last second.
 */
export function waitForQuiet({maxSeconds = 180, quietSeconds = 3, busyBelow = 0.1} = {}) {
  const deadline = Date.now() + maxSeconds * 1000
  let busy = 1
  let quiet = 0
  while (Date.now() < deadline && quiet < quietSeconds) {
    const before = machineCpuSeconds()
    spawnSync('sleep', ['1'])
    busy = (machineCpuSeconds() - before) / CORES
    quiet = busy < busyBelow ? quiet + 1 : 0
  }
  return busy
}

/**
 * Waits for the end of the lab's next keepalive burst (at most maxSeconds). A mesh brought up by one init
 * has every pair's PersistentKeepalive timer in step: every 25 s all N(N-1) keepalives go out within a few
 * seconds, and at N=100 that is 4-6 CPU-s of wireguard-go on the shared cores (measured: about 0.02 cores
 * between bursts, 0.6-1.5 cores for 6 s in every 25). A run that overlaps one measures the lab's two cores
 * being shared with a hundred hosts' background, not wgfleet; right after one there are ~18 quiet seconds.
 * Returns {burst: whether one was seen, waited: seconds}.
 */
export function waitForKeepaliveLull({maxSeconds = 40, burstAbove = 0.25, quietBelow = 0.1} = {}) {
  const started = Date.now()
  const deadline = started + maxSeconds * 1000
  const step = 250
  let seen = false
  let quietSteps = 0
  let previous = hostCpuSeconds()
  while (Date.now() < deadline) {
    spawnSync('sleep', [String(step / 1000)])
    const now = hostCpuSeconds()
    const cores = (now - previous) / (step / 1000)
    previous = now
    if (cores > burstAbove) [seen, quietSteps] = [true, 0]
    else if (seen && cores < quietBelow && ++quietSteps >= 4) break
  }
  return {burst: seen, waited: (Date.now() - started) / 1000}
}

/** Every node's keepalives live as in its file, and no pending marker left (the interface is what the file says). */
export function liveEqualsFile(nodes, iface = 'wg0') {
  const script = `f=/etc/wireguard/${iface}.conf
[ -e /etc/wireguard/.${iface}.pending ] && echo pending
wg show ${iface} persistent-keepalive | while read -r key live; do
  want=$(awk -v k="$key" '/^PublicKey = /{p = ($3 == k)} p && /^PersistentKeepalive = /{print $3}' "$f")
  [ "\${live}" = "\${want:-off}" ] || echo "keepalive $key live=$live file=\${want:-off}"
done`
  const problems = []
  for (const node of nodes) {
    const r = labExec(node, script)
    if (r.code !== 0 || r.stdout.trim()) problems.push(`${node}: ${r.stdout.trim() || `exit ${r.code}`}`)
  }
  return problems
}

/** Replaces (or appends) the section between `<!-- NAME -->` and `<!-- /NAME -->` of bench/RESULTS.md. */
export function writeResultsSection(name, markdown) {
  const file = join(ROOT, 'bench/RESULTS.md')
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n'
  const block = `<!-- ${name} -->\n${markdown.trim()}\n<!-- /${name} -->`
  const at = new RegExp(`<!-- ${name} -->[\\s\\S]*?<!-- /${name} -->`)
  writeFileSync(file, at.test(text) ? text.replace(at, block) : `${text.trimEnd()}\n\n${block}\n`)
}

/** The sections the other modes wrote, to keep when the whole RESULTS.md is written again. */
export function resultsSections() {
  const file = join(ROOT, 'bench/RESULTS.md')
  if (!existsSync(file)) return ''
  return [...readFileSync(file, 'utf8').matchAll(/<!-- ([a-z0-9-]+) -->[\s\S]*?<!-- \/\1 -->/g)].map((m) => m[0]).join('\n\n')
}
