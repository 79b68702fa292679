/** The doctor's renderers: the table for people and the --json document (docs/design.md §1 shape). */
import {describe, expect, it} from 'vitest'

import {doctorToJson, renderDoctor, wrap} from '../../../src/output/doctor-view.js'
import type {Finding} from '../../../src/judges/doctor/index.js'

const FINDINGS: Finding[] = [
  {node: 'node-a', severity: 'error', check: 'relay-no-forwarding', message: 'node-a relays for node-c, node-d, but net.ipv4.ip_forward = 0: the traffic it should pass on is dropped', fix: 'on node-a: `sysctl -w net.ipv4.ip_forward=1`'},
  {node: 'node-b', severity: 'warning', check: 'path-mtu', peer: 'node-a', message: 'full-size packets do not get through', fix: 'set `mtu = 1340` in [network]'},
]

describe('renderDoctor', () => {
  it('a healthy fleet: "no problems found"; JSON: no findings', () => {
    expect(renderDoctor([], 'table')).toBe('no problems found\n')
    expect(JSON.parse(renderDoctor([], 'json'))).toEqual({healthy: true, errors: 0, warnings: 0, findings: []})
  })

  it('JSON: one document, the findings in the documented shape (docs/design.md §1) (node, severity, check, message, fix), peer when known', () => {
    const doc = JSON.parse(renderDoctor(FINDINGS, 'json'))
    expect(doc).toEqual(doctorToJson(FINDINGS))
    expect(doc.healthy).toBe(false)
    expect(doc.findings[0]).toEqual({node: 'node-a', severity: 'error', check: 'relay-no-forwarding', message: FINDINGS[0]!.message, fix: FINDINGS[0]!.fix})
    expect(doc.findings[1]).toMatchObject({peer: 'node-a', severity: 'warning'})
    expect([doc.errors, doc.warnings]).toEqual([1, 1])
  })

  it('table: header, one row per finding (long cells wrapped within their column), a summary; no colour unless asked', () => {
    const text = renderDoctor(FINDINGS, 'table', {width: 140})
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^node +severity +check +message +fix$/)
    expect(lines[1]).toMatch(/^node-a +error +relay-no-forwarding +node-a relays for/)
    // The message column continues on the next line, under itself.
    const column = lines[0]!.indexOf('message')
    expect(lines[2]!.slice(0, column).trim()).toBe('')
    expect(lines[2]!.slice(column)).toMatch(/^\S/)
    expect(text).toContain('node-b  warning')
    expect(lines.at(-1)).toBe('1 error, 1 warning')
    expect(text).not.toMatch(/\u001B\[/)
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(140)
    expect(renderDoctor(FINDINGS, 'table', {color: true})).toMatch(/\u001B\[31merror/)
  })

  it('wrap: at spaces; an overlong word (a key) is cut', () => {
    expect(wrap('a bb ccc dddd', 6)).toEqual(['a bb', 'ccc', 'dddd'])
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij'])
    expect(wrap('', 4)).toEqual([''])
  })
})

describe('what hosts said never reaches the terminal raw', () => {
  it('escapes control characters in a finding quoting a host', () => {
    const text = renderDoctor([{node: 'node-a', severity: 'error', check: 'wg-error', message: 'wg: \u001b[2J\u001b]52;c;eA==\u0007 failed', fix: 'on node-a: `wg show wg0`'}], 'table', {width: 140})
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
    expect(text).toContain('wg: \\u001b[2J')
  })
})
