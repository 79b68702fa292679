/**
 * IPv4 arithmetic on 32-bit unsigned integers: enough for the overlay network (cidr, addresses).
 */

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/**
 * The address as an unsigned 32-bit integer, or undefined when it is not a strict dotted quad.
 * Leading zeros are refused: `010.0.0.1` is octal to some tools and decimal to others.
 */
export function parseIPv4(text: string): number | undefined {
  const match = DOTTED_QUAD.exec(text)
  if (!match) return undefined
  let value = 0
  for (const part of match.slice(1)) {
    if (part.length > 1 && part.startsWith('0')) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    value = value * 256 + octet
  }
  return value
}

export function isIPv4(text: string): boolean {
  return parseIPv4(text) !== undefined
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.')
}

/** An IPv4 network: its first address, prefix length and size. */
export interface IPv4Network {
  /** Network address as an integer. */
  base: number
  prefixLength: number
  /** Number of addresses, network and broadcast included. */
  size: number
}

export function networkOf(base: number, prefixLength: number): IPv4Network {
  return {base, prefixLength, size: 2 ** (32 - prefixLength)}
}

/** The network address of `address` under `prefixLength` (host bits cleared). */
export function maskAddress(address: number, prefixLength: number): number {
  const size = 2 ** (32 - prefixLength)
  return Math.floor(address / size) * size
}

export function broadcastOf(network: IPv4Network): number {
  return network.base + network.size - 1
}

export function contains(network: IPv4Network, address: number): boolean {
  return address >= network.base && address <= broadcastOf(network)
}

export function formatNetwork(network: IPv4Network): string {
  return `${formatIPv4(network.base)}/${network.prefixLength}`
}

/**
 * The IPv4 address that `text` names: a dotted quad, or an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * which reaches the same host); undefined for anything else (host names, other IPv6 addresses).
 */
export function ipv4Of(text: string): number | undefined {
  const mapped = /^::ffff:(\d.*)$/i.exec(text)
  return parseIPv4(mapped?.[1] ?? text)
}

/** `a.b.c.d/len` with host bits clear, as the Fleet model holds its cidr; undefined otherwise. */
export function parseNetwork(text: string): IPv4Network | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text)
  const base = match?.[1] === undefined ? undefined : parseIPv4(match[1])
  const prefixLength = Number(match?.[2])
  if (base === undefined || prefixLength > 32 || maskAddress(base, prefixLength) !== base) return undefined
  return networkOf(base, prefixLength)
}

/**
 * Whether `text` is an IPv4 address (or IPv4-mapped IPv6) inside `network`: the one answer to "does this
 * real address fall inside the overlay?", for the inventory's hosts and the addresses a host reports.
 */
export function isInsideNetwork(network: IPv4Network, text: string): boolean {
  const address = ipv4Of(text)
  return address !== undefined && contains(network, address)
}
