/** A node's `subnets` and `subnet_snat`: site-to-site networks behind it, and every refusal with line and key. */
import {describe, expect, it} from 'vitest'

import {parseInventory, validateNewNode} from '../../../src/inventory/index.js'
import {BASE, errorsOf, expectProblem, FILE, lineOf} from './helpers.js'

const withSubnets = (value: string, extra = '') => BASE.replace('relay = true', `relay = true\nsubnets = ${value}${extra}`)
const DUAL = (text: string) => text.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\ncidr6 = fd42:42::/64')

describe('subnets: accepted', () => {
  it('IPv4 and IPv6 networks, normalised; subnet_snat defaults to true', () => {
    const fleet = parseInventory(DUAL(withSubnets('198.19.1.0/24 , FD10:0001:0000::/64')), FILE)
    const a = fleet.nodes[0]!
    expect(a.subnets).toEqual(['198.19.1.0/24', 'fd10:1::/64'])
    expect(a.subnetSnat).toBe(true)
    expect(fleet.nodes[1]!.subnets).toBeUndefined()
    expect(fleet.nodes[1]!.subnetSnat).toBeUndefined()
  })

  it('subnet_snat = false is kept', () => {
    expect(parseInventory(withSubnets('198.19.1.0/24', '\nsubnet_snat = false'), FILE).nodes[0]!.subnetSnat).toBe(false)
  })
})

describe('subnets: refused, each with line and key', () => {
  const refused = (text: string, message: RegExp, hint?: RegExp, key = 'subnets', fragment = 'subnets =') =>
    expectProblem(errorsOf(text), {line: lineOf(text, fragment), section: 'node-a', key, message, ...(hint ? {hint} : {})})

  it('host bits set (with the network it meant)', () => {
    refused(withSubnets('198.19.1.5/24'), /has host bits set/, /198\.19\.1\.0\/24/)
    refused(DUAL(withSubnets('fd10::1/64')), /has host bits set/, /fd10::\/64/)
  })

  it('not a network, an empty entry, a prefix out of range, the whole internet', () => {
    refused(withSubnets('198.19.1.0'), /not a network in CIDR notation/)
    refused(withSubnets('198.19.1.0/24,'), /empty entry/)
    refused(withSubnets('198.19.1.0/33'), /out of range/)
    refused(withSubnets('0.0.0.0/0'), /whole IPv4 internet/)
    refused(withSubnets('198.19.1.0/24; reboot'), /not a network|glued|comment/, undefined)
  })

  it('twice on one node (one contains the other)', () => {
    refused(withSubnets('198.19.0.0/16, 198.19.1.0/24'), /overlaps 198\.19\.0\.0\/16/)
  })

  it('overlapping the overlay: cidr, and cidr6', () => {
    refused(withSubnets('10.0.0.0/16'), /overlaps the overlay network 10\.0\.0\.0\/24 \(\[network\] cidr\)/)
    refused(DUAL(withSubnets('fd42:42::/48')), /overlaps the overlay network fd42:42::\/64 \(\[network\] cidr6\)/)
  })

  it('an IPv6 subnet without cidr6', () => {
    refused(withSubnets('fd10::/64'), /IPv6 subnet, but \[network\] has no cidr6/, /cidr6/)
  })

  it("overlapping another node's subnets (reported on the later node)", () => {
    const text = withSubnets('198.19.0.0/16').replace('address = 10.0.0.2', 'address = 10.0.0.2\nsubnets = 198.19.1.0/24')
    expectProblem(errorsOf(text), {line: lineOf(text, 'subnets = 198.19.1.0/24'), section: 'node-b', key: 'subnets', message: /overlaps 198\.19\.0\.0\/16, a subnet of \[node-a\]/})
  })

  it("containing a node's host, endpoint or jump host", () => {
    refused(withSubnets('203.0.113.0/24'), /contains 203\.0\.113\.2, the host of \[node-b\]/, /capture/)
    const endpoint = withSubnets('198.19.7.0/24').replace('address = 10.0.0.2', 'address = 10.0.0.2\nendpoint = 198.19.7.9:51820')
    refused(endpoint, /contains 198\.19\.7\.9, the endpoint of \[node-b\]/)
    const jump = withSubnets('198.19.8.0/24').replace('address = 10.0.0.2', 'address = 10.0.0.2\njump = admin@198.19.8.1:22')
    refused(jump, /contains 198\.19\.8\.1, the jump of \[node-b\]/)
    // Its own host too: the node is managed over it.
    refused(withSubnets('203.0.113.0/30'), /contains 203\.0\.113\.1, the host of \[node-a\]/)
  })

  it('subnet_snat without subnets', () => {
    const text = BASE.replace('relay = true', 'relay = true\nsubnet_snat = false')
    refused(text, /`subnet_snat` is set, but the node has no `subnets`/, /subnets/, 'subnet_snat', 'subnet_snat =')
  })

  it('a typo gets a did-you-mean', () => {
    const text = BASE.replace('relay = true', 'relay = true\nsubnet = 198.19.1.0/24')
    expectProblem(errorsOf(text), {line: lineOf(text, 'subnet ='), section: 'node-a', key: 'subnet', message: /did you mean `subnets`/})
  })

  it('add-node: the same rules against the existing nodes', () => {
    const fleet = parseInventory(withSubnets('198.19.1.0/24'), FILE)
    expect(() => validateNewNode(fleet, 'node-c', {host: '203.0.113.3', address: '10.0.0.3', subnets: '198.19.1.128/25'})).toThrow(/overlaps 198\.19\.1\.0\/24, a subnet of \[node-a\]/)
    expect(validateNewNode(fleet, 'node-c', {host: '203.0.113.3', address: '10.0.0.3', subnets: '198.19.2.0/24'}).subnets).toEqual(['198.19.2.0/24'])
  })
})
