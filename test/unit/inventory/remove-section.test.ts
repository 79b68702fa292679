import {describe, expect, it} from 'vitest'

import {appendNodeSection, parseInventory, removeNodeSection, renderNodeSection} from '../../../src/inventory/index.js'

const TEXT = `; my fleet
[network]
cidr = 10.0.0.0/24

[node-a]
host = 203.0.113.1
address = 10.0.0.1

; node-e: the new one
[node-e]
host = 203.0.113.5
; its address
address = 10.0.0.5

; node-f: next
[node-f]
host = 203.0.113.6
address = 10.0.0.6
`

describe('removeNodeSection', () => {
  it('removes the header, keys and inner comments; keeps the comment that leads into the next section', () => {
    const out = removeNodeSection(TEXT, 'node-e')
    expect(out).toBe(TEXT.replace('[node-e]\nhost = 203.0.113.5\n; its address\naddress = 10.0.0.5\n\n', ''))
    expect(parseInventory(out, '/x/inventory.ini').nodes.map((n) => n.name)).toEqual(['node-a', 'node-f'])
  })

  it('removes the last section up to the end of the file', () => {
    const out = removeNodeSection(TEXT, 'node-f')
    expect(out).toBe(TEXT.slice(0, TEXT.indexOf('\n[node-f]') + 1).replace(/\n; node-f: next\n$/, '\n; node-f: next\n'))
  })

  it('undoes appendNodeSection exactly', () => {
    const base = TEXT
    const grown = appendNodeSection(base, renderNodeSection('node-g', {host: '203.0.113.7', address: '10.0.0.7'}))
    expect(removeNodeSection(grown, 'node-g')).toBe(base)
  })

  it('keeps CRLF line endings and every other byte', () => {
    const crlf = TEXT.replace(/\n/g, '\r\n')
    const out = removeNodeSection(crlf, 'node-e')
    expect(out).toBe(removeNodeSection(TEXT, 'node-e').replace(/\n/g, '\r\n'))
  })

  it('a file with lone-CR line endings: only that section goes', () => {
    const cr = TEXT.replace(/\n/g, '\r')
    expect(removeNodeSection(cr, 'node-e')).toBe(removeNodeSection(TEXT, 'node-e').replace(/\n/g, '\r'))
  })

  it('a missing section is a bug, not a silent no-op', () => {
    expect(() => removeNodeSection(TEXT, 'node-z')).toThrow(/bug/)
  })
})
