/** Renderers of a RotateReport (rotate-key): the rotations, then the converge's table; or the --json document. */
import type {RotateReport} from '../services/rotate-report.js'
import {convergeToJson, renderConvergeText} from './converge-view.js'
import {renderRotationLines, rotationsToJson} from './rotation-view.js'

export function renderRotateText(report: RotateReport): string {
  const iface = report.converge?.interface ?? 'wg0'
  const out = renderRotationLines(report.rotations, iface)
  if (report.converge) out.push('', renderConvergeText(report.converge).trimEnd())
  const rotated = report.rotations.filter((r) => r.result === 'rotated').length
  out.push('', `rotate-key: ${report.result} — ${rotated} of ${report.rotations.length} rotated`)
  return out.join('\n') + '\n'
}

export function rotateToJson(report: RotateReport) {
  const iface = report.converge?.interface ?? 'wg0'
  return {result: report.result, rotations: rotationsToJson(report.rotations, iface), ...(report.converge ? {converge: convergeToJson(report.converge)} : {})}
}
