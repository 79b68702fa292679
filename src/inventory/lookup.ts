/** A node named on the command line (an argument or --node): the node, or a usage error (exit 2) that lists some names. */
import {UsageError} from '../lib/errors.js'
import type {Fleet, NodeSpec} from './model.js'

export function nodeNamed(fleet: Fleet, name: string, what = name): NodeSpec {
  const node = fleet.nodes.find((n) => n.name === name)
  if (node) return node
  const some = fleet.nodes.slice(0, 10).map((n) => n.name).join(', ')
  throw new UsageError(`${what}: no node named ${name} in ${fleet.file}`, `nodes: ${some}${fleet.nodes.length > 10 ? `, … (${fleet.nodes.length} in all)` : ''}`)
}
