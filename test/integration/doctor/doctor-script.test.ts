/**
 * src/remote/doctor.sh run by a real bash, locally, against fake wg, ip, date, systemctl, ufw, firewall-cmd
 * and ping on PATH (a temp folder holding only the fakes and the few tools the script needs) and a temp
 * folder standing in for / (WGFLEET_DOCTOR_ROOT). Proves: no secret leaves the host — neither the private
 * key (in the dump's interface line, in the config file, even in a comment there) nor a preshared key;
 * the output parses into a DoctorReading; pings go only to the targets given, bounded; and the script
 * only reads.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import {buildStdin} from '../../../src/ssh/shell.js'
import {parseDoctorOutput} from '../../../src/remote/doctor.js'
import {BASH, makeFakeHost, NODE_CLOCK, PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY, PUBLIC_KEY} from './fakes.js'

let bin: string
let root: string
let log: string

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-doctor-sh-'))
  ;({bin, root} = makeFakeHost(dir))
  log = join(dir, 'calls.log')
  writeFileSync(log, '')
})

const TARGETS = ['u:203.0.113.2', 'o:10.0.0.2', 'o:10.0.0.3']

/** Run doctor.sh the way RemoteShell does: `bash -s -- 'wg0' '51820' TARGETS…`, the script on stdin wrapped in a function. */
function runDoctorScript(env: Record<string, string> = {}, args: string[] = ['wg0', '51820', ...TARGETS]) {
  const result = spawnSync(BASH, ['-s', '--', ...args], {
    input: buildStdin(loadScript('doctor')),
    env: {PATH: bin, FAKE_LOG: log, WGFLEET_DOCTOR_ROOT: root, ...env},
    encoding: 'utf8',
    timeout: 20_000,
  })
  return {code: result.status, stdout: result.stdout, stderr: result.stderr, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)}
}

describe('doctor.sh', () => {
  it('never prints a secret: the private key (dump, config, a comment) and the preshared key stay on the host', () => {
    const run = runDoctorScript()
    expect(run.code).toBe(0)
    for (const secret of [PRIVATE_KEY, PRESHARED_KEY]) {
      expect(run.stdout).not.toContain(secret)
      expect(run.stderr).not.toContain(secret)
    }
    // The fakes really handed them over: the script had them and dropped them.
    expect(run.calls).toContain('wg show wg0 dump')
    expect(readFileSync(join(root, 'etc/wireguard/wg0.conf'), 'utf8')).toContain(PRIVATE_KEY)
    expect(run.stdout).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    expect(run.stdout).toContain('PresharedKey = @WGFLEET_PRESHARED_KEY@')
    expect(run.stdout).toContain('# (line hidden: it holds the private key)')
  })

  it('prints everything the checklist needs, and it parses', () => {
    const run = runDoctorScript()
    const reading = parseDoctorOutput(run.stdout)
    expect(reading).toMatchObject({
      link: 'up',
      mtu: 1420,
      addresses: ['10.0.0.1/24'],
      wgInstalled: true,
      now: NODE_CLOCK,
      listenPort: 51820,
      publicKey: PUBLIC_KEY,
      keyFilePublicKey: PUBLIC_KEY,
      systemd: true,
      unitEnabled: 'enabled',
      unitActive: 'active',
      ipForward: true,
      forwardFiles: ['/etc/sysctl.d/99-wgfleet.conf'],
      ufw: {state: 'active'},
      firewalld: {state: 'running', defaultZone: 'public'},
      uplink: 'eth0',
      pingTool: 'yes',
    })
    expect(reading.peers!.map((p) => [p.publicKey, p.presharedKey, p.endpoint, p.allowedIps, p.latestHandshake, p.keepalive])).toEqual([
      [PEER_B, true, '203.0.113.2:51820', ['10.0.0.2/32'], NODE_CLOCK - 12, 25],
      [PEER_C, false, '198.51.100.1:40000', ['10.0.0.3/32', '10.0.0.4/32'], NODE_CLOCK - 30, 25],
    ])
    expect(reading.ufw.status).toContain('51820/udp                  ALLOW IN    Anywhere                   # wgfleet')
    // The raw listings, runtime and permanent, and the definitions of the services in use.
    expect(reading.firewalld.runtime.zones.map((z) => [z.name, z.interfaces, z.ports, z.services, z.forward])).toEqual([
      ['public', ['eth0'], ['51820/udp'], ['dhcpv6-client', 'ssh'], true],
      ['trusted', ['wg0'], [], [], true],
    ])
    expect(reading.firewalld.permanent.zones.find((z) => z.name === 'public')).toMatchObject({interfaces: [], ports: []})
    expect(reading.firewalld.runtime.policies!.map((p) => p.name)).toEqual(['allow-host-ipv6'])
    expect(reading.firewalld.services.map((s) => [s.name, s.ports])).toEqual([['dhcpv6-client', ['546/udp']], ['ssh', ['22/tcp']]])
    // The config block: the masked file, a line that would end the block early hidden.
    expect(reading.config).toContain(`PublicKey = ${PEER_B}`)
    expect(reading.config).toContain('# (line starting with -- hidden)')
    expect(reading.config).not.toMatch(/^--- end config$/m)
    expect(reading.pings.map((p) => [p.kind, p.host, p.size, p.big])).toEqual(
      expect.arrayContaining([
        ['underlay', '203.0.113.2', 1452, 'ok'],
        ['overlay', '10.0.0.2', 1392, 'ok'],
        ['overlay', '10.0.0.3', 1392, 'ok'],
      ]),
    )
    expect(reading.pings).toHaveLength(3)
  })

  it('path MTU: the MTU arithmetic (1420 + 32 underlay, 1420 - 28 overlay), and a too-big ping followed by a small one', () => {
    const run = runDoctorScript({FAKE_PING_LIMIT: '1400'})
    const reading = parseDoctorOutput(run.stdout)
    const under = reading.pings.find((p) => p.kind === 'underlay')!
    expect(under).toEqual({kind: 'underlay', host: '203.0.113.2', size: 1452, big: 'fail', small: 'ok', pathMtu: 1428})
    // 1392 ≤ 1400: the overlay pings get through.
    expect(reading.pings.filter((p) => p.kind === 'overlay').every((p) => p.big === 'ok' && p.small === null)).toBe(true)
    expect(run.calls).toContain('ping -n -M do -s 1452 -c 1 -W 1 203.0.113.2')
    expect(run.calls).toContain('ping -n -c 1 -W 1 203.0.113.2')
  })

  it('pings only the targets given, each bounded (-c 1 -W 1), at most two each', () => {
    const run = runDoctorScript({FAKE_PING_DEAD: '10.0.0.3'})
    const pings = run.calls.filter((c) => c.startsWith('ping '))
    expect(pings.every((c) => / -c 1 -W 1 (203\.0\.113\.2|10\.0\.0\.2|10\.0\.0\.3)$/.test(c))).toBe(true)
    expect(pings).toHaveLength(4) // three big ones, and a small one for the dead host
    expect(parseDoctorOutput(run.stdout).pings.find((p) => p.host === '10.0.0.3')).toMatchObject({big: 'fail', small: 'fail'})
  })

  it('a target that looks like an option is not pinged', () => {
    const run = runDoctorScript({}, ['wg0', '51820', 'u:-f', 'o:10.0.0.2;reboot', 'x:10.0.0.2'])
    expect(run.calls.filter((c) => c.startsWith('ping '))).toEqual([])
    expect(parseDoctorOutput(run.stdout).pings).toEqual([])
  })

  it('no targets: no ping at all', () => {
    const run = runDoctorScript({}, ['wg0', '51820'])
    expect(run.calls.some((c) => c.startsWith('ping'))).toBe(false)
    expect(parseDoctorOutput(run.stdout).pingTool).toBeNull()
  })

  it('only reads: every call is a query', () => {
    const run = runDoctorScript()
    const readOnly = [
      /^wg show wg0 (dump|listen-port|public-key)$/,
      /^wg pubkey$/,
      /^ip -o (-4 addr|link) show dev wg0$/,
      /^systemctl is-(enabled|active) wg-quick@wg0$/,
      /^ufw status verbose$/,
      /^firewall-cmd (--state|--get-default-zone|(--permanent )?--list-all-(zones|policies)|--info-service=[a-z0-9-]+)$/,
      /^ip -4 route show default$/,
      /^ping /,
    ]
    const other = run.calls.filter((c) => !readOnly.some((re) => re.test(c)))
    expect(other).toEqual([])
    expect(run.calls.filter((c) => c === 'wg show wg0 dump')).toHaveLength(1)
  })

  it('interface down: reported, no pings (the overlay cannot carry them)', () => {
    const run = runDoctorScript({FAKE_LINK: 'down', FAKE_UNIT_ACTIVE: 'failed'})
    const reading = parseDoctorOutput(run.stdout)
    expect(reading).toMatchObject({link: 'down', unitActive: 'failed', pingTool: 'skipped', pings: []})
    expect(run.calls.some((c) => c.startsWith('ping'))).toBe(false)
  })

  it('interface absent: wg show not asked; the key file still gives the public key', () => {
    const run = runDoctorScript({FAKE_LINK: 'absent'})
    const reading = parseDoctorOutput(run.stdout)
    expect(reading).toMatchObject({link: 'absent', peers: null, publicKey: null, keyFilePublicKey: PUBLIC_KEY, mtu: null, addresses: []})
    expect(run.calls.some((c) => c.startsWith('wg show'))).toBe(false)
  })

  it('wg show failing is reported as such, not as "no peers"', () => {
    const reading = parseDoctorOutput(runDoctorScript({FAKE_WG_FAIL: '1'}).stdout)
    expect(reading.peers).toBeNull()
    expect(reading.wgError).toMatch(/wg show wg0 failed/)
  })

  it('unit disabled, forwarding off with no sysctl file, firewalls off, no config', () => {
    writeFileSync(join(root, 'proc/sys/net/ipv4/ip_forward'), '0\n')
    rmSync(join(root, 'etc/sysctl.d/99-wgfleet.conf'))
    rmSync(join(root, 'etc/wireguard/wg0.conf'))
    const reading = parseDoctorOutput(runDoctorScript({FAKE_UNIT_ENABLED: 'disabled', FAKE_UFW: 'inactive', FAKE_FIREWALLD: 'stopped'}).stdout)
    expect(reading).toMatchObject({unitEnabled: 'disabled', ipForward: false, forwardFiles: [], config: null, ufw: {state: 'inactive', status: []}, firewalld: {state: 'stopped', runtime: {zones: []}}})
  })

  it('no systemd, no firewall tools, no ping: each reported as absent', () => {
    rmSync(join(root, 'run/systemd/system'), {recursive: true})
    for (const tool of ['ufw', 'firewall-cmd', 'ping']) rmSync(join(bin, tool))
    const reading = parseDoctorOutput(runDoctorScript().stdout)
    expect(reading).toMatchObject({systemd: false, unitEnabled: null, ufw: {state: 'absent'}, firewalld: {state: 'absent'}, pingTool: 'no', pings: []})
  })

  it('no key file yet: no key file public key, and nothing on stderr', () => {
    rmSync(join(root, 'etc/wireguard/wg0.key'))
    const run = runDoctorScript()
    expect(run.stderr).toBe('')
    expect(parseDoctorOutput(run.stdout).keyFilePublicKey).toBeNull()
  })

  it('refuses a bad interface name or port (exit 2, nothing run)', () => {
    expect(runDoctorScript({}, ['-wg0', '51820']).code).toBe(2)
    expect(runDoctorScript({}, ['wg0', '51820x']).code).toBe(2)
    expect(readFileSync(log, 'utf8')).toBe('')
  })

  it('is valid bash (bash -n)', () => {
    const check = spawnSync(BASH, ['-n'], {input: loadScript('doctor'), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
