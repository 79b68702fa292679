/**
 * Host-side scripts: readable .sh files beside this module (copied to dist/remote by the build), read
 * once and sent through stdin by RemoteShell.run — never pasted into a command line. Each one is sent
 * with lib.sh (the functions every script shares, such as the one secret-masking routine) in front of it,
 * and the few other function files it uses (SCRIPT_FUNCTIONS): a script travels alone, so there is no file
 * on the host to `source`.
 */
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export type ScriptName = 'probe' | 'prepare' | 'apply' | 'verify' | 'status' | 'teardown' | 'doctor' | 'hosts' | 'rotate' | 'psk' | 'peer-add'

const here = dirname(fileURLToPath(import.meta.url))
const cache = new Map<ScriptName, string>()
let lib: string | undefined

/** lib.sh alone (function definitions only). */
export function loadLib(): string {
  lib ??= readFileSync(join(here, 'lib.sh'), 'utf8')
  return lib
}

/** Further files of shell functions (only definitions, as lib.sh) a script uses, sent after lib.sh: the firewall listings probe and doctor both print, the preshared keys' fill and report, the routes of an apply. */
export const SCRIPT_FUNCTIONS: Partial<Record<ScriptName, readonly string[]>> = {
  probe: ['firewall-listings', 'preshared-keys'],
  doctor: ['firewall-listings', 'preshared-keys'],
  apply: ['preshared-keys', 'wg-routes'],
  'peer-add': ['preshared-keys'],
  psk: ['preshared-keys'],
}

/**
 * A script file as sent: without its whole-line comments. They are for the people who read the .sh files,
 * and are a third to a half of their bytes, which bash on every host parses on every exec. (No script
 * holds a multi-line string, nor a heredoc, where such a line could be data: a test checks.)
 */
export function withoutCommentLines(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^[ \t]*#/.test(line))
    .join('\n')
}

/** The script as sent: lib.sh, the functions it uses, then NAME.sh (whose first command is `set +xv`), comment lines left out. */
export function loadScript(name: ScriptName): string {
  let text = cache.get(name)
  if (text === undefined) {
    const read = (file: string) => readFileSync(join(here, `${file}.sh`), 'utf8')
    text = withoutCommentLines([loadLib(), ...(SCRIPT_FUNCTIONS[name] ?? []).map(read), read(name)].join('\n'))
    cache.set(name, text)
  }
  return text
}
