/**
 * Renderers of doctor findings: a table for people (node, severity, check, message, fix — the long
 * columns wrapped to fit a width), and the --json document (docs/design.md §1 shape, plus counts). Both are
 * deterministic: findings in the order the model gives (plan order, errors first).
 */
import {Chalk} from 'chalk'

import type {Finding} from '../judges/doctor/index.js'
import {escapeInvisible} from '../lib/errors.js'

export type DoctorFormat = 'table' | 'json'

export interface DoctorRenderOptions {
  /** Colour the severity column (only on a TTY, without NO_COLOR: the command decides). */
  color?: boolean
  /** Total width the table is wrapped to (a terminal's columns; default 160). */
  width?: number
}

const DEFAULT_WIDTH = 160
const MIN_WRAP = 46

export const DOCTOR_COLUMNS = ['node', 'severity', 'check', 'message', 'fix'] as const

export function renderDoctor(findings: readonly Finding[], format: DoctorFormat, options: DoctorRenderOptions = {}): string {
  return format === 'json' ? JSON.stringify(doctorToJson(findings), null, 2) + '\n' : renderDoctorTable(findings, options)
}

export function doctorToJson(findings: readonly Finding[]) {
  const {errors, warnings} = count(findings)
  return {
    healthy: errors === 0,
    errors,
    warnings,
    findings: findings.map((f) => ({
      node: f.node,
      severity: f.severity,
      check: f.check,
      message: f.message,
      fix: f.fix,
      ...(f.peer === undefined ? {} : {peer: f.peer}),
    })),
  }
}

export function renderDoctorTable(findings: readonly Finding[], options: DoctorRenderOptions = {}): string {
  if (findings.length === 0) return 'no problems found\n'
  const chalk = new Chalk({level: options.color ? 1 : 0})
  const gap = 2
  // A loop, not Math.max(...findings): a spread of half a million findings overflows the stack.
  const fixed: number[] = [0, 1, 2].map((i) => DOCTOR_COLUMNS[i]!.length)
  for (const f of findings) {
    const cells = [f.node, f.severity, f.check]
    for (let i = 0; i < 3; i++) fixed[i] = Math.max(fixed[i]!, cells[i]!.length)
  }
  // What is left goes to message and fix (55:45), neither narrower than a public key (44) and a bit.
  const room = (options.width ?? DEFAULT_WIDTH) - fixed.reduce((a, b) => a + b, 0) - gap * 4
  const messageWidth = Math.max(MIN_WRAP, Math.min(Math.floor(room * 0.55), room - MIN_WRAP))
  const fixWidth = Math.max(MIN_WRAP, room - messageWidth)
  const widths = [...fixed, messageWidth, fixWidth]

  const line = (cells: readonly string[], severity?: Finding['severity']) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)
        // Pad on plain text, colour afterwards: escape codes must not count towards the width.
        if (i === 1 && severity && cell !== '') return severity === 'error' ? chalk.red(padded) : chalk.yellow(padded)
        return padded
      })
      .join(' '.repeat(gap))
      .trimEnd()

  const out = [line(DOCTOR_COLUMNS)]
  for (const f of findings) {
    const [node, severity, check, message, fix] = cellsOf(f)
    const messageLines = wrap(message!, messageWidth)
    const fixLines = wrap(fix!, fixWidth)
    const rows = Math.max(messageLines.length, fixLines.length)
    for (let r = 0; r < rows; r++) {
      const first = r === 0
      out.push(line([first ? node! : '', first ? severity! : '', first ? check! : '', messageLines[r] ?? '', fixLines[r] ?? ''], first ? f.severity : undefined))
    }
  }
  const {errors, warnings} = count(findings)
  const summary = `${errors} ${errors === 1 ? 'error' : 'errors'}, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`
  out.push('', errors > 0 ? chalk.red(summary) : chalk.yellow(summary))
  return out.join('\n') + '\n'
}

function cellsOf(f: Finding): string[] {
  // Messages quote what hosts said (wg's errors, names): never raw to a terminal.
  return [f.node, f.severity, f.check, escapeInvisible(f.message), escapeInvisible(f.fix)]
}

function count(findings: readonly Finding[]) {
  const errors = findings.filter((f) => f.severity === 'error').length
  return {errors, warnings: findings.length - errors}
}

/** Word wrap at spaces; a word longer than the width (a key, a command) is cut hard. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let current = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let w = word
    if (current === '' ? w.length <= width : current.length + 1 + w.length <= width) {
      current = current === '' ? w : `${current} ${w}`
      continue
    }
    if (current !== '') lines.push(current)
    while (w.length > width) {
      lines.push(w.slice(0, width))
      w = w.slice(width)
    }
    current = w
  }
  if (current !== '' || lines.length === 0) lines.push(current)
  return lines
}
