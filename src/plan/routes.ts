/** AllowedIPs ranges the planner and the client planner both write. */

/** The full-tunnel route every exit peer carries. */
export const DEFAULT_ROUTE = '0.0.0.0/0'

export function hostRoute(address: string): string {
  return `${address}/32`
}
