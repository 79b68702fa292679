/**
 * loadInventory: the file cannot be read, or is empty → InventoryErrors with exit code 2 and a hint.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {describeReadError, loadInventory} from '../../../src/inventory/index.js'
import {InventoryErrors} from '../../../src/lib/errors.js'
import {BASE} from './helpers.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wgfleet-inventory-'))
})

afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** The single problem loadInventory reports for `path`. */
async function loadProblem(path: string) {
  const error = await loadInventory(path).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InventoryErrors)
  const errors = (error as InventoryErrors).errors
  expect((error as InventoryErrors).exitCode).toBe(2)
  expect(errors).toHaveLength(1)
  expect(errors[0]!.exitCode).toBe(2)
  expect(errors[0]!.hint).toBeTruthy()
  return errors[0]
}

describe('loadInventory', () => {
  it('loads a valid file, naming it by its absolute path', async () => {
    const file = join(dir, 'inventory.ini')
    await writeFile(file, BASE)
    const fleet = await loadInventory(file)
    expect(fleet.file).toBe(file)
    expect(fleet.dir).toBe(dir)
    expect(fleet.nodes).toHaveLength(2)
  })

  it('refuses a missing file', async () => {
    const file = join(dir, 'nope.ini')
    const problem = await loadProblem(file)
    expect(problem!.message).toBe(`${file}: no such file`)
    expect(problem!.hint).toMatch(/inventory\.example\.ini/)
    expect(problem!.hint).toMatch(/-i FILE/)
  })

  it('refuses a directory', async () => {
    const problem = await loadProblem(dir)
    expect(problem!.message).toBe(`${dir}: is a directory, not an inventory file`)
  })

  it('describes a permission error (also when running as root, which may read anything)', () => {
    const error = Object.assign(new Error('EACCES: permission denied'), {code: 'EACCES'})
    const problem = describeReadError(error, '/etc/wgfleet/inventory.ini')
    expect(problem.message).toBe('/etc/wgfleet/inventory.ini: cannot be read: permission denied')
    expect(problem.exitCode).toBe(2)
    expect(problem.hint).toMatch(/permissions/)
  })

  it.each([
    ['empty', ''],
    ['blank lines', '\n  \n'],
    ['only comments', '; to do\n'],
  ])('refuses an %s file', async (_name, content) => {
    const file = join(dir, 'empty.ini')
    await writeFile(file, content)
    const problem = await loadProblem(file)
    expect(problem!.message).toBe(`${file}: the inventory is empty`)
    expect(problem!.location.line).toBe(0)
  })

  it('refuses a file that is not UTF-8', async () => {
    const file = join(dir, 'latin1.ini')
    await writeFile(file, Buffer.from([0x5b, 0x6e, 0xe9, 0x74, 0x5d, 0x0a]))
    const problem = await loadProblem(file)
    expect(problem!.message).toBe(`${file}: the inventory is not UTF-8 text`)
  })

  it('reports validation problems of a file it could read', async () => {
    const file = join(dir, 'broken.ini')
    await writeFile(file, BASE.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/33'))
    const problem = await loadProblem(file)
    expect(problem!.message).toMatch(new RegExp(`^${file}:2: \\[network\\] cidr: `))
  })
})
