/**
 * Fake programs for running the host scripts (src/remote/*.sh) under a real bash: wg, wg-quick, ip,
 * systemctl, journalctl, ufw, firewall-cmd, ping, date, sleep, sysctl, modinfo, apt-get and dnf — the
 * programs themselves are readable bash files in ./fake-bin. They share the fake host's state as files in
 * one folder ($FAKE_STATE), which the tests set and read through FakeMachine, and they log every call to
 * $FAKE_STATE/calls.log.
 *
 * Layout of a FakeMachine's folder:
 *   all/        every fake program
 *   bin/        the ones a Linux host always has (ip, systemctl, date, sysctl, ...)
 *   installed/  the ones a test (or the fake apt-get) installed: wg, wg-quick, ufw, firewall-cmd, ping, ...
 *   tools/      links to the real tools the scripts and fakes need (isolated mode only), so PATH holds
 *               nothing else: a real wg, ufw or ip of this machine is never reached
 *   state/      the fake host's state
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {ALLOW_HOST_IPV6, publicZone, STOCK_SERVICES, type PolicySpec, type ZoneSpec} from '../fixtures/firewall.js'

export const PRIVATE_KEY = 'cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY='
/** A preshared key set on one peer: a secret too, never to leave the host. */
export const PRESHARED_KEY = 'cHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHM='
export const PUBLIC_KEY = 'e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig='
export const PEER_B = '1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0='
export const PEER_C = '/Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk='
/** An older private key, kept around by hand. */
export const OLD_KEY = 'b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2w='
/** The fake host's clock: far from the test machine's on purpose. */
export const NODE_CLOCK = 1_600_000_000

export const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim()
export const BASH = which('bash')

const FAKE_BIN = fileURLToPath(new URL('./fake-bin/', import.meta.url))
/** Always on a Linux host. */
const SYSTEM = ['ip', 'systemctl', 'journalctl', 'date', 'sleep', 'sysctl', 'modinfo'] as const
/** Present only once installed. */
export const OPTIONAL = ['wg', 'wg-quick', 'ufw', 'firewall-cmd', 'ping', 'apt-get', 'dnf', 'iptables', 'ip6tables'] as const
export type OptionalTool = (typeof OPTIONAL)[number]
/** The real programs the scripts and the fakes call. */
const REAL_TOOLS = [
  'bash', 'awk', 'basename', 'cat', 'chmod', 'chown', 'cmp', 'cp', 'cut', 'dirname', 'env', 'grep', 'head', 'id', 'ln', 'ls', 'mkdir',
  'mktemp', 'mv', 'readlink', 'rm', 'sed', 'sha256sum', 'sort', 'stat', 'sync', 'tail', 'timeout', 'touch', 'tr', 'uname', 'wc',
]

export interface FakeMachineOptions {
  /** 'isolated': PATH is the fakes and the real tools they need, nothing else; 'inherit': the fakes in front of the caller's PATH. */
  tools: 'isolated' | 'inherit'
  /** Optional programs installed from the start (default: all of them). */
  installed?: readonly OptionalTool[]
}

/** A fake firewalld's configuration (test/fixtures/firewall.ts's shapes); see FakeMachine.firewalld. */
export interface FakeFirewalld {
  defaultZone?: string
  runtime?: ZoneSpec[]
  /** Defaults to the runtime zones when those are given. */
  permanent?: ZoneSpec[]
  /** null: a firewalld older than 0.9 (no policies at all). */
  policies?: PolicySpec[] | null
  permanentPolicies?: PolicySpec[] | null
  /** `--info-service` outputs (serviceInfo), the name first; default the stock ssh, dhcpv6-client, wireguard. */
  services?: string[][]
}

export class FakeMachine {
  readonly state: string
  private readonly installedDir: string
  private readonly allDir: string
  readonly path: string

  constructor(readonly dir: string, options: FakeMachineOptions) {
    this.allDir = join(dir, 'all')
    this.installedDir = join(dir, 'installed')
    this.state = join(dir, 'state')
    const bin = join(dir, 'bin')
    for (const d of [this.allDir, bin, this.installedDir, this.state, join(this.state, 'links'), join(this.state, 'units'), join(this.state, 'addr')]) mkdirSync(d, {recursive: true})
    for (const name of readdirSync(FAKE_BIN)) copyFileSync(join(FAKE_BIN, name), join(this.allDir, name))
    copyFileSync(join(FAKE_BIN, 'apt-get'), join(this.allDir, 'dnf'))
    for (const name of readdirSync(this.allDir)) chmodSync(join(this.allDir, name), 0o755)
    for (const name of SYSTEM) this.copyFake(name, bin)
    this.install(...(options.installed ?? OPTIONAL))
    const parts = [bin, this.installedDir]
    if (options.tools === 'isolated') {
      const tools = join(dir, 'tools')
      mkdirSync(tools)
      for (const tool of REAL_TOOLS) symlinkSync(which(tool), join(tools, tool))
      parts.push(tools)
    } else {
      parts.push(process.env.PATH ?? '')
    }
    this.path = parts.join(':')
    this.set('keypairs', `${PRIVATE_KEY} ${PUBLIC_KEY}\n`)
    this.set('genkey', `${PRIVATE_KEY}\n`)
    this.set('clock', `${NODE_CLOCK}\n`)
    this.set('calls.log', '')
  }

  /** What the scripts need in their environment to use these fakes. */
  env(): Record<string, string> {
    return {PATH: this.path, FAKE_STATE: this.state}
  }

  install(...tools: OptionalTool[]): void {
    for (const tool of tools) this.copyFake(tool, this.installedDir)
  }

  uninstall(...tools: string[]): void {
    for (const tool of tools) rmSync(join(this.installedDir, tool), {force: true})
  }

  installed(tool: string): boolean {
    return existsSync(join(this.installedDir, tool))
  }

  /** Every call a fake received, in order (`wg show wg0 dump`, ...). */
  calls(): string[] {
    return readFileSync(join(this.state, 'calls.log'), 'utf8').split('\n').filter(Boolean)
  }

  clearCalls(): void {
    this.set('calls.log', '')
  }

  /** A state file, relative to the state folder; null removes it. */
  set(name: string, content: string | null): void {
    const file = join(this.state, name)
    if (content === null) rmSync(file, {force: true})
    else writeFileSync(file, content)
  }

  get(name: string): string | null {
    const file = join(this.state, name)
    return existsSync(file) ? readFileSync(file, 'utf8') : null
  }

  link(iface: string, state: 'up' | 'down' | 'absent'): void {
    this.set(`links/${iface}`, state === 'absent' ? null : `${state}\n`)
  }

  linkState(iface: string): 'up' | 'down' | 'absent' {
    return (this.get(`links/${iface}`)?.trim() as 'up' | 'down' | undefined) ?? 'absent'
  }

  /** A fixed `wg show IFACE dump` (interface line first, as wg prints it); null: derived from what the interface runs. */
  dump(iface: string, lines: string[] | null): void {
    this.set(`${iface}.dump`, lines === null ? null : lines.join('\n') + '\n')
  }

  /** The configuration the running interface holds (as wg setconf takes it), or null. */
  loaded(iface: string): string | null {
    return this.get(`${iface}.loaded`)
  }

  /** Bring an interface up running CONFIG (what wg-quick up does), without its routes. */
  run(iface: string, config: string): void {
    this.link(iface, 'up')
    this.set(`${iface}.loaded`, config)
  }

  handshakes(iface: string, latest: Record<string, number>): void {
    this.set(`${iface}.handshakes`, Object.entries(latest).map(([key, ts]) => `${key} ${ts}\n`).join(''))
  }

  unit(unit: string, state: {enabled?: string; active?: string}): void {
    if (state.enabled !== undefined) this.set(`units/${unit}.enabled`, `${state.enabled}\n`)
    if (state.active !== undefined) this.set(`units/${unit}.active`, `${state.active}\n`)
  }

  unitState(unit: string): {enabled: string; active: string} {
    return {enabled: this.get(`units/${unit}.enabled`)?.trim() ?? 'disabled', active: this.get(`units/${unit}.active`)?.trim() ?? 'inactive'}
  }

  /** ufw active with these rule lines (as `ufw status verbose` prints them), or inactive. */
  ufw(state: 'active' | 'inactive', rules: string[] = []): void {
    this.set('ufw', `${state}\n`)
    this.set('ufw.rules', rules.map((r) => r + '\n').join(''))
  }

  ufwRules(): string[] {
    return (this.get('ufw.rules') ?? '').split('\n').filter(Boolean)
  }

  /**
   * firewalld running or stopped, with this configuration (fake-bin/firewall-cmd reads and changes it). By
   * default Debian 12's: public the default zone (ssh, dhcpv6-client; eth0 bound to it at runtime only, as
   * the network manager does), trusted, the allow-host-ipv6 policy and the stock service definitions.
   */
  firewalld(state: 'running' | 'stopped', config: FakeFirewalld = {}): void {
    this.set('firewalld', `${state}\n`)
    const root = join(this.state, 'firewalld.d')
    rmSync(root, {recursive: true, force: true})
    mkdirSync(join(root, 'services'), {recursive: true})
    writeFileSync(join(root, 'default-zone'), `${config.defaultZone ?? 'public'}\n`)
    const runtime = config.runtime ?? [publicZone({interfaces: ['eth0']}), {name: 'trusted', target: 'ACCEPT'}]
    const permanent = config.permanent ?? (config.runtime ? runtime : [publicZone(), {name: 'trusted', target: 'ACCEPT'}])
    const policies = config.policies === undefined ? [ALLOW_HOST_IPV6] : config.policies
    const permanentPolicies = config.permanentPolicies === undefined ? policies : config.permanentPolicies
    if (policies === null || permanentPolicies === null) writeFileSync(join(root, 'no-policies'), '')
    for (const [scope, zones, pols] of [['runtime', runtime, policies], ['permanent', permanent, permanentPolicies]] as const) {
      mkdirSync(join(root, scope, 'zones'), {recursive: true})
      mkdirSync(join(root, scope, 'policies'), {recursive: true})
      for (const z of zones) {
        const dir = join(root, scope, 'zones', z.name)
        mkdirSync(dir)
        const settings: Record<string, string> = {
          target: z.target ?? 'default',
          interfaces: (z.interfaces ?? []).join(' '),
          sources: (z.sources ?? []).join(' '),
          services: (z.services ?? []).join(' '),
          ports: (z.ports ?? []).join(' '),
          protocols: (z.protocols ?? []).join(' '),
          masquerade: z.masquerade ? 'yes' : 'no',
          rich: (z.richRules ?? []).map((r) => `${r}\n`).join(''),
        }
        if (z.forward !== null) settings.forward = z.forward === false ? 'no' : 'yes'
        for (const [name, value] of Object.entries(settings)) writeFileSync(join(dir, name), name === 'rich' ? value : `${value}\n`)
      }
      for (const p of pols ?? []) {
        const dir = join(root, scope, 'policies', p.name)
        mkdirSync(dir)
        const settings = {priority: String(p.priority ?? -1), target: p.target ?? 'CONTINUE', ingress: p.ingress.join(' '), egress: p.egress.join(' '), services: '', ports: '', protocols: ''}
        for (const [name, value] of Object.entries(settings)) writeFileSync(join(dir, name), `${value}\n`)
        writeFileSync(join(dir, 'rich'), (p.richRules ?? []).map((r) => `${r}\n`).join(''))
      }
    }
    for (const lines of config.services ?? Object.values(STOCK_SERVICES)) writeFileSync(join(root, 'services', lines[0]!), lines.map((l) => `${l}\n`).join(''))
  }

  /** A firewalld zone as the fake holds it now (after the scripts' changes); null when there is none. */
  firewalldZone(scope: 'runtime' | 'permanent', name: string): Required<Pick<ZoneSpec, 'name' | 'target' | 'interfaces' | 'services' | 'ports'>> & {forward: boolean} | null {
    const dir = `firewalld.d/${scope}/zones/${name}`
    if (this.get(`${dir}/target`) === null) return null
    const list = (file: string) => (this.get(`${dir}/${file}`) ?? '').split(/\s+/).filter(Boolean)
    return {name, target: this.get(`${dir}/target`)!.trim(), interfaces: list('interfaces'), services: list('services'), ports: list('ports'), forward: this.get(`${dir}/forward`)?.trim() === 'yes'}
  }

  /** A firewalld policy as the fake holds it now; null when there is none. */
  firewalldPolicy(scope: 'runtime' | 'permanent', name: string): Required<Pick<PolicySpec, 'name' | 'target' | 'ingress' | 'egress'>> | null {
    const dir = `firewalld.d/${scope}/policies/${name}`
    if (this.get(`${dir}/target`) === null) return null
    const list = (file: string) => (this.get(`${dir}/${file}`) ?? '').split(/\s+/).filter(Boolean)
    return {name, target: this.get(`${dir}/target`)!.trim(), ingress: list('ingress'), egress: list('egress')}
  }

  private copyFake(name: string, to: string): void {
    copyFileSync(join(this.allDir, name), join(to, name))
    chmodSync(join(to, name), 0o755)
  }
}

/** The first line of `wg show wg0 dump`: the interface's own, with the private key, as wg prints it. */
export const DUMP_INTERFACE_LINE = [PRIVATE_KEY, PUBLIC_KEY, '51820', 'off'].join('\t')

/** A secret that is not even key-shaped: only the line rules can catch it. */
const WORDY_PSK = 'not-key-shaped-but-secret'
/**
 * A config file with the three leaks doctor.sh once had: a commented-out PrivateKey, a preshared key inside
 * a PostUp line, and `Preshared Key = X` (a spelling wg accepts).
 */
export const LEAKY_CONFIG_LINES = [
  '[Interface]',
  `PrivateKey = ${PRIVATE_KEY}`,
  `#PrivateKey = ${OLD_KEY}`,
  `PostUp = wg set %i peer ${PEER_B} preshared-key <(echo ${PRESHARED_KEY})`,
  '[Peer]',
  `PublicKey = ${PEER_B}`,
  `Preshared Key = ${WORDY_PSK}`,
  'AllowedIPs = 10.0.0.2/32',
]
/** LEAKY_CONFIG_LINES as every script prints them (lib.sh's mask_secrets). */
export const LEAKY_CONFIG_MASKED = [
  '[Interface]',
  'PrivateKey = @WGFLEET_PRIVATE_KEY@',
  '# (a line setting a secret key, hidden)',
  'PostUp = wg set %i peer (hidden key) preshared-key <(echo (hidden key))',
  '[Peer]',
  `PublicKey = ${PEER_B}`,
  'PresharedKey = @WGFLEET_PRESHARED_KEY@',
  'AllowedIPs = 10.0.0.2/32',
]
export const LEAKY_CONFIG_SECRETS = [PRIVATE_KEY, OLD_KEY, PRESHARED_KEY, WORDY_PSK]
