/**
 * The firewall listings init and doctor judge come from one shell routine (src/remote/firewall-listings.sh,
 * put in front of probe.sh and doctor.sh): run by a real bash against fake `ufw` and `firewall-cmd`, both
 * scripts print the same listings, and both parsers read the same readings from them — so the verdict
 * gets the same input whichever command asks.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {FIREWALL_BLOCKS} from '../../../src/firewall/listings.js'
import {parseDoctorOutput} from '../../../src/remote/doctor.js'
import {parseProbeOutput} from '../../../src/remote/probe.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'
import {BASH, makeFakeHost} from '../doctor/fakes.js'

let bin: string
let root: string
let log: string

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-listings-sh-'))
  ;({bin, root} = makeFakeHost(dir))
  log = join(dir, 'calls.log')
  writeFileSync(log, '')
})

function run(script: 'probe' | 'doctor', args: string[]) {
  const result = spawnSync(BASH, ['-s', '--', ...args], {
    input: buildStdin(loadScript(script)),
    env: {PATH: bin, FAKE_LOG: log, WGFLEET_DOCTOR_ROOT: root},
    encoding: 'utf8',
    timeout: 20_000,
  })
  expect(result.status, result.stderr).toBe(0)
  return result.stdout
}

/** The firewall part of a script's output: its ufw/firewalld lines and blocks. */
function firewallPart(stdout: string): string[] {
  const out: string[] = []
  let inBlock: string | null = null
  for (const line of stdout.split('\n')) {
    if (inBlock !== null) {
      out.push(line)
      if (line === `--- end ${inBlock}`) inBlock = null
    } else if ((FIREWALL_BLOCKS as readonly string[]).includes(line.slice(4)) && line.startsWith('--- ')) {
      inBlock = line.slice(4)
      out.push(line)
      // (ufw.forward_policy comes from /etc/default/ufw: this machine's for probe.sh, the test root's for doctor.sh.)
    } else if (/^(ufw|firewalld)(\.[a-z_]+)?=/.test(line) && !line.startsWith('ufw.forward_policy=')) out.push(line)
  }
  return out
}

describe('firewall-listings.sh, shared by probe.sh and doctor.sh', () => {
  it('both print the same listings, and both parsers read the same readings', () => {
    const probe = run('probe', ['wg0'])
    const doctor = run('doctor', ['wg0', '51820'])
    const listing = firewallPart(probe)
    expect(listing.length).toBeGreaterThan(20)
    expect(firewallPart(doctor)).toEqual(listing)
    expect(listing).toContain('--- firewalld permanent zones')
    expect(listing).toContain('--- firewalld services')
    const fromProbe = parseProbeOutput(probe)
    const fromDoctor = parseDoctorOutput(doctor)
    expect({ufw: {...fromProbe.ufw, forwardPolicy: null}, firewalld: fromProbe.firewalld}).toEqual({ufw: {...fromDoctor.ufw, forwardPolicy: null}, firewalld: fromDoctor.firewalld})
    expect(fromProbe.ufw.state).toBe('active')
    expect(fromProbe.firewalld.runtime.zones.map((z) => z.name)).toEqual(['public', 'trusted'])
  })

  it('only reads: ufw status verbose, and firewalld\'s listings and service definitions', () => {
    run('probe', ['wg0'])
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter((c) => /^(ufw|firewall-cmd) /.test(c))
    expect(calls.filter((c) => !/^(ufw status verbose|firewall-cmd (--state|--get-default-zone|(--permanent )?--list-all-(zones|policies)|--info-service=[a-z0-9-]+))$/.test(c))).toEqual([])
    expect(calls).toContain('firewall-cmd --info-service=ssh')
  })
})
