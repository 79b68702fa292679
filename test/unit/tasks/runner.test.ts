import {afterEach, describe, expect, it, vi} from 'vitest'

import {LIVE_DISPLAY_MAX_NODES, runPerNode} from '../../../src/tasks/runner.js'

describe('runPerNode, not on a TTY (cron, CI, the demo)', () => {
  afterEach(() => vi.restoreAllMocks())

  function captureStderr(): string[] {
    const lines: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      return true
    }) as typeof process.stderr.write)
    return lines
  }

  it('prints one line per step change, node name first, and nothing else', async () => {
    expect(process.stderr.isTTY).toBeFalsy()
    const lines = captureStderr()
    const outcomes = await runPerNode(
      ['node-a', 'node-b'],
      async (node, progress) => {
        progress('probing')
        progress('probing')
        if (node === 'node-b') throw new Error('connection refused')
        progress('writing the config')
        return node.toUpperCase()
      },
      {concurrency: 2, silent: false},
    )
    vi.restoreAllMocks()
    expect([...lines].sort()).toEqual(['node-a: probing', 'node-a: writing the config', 'node-b: failed: connection refused', 'node-b: probing'])
    expect(outcomes.get('node-a')).toEqual({ok: true, value: 'NODE-A'})
    expect(outcomes.get('node-b')?.ok).toBe(false)
  })

  it('escapes what a host said before it reaches the terminal', async () => {
    const lines = captureStderr()
    await runPerNode(['node-a'], async (_node, progress) => progress('distro \u001b]52;c;ZXZpbA==\u0007'), {concurrency: 1, silent: false})
    vi.restoreAllMocks()
    expect(lines).toEqual(['node-a: distro \\u001b]52;c;ZXZpbA==\\u0007'])
  })

  it('prints nothing with --json (silent) and still keeps every outcome', async () => {
    const lines = captureStderr()
    const outcomes = await runPerNode(['a', 'b', 'c'], async (node, progress) => {
      progress('probing')
      return node
    }, {concurrency: 1, silent: true})
    vi.restoreAllMocks()
    expect(lines).toEqual([])
    expect([...outcomes.keys()]).toEqual(['a', 'b', 'c'])
  })
})

describe('runPerNode on a TTY', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.unstubAllEnvs()
    delete (process.stderr as {isTTY?: boolean}).isTTY
  })

  it('past LIVE_DISPLAY_MAX_NODES nodes, the plain lines instead of listr2\'s live display (its redraws grow with N²)', async () => {
    Object.defineProperty(process.stderr, 'isTTY', {value: true, configurable: true})
    vi.stubEnv('CI', '')
    const written: string[] = []
    vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write)
    const nodes = Array.from({length: LIVE_DISPLAY_MAX_NODES + 1}, (_, i) => `node-${i}`)
    const outcomes = await runPerNode(nodes, async (node, progress) => {
      progress('probing')
      return node
    }, {concurrency: 4, silent: false})
    vi.restoreAllMocks()
    expect([...written].sort()).toEqual(nodes.map((n) => `${n}: probing\n`).sort())
    expect(outcomes.size).toBe(nodes.length)
  })
})
