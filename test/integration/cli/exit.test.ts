// The built CLI ends once its run is over, whatever is still open (bin/run.js's bound).
import {describe, expect, it} from 'vitest'
import {runCli} from './helpers.js'

// A handle that would keep the event loop alive for ever, opened before the CLI starts.
const LINGER = `data:text/javascript,${encodeURIComponent('setInterval(() => {}, 1000)')}`

describe('the process ends', () => {
  it('within about 10 s of the run, with its exit code, when something is left open; saying so on stderr', async () => {
    const started = Date.now()
    const r = await runCli(['--version'], {command: [process.execPath, '--import', LINGER]})
    const elapsed = Date.now() - started
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^wgfleet\//)
    expect(r.stderr).toMatch(/still open 10 s after the run ended; exiting anyway/)
    expect(elapsed).toBeGreaterThanOrEqual(10_000)
    expect(elapsed).toBeLessThan(25_000)
  }, 40_000)

  it('at once when nothing is left open (the bound is unref-ed: it never holds the process)', async () => {
    const started = Date.now()
    const r = await runCli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(Date.now() - started).toBeLessThan(8_000)
  })
})
