/**
 * What holds for every host script (src/remote/*.sh): it is sent with lib.sh (and the function files it
 * uses, such as firewall-listings.sh) in front of it; those only define functions (so an inherited xtrace
 * has nothing to show before the script's first command); that first command is `set +xv`; and the whole
 * text is valid bash.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

import {loadLib, loadScript, SCRIPT_FUNCTIONS, type ScriptName} from '../../../src/remote/scripts.js'
import {BASH} from '../../helpers/host-fakes.js'

const REMOTE = fileURLToPath(new URL('../../../src/remote/', import.meta.url))
const SCRIPTS: ScriptName[] = ['probe', 'prepare', 'apply', 'verify', 'status', 'teardown', 'doctor', 'hosts', 'rotate', 'psk', 'peer-add']
/** The function files sent in front of scripts: lib.sh (every script) and those of SCRIPT_FUNCTIONS. */
const FUNCTION_FILES = ['lib', ...new Set(Object.values(SCRIPT_FUNCTIONS).flat())]
const read = (name: string) => readFileSync(join(REMOTE, `${name}.sh`), 'utf8')

describe('host scripts', () => {
  it('every .sh file beside the function files is a script wgfleet sends', () => {
    const files = readdirSync(REMOTE).filter((f) => f.endsWith('.sh')).map((f) => f.replace(/\.sh$/, '')).filter((f) => !FUNCTION_FILES.includes(f))
    expect(files.sort()).toEqual([...SCRIPTS].sort())
    expect(FUNCTION_FILES).toEqual(['lib', 'firewall-listings', 'preshared-keys', 'wg-routes'])
  })

  it.each(FUNCTION_FILES)('%s.sh runs no command of its own: under xtrace it traces nothing', (name) => {
    const run = spawnSync(BASH, ['--norc', '-x', '-s'], {input: read(name), encoding: 'utf8', env: {PATH: process.env.PATH}})
    expect(run.status).toBe(0)
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe('')
  })

  it.each(SCRIPTS)('%s.sh: sent as lib.sh (+ its function files) + the file, whose first command is `set +xv`, and valid bash', (name) => {
    const file = read(name)
    expect(loadLib()).toBe(read('lib'))
    expect(loadScript(name)).toBe([loadLib(), ...(SCRIPT_FUNCTIONS[name] ?? []).map(read), file].join('\n'))
    const firstCommand = file.split('\n').find((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    expect(firstCommand).toBe('set +xv')
    const check = spawnSync(BASH, ['--norc', '-n'], {input: loadScript(name), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
