/** Shared helpers for the inventory tests. */
import {expect} from 'vitest'
import {InventoryError, InventoryErrors} from '../../../src/lib/errors.js'
import {parseInventory} from '../../../src/inventory/index.js'

export const FILE = '/srv/fleet/inventory.ini'

/** A minimal valid inventory: tests append to it or replace a line of it. */
export const BASE = `[network]
cidr = 10.0.0.0/24

[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true

[node-b]
host = 203.0.113.2
address = 10.0.0.2
`

/** 1-based number of the first line of `text` that contains `fragment`. */
export function lineOf(text: string, fragment: string): number {
  const index = text.split(/\r\n|\r|\n/).findIndex((line) => line.includes(fragment))
  if (index < 0) throw new Error(`test bug: ${JSON.stringify(fragment)} is not in the inventory`)
  return index + 1
}

/** The errors parseInventory throws for `text`, checking they come as InventoryErrors with exit code 2. */
export function errorsOf(text: string, file = FILE): InventoryError[] {
  try {
    parseInventory(text, file)
  } catch (error) {
    expect(error).toBeInstanceOf(InventoryErrors)
    const errors = (error as InventoryErrors).errors
    expect((error as InventoryErrors).exitCode).toBe(2)
    for (const e of errors) {
      expect(e).toBeInstanceOf(InventoryError)
      expect(e.exitCode).toBe(2)
      expect(e.hint, `every problem has a hint: ${e.message}`).toBeTruthy()
    }
    return errors
  }
  throw new Error('expected the inventory to be refused, but it parsed')
}

export interface ExpectedProblem {
  /** 1-based line, or 0 for the file as a whole. */
  line: number
  section?: string
  key?: string
  message: RegExp
  hint?: RegExp
}

/**
 * Asserts that one of `errors` is the expected problem, and that its text (what the user reads) names
 * the file and line, and the section and key.
 */
export function expectProblem(errors: InventoryError[], expected: ExpectedProblem, file = FILE): InventoryError {
  const found = errors.find((e) => e.location.line === expected.line && e.location.key === expected.key && expected.message.test(e.message))
  expect(found, `no problem like ${JSON.stringify({...expected, message: String(expected.message)})} in:\n${errors.map((e) => e.message).join('\n')}`).toBeDefined()
  const problem = found as InventoryError
  expect(problem.location.file).toBe(file)
  if (expected.section !== undefined) expect(problem.location.section).toBe(expected.section)
  const where = expected.line > 0 ? `${file}:${expected.line}: ` : `${file}: `
  expect(problem.message.startsWith(where), problem.message).toBe(true)
  if (expected.section !== undefined) expect(problem.message).toContain(`[${expected.section}]`)
  if (expected.key !== undefined) expect(problem.message.slice(where.length)).toMatch(new RegExp(`^(\\[[^\\]]*\\] )?${expected.key}: `))
  if (expected.hint) expect(problem.hint).toMatch(expected.hint)
  return problem
}
