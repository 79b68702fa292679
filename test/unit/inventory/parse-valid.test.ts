/**
 * Inventories that are valid: what the Fleet model holds, defaults and precedence, syntax that is accepted.
 */
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {type Fleet, parseInventory} from '../../../src/inventory/index.js'
import {crossCheckWithIni} from '../../../src/inventory/parse.js'
import {Problems} from '../../../src/inventory/problems.js'
import {BASE, FILE, lineOf} from './helpers.js'

const EXAMPLE_FILE = fileURLToPath(new URL('../../../inventory.example.ini', import.meta.url))

describe('inventory.example.ini', () => {
  it('parses into the three-server fleet', () => {
    const text = readFileSync(EXAMPLE_FILE, 'utf8')
    const fleet = parseInventory(text, EXAMPLE_FILE)
    const expected: Fleet = {
      file: EXAMPLE_FILE,
      dir: fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, ''),
      network: {cidr: '10.0.0.0/24', prefixLength: 24, port: 51820, keepalive: 25, interface: 'wg0', topology: 'mesh'},
      ssh: {user: 'root'},
      nodes: [
        {
          name: 'node-a',
          line: lineOf(text, '[node-a]'),
          host: '203.0.113.1',
          address: '10.0.0.1',
          endpointHost: '203.0.113.1',
          endpointPort: 51820,
          endpointFromHost: true,
          port: 51820,
          nat: false,
          relay: true,
          ssh: {user: 'root'},
        },
        {
          name: 'node-b',
          line: lineOf(text, '[node-b]'),
          host: '203.0.113.2',
          address: '10.0.0.2',
          endpointHost: '203.0.113.2',
          endpointPort: 51820,
          endpointFromHost: true,
          port: 51820,
          nat: false,
          relay: false,
          ssh: {user: 'deploy'},
        },
        {
          name: 'node-c',
          line: lineOf(text, '[node-c]'),
          host: '203.0.113.3',
          address: '10.0.0.3',
          port: 51820,
          nat: true,
          relay: false,
          ssh: {user: 'root', port: 2222},
        },
      ],
    }
    expect(fleet).toStrictEqual(expected)
  })

  it('still parses with its commented-out optional keys switched on', () => {
    const text = readFileSync(EXAMPLE_FILE, 'utf8').replace(/^; ((interface|mtu|dns|topology|hosts_file|domain|preshared_keys|port|identity|known_hosts|jump|exit_via) = .*)$/gm, '$1')
    const fleet = parseInventory(text, EXAMPLE_FILE)
    expect(fleet.network).toMatchObject({interface: 'wg0', mtu: 1420, dns: ['10.0.0.1'], topology: 'mesh', hostsFile: {domain: 'wg'}, presharedKeys: true})
    expect(fleet.ssh.identity).toBe(`${homedir()}/.ssh/id_ed25519`)
    expect(fleet.ssh.knownHosts).toBe(`${homedir()}/.ssh/known_hosts`)
    expect(fleet.nodes[2]).toMatchObject({jump: {kind: 'node', node: 'node-a'}, exitVia: 'node-a', dns: ['10.0.0.1']})
  })
})

describe('syntax', () => {
  it('accepts CRLF line endings and a UTF-8 byte order mark', () => {
    const fleet = parseInventory('\uFEFF' + BASE.replace(/\n/g, '\r\n'), FILE)
    expect(fleet.nodes.map((n) => [n.name, n.host, n.address, n.line])).toEqual([
      ['node-a', '203.0.113.1', '10.0.0.1', 4],
      ['node-b', '203.0.113.2', '10.0.0.2', 9],
    ])
    expect(fleet.nodes[0]!.relay).toBe(true)
  })

  it('reports the right line numbers in a CRLF file with a BOM', () => {
    expect(() => parseInventory('\uFEFF' + BASE.replace('address = 10.0.0.2', 'adress = 10.0.0.2').replace(/\n/g, '\r\n'), FILE)).toThrow(
      `${FILE}:11: [node-b] adress: unknown key`,
    )
  })

  it('strips end-of-line comments that follow whitespace, and whole-line comments', () => {
    const text = `# fleet of the month
[network]   
cidr = 10.0.0.0/24 ; the overlay
  ; indented comment
keepalive = 0	# off

[node-a]
host = 203.0.113.1 ;; twice
address = 10.0.0.1 # first
relay = true ; a relay
`
    const fleet = parseInventory(text, FILE)
    expect(fleet.network).toMatchObject({cidr: '10.0.0.0/24', keepalive: 0})
    expect(fleet.nodes[0]).toMatchObject({host: '203.0.113.1', address: '10.0.0.1', relay: true})
  })

  it('accepts spaces around "=", none at all, and indented keys', () => {
    const fleet = parseInventory('[network]\ncidr=10.0.0.0/24\n[node-a]\n  host   =   203.0.113.1\n\taddress =10.0.0.1\n', FILE)
    expect(fleet.nodes[0]).toMatchObject({host: '203.0.113.1', address: '10.0.0.1'})
  })

  it('normalises the file path and keeps sections in file order', () => {
    const fleet = parseInventory(BASE, '/srv/fleet/./conf/../inventory.ini')
    expect(fleet.file).toBe(FILE)
    expect(fleet.dir).toBe('/srv/fleet')
    expect(fleet.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b'])
  })
})

describe('defaults and precedence', () => {
  it('fills in the defaults', () => {
    const fleet = parseInventory('[network]\ncidr = 192.168.50.0/24\n[solo]\nhost = solo.example.com\naddress = 192.168.50.9\n', FILE)
    expect(fleet.network).toStrictEqual({cidr: '192.168.50.0/24', prefixLength: 24, port: 51820, keepalive: 25, interface: 'wg0', topology: 'mesh'})
    // Unset SSH values stay unset: they defer to the ssh config (`ssh -G`), no built-in root.
    expect(fleet.ssh).toStrictEqual({})
    expect(fleet.nodes[0]).toStrictEqual({
      name: 'solo',
      line: 3,
      host: 'solo.example.com',
      address: '192.168.50.9',
      endpointHost: 'solo.example.com',
      endpointPort: 51820,
      endpointFromHost: true,
      port: 51820,
      nat: false,
      relay: false,
      ssh: {},
    })
  })

  it('takes ssh_user > [ssh] user > root, ssh_port > [ssh] port > 22, identity > [ssh] identity', () => {
    const text = `[network]
cidr = 10.0.0.0/24
port = 51000

[ssh]
user = admin
port = 2200
identity = keys/fleet_ed25519

[node-a]
host = 203.0.113.1
address = 10.0.0.1

[node-b]
host = 203.0.113.2
address = 10.0.0.2
ssh_user = deploy
ssh_port = 22
identity = /etc/wgfleet/node-b.key
port = 51001
`
    const fleet = parseInventory(text, FILE)
    expect(fleet.ssh).toStrictEqual({user: 'admin', port: 2200, identity: '/srv/fleet/keys/fleet_ed25519'})
    expect(fleet.nodes[0]!.ssh).toStrictEqual({user: 'admin', port: 2200, identity: '/srv/fleet/keys/fleet_ed25519'})
    expect(fleet.nodes[1]!.ssh).toStrictEqual({user: 'deploy', port: 22, identity: '/etc/wgfleet/node-b.key'})
    expect([fleet.nodes[0]!.port, fleet.nodes[1]!.port, fleet.nodes[1]!.endpointPort]).toEqual([51000, 51001, 51001])
  })

  it('reads transport and known_hosts in [ssh] and per node (the node wins), and leaves unset ones unset', () => {
    const text = BASE.replace('[node-a]', '[ssh]\ntransport = openssh\nknown_hosts = kh\n\n[node-a]').replace(
      'address = 10.0.0.2',
      'address = 10.0.0.2\ntransport = ssh2\nknown_hosts = /etc/wgfleet/kh\nssh_user = root',
    )
    const fleet = parseInventory(text, FILE)
    expect(fleet.ssh).toStrictEqual({knownHosts: '/srv/fleet/kh', transport: 'openssh'})
    expect(fleet.nodes.map((n) => n.ssh)).toStrictEqual([
      {knownHosts: '/srv/fleet/kh', transport: 'openssh'},
      {knownHosts: '/etc/wgfleet/kh', transport: 'ssh2', user: 'root'},
    ])
  })

  it('does not default an endpoint written out, so an alias host does not replace it', () => {
    const fleet = parseInventory(BASE.replace('address = 10.0.0.2', 'address = 10.0.0.2\nendpoint = vpn.example.com'), FILE)
    expect(fleet.nodes.map((n) => [n.endpointHost, n.endpointFromHost])).toEqual([
      [fleet.nodes[0]!.host, true],
      ['vpn.example.com', false],
    ])
  })

  it('resolves relative paths against the inventory folder and expands ~', () => {
    const text = BASE.replace('[node-a]', '[ssh]\nidentity = ./keys/../keys/id_ed25519\nknown_hosts = state/known_hosts\n\n[node-a]').replace(
      'address = 10.0.0.2',
      'address = 10.0.0.2\nidentity = ~/.ssh/node-b',
    )
    const fleet = parseInventory(text, '/home/ops/fleet/inventory.ini')
    expect(fleet.ssh.identity).toBe('/home/ops/fleet/keys/id_ed25519')
    expect(fleet.ssh.knownHosts).toBe('/home/ops/fleet/state/known_hosts')
    expect(fleet.nodes[0]!.ssh.identity).toBe('/home/ops/fleet/keys/id_ed25519')
    expect(fleet.nodes[1]!.ssh.identity).toBe(`${homedir()}/.ssh/node-b`)
  })

  it('gives a node its own dns instead of the network dns', () => {
    const text = BASE.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ndns = 10.0.0.1, 2001:db8::53').replace('address = 10.0.0.2', 'address = 10.0.0.2\ndns = 9.9.9.9')
    const fleet = parseInventory(text, FILE)
    expect(fleet.network.dns).toEqual(['10.0.0.1', '2001:db8::53'])
    expect(fleet.nodes.map((n) => n.dns)).toEqual([['10.0.0.1', '2001:db8::53'], ['9.9.9.9']])
  })
})

describe('endpoint, jump, nat and exit_via', () => {
  const withNodeC = (lines: string) => `${BASE}\n[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\n${lines}\n`

  it.each([
    ['vpn.example.com', 'vpn.example.com', 51820],
    ['vpn.example.com:51999', 'vpn.example.com', 51999],
    ['198.51.100.30:4500', '198.51.100.30', 4500],
    ['[2001:db8::3]:51821', '2001:db8::3', 51821],
    ['2001:db8::3', '2001:db8::3', 51820],
  ])('endpoint = %s dials %s port %i', (endpoint, host, port) => {
    const node = parseInventory(withNodeC(`endpoint = ${endpoint}`), FILE).nodes[2]
    expect([node!.host, node!.endpointHost, node!.endpointPort]).toEqual(['203.0.113.3', host, port])
  })

  it.each([
    ['node-a', {kind: 'node', node: 'node-a'}],
    ['bastion.example.com', {kind: 'address', host: 'bastion.example.com'}],
    ['admin@bastion.example.com:2222', {kind: 'address', user: 'admin', host: 'bastion.example.com', port: 2222}],
    ['198.51.100.9:22', {kind: 'address', host: '198.51.100.9', port: 22}],
    ['ops@[2001:db8::9]:22', {kind: 'address', user: 'ops', host: '2001:db8::9', port: 22}],
  ])('jump = %s', (jump, expected) => {
    expect(parseInventory(withNodeC(`jump = ${jump}`), FILE).nodes[2]!.jump).toStrictEqual(expected)
  })

  it('accepts a jump chain that is not a cycle', () => {
    const fleet = parseInventory(withNodeC('jump = node-b').replace('address = 10.0.0.2', 'address = 10.0.0.2\njump = node-a'), FILE)
    expect(fleet.nodes.map((n) => n.jump)).toEqual([undefined, {kind: 'node', node: 'node-a'}, {kind: 'node', node: 'node-b'}])
  })

  it('accepts NAT-ed nodes with a public relay, and an exit through a public node', () => {
    const text = `${withNodeC('nat = true\nexit_via = node-a')}\n[node-d]\nhost = 198.51.100.4\naddress = 10.0.0.4\nnat = true\n`
    const fleet = parseInventory(text, FILE)
    expect(fleet.nodes.map((n) => [n.name, n.nat, n.endpointHost ?? null])).toEqual([
      ['node-a', false, '203.0.113.1'],
      ['node-b', false, '203.0.113.2'],
      ['node-c', true, null],
      ['node-d', true, null],
    ])
    expect(fleet.nodes[2]!.exitVia).toBe('node-a')
  })

  it('accepts a hub with a relay, and the network options', () => {
    const text = BASE.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ntopology = hub\ninterface = wg-fleet.0\nmtu = 1380\nkeepalive = 0\nport = 443')
    expect(parseInventory(text, FILE).network).toStrictEqual({
      cidr: '10.0.0.0/24',
      prefixLength: 24,
      port: 443,
      keepalive: 0,
      interface: 'wg-fleet.0',
      mtu: 1380,
      topology: 'hub',
    })
  })
})

describe('the cross-check against the ini package', () => {
  it('refuses a value that the ini package reads differently', () => {
    const problems = new Problems(FILE)
    const entry = {key: 'host', value: '203.0.113.1', line: 2, invalid: false}
    const raw = {hasContent: true, sections: [{name: 'node-a', line: 1, invalid: false, entries: new Map([['host', entry]])}]}
    crossCheckWithIni('[node-a]\nhost = 203.0.113.9\n', raw, problems)
    expect(() => problems.throwIfAny()).toThrow(`${FILE}:2: [node-a] host: the INI parser reads this value as \`203.0.113.9\`, not \`203.0.113.1\``)
  })

  it('refuses a section that the ini package does not see', () => {
    const problems = new Problems(FILE)
    const raw = {hasContent: true, sections: [{name: 'node-a', line: 1, invalid: false, entries: new Map()}]}
    crossCheckWithIni('  [node-a]\n', raw, problems)
    expect(() => problems.throwIfAny()).toThrow(`${FILE}:1: [node-a]: the INI parser does not read this section`)
  })
})
