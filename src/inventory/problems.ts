/**
 * Collects every problem found in one pass over an inventory, so that a user fixes them all in one go.
 */
import {InventoryError, InventoryErrors} from '../lib/errors.js'

export interface Where {
  /** 1-based; 0 for the file as a whole (or values that came from flags, not from a line). */
  line: number
  section?: string
  key?: string
}

export class Problems {
  private readonly errors: InventoryError[] = []

  constructor(readonly file: string) {}

  add(where: Where, message: string, hint?: string): void {
    this.errors.push(new InventoryError({file: this.file, ...where}, message, hint))
  }

  get count(): number {
    return this.errors.length
  }

  /** Throws all problems, in file order (file-wide ones first), as one InventoryErrors (exit code 2). */
  throwIfAny(): void {
    if (this.errors.length === 0) return
    const inFileOrder = [...this.errors].sort((a, b) => a.location.line - b.location.line)
    throw new InventoryErrors(inFileOrder)
  }
}
