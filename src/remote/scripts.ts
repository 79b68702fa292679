/**
 * Host-side scripts: readable .sh files beside this module (copied to dist/remote by the build), read
 * once and sent through stdin by RemoteShell.run — never pasted into a command line.
 */
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export type ScriptName = 'probe' | 'prepare' | 'apply' | 'verify' | 'status' | 'teardown' | 'doctor'

const here = dirname(fileURLToPath(import.meta.url))
const cache = new Map<ScriptName, string>()

export function loadScript(name: ScriptName): string {
  let text = cache.get(name)
  if (text === undefined) {
    text = readFileSync(join(here, `${name}.sh`), 'utf8')
    cache.set(name, text)
  }
  return text
}
