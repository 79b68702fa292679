/**
 * The firewall listings init and doctor judge come from one shell routine (src/remote/firewall-listings.sh,
 * put in front of probe.sh and doctor.sh after lib.sh): run by a real bash in a host sandbox against the
 * shared fake `ufw` and `firewall-cmd` (test/helpers/fake-bin), both scripts print the same listings, and
 * both parsers read the same readings from them — so the verdict gets the same input whichever command asks.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {FIREWALL_BLOCKS} from '../../../src/firewall/listings.js'
import {parseDoctorOutput} from '../../../src/remote/doctor.js'
import {parseProbeOutput} from '../../../src/remote/probe.js'
import {loadScript} from '../../../src/remote/scripts.js'
import type {HostSandbox} from '../../helpers/host-sandbox.js'
import {doctorHost} from '../doctor/fakes.js'

let box: HostSandbox

beforeEach(() => {
  // The doctor tests' node (ufw active, firewalld running with wg0 in trusted), in a host sandbox.
  box = doctorHost()
  box.write('/etc/default/ufw', 'IPV6=yes\nDEFAULT_FORWARD_POLICY="DROP"\n')
})
afterEach(() => box.destroy())

function run(script: 'probe' | 'doctor', args: string[], input?: string) {
  const result = box.run(loadScript(script), args, input === undefined ? undefined : {input})
  expect(result.code, result.stderr).toBe(0)
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
    } else if (/^(ufw|firewalld)(\.[a-z_]+)?=/.test(line)) out.push(line)
  }
  return out
}

describe('firewall-listings.sh, shared by probe.sh and doctor.sh', () => {
  it('both print the same listings, and both parsers read the same readings', () => {
    const probe = run('probe', ['wg0'])
    // doctor.sh IFACE PORT COUNT BUDGET, its (here no) ping targets on stdin.
    const doctor = run('doctor', ['wg0', '51820', '0', '20'], 'end\n')
    const listing = firewallPart(probe)
    expect(listing.length).toBeGreaterThan(20)
    expect(firewallPart(doctor)).toEqual(listing)
    expect(listing).toContain('--- firewalld permanent zones')
    expect(listing).toContain('--- firewalld services')
    const fromProbe = parseProbeOutput(probe)
    const fromDoctor = parseDoctorOutput(doctor)
    expect({ufw: fromProbe.ufw, firewalld: fromProbe.firewalld}).toEqual({ufw: fromDoctor.ufw, firewalld: fromDoctor.firewalld})
    expect(fromProbe.ufw).toMatchObject({state: 'active', forwardPolicy: 'DROP'})
    expect(fromProbe.firewalld.runtime.zones.map((z) => z.name)).toEqual(['public', 'trusted'])
  })

  it('only reads: ufw status verbose, and firewalld\'s listings and service definitions', () => {
    run('probe', ['wg0'])
    const calls = box.fakes.calls().filter((c) => /^(ufw|firewall-cmd) /.test(c))
    expect(calls.filter((c) => !/^(ufw status verbose|firewall-cmd (--state|--get-default-zone|(--permanent )?--list-all-(zones|policies)|--info-service=[a-z0-9-]+))$/.test(c))).toEqual([])
    expect(calls).toContain('firewall-cmd --info-service=ssh')
  })
})
