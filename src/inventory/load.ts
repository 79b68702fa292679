/**
 * Reading the inventory file. The only part of src/inventory that touches the file system.
 */
import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {InventoryError, InventoryErrors} from '../lib/errors.js'
import type {Fleet} from './model.js'
import {parseInventory} from './parse.js'

const WHERE_HINT = 'pass the inventory with -i FILE (or set WGFLEET_INVENTORY); the default is ./inventory.ini'

/** Reads the inventory's text (UTF-8). Throws InventoryErrors (exit code 2) when it cannot. */
export async function readInventoryText(path: string): Promise<string> {
  const file = resolve(path)
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    throw new InventoryErrors([describeReadError(error, file)])
  }
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    throw new InventoryErrors([new InventoryError({file, line: 0}, 'the inventory is not UTF-8 text', 'save it as UTF-8 (plain ASCII is fine)')])
  }
}

/** Reads and parses the inventory at `path`. Throws InventoryErrors (exit code 2). */
export async function loadInventory(path: string): Promise<Fleet> {
  const file = resolve(path)
  return parseInventory(await readInventoryText(file), file)
}

/** A read failure as the user should see it. */
export function describeReadError(error: unknown, file: string): InventoryError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const at = {file, line: 0}
  switch (code) {
    case 'ENOENT':
      return new InventoryError(at, 'no such file', `create it from inventory.example.ini, or ${WHERE_HINT}`)
    case 'EISDIR':
      return new InventoryError(at, 'is a directory, not an inventory file', WHERE_HINT)
    case 'EACCES':
    case 'EPERM':
      return new InventoryError(at, 'cannot be read: permission denied', 'check the file\'s permissions (ls -l), or run as a user who can read it')
    case 'ENOTDIR':
      return new InventoryError(at, 'a part of this path is not a directory', WHERE_HINT)
    default:
      return new InventoryError(at, `cannot be read: ${(error as Error | undefined)?.message ?? String(error)}`, WHERE_HINT)
  }
}
