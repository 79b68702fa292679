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

/** Shell functions a script uses, put in front of it: the firewall listings probe and doctor both print. */
const FUNCTIONS: Partial<Record<ScriptName, string[]>> = {probe: ['firewall-listings'], doctor: ['firewall-listings']}

export function loadScript(name: ScriptName): string {
  let text = cache.get(name)
  if (text === undefined) {
    const read = (file: string) => readFileSync(join(here, `${file}.sh`), 'utf8')
    text = [...(FUNCTIONS[name] ?? []).map(read), read(name)].join('\n')
    cache.set(name, text)
  }
  return text
}
