/**
 * What add-node reuses: validateNewNode (same rules as the file), nextFreeAddress, renderNodeSection,
 * appendNodeSection (appends, changes no byte already there).
 */
import {describe, expect, it} from 'vitest'
import {
  appendNodeSection,
  nextFreeAddress,
  type NodeValues,
  parseInventory,
  renderNodeSection,
  validateNewNode,
} from '../../../src/inventory/index.js'
import {InventoryError, InventoryErrors} from '../../../src/lib/errors.js'
import {BASE, FILE} from './helpers.js'

const fleet = parseInventory(BASE, FILE)

/** The problems validateNewNode reports, checked to be exit code 2 at line 0 of the inventory. */
function newNodeProblems(name: string, values: NodeValues): InventoryError[] {
  try {
    validateNewNode(fleet, name, values)
  } catch (error) {
    expect(error).toBeInstanceOf(InventoryErrors)
    expect((error as InventoryErrors).exitCode).toBe(2)
    return (error as InventoryErrors).errors
  }
  throw new Error('expected the new node to be refused')
}

describe('validateNewNode', () => {
  it('returns the NodeSpec the file would give', () => {
    const node = validateNewNode(fleet, 'node-c', {host: '198.51.100.3', address: '10.0.0.3', nat: true, ssh_port: 2222})
    expect(node).toStrictEqual({
      name: 'node-c',
      line: 0,
      host: '198.51.100.3',
      address: '10.0.0.3',
      port: 51820,
      nat: true,
      relay: false,
      ssh: {port: 2222},
    })
  })

  it.each<[string, string, NodeValues, string, RegExp]>([
    ['a taken name', 'node-a', {host: '198.51.100.3', address: '10.0.0.3'}, 'node-a', /a node named node-a already exists \(line 4\)/],
    ['a bad name', 'Node C', {host: '198.51.100.3', address: '10.0.0.3'}, 'Node C', /is not a valid node name/],
    ['a reserved name', 'network', {host: '198.51.100.3', address: '10.0.0.3'}, 'network', /\[network\] is not a node name/],
  ])('refuses %s', (_why, name, values, section, message) => {
    const problem = newNodeProblems(name, values).find((e) => message.test(e.message))
    expect(problem?.location).toMatchObject({file: FILE, line: 0, section})
  })

  it.each<[string, NodeValues, string, RegExp]>([
    ['an address in use', {host: '198.51.100.3', address: '10.0.0.2'}, 'address', /10\.0\.0\.2 is already the address of \[node-b\] \(line 9\)/],
    ['an address outside cidr', {host: '198.51.100.3', address: '10.9.0.3'}, 'address', /outside the network/],
    ['a newline in host', {host: '198.51.100.3\nreboot', address: '10.0.0.3'}, 'host', /"198\.51\.100\.3\\nreboot" contains a newline/],
    ['a quote in ssh_user', {host: '198.51.100.3', address: '10.0.0.3', ssh_user: "o'neil"}, 'ssh_user', /contains a quote/],
    ['a newline in identity', {host: '198.51.100.3', address: '10.0.0.3', identity: 'id\n-oProxyCommand=x'}, 'identity', /contains a newline/],
    ['a # in identity', {host: '198.51.100.3', address: '10.0.0.3', identity: 'keys/id#1'}, 'identity', /"#", which wgfleet does not accept in a path/],
    ['a newline in jump', {host: '198.51.100.3', address: '10.0.0.3', jump: 'node-a\nx'}, 'jump', /contains a newline/],
    ['a leading - in host', {host: '-oProxyCommand=x', address: '10.0.0.3'}, 'host', /starts with "-"/],
    ['an empty value', {host: '', address: '10.0.0.3'}, 'host', /`host` has no value/],
    ['nat with endpoint', {host: '198.51.100.3', address: '10.0.0.3', nat: true, endpoint: '198.51.100.3'}, 'endpoint', /behind NAT/],
    ['a non-boolean', {host: '198.51.100.3', address: '10.0.0.3', relay: 'yes'}, 'relay', /not a boolean/],
    ['jump to an unknown node', {host: '198.51.100.3', address: '10.0.0.3', jump: 'node-z'}, 'jump', /there is no node named `node-z`/],
    ['exit_via itself', {host: '198.51.100.3', address: '10.0.0.3', exit_via: 'node-c'}, 'exit_via', /cannot be its own exit/],
    ['an unknown key', {host: '198.51.100.3', address: '10.0.0.3', adress: '10.0.0.3'} as NodeValues, 'adress', /did you mean `address`\?/],
    ['a host inside the overlay', {host: '10.0.0.50', address: '10.0.0.3'}, 'host', /10\.0\.0\.50 is inside the overlay network 10\.0\.0\.0\/24/],
    ['a jump host inside the overlay', {host: '198.51.100.3', address: '10.0.0.3', jump: '10.0.0.60'}, 'jump', /10\.0\.0\.60 is inside the overlay network/],
  ])('refuses %s', (_why, values, key, message) => {
    const problem = newNodeProblems('node-c', values).find((e) => e.location.key === key)
    expect(problem, `no problem for ${key}`).toBeDefined()
    expect(problem?.message).toMatch(message)
    expect(problem?.location).toMatchObject({file: FILE, line: 0, section: 'node-c', key})
    expect(problem?.message.startsWith(`${FILE}: [node-c] ${key}: `)).toBe(true)
  })

  it('refuses a second NAT-ed node when the only relay is gone', () => {
    const noRelay = parseInventory(BASE.replace('relay = true', 'relay = false').replace('address = 10.0.0.2', 'address = 10.0.0.2\nnat = true'), FILE)
    expect(() => validateNewNode(noRelay, 'node-c', {host: '198.51.100.3', address: '10.0.0.3', nat: true})).toThrow(
      /\[node-c\] nat: \[node-b\] and \[node-c\] are behind NAT and no public node has relay = true/,
    )
  })

  it('names another origin in messages when asked', () => {
    expect(() => validateNewNode(fleet, 'node-c', {host: 'a b', address: '10.0.0.3'}, {origin: 'add-node flags'})).toThrow(/^add-node flags: \[node-c\] host: /)
  })
})

describe('nextFreeAddress', () => {
  it('gives the lowest unused host address', () => {
    expect(nextFreeAddress(fleet)).toBe('10.0.0.3')
    const gap = parseInventory(BASE.replace('address = 10.0.0.1', 'address = 10.0.0.5'), FILE)
    expect(nextFreeAddress(gap)).toBe('10.0.0.1')
  })

  it('refuses when the network is full (exit code 2)', () => {
    const full = parseInventory(BASE.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/30'), FILE)
    let thrown: unknown
    try {
      nextFreeAddress(full)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InventoryError)
    expect((thrown as InventoryError).exitCode).toBe(2)
    expect((thrown as InventoryError).message).toBe(`${FILE}: [network] cidr: no free address left in 10.0.0.0/30`)
  })
})

describe('renderNodeSection and appendNodeSection', () => {
  const values: NodeValues = {ssh_port: 2222, nat: true, address: '10.0.0.3', host: '198.51.100.3', jump: undefined}

  it('renders keys in the usual order, leaving out unset ones', () => {
    expect(renderNodeSection('node-c', values)).toBe('[node-c]\nhost = 198.51.100.3\naddress = 10.0.0.3\nnat = true\nssh_port = 2222\n')
  })

  it('refuses values that were not validated', () => {
    expect(() => renderNodeSection('node-c', {host: 'x\n[evil]'})).toThrow(/not validated/)
    expect(() => renderNodeSection('node-c', {host: 'x ; y'})).toThrow(/not validated/)
    expect(() => renderNodeSection('Node C', {host: 'x'})).toThrow(/not validated/)
    expect(() => renderNodeSection('node-c', {['user' as 'host']: 'x'})).toThrow(/unknown key "user"/)
  })

  it.each([
    ['ends with a newline', BASE, `${BASE}\n`],
    ['ends with a blank line', `${BASE}\n`, `${BASE}\n`],
    ['has no final newline', BASE.trimEnd(), `${BASE.trimEnd()}\n\n`],
    ['uses CRLF', BASE.replace(/\n/g, '\r\n'), `${BASE.replace(/\n/g, '\r\n')}\r\n`],
  ])('appends to a file that %s, changing no byte of it', (_how, original, prefix) => {
    const section = renderNodeSection('node-c', values)
    const updated = appendNodeSection(original, section)
    expect(updated.startsWith(original)).toBe(true)
    const eol = original.includes('\r\n') ? '\r\n' : '\n'
    expect(updated).toBe(prefix + section.replace(/\n/g, eol))
    const node = parseInventory(updated, FILE).nodes[2]
    expect(node).toStrictEqual({...validateNewNode(fleet, 'node-c', values), line: node!.line})
  })
})
