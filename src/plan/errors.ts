/**
 * A broken planner invariant. Deliberately not a WgfleetError: reaching the top level it is reported as
 * a bug, because no inventory can cause it.
 */
export class PlanInvariantError extends Error {
  constructor(message: string) {
    super(`planner invariant violated (this is a bug): ${message}`)
    this.name = 'PlanInvariantError'
  }
}
