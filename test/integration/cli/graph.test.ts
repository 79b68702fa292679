/**
 * `wgfleet graph` through the built CLI: DOT by default that Graphviz turns into an SVG (`wgfleet graph |
 * dot -Tsvg`), Mermaid and JSON on request, nothing contacted without --live, --live reads each node once
 * (here: nodes that refuse, so every edge is unknown and the picture is still drawn), a damaged inventory
 * exits 2. `dot` comes from Debian's graphviz (`test/lab/lab setup`).
 */
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {LAB_INVENTORY} from '../../fixtures/lab-fleet.js'
import {openCliSandbox, repoRoot, runCli, type CliSandbox} from './helpers.js'

let sandbox: CliSandbox
let seed: string

beforeAll(async () => {
  sandbox = await openCliSandbox('graph')
  seed = join(sandbox.dir, 'seed.ini')
  // The seed network, with every host on 127.0.0.1 at the counting listener: nothing may reach it.
  // (node-d without its jump through node-c: each node is one connection of its own.)
  const text = LAB_INVENTORY.replace(/^host = .*$/gm, 'host = 127.0.0.1')
    .replace(/^(ssh_port|jump) = .*\n/gm, '')
    .replace(/^\[node-.\]$/gm, (header) => `${header}\nssh_port = ${sandbox.listener.port}`)
    .replace('[node-a]', `[ssh]\nidentity = ${join(sandbox.dir, 'id_ed25519')}\n\n[node-a]`)
  writeFileSync(seed, text)
})

afterAll(async () => {
  await sandbox?.close()
})

describe('wgfleet graph', () => {
  it('prints DOT by default, which Graphviz draws as an SVG; nothing is contacted', async () => {
    const result = await runCli(['graph', '-i', seed], {env: sandbox.env})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('graph "wgfleet" {')
    expect(result.stdout).toContain('"node-c" -- "node-d" [style=dashed, label="via node-a"];')
    const svg = spawnSync('dot', ['-Tsvg'], {input: result.stdout, encoding: 'utf8'})
    expect(svg.error, "Graphviz's dot: run test/lab/lab setup").toBeUndefined()
    expect(svg.status, svg.stderr).toBe(0)
    // Graphviz writes "-" as &#45; in SVG text.
    expect(svg.stdout.replaceAll('&#45;', '-')).toMatch(/<svg[\s\S]*>node-a<[\s\S]*>10\.0\.0\.1\/24<[\s\S]*>relay<[\s\S]*<\/svg>/)
    expect(sandbox.listener.count()).toBe(0)
  })

  it('--format mermaid and --json', async () => {
    const mermaid = await runCli(['graph', '-i', seed, '--format', 'mermaid'], {env: sandbox.env})
    expect(mermaid.code).toBe(0)
    expect(mermaid.stdout).toContain('flowchart LR\n')
    expect(mermaid.stdout).toContain('  n3 -.-|"via node-a"| n4\n')
    const json = await runCli(['graph', '-i', seed, '--json'], {env: sandbox.env})
    expect(json.code).toBe(0)
    const doc = JSON.parse(json.stdout)
    expect(doc.live).toBe(false)
    expect(doc.edges).toHaveLength(6)
    expect(sandbox.listener.count()).toBe(0)
  })

  it('--live: each node read once; nodes that cannot be read leave their edges unknown, and the picture is drawn (exit 0)', async () => {
    const before = sandbox.listener.count()
    const result = await runCli(['graph', '-i', seed, '--live', '--json', ...sandbox.common()], {env: sandbox.env})
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc).toMatchObject({live: true, healthy: false})
    expect(new Set(doc.edges.map((e: {state: string}) => e.state))).toEqual(new Set(['unknown']))
    // One connection per node (the listener drops each at once).
    expect(sandbox.listener.count() - before).toBe(4)
  })

  it('a damaged inventory: exit 2 with file, line and key; --json and --format disagreeing: exit 2', async () => {
    const bad = join(sandbox.dir, 'bad.ini')
    writeFileSync(bad, readFileSync(seed, 'utf8').replace('address = 10.0.0.2', 'address = 10.0.0.2\nrelay = yes'))
    const result = await runCli(['graph', '-i', bad], {env: sandbox.env})
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(new RegExp(`${bad.replaceAll('.', '\\.')}:\\d+:.*relay`))
    const both = await runCli(['graph', '-i', seed, '--json', '--format', 'dot'], {env: sandbox.env})
    expect(both.code).toBe(2)
    expect(JSON.parse(both.stdout).error.message).toContain('contradict')
  })

  it("the README's picture (docs/mesh.svg) is Graphviz's drawing of what the command prints for the seed network", async () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    expect(readme).toContain('![the seed network](docs/mesh.svg)')
    expect(readme).toContain('wgfleet graph -i test/lab/.run/inventory.ini | dot -Tsvg > docs/mesh.svg')
    const svg = readFileSync(join(repoRoot, 'docs', 'mesh.svg'), 'utf8').replaceAll('&#45;', '-')
    // Graphviz titles each node by its ID and each edge "from--to"; the drawn text is the labels.
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!)
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!)
    const doc = JSON.parse((await runCli(['graph', '-i', seed, '--json'], {env: sandbox.env})).stdout)
    expect(titles.sort()).toEqual(['wgfleet', ...doc.nodes.map((n: {name: string}) => n.name), ...doc.edges.map((e: {from: string; to: string}) => `${e.from}--${e.to}`)].sort())
    for (const node of doc.nodes) expect(texts).toContain(node.address)
    expect(texts.filter((t) => t === 'NAT-ed')).toHaveLength(2)
    expect(texts).toContain('via node-a')
    expect(svg).toMatch(/stroke-dasharray/) // the relayed pair is dashed
  })
})
