#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})

// The work is done and reported. Nothing left over (a connection whose peer never answers its close)
// may keep the process, and the cron job that started it, alive: the SSH layer bounds every close, and
// this bounds what it missed. Unref'd, so it never delays an exit; it fires only if something lingers.
setTimeout(() => {
  process.stderr.write('wgfleet: something was still open 10 s after the run ended; exiting anyway (a bug: please report it)\n')
  process.exit()
}, 10_000).unref()
