// Runs last (file-name order): `lab down` leaves nothing of the lab on the machine. With LAB_KEEP=1 the
// lab is brought back up afterwards (for developers who want to keep using it).
import {readFileSync, readdirSync, existsSync} from 'node:fs'
import {afterAll, describe, expect, it} from 'vitest'
import {inLabRange, lab, rootRoutes, run} from './helpers.js'

/** pids of systemd-nspawn processes that belong to the lab (their network namespace is a wgl- one) */
function labNspawnPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'systemd-nspawn') continue
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (argv.some((a) => a.startsWith('--network-namespace-path=/run/netns/wgl-'))) pids.push(Number(entry))
    } catch {
      // the process is gone
    }
  }
  return pids
}

describe('lab down', () => {
  afterAll(async () => {
    if (process.env.LAB_KEEP === '1') {
      const up = await lab(['up'], {timeoutMs: 900_000})
      if (up.code !== 0) throw new Error(`LAB_KEEP=1: lab up failed: ${up.stderr}`)
    }
  })

  it('removes everything of the lab', async () => {
    const down = await lab(['down'], {timeoutMs: 120_000})
    expect(down.code, down.stderr).toBe(0)

    const netns = await run('ip', ['netns', 'list'])
    expect(netns.stdout.split('\n').filter((l) => l.startsWith('wgl-'))).toEqual([])

    expect(labNspawnPids()).toEqual([])

    const links = await run('ip', ['-o', 'link', 'show'])
    const names = links.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(': ')[1]!.split('@')[0])
    expect(names.filter((n) => n!.startsWith('wgl-') || n === 'br-lan')).toEqual([])
    const bridges = await run('ip', ['-o', 'link', 'show', 'type', 'bridge'])
    expect(bridges.stdout).not.toMatch(/wgl-|br-lan/)

    const routes = await rootRoutes()
    const labRoutes = routes.filter((r) => /^[0-9.]+(\/\d+)?$/.test(r.dst) && inLabRange(r.dst))
    expect(labRoutes.map((r) => r.line)).toEqual([])

    for (const root of ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
      expect(existsSync(`${root}/wgfleet-lab`), `${root}/wgfleet-lab`).toBe(false)
    }

    const status = await lab(['status'])
    expect(status.stdout).toMatch(/^lab: down$/m)
  })

  it('is idempotent', async () => {
    const again = await lab(['down'], {timeoutMs: 120_000})
    expect(again.code, again.stderr).toBe(0)
  })
})
