/** [network] cidr6 and a node's address6: the IPv6 overlay beside the IPv4 one (dual stack). */
import {describe, expect, it} from 'vitest'

import {parseInventory, validateNewNode} from '../../../src/inventory/index.js'
import {BASE, errorsOf, expectProblem, FILE, lineOf} from './helpers.js'

const DUAL = BASE.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ncidr6 = fd42:42::/64')

describe('dual stack: addresses', () => {
  it('each node gets cidr6 plus its IPv4 host number, in RFC 5952 form (10.0.0.1/24 → fd42:42::1)', () => {
    const fleet = parseInventory(DUAL, FILE)
    expect(fleet.network.cidr6).toBe('fd42:42::/64')
    expect(fleet.nodes.map((n) => [n.name, n.address6])).toEqual([
      ['node-a', 'fd42:42::1'],
      ['node-b', 'fd42:42::2'],
    ])
  })

  it('the host number is written in hex: 10.64.1.2 in 10.64.0.0/16 → fd42:42::102', () => {
    const text = DUAL.replace('cidr = 10.0.0.0/24', 'cidr = 10.64.0.0/16').replace('address = 10.0.0.1', 'address = 10.64.1.2').replace('address = 10.0.0.2', 'address = 10.64.255.254')
    expect(parseInventory(text, FILE).nodes.map((n) => n.address6)).toEqual(['fd42:42::102', 'fd42:42::fffe'])
  })

  it('address6, when given, wins; written in any form, it is kept in RFC 5952 form', () => {
    const text = DUAL.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = FD42:0042:0000::00B2')
    expect(parseInventory(text, FILE).nodes.map((n) => n.address6)).toEqual(['fd42:42::1', 'fd42:42::b2'])
  })

  it('cidr6 written in a long form is normalised', () => {
    const text = DUAL.replace('cidr6 = fd42:42::/64', 'cidr6 = fd42:0042:0000:0000::/64')
    expect(parseInventory(text, FILE).network.cidr6).toBe('fd42:42::/64')
  })

  it('no cidr6: IPv4 only, as before', () => {
    const fleet = parseInventory(BASE, FILE)
    expect(fleet.network.cidr6).toBeUndefined()
    expect(fleet.nodes.every((n) => n.address6 === undefined)).toBe(true)
  })

  it('add-node: the new node gets its derived IPv6 address too, and a clash with an existing one is refused', () => {
    const fleet = parseInventory(DUAL, FILE)
    expect(validateNewNode(fleet, 'node-c', {host: '203.0.113.3', address: '10.0.0.3'}).address6).toBe('fd42:42::3')
    const errors = errorsOfNew(() => validateNewNode(fleet, 'node-c', {host: '203.0.113.3', address: '10.0.0.3', address6: 'fd42:42::2'}))
    expect(errors.join('\n')).toMatch(/IPv6 overlay address fd42:42::2 is already the IPv6 address \[node-b\]/)
  })
})

function errorsOfNew(run: () => unknown): string[] {
  try {
    run()
  } catch (error) {
    return ((error as {errors?: Array<{message: string}>}).errors ?? [error as {message: string}]).map((e) => e.message)
  }
  throw new Error('expected a refusal')
}

describe('dual stack: refused, with line and key', () => {
  const cases: Array<{name: string; text: string; at: string; key: string; message: RegExp; hint?: RegExp}> = [
    {name: 'a global prefix', text: DUAL.replace('cidr6 = fd42:42::/64', 'cidr6 = 2001:db8::/64'), at: 'cidr6', key: 'cidr6', message: /not a unique local \(fd00::\/8\) prefix/},
    {name: 'an IPv4 network', text: DUAL.replace('cidr6 = fd42:42::/64', 'cidr6 = 10.1.0.0/24'), at: 'cidr6', key: 'cidr6', message: /is an IPv4 network: cidr6 is the IPv6 overlay/},
    {name: 'host bits set', text: DUAL.replace('cidr6 = fd42:42::/64', 'cidr6 = fd42:42::1/64'), at: 'cidr6', key: 'cidr6', message: /has host bits set/, hint: /did you mean cidr6 = fd42:42::\/64\?/},
    {name: 'a prefix too long', text: DUAL.replace('cidr6 = fd42:42::/64', 'cidr6 = fd42:42::/120'), at: 'cidr6', key: 'cidr6', message: /prefix \/120 is out of range/},
    {
      name: 'a prefix too small for the IPv4 host numbers',
      text: DUAL.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/8').replace('cidr6 = fd42:42::/64', 'cidr6 = fd42:42::/112'),
      at: 'cidr6',
      key: 'cidr6',
      message: /smaller than the IPv4 overlay 10\.0\.0\.0\/8/,
      hint: /\/104 or shorter/,
    },
    {name: 'not an address', text: DUAL.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = fd42:42::zz'), at: 'address6', key: 'address6', message: /is not an IPv6 address/},
    {name: 'with a prefix', text: DUAL.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = fd42:42::9/64'), at: 'address6', key: 'address6', message: /without a prefix/},
    {name: 'outside cidr6', text: DUAL.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = fd43::9'), at: 'address6', key: 'address6', message: /outside the IPv6 overlay fd42:42::\/64/},
    {name: 'the subnet-router anycast address', text: DUAL.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = fd42:42::'), at: 'address6', key: 'address6', message: /network address of fd42:42::\/64/},
    {name: 'address6 without cidr6', text: BASE.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = fd42:42::9'), at: 'address6', key: 'address6', message: /\[network\] has no cidr6/},
    {
      name: 'a written address6 that is another node\'s derived one',
      text: DUAL.replace('address = 10.0.0.2', 'address = 10.0.0.2\naddress6 = fd42:42::1'),
      at: 'address6',
      key: 'address6',
      message: /fd42:42::1 is already the IPv6 address \[node-a\] \(line \d+\) gets from its address 10\.0\.0\.1/,
    },
  ]
  it.each(cases)('$name', (c) => {
    expectProblem(errorsOf(c.text), {line: lineOf(c.text, c.at === 'address6' ? 'address6 =' : c.at), key: c.key, message: c.message, ...(c.hint ? {hint: c.hint} : {})})
  })
})
