import {describe, expect, it} from 'vitest'
import {renderSshConfigText, sshConfigToJson} from '../../../src/output/ssh-config-view.js'
import type {SshConfigReport} from '../../../src/services/ssh-config.js'

const report: SshConfigReport = {
  evaluatedBy: 'built-in parser',
  warnings: ['Include ~/.ssh/config.d/* is not followed'],
  nodes: [
    {
      name: 'node-c',
      transport: 'ssh2',
      hops: [
        {name: 'bastion', alias: 'bastion', host: '203.0.113.20', port: 22, user: 'jump'},
        {name: 'node-c', alias: 'node-c', host: '198.19.0.10', port: 2222, user: 'root'},
      ],
      proxyCommand: null,
      identityFiles: ['/root/.ssh/id_agent.pub'],
      certificateFiles: [],
      identitiesOnly: true,
      knownHostsFiles: ['/root/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts'],
      strictHostKeyChecking: 'accept-new',
      hostKeyAlias: 'c\u001b]52;c;evil\u0007',
    },
    {
      name: 'node-x',
      transport: 'ssh2',
      hops: [],
      proxyCommand: null,
      identityFiles: [],
      certificateFiles: [],
      identitiesOnly: false,
      knownHostsFiles: [],
      strictHostKeyChecking: null,
      hostKeyAlias: null,
      problem: {kind: 'ssh-config', message: 'node-x: ProxyJump chain through a -> b -> a loops', hint: 'fix ProxyJump'},
    },
  ],
}

describe('ssh-config renderers', () => {
  it('JSON: the documented fields, a problem only where there is one', () => {
    const json = sshConfigToJson(report)
    expect(Object.keys(json.nodes[0]!)).toEqual(['name', 'transport', 'hops', 'proxyCommand', 'identityFiles', 'certificateFiles', 'identitiesOnly', 'knownHostsFiles', 'strictHostKeyChecking', 'hostKeyAlias'])
    expect(json.nodes[0]!.hops[1]).toEqual({name: 'node-c', alias: 'node-c', host: '198.19.0.10', port: 2222, user: 'root'})
    expect(json.nodes[1]).toMatchObject({problem: {kind: 'ssh-config', hint: 'fix ProxyJump'}})
    expect(json).toMatchObject({evaluatedBy: 'built-in parser', warnings: ['Include ~/.ssh/config.d/* is not followed']})
  })

  it('text: the path, what is offered and checked, warnings and problems; config text escaped', () => {
    const text = renderSshConfigText(report)
    expect(text).toContain('evaluated by built-in parser')
    expect(text).toContain('warning: Include ~/.ssh/config.d/* is not followed')
    expect(text).toContain('path           jump@203.0.113.20:22 -> root@198.19.0.10:2222')
    expect(text).toContain('via            bastion')
    expect(text).toContain('identities     /root/.ssh/id_agent.pub (IdentitiesOnly')
    expect(text).toContain('host keys      StrictHostKeyChecking accept-new, filed under HostKeyAlias')
    expect(text).not.toContain('\u001b')
    expect(text).toContain('PROBLEM        node-x: ProxyJump chain through a -> b -> a loops')
    expect(text).toContain('hint           fix ProxyJump')
  })
})
