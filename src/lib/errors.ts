/**
 * The one error family. Every error a user (or a host) can cause is a WgfleetError: it carries a hint
 * (what to fix) and the exit code it maps to. A broken internal invariant is a BugError. Anything that is
 * not a WgfleetError reaching the top level is reported as a bug.
 */
import {EXIT, type ExitCode} from './exit-codes.js'

export class WgfleetError extends Error {
  readonly exitCode: ExitCode
  readonly hint?: string

  constructor(message: string, options: {hint?: string; exitCode?: ExitCode; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = new.target.name
    this.exitCode = options.exitCode ?? EXIT.failed
    this.hint = options.hint
  }
}

/**
 * A broken internal invariant: no inventory, flag or host can cause it. Deliberately not a WgfleetError,
 * so that reaching the top level it is reported as a bug in wgfleet.
 */
export class BugError extends Error {
  constructor(message: string) {
    super(`bug in wgfleet: ${message}`)
    this.name = 'BugError'
  }
}

/** One node could not be converged or read (the others go on): what happened, and what to do. */
export class NodeFailure extends WgfleetError {
  constructor(message: string, hint?: string) {
    super(message, {hint, exitCode: EXIT.failed})
  }
}

/** Control characters, bidi overrides and zero-width characters written as \uXXXX (never raw to a terminal). */
export function escapeInvisible(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Where in an inventory file a problem is. */
export interface SourceLocation {
  file: string
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number
  section?: string
  key?: string
}

/** An invalid inventory or invalid usage: exit code 2, and no connection has been opened. */
export class InventoryError extends WgfleetError {
  readonly location: SourceLocation

  constructor(location: SourceLocation, message: string, hint?: string) {
    // Section names, keys and values come from the file: never let its control characters reach a terminal.
    super(escapeInvisible(InventoryError.format(location, message)), {hint: hint === undefined ? undefined : escapeInvisible(hint), exitCode: EXIT.usage})
    this.location = location
  }

  static format(loc: SourceLocation, message: string): string {
    const where = loc.line > 0 ? `${loc.file}:${loc.line}` : loc.file
    const what = loc.section ? (loc.key ? `[${loc.section}] ${loc.key}` : `[${loc.section}]`) : loc.key ?? ''
    return what ? `${where}: ${what}: ${message}` : `${where}: ${message}`
  }
}

/** Several inventory problems found in one pass: all are reported at once. */
export class InventoryErrors extends WgfleetError {
  readonly errors: InventoryError[]

  constructor(errors: InventoryError[]) {
    super(errors.map((e) => e.message + (e.hint ? `\n  hint: ${e.hint}` : '')).join('\n'), {exitCode: EXIT.usage})
    this.errors = errors
  }
}

/** Invalid flags or arguments: exit code 2, before any connection. */
export class UsageError extends WgfleetError {
  constructor(message: string, hint?: string) {
    super(message, {hint, exitCode: EXIT.usage})
  }
}

/** Another changing run holds the inventory's lock: exit code 1, at once. */
export class LockedError extends WgfleetError {
  constructor(message: string, hint?: string) {
    super(message, {hint, exitCode: EXIT.failed})
  }
}
