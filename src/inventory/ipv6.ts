/**
 * IPv6 for the dual-stack overlay ([network] cidr6, a node's address6). Parsing and the RFC 5952 text
 * form come from ipaddr.js; wgfleet only adds the 128-bit arithmetic the overlay needs (an address as the
 * prefix plus a host number), on bigints.
 */
import ipaddr from 'ipaddr.js'

export interface IPv6Network {
  /** Network address as a 128-bit integer (host bits clear). */
  base: bigint
  prefixLength: number
}

const BITS = 128n

/** The 128-bit value of a bare IPv6 address; undefined for anything else (IPv4, zone ids, prefixes). */
export function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%') || text.includes('/') || !ipaddr.IPv6.isValid(text)) return undefined
  const parsed = ipaddr.IPv6.parse(text)
  return parsed.parts.reduce((value, part) => (value << 16n) | BigInt(part), 0n)
}

/** RFC 5952 text (lowercase, no leading zeros, the longest run of zero groups as `::`). */
export function formatIPv6(value: bigint): string {
  const parts: number[] = []
  for (let shift = BITS - 16n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn))
  return new ipaddr.IPv6(parts).toRFC5952String()
}

export function maskIPv6(value: bigint, prefixLength: number): bigint {
  const hostBits = BITS - BigInt(prefixLength)
  return (value >> hostBits) << hostBits
}

export function containsIPv6(network: IPv6Network, value: bigint): boolean {
  return maskIPv6(value, network.prefixLength) === network.base
}

export function formatIPv6Network(network: IPv6Network): string {
  return `${formatIPv6(network.base)}/${network.prefixLength}`
}

/** `prefix/len` with host bits clear, as the Fleet model holds cidr6; undefined otherwise. */
export function parseIPv6Network(text: string): IPv6Network | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text)
  const base = match?.[1] === undefined ? undefined : parseIPv6(match[1])
  const prefixLength = Number(match?.[2])
  if (base === undefined || prefixLength > 128 || maskIPv6(base, prefixLength) !== base) return undefined
  return {base, prefixLength}
}

/** The address HOST (a host number) inside NETWORK: 10.0.0.1/24 → host 1 → fd42:42::1. */
export function addressInNetwork(network: IPv6Network, host: number): bigint {
  return network.base + BigInt(host)
}

/** Whether NETWORK has room for every host number below 2^hostBits (those of the IPv4 overlay). */
export function fitsHostBits(network: IPv6Network, hostBits: number): boolean {
  return BITS - BigInt(network.prefixLength) >= BigInt(hostBits)
}
