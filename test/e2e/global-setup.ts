// Brings a fresh lab up (seed scenario) before the e2e files run (LAB_REUSE=1 reuses one that is up). The
// lab is left up afterwards so that developers can look at it; CI brings it down itself
// (.ci/run), and 99-teardown.test.ts checks that `lab down` leaves nothing behind.
import {spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {LAB, REPO_ROOT, RUN_DIR} from './helpers.js'

const SETUP_TIMEOUT_MS = 5 * 60_000 // apt-get of the machine packages, only when some are missing
const UP_TIMEOUT_MS = 15 * 60_000 // a cold `lab up` builds the base image (about 1-4 minutes)

function runLab(args: string[], timeoutMs: number): void {
  const r = spawnSync(LAB, args, {cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: timeoutMs})
  if (r.error) throw new Error(`test/lab/lab ${args.join(' ')}: ${r.error.message}`)
  if (r.status !== 0) {
    throw new Error(`test/lab/lab ${args.join(' ')} failed (exit ${r.status ?? r.signal}); see test/lab/.run/logs/`)
  }
}

export default function setup(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the e2e suite needs root: it runs the lab (network namespaces and systemd-nspawn containers). ' +
        'Run it as root, e.g. `sudo npx vitest run --project e2e`.',
    )
  }
  runLab(['setup'], SETUP_TIMEOUT_MS)
  // The suite starts from fresh hosts (10-init converges hosts that have never seen WireGuard): a lab
  // left up by an earlier run or the demo is replaced (~5 s warm). LAB_REUSE=1 keeps it, for reruns of
  // single files that do not need fresh hosts.
  if (process.env.LAB_REUSE !== '1') {
    runLab(['down'], SETUP_TIMEOUT_MS)
    // The variants' inventories and state: their pinned keys belong to hosts that are gone.
    rmSync(join(RUN_DIR, 'variants'), {recursive: true, force: true})
  }
  runLab(['up', '--scenario', 'seed'], UP_TIMEOUT_MS)
}
