/**
 * Groups and the [acl] rules: who may peer with whom (pure). A node lists its groups (`groups = web, db`);
 * [acl] has lines `GROUP = GROUP, ...`, read both ways: a pair of nodes peers when a group of one lists a
 * group of the other. No [acl]: every pair may peer (a full mesh, as without groups).
 *
 * The one answer to "may these two peer?" (`aclAllows`): the inventory's checks and the topology ask it.
 */
import type {AclRules} from './model.js'
import type {Problems} from './problems.js'
import type {RawSection} from './raw.js'
import {checkGroups, isLabel, show} from './values.js'

export type {AclRules}

export interface AclRead {
  rules: AclRules
  /** Line of each group where [acl] names it (as a key or in a list), for problems about it. */
  lines: ReadonlyMap<string, number>
  /** Line of the [acl] header. */
  line: number
}

export function readAcl(section: RawSection, problems: Problems): AclRead {
  const rules = new Map<string, Set<string>>()
  const lines = new Map<string, number>()
  const add = (a: string, b: string) => {
    if (!rules.has(a)) rules.set(a, new Set())
    rules.get(a)!.add(b)
  }
  for (const entry of section.entries.values()) {
    const where = {line: entry.line, section: section.name, key: entry.key}
    if (!isLabel(entry.key)) {
      problems.add(where, `${show(entry.key)} is not a group name`, 'a group is a name of lowercase letters, digits and "-", as in a node\'s `groups = web, db`')
      continue
    }
    if (entry.value === '') {
      problems.add(where, `\`${entry.key}\` has no value`, `list the groups \`${entry.key}\` peers with, e.g. ${entry.key} = db, ops`)
      continue
    }
    const groups = checkGroups(entry.value)
    if (!groups.ok) {
      problems.add(where, groups.message, groups.hint)
      continue
    }
    if (!lines.has(entry.key)) lines.set(entry.key, entry.line)
    for (const group of groups.value) {
      if (!lines.has(group)) lines.set(group, entry.line)
      add(entry.key, group)
      add(group, entry.key)
    }
  }
  return {rules, lines, line: section.line}
}

/** Whether two nodes with these groups may peer. `rules` undefined: no [acl], every pair may. */
export function aclAllows(rules: AclRules | undefined, a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (rules === undefined) return true
  if (!a || !b) return false
  return a.some((group) => {
    const peers = rules.get(group)
    return peers !== undefined && b.some((other) => peers.has(other))
  })
}
