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
})
