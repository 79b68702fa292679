/**
 * src/remote/probe.sh run by a real bash, locally, against a fake `wg` and `ip` on PATH (a temp folder
 * holding only the fakes and the few tools the script needs). The output contract for the running
 * interface's own public key: printed as `iface_pubkey=` when the interface exists, and parsed.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {parseProbeOutput} from '../../../src/remote/probe.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'

const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim()
const BASH = which('bash')
const INTERFACE_KEY = 'e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig='

const FAKE_WG = `#!${BASH}
case "$*" in
  "show wg0 dump") [ -n "\${FAKE_WG_FAIL:-}" ] && exit 1; printf '(hidden)\\t%s\\t51820\\toff\\n' "\${FAKE_IFACE_KEY:-${INTERFACE_KEY}}" ;;
  pubkey) echo 'CUVmuCqSMnAIGcynv1bFuM8gOzOCnUK3CWLQB9S7sFs=' ;;
  *) exit 1 ;;
esac
`
const FAKE_IP = `#!${BASH}
case "$*" in
  "link show dev wg0" | "-j -d link show dev wg0") [ "\${FAKE_LINK:-up}" = up ] ;;
  *) exit 0 ;;
esac
`

let bin: string

beforeEach(() => {
  bin = join(mkdtempSync(join(tmpdir(), 'wgfleet-probe-sh-')), 'bin')
  mkdirSync(bin)
  for (const [name, text] of [['wg', FAKE_WG], ['ip', FAKE_IP]] as const) {
    writeFileSync(join(bin, name), text)
    chmodSync(join(bin, name), 0o755)
  }
  for (const tool of ['uname', 'date', 'id', 'sed', 'head', 'cat', 'awk', 'stat', 'grep', 'sort', 'tail']) symlinkSync(which(tool), join(bin, tool))
})

function runProbe(env: Record<string, string> = {}) {
  const result = spawnSync(BASH, ['-s', '--', 'wg0'], {input: buildStdin(loadScript('probe')), env: {PATH: bin, ...env}, encoding: 'utf8', timeout: 20_000})
  expect(result.status, result.stderr).toBe(0)
  return result.stdout
}

describe('probe.sh: the running interface\'s public key', () => {
  it('is printed when the interface exists, and parses', () => {
    const out = runProbe()
    expect(out.split('\n')).toContain(`iface_pubkey=${INTERFACE_KEY}`)
    expect(parseProbeOutput(out).interfacePublicKey).toBe(INTERFACE_KEY)
  })

  it('is not printed when there is no interface; empty when wg cannot read it', () => {
    expect(runProbe({FAKE_LINK: 'absent'})).not.toContain('iface_pubkey=')
    const failing = runProbe({FAKE_WG_FAIL: '1'})
    expect(failing.split('\n')).toContain('iface_pubkey=')
    expect(parseProbeOutput(failing).interfacePublicKey).toBeUndefined()
  })

  it('passes what the host printed on as it is (a malformed value is judged by key trust, not hidden here)', () => {
    expect(parseProbeOutput(runProbe({FAKE_IFACE_KEY: 'not-a-key'})).interfacePublicKey).toBe('not-a-key')
  })
})
