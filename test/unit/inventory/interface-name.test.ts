import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {InventoryErrors} from '../../../src/lib/errors.js'

const inventory = (iface: string) => `[network]\ncidr = 10.0.0.0/24\ninterface = ${iface}\n\n[node-a]\nhost = 203.0.113.1\naddress = 10.0.0.1\n`

describe('interface names', () => {
  it.each(['all', 'interfaces'])('%s is refused: `wg show %s` means every interface', (name) => {
    let error: unknown
    try {
      parseInventory(inventory(name), '/srv/inventory.ini')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InventoryErrors)
    expect((error as InventoryErrors).exitCode).toBe(2)
    expect((error as InventoryErrors).message).toMatch(/^\/srv\/inventory\.ini:3: \[network\] interface: /)
  })

  it('wg1 and wg-office are fine', () => {
    expect(parseInventory(inventory('wg1'), '/srv/inventory.ini').network.interface).toBe('wg1')
    expect(parseInventory(inventory('wg-office'), '/srv/inventory.ini').network.interface).toBe('wg-office')
  })
})
