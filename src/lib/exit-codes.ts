/**
 * Exit codes, derived here and nowhere else. Every command's result reduces to an Outcome; errors carry
 * their code (user errors 2 before anything connected, everything else 1).
 *
 *   0  success / healthy
 *   1  an operation failed on some node, the fleet is unhealthy, or another run holds the lock
 *   2  invalid usage or inventory (and then no SSH connection was opened)
 */
export const EXIT = {ok: 0, failed: 1, usage: 2} as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** What a command's result says overall: converge results, fleet health and doctor verdicts all map here. */
export type Outcome = 'ok' | 'partial' | 'failed'

export function exitCodeOf(outcome: Outcome): ExitCode {
  return outcome === 'ok' ? EXIT.ok : EXIT.failed
}
