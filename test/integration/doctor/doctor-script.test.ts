/**
 * src/remote/doctor.sh run by a real bash in a host sandbox (test/helpers/host-sandbox.ts: its own /etc,
 * /run, /tmp and ip_forward, so the script reads the real paths) against fake wg, ip, date, systemctl,
 * ufw, firewall-cmd and ping (the shared fakes, and only the few real tools the script needs, on PATH).
 * Proves: no secret leaves the host — neither the private key (in the dump's interface line, in the
 * config file, even in a comment there) nor a preshared key, however it is spelled; the output parses
 * into a DoctorReading; pings go only to the targets given, bounded; and the script only reads.
 */
import {spawnSync} from 'node:child_process'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadScript} from '../../../src/remote/scripts.js'
import {parseDoctorOutput} from '../../../src/remote/doctor.js'
import {LEAKY_CONFIG_LINES, LEAKY_CONFIG_MASKED, LEAKY_CONFIG_SECRETS} from '../../helpers/host-fakes.js'
import type {HostSandbox} from '../../helpers/host-sandbox.js'
import {BASH, doctorHost, NODE_CLOCK, PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY, PUBLIC_KEY} from './fakes.js'

let box: HostSandbox

beforeEach(() => {
  box = doctorHost()
})
afterEach(() => box.destroy())

const TARGETS = ['u:203.0.113.2', 'o:10.0.0.2', 'o:10.0.0.3']

/**
 * Run doctor.sh the way the doctor service does: `bash -s -- 'wg0' '51820' COUNT`, the script on stdin
 * wrapped in a function, then the targets, one per line, and `end`. The first two words are IFACE and PORT.
 * BUDGET: seconds after which no ping starts.
 */
function runDoctorScript(args: string[] = ['wg0', '51820', ...TARGETS], env: Record<string, string> = {}, budget = 20) {
  const [iface = '', port = '', ...targets] = args
  const input = [...targets, 'end'].join('\n') + '\n'
  const result = box.run(loadScript('doctor'), [iface, port, String(targets.length), String(budget)], {env, input})
  return {...result, calls: box.fakes.calls()}
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
    expect(box.read('/etc/wireguard/wg0.conf')).toContain(PRIVATE_KEY)
    expect(run.stdout).toContain('PrivateKey = @WGFLEET_PRIVATE_KEY@')
    expect(run.stdout).toContain('PresharedKey = @WGFLEET_PRESHARED_KEY@')
    expect(run.stdout).toContain('# (line hidden: it holds the private key)')
  })

  it('masks what the old doctor.sh let through: a commented-out PrivateKey, a PSK inside PostUp, `Preshared Key = X`', () => {
    box.write('/etc/wireguard/wg0.conf', LEAKY_CONFIG_LINES.join('\n') + '\n', 0o600)
    const run = runDoctorScript()
    for (const secret of LEAKY_CONFIG_SECRETS) expect(run.stdout + run.stderr).not.toContain(secret)
    expect(parseDoctorOutput(run.stdout).config).toBe(LEAKY_CONFIG_MASKED.join('\n') + '\n')
  })

  it('an inherited xtrace (SHELLOPTS=xtrace) prints no secret', () => {
    const run = runDoctorScript(['wg0', '51820'], {SHELLOPTS: 'xtrace'})
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('+ set +xv')
    for (const secret of [PRIVATE_KEY, PRESHARED_KEY]) expect(run.stdout + run.stderr).not.toContain(secret)
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
    box.fakes.set('ping-limit', '1400')
    const run = runDoctorScript()
    const reading = parseDoctorOutput(run.stdout)
    const under = reading.pings.find((p) => p.kind === 'underlay')!
    expect(under).toEqual({kind: 'underlay', host: '203.0.113.2', size: 1452, big: 'fail', small: 'ok', pathMtu: 1428})
    // 1392 ≤ 1400: the overlay pings get through.
    expect(reading.pings.filter((p) => p.kind === 'overlay').every((p) => p.big === 'ok' && p.small === null)).toBe(true)
    expect(run.calls).toContain('ping -n -M do -s 1452 -c 1 -W 1 203.0.113.2')
    expect(run.calls).toContain('ping -n -c 1 -W 1 203.0.113.2')
  })

  it('pings only the targets given, each bounded (-c 1 -W 1), at most two each', () => {
    box.fakes.set('ping-dead', '10.0.0.3\n')
    const run = runDoctorScript()
    const pings = run.calls.filter((c) => c.startsWith('ping '))
    expect(pings.every((c) => / -c 1 -W 1 (203\.0\.113\.2|10\.0\.0\.2|10\.0\.0\.3)$/.test(c))).toBe(true)
    expect(pings).toHaveLength(4) // three big ones, and a small one for the dead host
    expect(parseDoctorOutput(run.stdout).pings.find((p) => p.host === '10.0.0.3')).toMatchObject({big: 'fail', small: 'fail'})
  })

  it('a target that looks like an option is not pinged', () => {
    const run = runDoctorScript(['wg0', '51820', 'u:-f', 'o:10.0.0.2;reboot', 'x:10.0.0.2'])
    expect(run.calls.filter((c) => c.startsWith('ping '))).toEqual([])
    expect(parseDoctorOutput(run.stdout).pings).toEqual([])
  })

  it('many targets: every one probed, at most 16 at a time', () => {
    const targets = Array.from({length: 40}, (_, i) => [`u:198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, `o:10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`]).flat()
    // A budget no busy test machine reaches: this is about the window, not the clock.
    const run = runDoctorScript(['wg0', '51820', ...targets], {}, 3600)
    expect(run.code, run.stderr).toBe(0)
    const reading = parseDoctorOutput(run.stdout)
    expect(reading.pings).toHaveLength(80)
    expect(reading.pingsUnprobed).toBe(0)
    expect(Number(box.fakes.get('ping-max-inflight'))).toBeLessThanOrEqual(16)
  })

  it('the ping budget spent: no ping starts, and the targets left are counted', () => {
    const run = runDoctorScript(['wg0', '51820', ...TARGETS], {}, 0)
    expect(run.calls.filter((c) => c.startsWith('ping '))).toEqual([])
    const reading = parseDoctorOutput(run.stdout)
    expect(reading.pingTool).toBe('yes')
    expect(reading.pingsUnprobed).toBe(3)
  })

  it('no targets: no ping at all', () => {
    const run = runDoctorScript(['wg0', '51820'])
    expect(run.calls.some((c) => c.startsWith('ping'))).toBe(false)
    expect(parseDoctorOutput(run.stdout).pingTool).toBeNull()
  })

  it('only reads: every call is a query', () => {
    const run = runDoctorScript()
    const readOnly = [
      /^wg show wg0 (dump|listen-port|public-key)$/,
      /^wg pubkey$/,
      /^ip -o (-4 addr|link) show dev wg0$/,
      /^systemctl show -p UnitFileState -p ActiveState wg-quick@wg0$/,
      /^ufw status verbose$/,
      /^firewall-cmd (--state|--get-default-zone|(--permanent )?--list-all-(zones|policies)|--info-service=[a-z0-9-]+)$/,
      /^ip -4 route show default$/,
      /^ip -[46] -o route show table main$/,
      /^ping /,
    ]
    const other = run.calls.filter((c) => !readOnly.some((re) => re.test(c)))
    expect(other).toEqual([])
    expect(run.calls.filter((c) => c === 'wg show wg0 dump')).toHaveLength(1)
  })

  it('interface down: reported, no pings (the overlay cannot carry them)', () => {
    box.fakes.link('wg0', 'down')
    box.fakes.unit('wg-quick@wg0', {active: 'failed'})
    const run = runDoctorScript()
    const reading = parseDoctorOutput(run.stdout)
    expect(reading).toMatchObject({link: 'down', unitActive: 'failed', pingTool: 'skipped', pings: []})
    expect(run.calls.some((c) => c.startsWith('ping'))).toBe(false)
  })

  it('interface absent: wg show not asked; the key file still gives the public key', () => {
    box.fakes.link('wg0', 'absent')
    const run = runDoctorScript()
    const reading = parseDoctorOutput(run.stdout)
    expect(reading).toMatchObject({link: 'absent', peers: null, publicKey: null, keyFilePublicKey: PUBLIC_KEY, mtu: null, addresses: []})
    expect(run.calls.some((c) => c.startsWith('wg show'))).toBe(false)
  })

  it('wg show failing is reported as such, not as "no peers"', () => {
    box.fakes.set('wg-fail', '')
    const reading = parseDoctorOutput(runDoctorScript().stdout)
    expect(reading.peers).toBeNull()
    expect(reading.wgError).toMatch(/wg show wg0 failed/)
  })

  it('unit disabled, forwarding off with no sysctl file, firewalls off, no config', () => {
    box.ipForward = '0'
    box.remove('/etc/sysctl.d/99-wgfleet.conf')
    box.remove('/etc/wireguard/wg0.conf')
    box.fakes.unit('wg-quick@wg0', {enabled: 'disabled'})
    box.fakes.ufw('inactive')
    box.fakes.firewalld('stopped')
    const reading = parseDoctorOutput(runDoctorScript().stdout)
    expect(reading).toMatchObject({unitEnabled: 'disabled', ipForward: false, forwardFiles: [], config: null, ufw: {state: 'inactive', status: []}, firewalld: {state: 'stopped', runtime: {zones: []}}})
  })

  it('no systemd, no firewall tools, no ping: each reported as absent', () => {
    box.remove('/run/systemd/system')
    box.fakes.uninstall('ufw', 'firewall-cmd', 'ping')
    const reading = parseDoctorOutput(runDoctorScript().stdout)
    expect(reading).toMatchObject({systemd: false, unitEnabled: null, ufw: {state: 'absent'}, firewalld: {state: 'absent'}, pingTool: 'no', pings: []})
  })

  it('no key file yet: no key file public key, and nothing on stderr', () => {
    box.remove('/etc/wireguard/wg0.key')
    const run = runDoctorScript()
    expect(run.stderr).toBe('')
    expect(parseDoctorOutput(run.stdout).keyFilePublicKey).toBeNull()
  })

  it('refuses a bad interface name or port (exit 2, nothing run)', () => {
    expect(runDoctorScript(['-wg0', '51820']).code).toBe(2)
    const cut = box.run(loadScript('doctor'), ['wg0', '51820', '3', '20'], {input: 'u:203.0.113.2\n'})
    expect(cut.code).toBe(2)
    expect(cut.stderr).toMatch(/cut short \(1 of 3\)/)
    expect(runDoctorScript(['wg0', '51820x']).code).toBe(2)
    expect(box.run(loadScript('doctor'), ['wg0', '51820', '0', 'soon'], {input: 'end\n'}).code).toBe(2)
    expect(box.fakes.calls()).toEqual([])
  })

  it('is valid bash (bash -n)', () => {
    const check = spawnSync(BASH, ['-n'], {input: loadScript('doctor'), encoding: 'utf8'})
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
  })
})
