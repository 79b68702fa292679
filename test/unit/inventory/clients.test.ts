/** Roaming client sections (`client = true`): read strictly, refused with file, line and key. */
import {describe, expect, it} from 'vitest'
import {BASE, errorsOf, expectProblem, FILE, lineOf} from './helpers.js'
import {nextFreeAddress, parseInventory, renderClientSection, appendNodeSection, removeNodeSection, validateNewClient, validateNewNode} from '../../../src/inventory/index.js'
import {InventoryErrors} from '../../../src/lib/errors.js'

const KEY = 'mK2PaJ6sBcBmUqOxN7DFoMPL1fBmIdN0QGvYGpS1uHk='
const OTHER_KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='

const NAT = `${BASE}
[node-c]
host = 198.51.100.7
address = 10.0.0.3
nat = true
`

function withClient(lines: string, base = NAT): string {
  return `${base}\n[phone]\n${lines}\n`
}

const VALID = withClient(`client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a`)

describe('client sections', () => {
  it('parses a client apart from the nodes', () => {
    const fleet = parseInventory(VALID, FILE)
    expect(fleet.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c'])
    expect(fleet.clients).toEqual([{name: 'phone', line: lineOf(VALID, '[phone]'), publicKey: KEY, address: '10.0.0.50', via: ['node-a'], fullTunnel: false}])
  })

  it('reads two via nodes in order and full_tunnel', () => {
    const fleet = parseInventory(withClient(`client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-b, node-a\nfull_tunnel = true`), FILE)
    expect(fleet.clients?.[0]).toMatchObject({via: ['node-b', 'node-a'], fullTunnel: true})
  })

  it('an inventory without clients has no clients field', () => {
    expect(parseInventory(NAT, FILE).clients).toBeUndefined()
  })

  const cases: Array<{name: string; lines: string; at: string; key?: string; message: RegExp; hint?: RegExp}> = [
    {name: 'a bad public key', lines: `client = true\npublic_key = abc\naddress = 10.0.0.50\nvia = node-a`, at: 'public_key', key: 'public_key', message: /`abc` is not a WireGuard public key/, hint: /32 bytes/},
    {name: 'a key of 33 bytes', lines: `client = true\npublic_key = ${KEY.slice(0, -1)}AA=\naddress = 10.0.0.50\nvia = node-a`, at: 'public_key', key: 'public_key', message: /not a WireGuard public key/},
    {name: 'a missing public key', lines: `client = true\naddress = 10.0.0.50\nvia = node-a`, at: '[phone]', key: 'public_key', message: /`public_key` is missing/},
    {name: 'an address outside the overlay', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.1.50\nvia = node-a`, at: 'address = 10.0.1.50', key: 'address', message: /outside the network 10.0.0.0\/24/},
    {name: 'a node\'s address', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.2\nvia = node-a`, at: 'address = 10.0.0.2', key: 'address', message: /already the address of \[node-b\]/},
    {name: 'via a NAT-ed node', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-c`, at: 'via = node-c', key: 'via', message: /\[node-c\] is behind NAT/, hint: /node-a, node-b/},
    {name: 'via an unknown node', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-x`, at: 'via = node-x', key: 'via', message: /no node named `node-x`/},
    {name: 'via missing', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50`, at: '[phone]', key: 'via', message: /`via` is missing/},
    {name: 'via twice the same node', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a, node-a`, at: 'via = node-a, node-a', key: 'via', message: /names a node twice/},
    {name: 'a host', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a\nhost = 203.0.113.9`, at: 'host = 203.0.113.9', key: 'host', message: /a client has no `host`: wgfleet never connects/},
    {name: 'an ssh key', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a\nssh_user = me`, at: 'ssh_user = me', key: 'ssh_user', message: /a client has no `ssh_user`/},
    {name: 'a typo', lines: `client = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a\npublic_kye = x`, at: 'public_kye', key: 'public_kye', message: /did you mean `public_key`/},
    {name: 'client = false', lines: `client = false\nhost = 203.0.113.9\naddress = 10.0.0.50`, at: 'client = false', key: 'client', message: /`client = false` is not allowed/},
    {name: 'client = yes', lines: `client = yes\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a`, at: 'client = yes', key: 'client', message: /not a boolean/},
  ]
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const text = withClient(c.lines)
      expectProblem(errorsOf(text), {line: lineOf(text.slice(text.indexOf('[phone]')), c.at) + lineOf(text, '[phone]') - 1, section: 'phone', key: c.key, message: c.message, hint: c.hint})
    })
  }

  it('refuses two clients with one key, and one address twice', () => {
    const text = `${VALID}\n[laptop]\nclient = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-b\n`
    const errors = errorsOf(text)
    expectProblem(errors, {line: lineOf(text, '[laptop]') + 2, section: 'laptop', key: 'public_key', message: /already \[phone\]'s/})
    expectProblem(errors, {line: lineOf(text, '[laptop]') + 3, section: 'laptop', key: 'address', message: /already the address of \[phone\]/})
  })

  it('a fleet of clients only has no nodes', () => {
    const text = `[network]\ncidr = 10.0.0.0/24\n\n[phone]\nclient = true\npublic_key = ${KEY}\naddress = 10.0.0.50\nvia = node-a\n`
    expect(errorsOf(text).map((e) => e.message).join('\n')).toMatch(/there are no nodes/)
  })
})

describe('client add helpers', () => {
  const fleet = parseInventory(VALID, FILE)

  it('the next free address skips clients', () => {
    const text = withClient(`client = true\npublic_key = ${KEY}\naddress = 10.0.0.4\nvia = node-a`)
    expect(nextFreeAddress(parseInventory(text, FILE))).toBe('10.0.0.5')
  })

  it('validates a new client against nodes and clients', () => {
    expect(validateNewClient(fleet, 'laptop', {public_key: OTHER_KEY, address: '10.0.0.51', via: 'node-b'})).toMatchObject({name: 'laptop', via: ['node-b']})
    const refused = (name: string, values: Parameters<typeof validateNewClient>[2]) => {
      try {
        validateNewClient(fleet, name, values, {origin: 'client add'})
      } catch (error) {
        expect(error).toBeInstanceOf(InventoryErrors)
        return (error as InventoryErrors).errors.map((e) => e.message).join('\n')
      }
      throw new Error('accepted')
    }
    expect(refused('phone', {public_key: OTHER_KEY, address: '10.0.0.51', via: 'node-a'})).toMatch(/a client named phone already exists/)
    expect(refused('node-a', {public_key: OTHER_KEY, address: '10.0.0.51', via: 'node-b'})).toMatch(/a node named node-a already exists/)
    expect(refused('laptop', {public_key: OTHER_KEY, address: '10.0.0.50', via: 'node-a'})).toMatch(/already the address of \[phone\]/)
    expect(refused('laptop', {public_key: OTHER_KEY, address: '10.0.0.51', via: 'node-c'})).toMatch(/behind NAT/)
    expect(refused('Laptop', {public_key: OTHER_KEY, address: '10.0.0.51', via: 'node-a'})).toMatch(/client add/)
  })

  it('add-node refuses a client\'s name and a client\'s address', () => {
    expect(() => validateNewNode(fleet, 'phone', {host: '203.0.113.9', address: '10.0.0.9'})).toThrow(/already exists/)
    expect(() => validateNewNode(fleet, 'node-d', {host: '203.0.113.9', address: '10.0.0.50'})).toThrow(/10.0.0.50 is already the address/)
  })

  it('appends a client section that reads back, and removes it byte for byte', () => {
    const section = renderClientSection('laptop', {public_key: OTHER_KEY, address: '10.0.0.51', via: 'node-a, node-b', full_tunnel: true})
    expect(section).toBe(`[laptop]\nclient = true\npublic_key = ${OTHER_KEY}\naddress = 10.0.0.51\nvia = node-a, node-b\nfull_tunnel = true\n`)
    const grown = appendNodeSection(VALID, section)
    expect(parseInventory(grown, FILE).clients?.map((c) => c.name)).toEqual(['phone', 'laptop'])
    expect(removeNodeSection(grown, 'laptop')).toBe(VALID)
  })
})
