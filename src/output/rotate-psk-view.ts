/** Renderers of a RotatePskReport (rotate-psk): the pairs, then the converge's table; or the --json document. */
import type {RotatePskReport} from '../services/rotate-psk.js'
import {convergeToJson, renderConvergeText} from './converge-view.js'

const PAIR_WORDS = {created: 'new preshared key on both ends', 'would-create': 'would get a new preshared key', failed: 'FAILED: no new key (see the node below)'} as const

export function renderRotatePskText(report: RotatePskReport): string {
  const out = report.pairs.map((p) => `${p.nodes[0]} <-> ${p.nodes[1]}: ${PAIR_WORDS[p.result]}`)
  if (out.length > 0) out.push('')
  out.push(renderConvergeText(report.converge).trimEnd())
  const renewed = report.pairs.filter((p) => p.result === 'created').length
  out.push('', `rotate-psk: ${report.result} — ${renewed} of ${report.pairs.length} pair${report.pairs.length === 1 ? '' : 's'} renewed`)
  return out.join('\n') + '\n'
}

export function rotatePskToJson(report: RotatePskReport) {
  return {result: report.result, pairs: report.pairs, converge: convergeToJson(report.converge)}
}
