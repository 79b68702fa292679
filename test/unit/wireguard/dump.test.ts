import {describe, expect, it} from 'vitest'

import {WgfleetError} from '../../../src/lib/errors.js'
import {parseWgDump, WgDumpError} from '../../../src/wireguard/index.js'

const PRIVATE = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='
const OWN_PUBLIC = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw='
const PEER_B = '1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0='
const PEER_C = '/Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk='
const PEER_D = 'CUVmuCqSMnAIGcynv1bFuM8gOzOCnUK3CWLQB9S7sFs='
const PSK = 'FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE='

const row = (...fields: (string | number)[]): string => fields.join('\t')

describe('parseWgDump', () => {
  it('parses peer lines into typed peers', () => {
    const text = [
      row(PEER_B, '(none)', '203.0.113.2:51820', '10.0.0.2/32', 1718000000, 123456, 654321, 25),
      row(PEER_C, PSK, '(none)', '10.0.0.3/32,10.0.0.4/32', 0, 0, 0, 'off'),
      row(PEER_D, '(none)', '[2001:db8::4]:51999', '(none)', 1718000100, 92, 148, 'off'),
      '',
    ].join('\n')
    expect(parseWgDump(text)).toEqual([
      {
        publicKey: PEER_B,
        presharedKey: false,
        endpoint: '203.0.113.2:51820',
        allowedIps: ['10.0.0.2/32'],
        latestHandshake: 1718000000,
        rxBytes: 123456,
        txBytes: 654321,
        keepalive: 25,
      },
      {
        publicKey: PEER_C,
        presharedKey: true,
        endpoint: null,
        allowedIps: ['10.0.0.3/32', '10.0.0.4/32'],
        latestHandshake: 0,
        rxBytes: 0,
        txBytes: 0,
        keepalive: 0,
      },
      {
        publicKey: PEER_D,
        presharedKey: false,
        endpoint: '[2001:db8::4]:51999',
        allowedIps: [],
        latestHandshake: 1718000100,
        rxBytes: 92,
        txBytes: 148,
        keepalive: 0,
      },
    ])
  })

  it('never keeps the preshared key value', () => {
    const text = row(PEER_C, PSK, '(none)', '10.0.0.3/32', 0, 0, 0, 'off')
    expect(JSON.stringify(parseWgDump(text))).not.toContain(PSK)
  })

  it('an empty dump (no peers) is an empty list; CRLF is accepted', () => {
    expect(parseWgDump('')).toEqual([])
    expect(parseWgDump('\n')).toEqual([])
    expect(parseWgDump(row(PEER_B, '(none)', '(none)', '10.0.0.2/32', 0, 0, 0, 'off') + '\r\n')).toHaveLength(1)
  })

  it('rejects an interface line (it holds the private key) without quoting it', () => {
    const text = [row(PRIVATE, OWN_PUBLIC, 51820, 'off'), row(PEER_B, '(none)', '(none)', '10.0.0.2/32', 0, 0, 0, 25)].join('\n')
    let error: unknown
    try {
      parseWgDump(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(WgDumpError)
    expect(error).toBeInstanceOf(WgfleetError)
    expect((error as Error).message).toMatch(/line 1 is an interface line/)
    expect((error as Error).message).not.toContain(PRIVATE)
    expect(JSON.stringify(error)).not.toContain(PRIVATE)
  })

  it('rejects the interface line of `wg show all dump` too', () => {
    expect(() => parseWgDump(row('wg0', PRIVATE, OWN_PUBLIC, 51820, 'off'))).toThrow(/interface line/)
  })

  it('rejects an interface line anywhere, not only first', () => {
    const text = [row(PEER_B, '(none)', '(none)', '10.0.0.2/32', 0, 0, 0, 25), row(PRIVATE, OWN_PUBLIC, 51820, 'off')].join('\n')
    expect(() => parseWgDump(text)).toThrow(/line 2 is an interface line/)
  })

  it('rejects malformed lines', () => {
    expect(() => parseWgDump(row(PEER_B, '(none)', '(none)'))).toThrow(/3 fields, expected 8/)
    expect(() => parseWgDump(row('not-a-key', '(none)', '(none)', '10.0.0.2/32', 0, 0, 0, 25))).toThrow(/public key/)
    expect(() => parseWgDump(row(PEER_B, '(none)', '(none)', '10.0.0.2/32', 'soon', 0, 0, 25))).toThrow(/latest-handshake/)
    expect(() => parseWgDump(row(PEER_B, '(none)', '(none)', '10.0.0.2/32', 0, -1, 0, 25))).toThrow(/transfer-rx/)
    expect(() => parseWgDump(row(PEER_B, '(none)', '(none)', '10.0.0.2/32', 0, 0, 0, 'on'))).toThrow(/persistent-keepalive/)
  })

  it('reads every line as splitting it into lines and fields would (compared on generated dumps)', () => {
    const pools = [
      [PEER_B, PEER_C, 'not-a-key', '', PEER_D + '\r'],
      ['(none)', PSK, '(hidden)', '(none) '],
      ['(none)', '203.0.113.2:51820', '[2001:db8::4]:51999'],
      ['10.0.0.2/32', '(none)', '10.0.0.3/32,10.0.0.4/32', ' 10.0.0.5/32 , ,10.0.0.6/32', ''],
      ['0', '1718000000', '', '12345678901234567890', '007', '1e3', ' 1'],
      ['0', '92', '-1', '9007199254740993'],
      ['0', '148', 'x'],
      ['off', '25', '0', '', 'off\r', '25\r\r'],
    ]
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const outcome = (parse: () => unknown) => {
      try {
        return {peers: parse()}
      } catch (error) {
        return {error: (error as Error).message}
      }
    }
    for (let i = 0; i < 3000; i++) {
      const lines = Array.from({length: 1 + random(3)}, () => {
        const kind = random(10)
        if (kind === 0) return ['', ' ', '\r', '\u00a0'][random(4)]!
        const fields = pools.map((pool) => pool[random(pool.length)]!)
        // Now and then a field short or one too many (an interface line has 4 or 5).
        return (kind === 1 ? fields.slice(0, 3 + random(6)) : kind === 2 ? [...fields, 'extra'] : fields).join('\t')
      })
      const text = lines.join(['\n', '\r\n'][random(2)]!) + ['', '\n'][random(2)]!
      expect(outcome(() => parseWgDump(text)), JSON.stringify(text)).toEqual(outcome(() => splitFirst(text)))
    }
  })
})

/** The parser as it was written before (split into lines, then into fields): the reference. */
function splitFirst(text: string) {
  const number = (value: string, field: string, line: number) => {
    if (!/^\d+$/.test(value)) throw new Error(`wg show dump: line ${line}: ${field} is not a number`)
    return Number(value)
  }
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .map((line, index) => ({line, n: index + 1}))
    .filter(({line}) => line.trim() !== '')
    .map(({line, n}) => {
      const fields = line.split('\t')
      if (fields.length === 4 || fields.length === 5) throw new Error(`wg show dump: line ${n} is an interface line (it holds the private key); it must be stripped on the host`)
      if (fields.length !== 8) throw new Error(`wg show dump: line ${n} has ${fields.length} fields, expected 8`)
      const [publicKey, preshared, endpoint, allowedIps, handshake, rx, tx, keepalive] = fields as [string, string, string, string, string, string, string, string]
      if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(publicKey)) throw new Error(`wg show dump: line ${n}: the public key is malformed`)
      return {
        publicKey,
        presharedKey: preshared !== '(none)',
        endpoint: endpoint === '(none)' ? null : endpoint,
        allowedIps: allowedIps === '(none)' ? [] : allowedIps.split(',').map((r) => r.trim()).filter((r) => r !== ''),
        latestHandshake: number(handshake, 'latest-handshake', n),
        rxBytes: number(rx, 'transfer-rx', n),
        txBytes: number(tx, 'transfer-tx', n),
        keepalive: keepalive === 'off' ? 0 : number(keepalive, 'persistent-keepalive', n),
      }
    })
}
