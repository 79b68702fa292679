/**
 * Every kind of inventory mistake: each is refused with exit code 2, at the right line and key, with a hint.
 */
import {describe, expect, it} from 'vitest'
import {BASE, errorsOf, expectProblem, FILE, lineOf} from './helpers.js'
import {parseInventory} from '../../../src/inventory/index.js'

interface Case {
  name: string
  text: string
  /** The line the problem is reported at: the first line containing this text, its last line ({last}), or 0. */
  at: string | {last: string} | 0
  section?: string
  key?: string
  message: RegExp
  hint?: RegExp
}

/** BASE plus more sections. */
function withSections(...sections: string[]): string {
  return [BASE, ...sections].join('\n')
}

/** BASE with one line replaced (the line must exist). */
function replacing(line: string, by: string): string {
  if (!BASE.includes(line)) throw new Error(`test bug: ${line} is not in BASE`)
  return BASE.replace(line, by)
}

function lastLineOf(text: string, fragment: string): number {
  const lines = text.split(/\r\n|\r|\n/)
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.includes(fragment)) return i + 1
  throw new Error(`test bug: ${fragment} is not in the inventory`)
}

function resolveLine(c: Case): number {
  if (c.at === 0) return 0
  return typeof c.at === 'string' ? lineOf(c.text, c.at) : lastLineOf(c.text, c.at.last)
}

function runCases(cases: Case[]): void {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expectProblem(errorsOf(c.text), {line: resolveLine(c), section: c.section, key: c.key, message: c.message, hint: c.hint})
  })
}

const NODE_C_NAT = '[node-c]\nhost = 198.51.100.3\naddress = 10.0.0.3\nnat = true\n'

describe('the file as a whole', () => {
  it('refuses an empty file, and a file of only comments', () => {
    for (const text of ['', '\n\n', '; nothing yet\n# really\n', '\uFEFF']) {
      const errors = errorsOf(text)
      expect(errors).toHaveLength(1)
      expectProblem(errors, {line: 0, message: /the inventory is empty/, hint: /\[network\]/})
    }
  })

  runCases([
    {
      name: 'no [network] section',
      text: '[node-a]\nhost = 203.0.113.1\naddress = 10.0.0.1\n',
      at: 0,
      message: /there is no \[network\] section/,
      hint: /cidr = 10\.0\.0\.0\/24/,
    },
    {name: 'no nodes', text: '[network]\ncidr = 10.0.0.0/24\n\n[ssh]\nuser = root\n', at: 0, message: /there are no nodes/, hint: /\[node-a\]/},
  ])
})

describe('[network]', () => {
  runCases([
    {
      name: 'no cidr',
      text: replacing('cidr = 10.0.0.0/24', 'port = 51820'),
      at: '[network]',
      section: 'network',
      key: 'cidr',
      message: /`cidr` is missing/,
    },
    {
      name: 'cidr with host bits set',
      text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.1/24'),
      at: 'cidr',
      section: 'network',
      key: 'cidr',
      message: /host bits set/,
      hint: /did you mean cidr = 10\.0\.0\.0\/24\?/,
    },
    {name: 'cidr without a prefix', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0'), at: 'cidr', key: 'cidr', message: /not an IPv4 network in CIDR notation/},
    {name: 'cidr too small', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/31'), at: 'cidr', key: 'cidr', message: /prefix \/31 is out of range/},
    {name: 'cidr too large', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/7'), at: 'cidr', key: 'cidr', message: /prefix \/7 is out of range/},
    {name: 'cidr with a bad address', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.256/24'), at: 'cidr', key: 'cidr', message: /not an IPv4 network/},
    {name: 'cidr in IPv6', text: replacing('cidr = 10.0.0.0/24', 'cidr = fd00::/64'), at: 'cidr', key: 'cidr', message: /is an IPv6 network: cidr is the IPv4 overlay/},
    {name: 'port 0', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nport = 0'), at: 'port', section: 'network', key: 'port', message: /`0` is not a port number/, hint: /1 to 65535/},
    {name: 'port 65536', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nport = 65536'), at: 'port', key: 'port', message: /`65536` is not a port number/},
    {name: 'port not a number', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nport = wg'), at: 'port', key: 'port', message: /`wg` is not a port number/},
    {name: 'keepalive too large', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nkeepalive = 70000'), at: 'keepalive', key: 'keepalive', message: /not a keepalive interval/, hint: /0 \(off\)/},
    {name: 'mtu too small', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nmtu = 100'), at: 'mtu', key: 'mtu', message: /not a usable MTU/},
    {name: 'hosts_file not a boolean', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nhosts_file = yes'), at: 'hosts_file', key: 'hosts_file', message: /`yes` is not a boolean/, hint: /true or false/},
    {name: 'preshared_keys not a boolean', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = yes'), at: 'preshared_keys', key: 'preshared_keys', message: /`yes` is not a boolean/, hint: /true or false/},
    {name: 'preshared_keys misspelled', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_key = true'), at: 'preshared_key', key: 'preshared_key', message: /unknown key/, hint: /preshared_keys/},
    {name: 'domain with a trailing dot', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nhosts_file = true\ndomain = wg.'), at: 'domain', key: 'domain', message: /`wg\.` is not a domain/, hint: /lowercase labels/},
    {name: 'domain with a space', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nhosts_file = true\ndomain = wg example'), at: 'domain', key: 'domain', message: /is not a domain/},
    {name: 'domain without hosts_file', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ndomain = wg'), at: 'domain', key: 'domain', message: /`hosts_file` is not true/, hint: /hosts_file = true/},
    {name: 'unknown topology', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ntopology = star'), at: 'topology', key: 'topology', message: /`star` is not a topology/, hint: /mesh.*hub/},
    {name: 'dns separated by spaces', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ndns = 10.0.0.1 1.1.1.1'), at: 'dns', key: 'dns', message: /is not an IP address/, hint: /separate servers with commas/},
    {name: 'dns by name', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ndns = ns1.example.com'), at: 'dns', key: 'dns', message: /not an IP address/},
    {
      name: 'hub without a relay',
      text: replacing('relay = true', 'relay = false').replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ntopology = hub'),
      at: 'topology',
      section: 'network',
      key: 'topology',
      message: /topology = hub needs a relay/,
    },
  ])

  describe('interface names wg-quick would refuse', () => {
    runCases(
      [
        ['sixteen characters', 'wireguard-mesh-0', /longer than 15 characters/],
        ['a slash', 'wg/0', /not a name wg-quick accepts/],
        ['a colon', 'wg:0', /not a name wg-quick accepts/],
        ['a space', 'wg 0', /not a name wg-quick accepts/],
        ['a leading dash', '-wg0', /starts with "-"/],
        ['dot-dot', '..', /not a valid interface name/],
      ].map(([name, value, message]) => ({
        name: name as string,
        text: replacing('cidr = 10.0.0.0/24', `cidr = 10.0.0.0/24\ninterface = ${value as string}`),
        at: 'interface',
        section: 'network',
        key: 'interface',
        message: message as RegExp,
        hint: /1 to 15 of a-z A-Z 0-9 _ = \+ \. -/,
      })),
    )
  })
})

describe('node keys', () => {
  runCases([
    {name: 'no host', text: replacing('host = 203.0.113.2\n', ''), at: '[node-b]', section: 'node-b', key: 'host', message: /`host` is missing/, hint: /host = /},
    {name: 'no address', text: replacing('address = 10.0.0.2\n', ''), at: '[node-b]', section: 'node-b', key: 'address', message: /`address` is missing/, hint: /10\.0\.0\.1 to 10\.0\.0\.254/},
    {name: 'empty host', text: replacing('host = 203.0.113.2', 'host ='), at: {last: 'host ='}, key: 'host', message: /`host` has no value/},
    {name: 'address not IPv4', text: replacing('address = 10.0.0.2', 'address = 10.0.0.300'), at: '10.0.0.300', key: 'address', message: /not an IPv4 address/},
    {name: 'address with a prefix', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2/24'), at: '10.0.0.2/24', key: 'address', message: /without a prefix/, hint: /cidr/},
    {
      name: 'address outside cidr',
      text: replacing('address = 10.0.0.2', 'address = 10.0.1.2'),
      at: '10.0.1.2',
      section: 'node-b',
      key: 'address',
      message: /10\.0\.1\.2 is outside the network 10\.0\.0\.0\/24/,
      hint: /10\.0\.0\.1 to 10\.0\.0\.254/,
    },
    {name: 'address is the network address', text: replacing('address = 10.0.0.2', 'address = 10.0.0.0'), at: 'address = 10.0.0.0', key: 'address', message: /network address of 10\.0\.0\.0\/24/},
    {name: 'address is the broadcast address', text: replacing('address = 10.0.0.2', 'address = 10.0.0.255'), at: '10.0.0.255', key: 'address', message: /broadcast address of 10\.0\.0\.0\/24/},
    {
      name: 'address used twice (names both lines)',
      text: replacing('address = 10.0.0.2', 'address = 10.0.0.1'),
      at: {last: 'address = 10.0.0.1'},
      section: 'node-b',
      key: 'address',
      message: new RegExp(`10\\.0\\.0\\.1 is already the address of \\[node-a\\] \\(line ${lineOf(BASE, 'address = 10.0.0.1')}\\)`),
    },
    {name: 'node port 0', text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nport = 0\n'), at: 'port = 0', section: 'node-c', key: 'port', message: /not a port number/},
    {name: 'ssh_port 70000', text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nssh_port = 70000\n'), at: 'ssh_port', key: 'ssh_port', message: /`70000` is not a port number/},
    {name: 'ssh_port negative', text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nssh_port = -22\n'), at: 'ssh_port', key: 'ssh_port', message: /`-22` is not a port number/},
    {name: 'endpoint port 0', text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nendpoint = vpn.example.com:0\n'), at: 'endpoint', key: 'endpoint', message: /`0` is not a port number/},
    {name: 'endpoint IPv6 with a port but no brackets', text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nendpoint = 2001:db8::1:51820:x\n'), at: 'endpoint', key: 'endpoint', message: /needs brackets/},
    {name: '[ssh] port', text: withSections('[ssh]\nport = 0x16\n'), at: 'port = 0x16', section: 'ssh', key: 'port', message: /not a port number/},
    {name: 'nat = yes', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nnat = yes'), at: 'nat', section: 'node-b', key: 'nat', message: /`yes` is not a boolean/, hint: /true or false/},
    {name: 'relay = True', text: replacing('relay = true', 'relay = True'), at: 'relay', section: 'node-a', key: 'relay', message: /`True` is not a boolean/},
    {name: 'nat = 1', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nnat = 1'), at: 'nat', key: 'nat', message: /`1` is not a boolean/},
    {
      name: 'host written as an IPv6 address in brackets',
      text: replacing('host = 203.0.113.2', 'host = [2001:db8::2]'),
      at: '[2001:db8::2]',
      key: 'host',
      message: /brackets are only for an IPv6 address followed by a port/,
    },
    {name: 'host an invalid IPv4 address', text: replacing('host = 203.0.113.2', 'host = 203.0.113.256'), at: '203.0.113.256', key: 'host', message: /not a valid IPv4 address/},
    {name: 'host with an underscore', text: replacing('host = 203.0.113.2', 'host = db_1.example.com'), at: 'db_1', key: 'host', message: /not a valid host name or IP address/},
    {name: 'dns of a node', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\ndns = 10.0.0.1,'), at: 'dns', key: 'dns', message: /has an empty entry/},
    {name: '~user path', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nidentity = ~bob/.ssh/id'), at: 'identity', key: 'identity', message: /"~user" paths are not supported/},
  ])
})

describe('unknown keys', () => {
  runCases([
    {
      name: 'a typo in a node',
      text: replacing('address = 10.0.0.2', 'adress = 10.0.0.2'),
      at: 'adress',
      section: 'node-b',
      key: 'adress',
      message: /unknown key `adress`; did you mean `address`\?/,
      hint: /host, address, address6, endpoint/,
    },
    {name: 'a swapped pair', text: replacing('host = 203.0.113.2', 'hsot = 203.0.113.2'), at: 'hsot', key: 'hsot', message: /did you mean `host`\?/},
    {name: 'user in a node', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nuser = deploy'), at: 'user =', key: 'user', message: /did you mean `ssh_user`\?/, hint: /key of \[ssh\]/},
    {name: 'Ansible names', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nansible_host = 203.0.113.9'), at: 'ansible_host', key: 'ansible_host', message: /did you mean `host`\?/},
    {name: 'a [network] key in a node', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nkeepalive = 10'), at: 'keepalive', key: 'keepalive', message: /unknown key `keepalive`/, hint: /a key of \[network\]/},
    {name: 'a typo in [network]', text: replacing('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\nkeepalvie = 10'), at: 'keepalvie', section: 'network', key: 'keepalvie', message: /did you mean `keepalive`\?/},
    {name: 'ssh_user in [ssh]', text: withSections('[ssh]\nssh_user = deploy\n'), at: 'ssh_user', section: 'ssh', key: 'ssh_user', message: /did you mean `user`\?/},
    {name: 'nothing close', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\ncolour = blue'), at: 'colour', key: 'colour', message: /^[^?]*unknown key `colour`$/},
    {name: 'keys are case-sensitive', text: replacing('host = 203.0.113.2', 'Host = 203.0.113.2'), at: 'Host', key: 'Host', message: /did you mean `host`\?/},
    {name: 'a transport that is not one', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\ntransport = libssh'), at: 'transport', key: 'transport', message: /`libssh` is not a transport/, hint: /ssh2 .*openssh/},
    {name: 'ssh_config spelling', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nUserKnownHostsFile = kh'), at: 'UserKnownHostsFile', key: 'UserKnownHostsFile', message: /did you mean `known_hosts`\?/},
  ])
})

describe('sections and node names', () => {
  runCases([
    {
      name: 'a node section twice',
      text: withSections('[node-a]\nhost = 203.0.113.9\naddress = 10.0.0.9\n'),
      at: {last: '[node-a]'},
      section: 'node-a',
      message: new RegExp(`this section appears twice \\(first at line ${lineOf(BASE, '[node-a]')}\\)`),
      hint: /merge/,
    },
    {name: '[network] twice', text: withSections('[network]\ncidr = 10.1.0.0/24\n'), at: {last: '[network]'}, section: 'network', message: /appears twice/},
    {
      name: 'a key twice in a section',
      text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nhost = 203.0.113.20'),
      at: 'host = 203.0.113.20',
      section: 'node-b',
      key: 'host',
      message: new RegExp(`\`host\` is set twice in \\[node-b\\] \\(first at line ${lineOf(BASE, 'host = 203.0.113.2')}\\)`),
    },
    ...[
      ['uppercase', 'Node-C', /try \[node-c\]/],
      ['an underscore', 'node_c', /try \[node-c\]/],
      ['a leading dash', '-node-c', /label/],
      ['a trailing dash', 'node-c-', /label/],
      ['64 characters', 'n'.repeat(64), /at most 63 characters/],
      ['a space', 'node c', /try \[node-c\]/],
    ].map(([why, name, hint]) => ({
      name: `a node name with ${why as string}`,
      text: withSections(`[${name as string}]\nhost = 203.0.113.3\naddress = 10.0.0.3\n`),
      at: `[${name as string}]`,
      section: name as string,
      message: /is not a valid node name/,
      hint: hint as RegExp,
    })),
    {name: 'a miscased [Network]', text: BASE.replace('[network]', '[Network]'), at: '[Network]', section: 'Network', message: /\[Network\] is not a node name/, hint: /write \[network\]/},
    {name: 'a dotted section', text: withSections('[node.c]\nhost = 203.0.113.3\naddress = 10.0.0.3\n'), at: '[node.c]', section: 'node.c', message: /cannot contain "\."/, hint: /\[node-c\]/},
    {name: 'an empty section name', text: withSections('[]\nhost = 203.0.113.3\n'), at: '[]', message: /empty section name/},
    {name: 'a broken header', text: withSections('[node-c\nhost = 203.0.113.3\n'), at: '[node-c', message: /is not a section header/},
  ])
})

describe('lines the ini package would misread', () => {
  runCases([
    {
      name: 'a ; glued to a value',
      text: withSections('[ssh]\nuser = root;reboot\n'),
      at: 'root;reboot',
      section: 'ssh',
      key: 'user',
      message: /";" is glued to the value `root;reboot`/,
      hint: /silently cut/,
    },
    {name: 'a # glued to a value', text: replacing('host = 203.0.113.2', 'host = 203.0.113.2#old'), at: '#old', section: 'node-b', key: 'host', message: /"#" is glued to the value/},
    {
      name: 'a comment after a section header',
      text: BASE.replace('[node-b]', '[node-b] ; the database'),
      at: '[node-b]',
      section: 'node-b',
      message: /a comment after a section header is not allowed/,
      hint: /own line/,
    },
    {name: 'text after a section header', text: BASE.replace('[node-b]', '[node-b] extra'), at: '[node-b]', section: 'node-b', message: /unexpected text `extra` after the section header/},
    {name: 'an indented section header', text: BASE.replace('[node-b]', '  [node-b]'), at: '[node-b]', section: 'node-b', message: /the section header is indented/},
    {
      name: 'an Ansible-style host line',
      text: withSections('[workers]\nnode-c ansible_host=203.0.113.3\n'),
      at: 'ansible_host',
      section: 'workers',
      message: /"node-c ansible_host=203\.0\.113\.3" is not a `key = value` line/,
      hint: /not an Ansible inventory/,
    },
    {name: 'a bare host line', text: withSections('[workers]\n203.0.113.3\n'), at: '203.0.113.3', section: 'workers', message: /is not a `key = value` line/, hint: /Ansible/},
    {name: 'a YAML-style line', text: replacing('host = 203.0.113.2', 'host: 203.0.113.2'), at: 'host:', section: 'node-b', key: 'host', message: /not a `key = value` line/, hint: /write host = 203\.0\.113\.2/},
    {name: 'a line before any section', text: `cidr = 10.0.0.0/24\n${BASE}`, at: 'cidr', key: 'cidr', message: /before any \[section\]/},
    {name: 'a line starting with =', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\n= 5'), at: '= 5', section: 'node-b', message: /the key is missing/},
    {name: 'a quoted value', text: replacing('host = 203.0.113.2', 'host = "203.0.113.2"'), at: '"203', key: 'host', message: /is quoted/, hint: /host = 203\.0\.113\.2/},
  ])
})

describe('nat, relay, jump and exit_via', () => {
  runCases([
    {
      name: 'nat together with endpoint',
      text: withSections('[node-c]\nhost = 198.51.100.3\naddress = 10.0.0.3\nnat = true\nendpoint = 198.51.100.3:51820\n'),
      at: 'endpoint',
      section: 'node-c',
      key: 'endpoint',
      message: /`endpoint` is set on a node behind NAT/,
    },
    {
      name: 'relay on a NAT-ed node',
      text: withSections('[node-c]\nhost = 198.51.100.3\naddress = 10.0.0.3\nnat = true\nrelay = true\n'),
      at: {last: 'relay = true'},
      section: 'node-c',
      key: 'relay',
      message: /cannot be a relay/,
    },
    {
      name: 'two NAT-ed nodes and no relay',
      text: replacing('relay = true', 'relay = false') + '\n' + NODE_C_NAT + '\n' + NODE_C_NAT.replace(/node-c/, 'node-d').replace('.3', '.4').replace('.3', '.4'),
      at: {last: 'nat = true'},
      section: 'node-d',
      key: 'nat',
      message: /\[node-c\] and \[node-d\] are behind NAT and no public node has relay = true/,
      hint: /set relay = true on a node they can reach \(not nat\), e.g. \[node-a\]/,
    },
    {
      name: 'two NAT-ed nodes whose only relay is NAT-ed too',
      text:
        replacing('relay = true', 'relay = false') +
        '\n' +
        NODE_C_NAT +
        'relay = true\n\n' +
        NODE_C_NAT.replace(/node-c/, 'node-d').replace('.3', '.4').replace('.3', '.4'),
      at: {last: 'nat = true'},
      section: 'node-d',
      key: 'nat',
      message: /no public node has relay = true/,
    },
    {name: 'jump to an unknown node', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\njump = bastion'), at: 'jump', section: 'node-b', key: 'jump', message: /there is no node named `bastion`/, hint: /\[user@\]host\[:port\]/},
    {name: 'jump to itself', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\njump = node-b'), at: 'jump', section: 'node-b', key: 'jump', message: /\[node-b\] jumps through itself/},
    {
      name: 'a jump cycle',
      text: replacing('relay = true', 'relay = true\njump = node-b').replace('address = 10.0.0.2', 'address = 10.0.0.2\njump = node-a'),
      at: 'jump = node-b',
      section: 'node-a',
      key: 'jump',
      message: /jump cycle: node-a → node-b → node-a/,
    },
    {
      name: 'a longer jump cycle',
      text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\njump = node-d\n', '[node-d]\nhost = 203.0.113.4\naddress = 10.0.0.4\njump = node-c\n').replace(
        'address = 10.0.0.2',
        'address = 10.0.0.2\njump = node-c',
      ),
      at: 'jump = node-d',
      section: 'node-c',
      key: 'jump',
      message: /jump cycle: node-c → node-d → node-c/,
    },
    {name: 'exit_via an unknown node', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nexit_via = node-z'), at: 'exit_via', section: 'node-b', key: 'exit_via', message: /there is no node named `node-z`/, hint: /\[node-a\]/},
    {name: 'exit_via itself', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nexit_via = node-b'), at: 'exit_via', key: 'exit_via', message: /cannot be its own exit/},
    {
      name: 'exit_via a NAT-ed node',
      text: withSections(NODE_C_NAT).replace('address = 10.0.0.2', 'address = 10.0.0.2\nexit_via = node-c'),
      at: 'exit_via',
      section: 'node-b',
      key: 'exit_via',
      message: /\[node-c\] is behind NAT \(nat = true\) and cannot be an exit/,
    },
    {
      name: 'exit_via a node that exits elsewhere',
      text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nexit_via = node-a\n').replace('address = 10.0.0.2', 'address = 10.0.0.2\nexit_via = node-c'),
      at: 'exit_via = node-c',
      key: 'exit_via',
      message: /\[node-c\] sends its own traffic through exit_via = node-a/,
    },
    {
      name: 'exit_via a non-relay in a hub',
      text: withSections('[node-c]\nhost = 203.0.113.3\naddress = 10.0.0.3\nexit_via = node-b\n').replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ntopology = hub'),
      at: 'exit_via',
      section: 'node-c',
      key: 'exit_via',
      message: /with topology = hub, \[node-c\] peers only with relays and \[node-b\] is not one/,
    },
    {name: 'exit_via not a name', text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nexit_via = 203.0.113.1'), at: 'exit_via', key: 'exit_via', message: /is not a node name/},
  ])
})

describe('the overlay overlapping the real network', () => {
  const OVERLAY_HINT = /outside the overlay.*\[network\] cidr/
  runCases([
    {
      name: 'a host inside the overlay (cidr = 10.0.0.0/24, host = 10.0.0.50)',
      text: replacing('host = 203.0.113.2', 'host = 10.0.0.50'),
      at: 'host = 10.0.0.50',
      section: 'node-b',
      key: 'host',
      message: /10\.0\.0\.50 is inside the overlay network 10\.0\.0\.0\/24/,
      hint: OVERLAY_HINT,
    },
    {
      name: 'a host at the overlay\'s network address',
      text: replacing('host = 203.0.113.2', 'host = 10.0.0.0'),
      at: 'host = 10.0.0.0',
      key: 'host',
      message: /10\.0\.0\.0 is inside the overlay network/,
    },
    {
      name: 'a host as an IPv4-mapped IPv6 address inside the overlay',
      text: replacing('host = 203.0.113.2', 'host = ::ffff:10.0.0.9'),
      at: 'host = ::ffff:10.0.0.9',
      key: 'host',
      message: /::ffff:10\.0\.0\.9 is inside the overlay network 10\.0\.0\.0\/24/,
    },
    {
      name: 'an endpoint inside the overlay',
      text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\nendpoint = 10.0.0.200:51820'),
      at: 'endpoint',
      section: 'node-b',
      key: 'endpoint',
      message: /10\.0\.0\.200 is inside the overlay network 10\.0\.0\.0\/24/,
      hint: OVERLAY_HINT,
    },
    {
      name: 'a jump host inside the overlay',
      text: replacing('address = 10.0.0.2', 'address = 10.0.0.2\njump = admin@10.0.0.254:2222'),
      at: 'jump',
      section: 'node-b',
      key: 'jump',
      message: /10\.0\.0\.254 is inside the overlay network 10\.0\.0\.0\/24/,
      hint: OVERLAY_HINT,
    },
    {
      name: 'a host inside a wider overlay',
      text: BASE.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/8').replace('host = 203.0.113.1', 'host = 10.200.3.4'),
      at: 'host = 10.200.3.4',
      section: 'node-a',
      key: 'host',
      message: /10\.200\.3\.4 is inside the overlay network 10\.0\.0\.0\/8/,
    },
  ])

  it('accepts addresses next to the overlay, host names and IPv6', () => {
    for (const [line, by] of [
      ['host = 203.0.113.2', 'host = 10.0.1.50'],
      ['host = 203.0.113.2', 'host = 9.255.255.255'],
      ['host = 203.0.113.2', 'host = node-b.example.com'],
      ['host = 203.0.113.2', 'host = 2001:db8::2'],
      ['address = 10.0.0.2', 'address = 10.0.0.2\nendpoint = 10.0.1.1:51820\njump = admin@10.0.1.254'],
    ] as const) {
      expect(() => parseInventory(replacing(line, by), FILE), by).not.toThrow()
    }
  })
})

describe('values that could smuggle shell syntax', () => {
  const inNodeB = (key: string, value: string) => replacing('address = 10.0.0.2', `address = 10.0.0.2\n${key} = ${value}`)
  runCases([
    {name: 'host with $( )', text: replacing('host = 203.0.113.2', 'host = 203.0.113.2$(reboot)'), at: '$(reboot)', key: 'host', message: /contains "\$", which could be read as shell syntax/, hint: /a host is a DNS name/},
    {name: 'host with a space and &&', text: replacing('host = 203.0.113.2', 'host = 203.0.113.2 && reboot'), at: '&&', key: 'host', message: /contains a space/},
    {name: 'host with a backtick', text: replacing('host = 203.0.113.2', 'host = a`id`.example.com'), at: '`id`', key: 'host', message: /contains a backtick/},
    {name: 'host with a pipe', text: replacing('host = 203.0.113.2', 'host = example.com|sh'), at: '|sh', key: 'host', message: /contains "\|"/},
    {name: 'host with a quote inside', text: replacing('host = 203.0.113.2', `host = exa'mple.com`), at: "exa'mple", key: 'host', message: /contains a quote/},
    {name: 'host starting with -', text: replacing('host = 203.0.113.2', 'host = -oProxyCommand=reboot'), at: 'ProxyCommand', key: 'host', message: /starts with "-", which a command would read as an option/},
    {name: 'endpoint with a redirection', text: inNodeB('endpoint', 'vpn.example.com>x'), at: 'endpoint', key: 'endpoint', message: /contains ">"/},
    {name: 'ssh_user with a pipe', text: inNodeB('ssh_user', 'deploy|sh'), at: 'ssh_user', key: 'ssh_user', message: /contains "\|"/, hint: /user name/},
    {name: 'ssh_user with a quote', text: inNodeB('ssh_user', `de"ploy`), at: 'ssh_user', key: 'ssh_user', message: /contains a quote/},
    {name: 'ssh_user starting with -', text: inNodeB('ssh_user', '-oProxyCommand=x'), at: 'ssh_user', key: 'ssh_user', message: /starts with "-"/},
    {name: 'ssh_user in capitals', text: inNodeB('ssh_user', 'Deploy'), at: 'ssh_user', key: 'ssh_user', message: /not a valid user name/},
    {name: '[ssh] user with a space', text: withSections('[ssh]\nuser = ro ot\n'), at: 'ro ot', section: 'ssh', key: 'user', message: /contains a space/},
    {name: 'identity with $( )', text: inNodeB('identity', '~/.ssh/id$(reboot)'), at: 'identity', key: 'identity', message: /contains "\$"/, hint: /a path may use/},
    {name: 'identity with a space', text: inNodeB('identity', 'keys/my key'), at: 'identity', key: 'identity', message: /contains a space/},
    {name: 'identity starting with -', text: inNodeB('identity', '-F/tmp/x'), at: 'identity', key: 'identity', message: /starts with "-"/},
    {name: 'identity with a backslash', text: inNodeB('identity', 'keys\\id'), at: 'identity', key: 'identity', message: /contains "\\"/},
    {name: 'known_hosts with a quote', text: withSections(`[ssh]\nknown_hosts = ~/.ssh/known'hosts\n`), at: 'known_hosts', section: 'ssh', key: 'known_hosts', message: /contains a quote/},
    {name: 'jump with a pipe', text: inNodeB('jump', 'admin@bastion.example.com|sh'), at: 'jump', key: 'jump', message: /contains "\|"/},
    {name: 'jump with a quote', text: inNodeB('jump', `ad"min@bastion.example.com`), at: 'jump', key: 'jump', message: /contains a quote/},
    {name: 'jump starting with -', text: inNodeB('jump', '-J'), at: 'jump', key: 'jump', message: /starts with "-"/},
    {name: 'jump with a bad user', text: inNodeB('jump', 'Admin@bastion.example.com'), at: 'jump', key: 'jump', message: /user `Admin` is not a valid user name/},
  ])
})

describe('all problems at once', () => {
  it('reports every problem of the file in one go, in file order', () => {
    const text = `[network]
cidr = 10.0.0.0/24
keepalvie = 5

[node-a]
host = 203.0.113.1;reboot
adress = 10.0.0.1

[node-b]
host = 203.0.113.2
address = 10.0.0.2
nat = maybe
`
    const errors = errorsOf(text)
    expect(errors.map((e) => [e.location.line, e.location.key])).toEqual([
      [3, 'keepalvie'],
      [5, 'address'],
      [6, 'host'],
      [7, 'adress'],
      [12, 'nat'],
    ])
  })
})

describe('size', () => {
  const mesh = (n: number, topology = '') => {
    const lines = ['[network]', 'cidr = 10.64.0.0/16', ...(topology ? [`topology = ${topology}`] : []), '']
    for (let i = 1; i <= n; i++) lines.push(`[node-${i}]`, `host = 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, `address = 10.64.${Math.floor(i / 250)}.${(i % 250) + 1}`, ...(i === 1 ? ['relay = true'] : []), '')
    return lines.join('\n')
  }

  it('refuses a full mesh past 2,000 nodes, pointing at [network] and suggesting a hub (exit 2)', () => {
    const errors = errorsOf(mesh(2001))
    expect(errors).toHaveLength(1)
    expect(errors[0]!.message).toMatch(/^\/srv\/fleet\/inventory\.ini:1: \[network\] topology: a full mesh of 2001 nodes is 4002000 peer entries; wgfleet plans meshes of up to 2000 nodes$/)
    expect(errors[0]!.hint).toMatch(/topology = hub/)
  })

  it('takes a mesh of 2,000 and a hub past it', () => {
    expect(() => parseInventory(mesh(2000), FILE)).not.toThrow()
    expect(() => parseInventory(mesh(2500, 'hub'), FILE)).not.toThrow()
  })
})
