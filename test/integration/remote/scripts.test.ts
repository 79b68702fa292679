/**
 * What holds for every host script (src/remote/*.sh): it is sent with lib.sh in front of it; lib.sh only
 * defines functions (so an inherited xtrace has nothing to show before the script's first command); that
 * first command is `set +xv`; and the whole text is valid bash.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

import {loadLib, loadScript, type ScriptName} from '../../../src/remote/scripts.js'
import {BASH} from '../../helpers/host-fakes.js'

const REMOTE = fileURLToPath(new URL('../../../src/remote/', import.meta.url))
const SCRIPTS: ScriptName[] = ['probe', 'prepare', 'apply', 'verify', 'status', 'teardown', 'doctor', 'hosts', 'rotate']

describe('host scripts', () => {
  it('every .sh file beside lib.sh is a script wgfleet sends', () => {
    const files = readdirSync(REMOTE).filter((f) => f.endsWith('.sh') && f !== 'lib.sh').map((f) => f.replace(/\.sh$/, ''))
    expect(files.sort()).toEqual([...SCRIPTS].sort())
  })

  it('lib.sh runs no command of its own: under xtrace it traces nothing', () => {
    const run = spawnSync(BASH, ['--norc', '-x', '-s'], {input: loadLib(), encoding: 'utf8', env: {PATH: process.env.PATH}})
    expect(run.status).toBe(0)
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe('')
  })

  it.each(SCRIPTS)('%s.sh: sent as lib.sh + the file, whose first command is `set +xv`, and valid bash', (name) => {
    const file = readFileSync(join(REMOTE, `${name}.sh`), 'utf8')
    expect(loadScript(name)).toBe(`${loadLib()}\n${file}`)
    const firstCommand = file.split('\n').find((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    expect(firstCommand).toBe('set +xv')
    const check = spawnSync(BASH, ['--norc', '-n'], {input: loadScript(name), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
