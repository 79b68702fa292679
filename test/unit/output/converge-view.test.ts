/** The converge report's renderers: the words people read for every step code, and the --json document. */
import {describe, expect, it} from 'vitest'

import {convergeToJson, renderConvergeText} from '../../../src/output/converge-view.js'
import type {ConvergeReport} from '../../../src/services/converge-report.js'

const report: ConvergeReport = {
  command: 'init',
  dryRun: false,
  interface: 'wg0',
  warnings: [],
  result: 'partial',
  durationMs: 8_460,
  nodes: [
    {
      name: 'node-a',
      result: 'changed',
      steps: {distro: 'Debian GNU/Linux 12 (bookworm)', wireguard: 'installed', implementation: 'userspace', key: 'new', config: 'new', firewall: 'opened', firewallName: 'ufw', firewallChanges: ['ufw allow 51820/udp'], service: 'started', unit: 'enabled', handshakes: {verified: 2, expected: 2}},
    },
    {
      name: 'node-b',
      result: 'unchanged',
      steps: {distro: 'Debian GNU/Linux 12 (bookworm)', wireguard: 'present', implementation: 'userspace', key: 'kept', config: 'unchanged', firewall: 'open', firewallName: 'firewalld', service: 'running', handshakes: {verified: 2, expected: 2}, warnings: ['no systemd: the interface was brought up with wg-quick and will not come back after a reboot']},
    },
    {name: 'node-c', result: 'failed', error: 'cannot connect to 198.51.100.7:2222: connection refused', hint: 'check that the host is up', steps: {}},
  ],
}

describe('renderConvergeText', () => {
  const text = renderConvergeText(report)

  it('has one row per node with the step words, and "-" where a step did not run', () => {
    const rows = text.split('\n').filter((l) => /node-[abc]/.test(l) && l.includes('│'))
    expect(rows[0]).toMatch(/node-a .*installed \(userspace\) .*new .*new .*ufw allow 51820\/udp .*enabled, started .*2\/2 .*changed/)
    expect(rows[1]).toMatch(/node-b .*present \(userspace\) .*kept .*unchanged .*firewalld \(open\) .*running .*2\/2 .*unchanged/)
    expect(rows[2]).toMatch(/node-c .*- .*- .*- .*- .*- .*- .*- .*failed/)
  })

  it('lists warnings and failures with their hints, then one summary line', () => {
    expect(text).toContain('node-b: warning: no systemd: the interface was brought up with wg-quick and will not come back after a reboot')
    expect(text).toContain('node-c: FAILED: cannot connect to 198.51.100.7:2222: connection refused\n  hint: check that the host is up')
    expect(text.trimEnd().split('\n').at(-1)).toBe('init: partial — 3 nodes, 1 changed, 1 failed (8.5 s)')
  })

  it('words a dry run as what would happen', () => {
    const dry: ConvergeReport = {
      ...report,
      dryRun: true,
      result: 'ok',
      nodes: [{name: 'node-a', result: 'changed', steps: {config: 'would-change', diff: '--- a\n+++ b\n', firewall: 'would-open', firewallName: 'ufw', firewallChanges: ['ufw allow 51820/udp'], service: 'would-sync', unit: 'would-enable', packages: ['wireguard-tools']}}],
    }
    const out = renderConvergeText(dry)
    expect(out).toMatch(/node-a .*would change .*would ufw allow 51820\/udp .*would enable, would syncconf \(no restart\)/)
    expect(out).toContain('node-a: config changes (not applied):\n--- a\n+++ b')
    expect(out).toContain('node-a: would install wireguard-tools')
    expect(out).toContain('init --dry-run: ok — 1 nodes, 1 would change, 0 failed')
  })
})

describe('convergeToJson', () => {
  it('carries machine values, not sentences', () => {
    const json = convergeToJson(report)
    expect(json.result).toBe('partial')
    expect(json.nodes[0]).toEqual({name: 'node-a', result: 'changed', steps: report.nodes[0]!.steps})
    expect(json.nodes[0]!.steps).toMatchObject({firewall: 'opened', service: 'started', unit: 'enabled', handshakes: {verified: 2, expected: 2}})
    expect(json.nodes[2]).toEqual({name: 'node-c', result: 'failed', error: 'cannot connect to 198.51.100.7:2222: connection refused', hint: 'check that the host is up', steps: {}})
  })
})

describe('what hosts said never reaches the terminal raw', () => {
  const OSC52 = '\u001b]52;c;cm0gLXJmIH4=\u0007'
  it('escapes a PRETTY_NAME with an OSC 52 clipboard write, host errors, hints, warnings and diffs', () => {
    const evil: ConvergeReport = {
      ...report,
      nodes: [
        {name: 'node-a', result: 'unchanged', steps: {distro: `Debian${OSC52}`, warnings: [`w${OSC52}`], diff: `+# ${OSC52}\n`}},
        {name: 'node-b', result: 'failed', error: `probe failed: ${OSC52}`, hint: `h${OSC52}`, steps: {}},
      ],
    }
    const text = renderConvergeText(evil)
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
    expect(text).toContain('Debian\\u001b]52;c;cm0gLXJmIH4=\\u0007')
    expect(text).toContain('node-b: FAILED: probe failed: \\u001b]52')
  })
})
