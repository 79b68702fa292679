#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})

// The work is done and reported. Nothing left over (a connection whose peer never answers its close)
// may keep the process, and the cron job that started it, alive: the SSH layer bounds every close, and
// this bounds what it missed. Unref'd, so it never delays an exit; it fires only if something lingers.
// Output still on its way to a slow reader (a pipe into less) is not cut off: the bound starts again.
const LINGER_MS = 10_000
function endLingering() {
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) {
    setTimeout(endLingering, LINGER_MS).unref()
    return
  }
  process.stderr.write('wgfleet: something was still open 10 s after the run ended; exiting anyway (a bug: please report it)\n')
  process.exit()
}
setTimeout(endLingering, LINGER_MS).unref()
