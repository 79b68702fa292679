#!/usr/bin/env node
// `init` no-op at large N, operator CPU only: convergeFleet against a fleet of scripted hosts (the same
// FakeHost the converge tests use), after one converge has set them up. No lab, no network.
//   node --expose-gc bench/converge-noop.mjs [N ...]     (default 100 300 1000)
// With --expose-gc, the garbage of the run before is collected before each timed run: a real `init` is a
// fresh process, whose heap holds none of it (without the flag that collection lands in the first runs).
// TypeScript sources are loaded through Vite's SSR loader (a dev dependency already, through Vitest).
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {randomBytes} from 'node:crypto'
import {createServer} from 'vite'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const sizes = process.argv.slice(2).map(Number).filter(Boolean)
const server = await createServer({root: ROOT, logLevel: 'error', configFile: false, server: {middlewareMode: true, hmr: false, watch: null}, optimizeDeps: {noDiscovery: true, include: []}})
const load = (p) => server.ssrLoadModule(join(ROOT, p))
const {FakeHost} = await load('test/fixtures/fake-host.ts')
const {convergeFleet} = await load('src/services/converge.ts')
const {parseInventory} = await load('src/inventory/index.ts')

function inventory(n) {
  const lines = ['[network]', 'cidr = 10.64.0.0/16', '']
  for (let i = 1; i <= n; i++) {
    const nat = i % 10 === 0
    lines.push(`[node-${String(i).padStart(4, '0')}]`, nat ? `host = 198.51.${Math.floor(i / 250) % 256}.${(i % 250) + 1}` : `host = 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`)
    if (nat) lines.push('nat = true')
    if (i === 1) lines.push('relay = true')
    lines.push(`address = 10.64.${Math.floor(i / 250)}.${(i % 250) + 1}`, '')
  }
  return lines.join('\n')
}

const rows = []
for (const n of sizes.length ? sizes : [100, 300, 1000]) {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-noop-'))
  const file = join(dir, 'inventory.ini')
  writeFileSync(file, inventory(n))
  const fleet = parseInventory(inventory(n), file)
  const keys = Object.fromEntries(fleet.nodes.map((node) => [node.name, randomBytes(32).toString('base64')]))
  const hosts = Object.fromEntries(fleet.nodes.map((node) => [node.name, new FakeHost(node.name, keys[node.name])]))
  for (const host of Object.values(hosts)) host.handshakesWith = Object.values(keys)
  const options = {dryRun: false, adopt: false, concurrency: 10, silent: true, verifyTimeoutSeconds: 5, staleAfterSeconds: 180, openShell: async (node) => hosts[node.name].shell()}
  const first = await convergeFleet(fleet, options)
  if (first.result !== 'ok') throw new Error(`fresh converge N=${n}: ${first.result}`)
  const runs = []
  for (let r = 0; r < 3; r++) {
    globalThis.gc?.()
    const cpu = process.cpuUsage()
    const wall = process.hrtime.bigint()
    const report = await convergeFleet(fleet, options)
    const used = process.cpuUsage(cpu)
    if (report.result !== 'ok' || report.nodes.some((x) => x.result !== 'unchanged')) throw new Error(`no-op N=${n} changed something`)
    runs.push({cpu: (used.user + used.system) / 1e6, wall: Number(process.hrtime.bigint() - wall) / 1e9})
  }
  rows.push({n, runs, rss: process.memoryUsage().rss / 1024 / 1024})
  console.error(`N=${n}: ${runs.map((r) => r.cpu.toFixed(2)).join(', ')} s CPU`)
}
await server.close()
console.log('| init no-op, scripted hosts | operator CPU, runs (s) | wall, runs (s) | RSS after (MiB) | target |')
console.log('|---|---|---|---|---|')
for (const r of rows) console.log(`| N=${r.n} | ${r.runs.map((x) => x.cpu.toFixed(2)).join(', ')} | ${r.runs.map((x) => x.wall.toFixed(2)).join(', ')} | ${r.rss.toFixed(0)} | ${r.n === 1000 ? '≤ 5 s CPU' : '-'} |`)
