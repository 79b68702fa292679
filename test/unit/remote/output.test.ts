import {describe, expect, it} from 'vitest'

import {oneOf, parseKeyValues, parseScriptOutput} from '../../../src/remote/output.js'

describe('parseScriptOutput: the one parser of what host scripts print', () => {
  it('reads key=value lines (last one wins, all kept in order) and named blocks', () => {
    const out = parseScriptOutput('a=1\nb=x=y\na=2\n--- peers\nk\t=v\n--- end peers\nend=ok\n', new Set(['peers']))
    expect(out.one('a')).toBe('2')
    expect(out.all('a')).toEqual(['1', '2'])
    expect(out.one('b')).toBe('x=y')
    expect(out.block('peers')).toEqual(['k\t=v'])
    expect(out.block('config')).toBeUndefined()
    expect(out.cut).toBe(false)
    expect(out.entries).toEqual([['a', '1'], ['b', 'x=y'], ['a', '2'], ['end', 'ok']])
  })

  it('says when the output ends inside a block (cut off), and strips CRLF', () => {
    const out = parseScriptOutput('now=5\r\n--- config\r\n[Interface]\r\n', new Set(['config']))
    expect(out.one('now')).toBe('5')
    expect(out.block('config')).toEqual(['[Interface]', ''])
    expect(out.cut).toBe(true)
  })

  it('ignores what is not a key=value line: no key, odd keys, unknown block markers', () => {
    const out = parseScriptOutput('=x\nnot a line\n--- secret\nkey with space=1\n$(reboot)=2\nok_key.1=3\n', new Set())
    expect(out.entries).toEqual([['ok_key.1', '3']])
    expect(out.block('secret')).toBeUndefined()
  })

  it('parseKeyValues keeps order and repeats; oneOf lets a host invent no state', () => {
    expect(parseKeyValues('firewall=a\nfirewall=b\ndone=yes\n')).toEqual([['firewall', 'a'], ['firewall', 'b'], ['done', 'yes']])
    expect(oneOf('active', ['absent', 'active'] as const, 'absent')).toBe('active')
    expect(oneOf('pwned', ['absent', 'active'] as const, 'absent')).toBe('absent')
  })

  it('blockText is the block\'s lines joined, with `terminated` one more newline; an empty block is no line', () => {
    const out = parseScriptOutput('--- config\nA = 1\n\nB = 2\n--- end config\n--- peers\n--- end peers\n--- x\n\n--- end x\n', new Set(['config', 'peers', 'x']))
    expect(out.blockText('config')).toBe('A = 1\n\nB = 2')
    expect(out.blockText('config', true)).toBe('A = 1\n\nB = 2\n')
    expect(out.block('peers')).toEqual([])
    expect(out.blockText('peers')).toBe('')
    expect(out.blockText('peers', true)).toBe('\n')
    expect(out.block('x')).toEqual([''])
    expect(out.blockText('x')).toBe('')
    expect(out.blockText('nothing')).toBeUndefined()
  })

  it('an end line must be exactly `--- end NAME`; a block left open runs to the end (cut)', () => {
    const out = parseScriptOutput('--- peers\n--- end peersX\n x--- end peers\n--- end peers\na=1\n', new Set(['peers']))
    expect(out.block('peers')).toEqual(['--- end peersX', ' x--- end peers'])
    expect(out.one('a')).toBe('1')
    const cut = parseScriptOutput('a=1\n--- peers\nk\n--- end peersX\n', new Set(['peers']))
    expect(cut.cut).toBe(true)
    expect(cut.block('peers')).toEqual(['k', '--- end peersX', ''])
    expect(cut.blockText('peers', true)).toBe('k\n--- end peersX\n\n')
    expect(parseScriptOutput('--- peers', new Set(['peers'])).block('peers')).toEqual([])
  })

  it('reads any text as splitting it into lines first would (compared on generated texts)', () => {
    const names = new Set(['config', 'peers'])
    const pieces = ['a=1', 'b=', '=x', 'k.e_y=v=w', 'no line', '--- config', '--- end config', '--- end config ', '--- end configs', '--- peers', '--- end peers', '--- other', '', ' ', 'x\r', '\r', '--- end peers\r', '--- peers\r', 'c=3\r\r']
    let seed = 12345
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let i = 0; i < 3000; i++) {
      const lines = Array.from({length: random(12)}, () => pieces[random(pieces.length)]!)
      const text = lines.join('\n') + ['', '\n', '\r\n'][random(3)]!
      const got = parseScriptOutput(text, names)
      const want = splitFirst(text, names)
      expect({entries: got.entries, cut: got.cut, config: got.block('config'), peers: got.block('peers')}, JSON.stringify(text)).toEqual(want)
      expect(got.blockText('config', true)).toBe(want.config === undefined ? undefined : want.config.join('\n') + '\n')
      expect(got.blockText('peers')).toBe(want.peers?.join('\n'))
    }
  })
})

/** The parser as it was written before (split into lines, then one line at a time): the reference. */
function splitFirst(text: string, blockNames: ReadonlySet<string>) {
  const entries: Array<[string, string]> = []
  const blocks = new Map<string, string[]>()
  let open: string[] | null = null
  let openName = ''
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (open !== null) {
      if (line === `--- end ${openName}`) open = null
      else open.push(line)
      continue
    }
    const start = line.startsWith('--- ') ? line.slice(4) : null
    if (start !== null && blockNames.has(start)) {
      openName = start
      open = []
      blocks.set(start, open)
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0 || !/^[a-z0-9_.]+$/i.test(line.slice(0, eq))) continue
    entries.push([line.slice(0, eq), line.slice(eq + 1)])
  }
  return {entries, cut: open !== null, config: blocks.get('config'), peers: blocks.get('peers')}
}
