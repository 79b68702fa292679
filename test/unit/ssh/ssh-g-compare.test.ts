/**
 * `wgfleet ssh-config --json` against OpenSSH's own `ssh -G`, field by field, over 21 realistic configs
 * (the kinds an administrator's ~/.ssh/config has). Each case's ~/.ssh is bind-mounted over the real home
 * in a namespace without network (test/helpers/ssh-home.ts); wgfleet's service runs with its `ssh` in
 * that namespace, and the expected values come from `ssh -G` there — including the `%` expansions, which
 * OpenSSH is asked to do itself (through UserKnownHostsFile, which takes the same tokens).
 *
 * Every case also states the path it expects by hand, so a wrong expectation derived from ssh is caught too.
 */
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {createConfigEvaluator, parseSshG, type SshOptions} from '../../../src/ssh/evaluate.js'
import {sshConfigToJson} from '../../../src/output/ssh-config-view.js'
import {describeReach} from '../../../src/services/ssh-config.js'
import {sshHome, type SshHome} from '../../helpers/ssh-home.js'

interface InventoryNode {
  host: string
  ssh_user?: string
  ssh_port?: number
  identity?: string
}

interface Case {
  kind: string
  files: Record<string, string>
  nodes: Record<string, InventoryNode>
  /** By hand: each node's path, `user@host:port` per hop, the node last (`{me}` = the local user). */
  paths: Record<string, string[]>
  /** By hand, when the node has one. */
  proxyCommands?: Record<string, string>
  /** By hand: nodes the ssh2 transport must refuse (certificates). */
  refusedOverSsh2?: string[]
}

const CA_KEY = execFileSync('bash', ['-c', 'd=$(mktemp -d) && ssh-keygen -q -t ed25519 -N "" -f "$d/k" && cut -d" " -f1,2 "$d/k.pub" && rm -rf "$d"']).toString().trim()

const CASES: Case[] = [
  {
    kind: 'Include ~/.ssh/config.d/*',
    files: {'.ssh/config': 'Include ~/.ssh/config.d/*.conf\nHost *\n  User fallback\n', '.ssh/config.d/10-web.conf': 'Host web\n  HostName 203.0.113.10\n  User deploy\n  Port 2222\n'},
    nodes: {web: {host: 'web'}, other: {host: 'other.example'}},
    paths: {web: ['deploy@203.0.113.10:2222'], other: ['fallback@other.example:22']},
  },
  {
    kind: 'first match wins, Host * last',
    files: {'.ssh/config': 'Host app\n  User app\n  Port 2200\nHost app\n  User ignored\n  Port 9999\nHost *\n  User everyone\n  Port 2201\n'},
    nodes: {app: {host: 'app'}, misc: {host: 'misc'}},
    paths: {app: ['app@app:2200'], misc: ['everyone@misc:2201']},
  },
  {
    kind: 'Match host (against the HostName)',
    files: {'.ssh/config': 'Host db\n  HostName db1.internal.example\nMatch host *.internal.example\n  User dbadmin\n'},
    nodes: {db: {host: 'db'}},
    paths: {db: ['dbadmin@db1.internal.example:22']},
  },
  {
    kind: 'Match exec',
    files: {'.ssh/config': 'Match exec "test -f %d/.ssh/flag"\n  User flagged\nMatch exec "false"\n  Port 1\nHost *\n  User plain\n', '.ssh/flag': ''},
    nodes: {node: {host: 'exec-host'}},
    paths: {node: ['flagged@exec-host:22']},
  },
  {
    kind: 'chained ProxyJump (and a ProxyJump list)',
    files: {
      '.ssh/config':
        'Host inner\n  HostName 198.19.0.10\n  ProxyJump jump2\nHost listed\n  HostName 198.19.0.12\n  ProxyJump a@jump1:2023,jump2\n' +
        'Host jump2\n  HostName 198.19.0.2\n  ProxyJump jump1\n  User j2\nHost jump1\n  HostName 203.0.113.5\n  User j1\n  Port 2022\n',
    },
    nodes: {inner: {host: 'inner'}, listed: {host: 'listed'}},
    paths: {
      inner: ['j1@203.0.113.5:2022', 'j2@198.19.0.2:22', '{me}@198.19.0.10:22'],
      listed: ['a@203.0.113.5:2023', 'j2@198.19.0.2:22', '{me}@198.19.0.12:22'],
    },
  },
  {
    kind: 'ProxyCommand ssh -W %h:%p bastion',
    files: {'.ssh/config': 'Host lan\n  HostName 198.19.0.10\n  User root\n  ProxyCommand ssh -W %h:%p bastion\nHost bastion\n  HostName 203.0.113.20\n'},
    nodes: {lan: {host: 'lan'}},
    paths: {lan: ['root@198.19.0.10:22']},
    proxyCommands: {lan: 'ssh -W 198.19.0.10:22 bastion'},
  },
  {
    kind: 'an SSM-style ProxyCommand',
    files: {'.ssh/config': `Host i-*\n  User ec2-user\n  ProxyCommand sh -c "aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters 'portNumber=%p'"\n`},
    nodes: {ec2: {host: 'i-0abc123'}},
    paths: {ec2: ['ec2-user@i-0abc123:22']},
    proxyCommands: {ec2: `sh -c "aws ssm start-session --target i-0abc123 --document-name AWS-StartSSHSession --parameters 'portNumber=22'"`},
  },
  {
    kind: 'IdentitiesOnly with an agent',
    files: {'.ssh/config': 'Host app\n  HostName 203.0.113.11\n  IdentityFile ~/.ssh/id_app.pub\n  IdentitiesOnly yes\n  IdentityAgent ~/.ssh/agent.sock\n'},
    nodes: {app: {host: 'app'}},
    paths: {app: ['{me}@203.0.113.11:22']},
  },
  {
    kind: 'CertificateFile and @cert-authority',
    files: {
      '.ssh/config':
        'Host cert\n  HostName 203.0.113.30\n  IdentityFile ~/.ssh/id_cert\n  CertificateFile ~/.ssh/id_cert-cert.pub\n  UserKnownHostsFile {dir}/known_hosts\n' +
        'Host caonly\n  HostName 203.0.113.31\n  UserKnownHostsFile {dir}/known_hosts\n',
      known_hosts: `@cert-authority 203.0.113.3* ${CA_KEY}\n`,
    },
    nodes: {cert: {host: 'cert'}, caonly: {host: 'caonly'}},
    paths: {cert: ['{me}@203.0.113.30:22'], caonly: ['{me}@203.0.113.31:22']},
    refusedOverSsh2: ['cert', 'caonly'],
  },
  {
    kind: 'UserKnownHostsFile and GlobalKnownHostsFile',
    files: {'.ssh/config': 'Host kh\n  UserKnownHostsFile ~/.ssh/kh_%h %d/.ssh/kh_all\n  GlobalKnownHostsFile /etc/ssh/ssh_known_hosts_fleet\n'},
    nodes: {kh: {host: 'kh'}},
    paths: {kh: ['{me}@kh:22']},
  },
  {
    kind: 'HostKeyAlias',
    files: {'.ssh/config': 'Host alias\n  HostName 203.0.113.40\n  Port 2200\n  HostKeyAlias fleet-alias\n  UserKnownHostsFile ~/.ssh/kh_%k\n'},
    nodes: {alias: {host: 'alias'}},
    paths: {alias: ['{me}@203.0.113.40:2200']},
  },
  {
    kind: '% tokens',
    files: {'.ssh/config': 'Host tok\n  HostName tok.example.net\n  User u1\n  IdentityFile ~/.ssh/%r@%h:%p-%n-%u-%l-%L-%i-%%\n  IdentityFile %d/.ssh/%C\n  CertificateFile ~/.ssh/%k-cert.pub\n'},
    nodes: {tok: {host: 'tok', ssh_port: 2345}},
    paths: {tok: ['u1@tok.example.net:2345']},
    refusedOverSsh2: ['tok'],
  },
  {
    kind: 'CanonicalizeHostname',
    files: {'.ssh/config': 'CanonicalizeHostname yes\nCanonicalDomains example.invalid\nHost web\n  User canon-no\nMatch canonical host web.example.invalid\n  User canon-yes\nHost *\n  User other\n'},
    nodes: {web: {host: 'web'}},
    paths: {web: ['canon-no@web:22']},
  },
  {
    kind: 'a bastion without User',
    files: {'.ssh/config': 'Host behind\n  HostName 198.19.0.11\n  User root\n  ProxyJump gate\nHost gate\n  HostName 203.0.113.21\n'},
    nodes: {behind: {host: 'behind'}},
    paths: {behind: ['{me}@203.0.113.21:22', 'root@198.19.0.11:22']},
  },
  {
    kind: 'Include inside a Host block',
    files: {'.ssh/config': 'Host team-*\n  Include ~/.ssh/team.conf\nHost *\n  User default\n', '.ssh/team.conf': 'User team\nPort 2202\n'},
    nodes: {team: {host: 'team-a'}, solo: {host: 'solo'}},
    paths: {team: ['team@team-a:2202'], solo: ['default@solo:22']},
  },
  {
    kind: 'Match !host',
    files: {'.ssh/config': 'Match !host prod-*\n  User dev\nHost *\n  User prod\n'},
    nodes: {prod: {host: 'prod-1'}, dev: {host: 'dev-1'}},
    paths: {prod: ['prod@prod-1:22'], dev: ['dev@dev-1:22']},
  },
  {
    kind: 'Host db?',
    files: {'.ssh/config': 'Host db?\n  User dbq\n  Port 2333\nHost *\n  User other\n'},
    nodes: {one: {host: 'db1'}, ten: {host: 'db10'}},
    paths: {one: ['dbq@db1:2333'], ten: ['other@db10:22']},
  },
  {
    kind: 'explicit ssh_user = root and ssh_port = 22 win over the config',
    files: {'.ssh/config': 'Host *\n  User config-user\n  Port 2299\n'},
    nodes: {pinned: {host: 'pinned', ssh_user: 'root', ssh_port: 22}, loose: {host: 'loose'}},
    paths: {pinned: ['root@pinned:22'], loose: ['config-user@loose:2299']},
  },
  {
    kind: 'Match originalhost and user (the inventory user takes part)',
    files: {'.ssh/config': 'Match originalhost short user admin\n  HostName long.example.net\nHost *\n  Port 2201\n'},
    nodes: {admin: {host: 'short', ssh_user: 'admin'}, plain: {host: 'short'}},
    paths: {admin: ['admin@long.example.net:2201'], plain: ['{me}@short:2201']},
  },
  {
    kind: 'StrictHostKeyChecking, HashKnownHosts',
    files: {'.ssh/config': 'Host strict\n  StrictHostKeyChecking accept-new\nHost lax\n  StrictHostKeyChecking no\n  HashKnownHosts yes\nHost ask-me\n  StrictHostKeyChecking ask\nHost *\n  StrictHostKeyChecking yes\n'},
    nodes: {strict: {host: 'strict'}, lax: {host: 'lax'}, ask: {host: 'ask-me'}, other: {host: 'other'}},
    paths: {strict: ['{me}@strict:22'], lax: ['{me}@lax:22'], ask: ['{me}@ask-me:22'], other: ['{me}@other:22']},
  },
  {
    kind: 'Match final, and the inventory identity before IdentityFile',
    files: {'.ssh/config': 'Host web\n  HostName web.fleet\n  IdentityFile ~/.ssh/id_config\nMatch final host *.fleet\n  User finaluser\n', '.ssh/id_inventory': 'not a key: only its path matters'},
    nodes: {web: {host: 'web', identity: '{home}/.ssh/id_inventory'}},
    paths: {web: ['finaluser@web.fleet:22']},
  },
]

let comparisons = 0
afterAll(() => {
  // The number the report quotes: fields compared with ssh -G over every case.
  console.log(`ssh -G comparison: ${CASES.length} configs, ${comparisons} fields compared`)
})

describe('ssh-config --json matches ssh -G, field by field', () => {
  it('covers 21 kinds of config', () => {
    expect(CASES).toHaveLength(21)
  })

  it.each(CASES.map((c) => [c.kind, c] as const))('%s', async (_kind, testCase) => {
    const home = await sshHome(testCase.files)
    try {
      const me = (await home.ssh(['-G', '--', 'wgfleet-nobody.invalid'])).match(/^user (.+)$/m)![1]!
      const nodes = Object.fromEntries(Object.entries(testCase.nodes).map(([name, n]) => [name, {...n, identity: n.identity?.replace('{home}', home.home)}]))
      const inventory = join(home.dir, 'inventory.ini')
      writeFileSync(inventory, inventoryText(nodes))
      const evaluator = createConfigEvaluator({sshCommand: home.sshCommand})
      const {report} = await describeReach({inventory, nodes: []}, {evaluator})
      const json = sshConfigToJson(report)
      expect(json.evaluatedBy).toBe('ssh -G')

      for (const reach of json.nodes) {
        const spec = nodes[reach.name]!
        const expected = await fromSsh(home, spec)
        const path = reach.hops.map((hop) => `${hop.user}@${hop.host}:${hop.port}`)
        compare(path, expected.path, `${reach.name} hops`)
        compare(path, testCase.paths[reach.name]!.map((hop) => hop.replace('{me}', me)), `${reach.name} hops (by hand)`)
        compare(reach.proxyCommand, expected.proxyCommand, `${reach.name} proxyCommand`)
        compare(reach.proxyCommand, testCase.proxyCommands?.[reach.name] ?? null, `${reach.name} proxyCommand (by hand)`)
        compare(reach.identityFiles, expected.identityFiles, `${reach.name} identityFiles`)
        compare(reach.certificateFiles, expected.certificateFiles, `${reach.name} certificateFiles`)
        compare(reach.identitiesOnly, expected.identitiesOnly, `${reach.name} identitiesOnly`)
        compare(reach.knownHostsFiles, expected.knownHostsFiles, `${reach.name} knownHostsFiles`)
        compare(reach.strictHostKeyChecking, expected.strictHostKeyChecking, `${reach.name} strictHostKeyChecking`)
        compare(reach.hostKeyAlias, expected.hostKeyAlias, `${reach.name} hostKeyAlias`)
        const refused = (testCase.refusedOverSsh2 ?? []).includes(reach.name)
        compare(reach.problem?.message.includes('transport = openssh') ?? false, refused, `${reach.name} refused over ssh2`)
        expect(reach.identityFiles.every((file) => file.startsWith('/')) && reach.knownHostsFiles.every((file) => file.startsWith('/'))).toBe(true)
      }
    } finally {
      await home.close()
    }
  })
})

function compare(actual: unknown, expected: unknown, what: string): void {
  comparisons++
  expect(actual, what).toEqual(expected)
}

function inventoryText(nodes: Record<string, InventoryNode>): string {
  const sections = Object.entries(nodes).map(([name, n], index) => {
    const lines = [`[${name}]`, `host = ${n.host}`, `address = 10.0.0.${index + 1}`]
    if (n.ssh_user) lines.push(`ssh_user = ${n.ssh_user}`)
    if (n.ssh_port) lines.push(`ssh_port = ${n.ssh_port}`)
    if (n.identity) lines.push(`identity = ${n.identity}`)
    return lines.join('\n')
  })
  return `[network]\ncidr = 10.0.0.0/24\n\n${sections.join('\n\n')}\n`
}

interface FromSsh {
  path: string[]
  proxyCommand: string | null
  identityFiles: string[]
  certificateFiles: string[]
  identitiesOnly: boolean
  knownHostsFiles: string[]
  strictHostKeyChecking: string
  hostKeyAlias: string | null
}

/** What OpenSSH says about a node: its own -G, the ProxyJump chain as ssh.c runs it, the expansions it makes. */
async function fromSsh(home: SshHome, node: InventoryNode): Promise<FromSsh> {
  const args = [...(node.ssh_user ? ['-l', node.ssh_user] : []), ...(node.ssh_port ? ['-p', String(node.ssh_port)] : []), ...(node.identity ? ['-i', node.identity] : [])]
  const options = parseSshG(await home.ssh(['-G', ...args, '--', node.host]))
  const first = (key: string) => options.get(key)?.[0]
  const identity = options.get('identityfile') ?? []
  const certificates = options.get('certificatefile') ?? []
  const expanded = await expandedBySsh(home, [...args, '--', node.host], [...identity, ...certificates])
  const strict = first('stricthostkeychecking')!
  const proxyCommand = first('proxycommand')
  return {
    path: [...(await jumpPath(home, first('proxyjump'), 0)), hopOf(options)],
    proxyCommand: proxyCommand ? proxyCommand.replace(/%([hpnr%])/g, (_whole, t: string) => ({h: first('hostname')!, p: first('port')!, n: node.host, r: first('user')!, '%': '%'})[t]!) : null,
    identityFiles: expanded.slice(0, identity.length),
    certificateFiles: expanded.slice(identity.length),
    identitiesOnly: first('identitiesonly') === 'yes',
    knownHostsFiles: [first('userknownhostsfile'), first('globalknownhostsfile')].flatMap((v) => (v ?? '').split(' ')).filter((f) => f !== '' && f !== 'none'),
    strictHostKeyChecking: ({true: 'yes', false: 'no'} as Record<string, string>)[strict] ?? strict,
    hostKeyAlias: first('hostkeyalias') ?? null,
  }
}

function hopOf(options: SshOptions): string {
  return `${options.get('user')![0]}@${options.get('hostname')![0]}:${options.get('port')![0]}`
}

/** ProxyJump a,b,c as ssh.c runs it: a with its own config, each later element through `-J` the ones before. */
async function jumpPath(home: SshHome, proxyJump: string | undefined, depth: number): Promise<string[]> {
  if (!proxyJump || depth > 8) return []
  const elements = proxyJump.split(',')
  const path: string[] = []
  for (const [index, element] of elements.entries()) {
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(element)!
    const args = [...(m[1] ? ['-l', m[1]] : []), ...(m[3] ? ['-p', m[3]] : []), ...(index > 0 ? ['-J', elements.slice(0, index).join(',')] : [])]
    const options = parseSshG(await home.ssh(['-G', ...args, '--', m[2]!]))
    if (index === 0) path.push(...(await jumpPath(home, options.get('proxyjump')?.[0], depth + 1)))
    path.push(hopOf(options))
  }
  return path
}

/** OpenSSH expands IdentityFile's tokens as it does UserKnownHostsFile's: let it. */
async function expandedBySsh(home: SshHome, hostArgs: string[], values: string[]): Promise<string[]> {
  if (values.length === 0) return []
  const options = parseSshG(await home.ssh(['-G', '-o', `UserKnownHostsFile=${values.join(' ')}`, ...hostArgs]))
  return options.get('userknownhostsfile')![0]!.split(' ')
}
