/**
 * Groups and [acl] in the inventory: read both ways (symmetric), and refused strictly — exit 2, naming the
 * line and key — when a group name is bad, listed twice, named by [acl] but no node's (a typo that would
 * silently cut nodes off), when a node could peer with no one, when two NAT-ed nodes that may peer have
 * no relay, and with topology = hub.
 */
import {describe, expect, it} from 'vitest'

import {parseInventory} from '../../../src/inventory/index.js'
import {ACL_INVENTORY} from '../../fixtures/acl-fleet.js'
import {errorsOf, expectProblem, FILE, lineOf} from './helpers.js'

describe('groups and [acl]', () => {
  it('reads each node\'s groups and the rules both ways', () => {
    const fleet = parseInventory(ACL_INVENTORY, FILE)
    expect(fleet.nodes.map((n) => n.groups)).toEqual([['ops'], ['web'], ['db'], ['web']])
    expect(Object.fromEntries([...fleet.acl!].map(([g, peers]) => [g, [...peers].sort()]))).toEqual({web: ['db', 'ops'], db: ['ops', 'web'], ops: ['db', 'web']})
  })

  it('a relay may have no group of its own: it peers with the nodes it relays for', () => {
    expect(() => parseInventory(ACL_INVENTORY.replace('groups = ops\n', '').replace('ops = web, db\n', ''), FILE)).not.toThrow()
  })

  it('[acl] lines take end-of-line comments like every other line', () => {
    const fleet = parseInventory(ACL_INVENTORY.replace('web = db\n', 'web = db          ; web and db nodes peer\n'), FILE)
    expect([...fleet.acl!.get('web')!].sort()).toEqual(['db', 'ops'])
  })

  it('no [acl]: no rules (a full mesh), groups or not', () => {
    const text = ACL_INVENTORY.slice(0, ACL_INVENTORY.indexOf('[acl]'))
    expect(parseInventory(text, FILE).acl).toBeUndefined()
  })

  it('two NAT-ed nodes that may not peer need no relay', () => {
    const text = ACL_INVENTORY.replace('relay = true\n', '').replace('web = db\n', '').replace('ops = web, db', 'ops = web, db\nweb = web')
    // node-c (db) and node-d (web) may not peer: no relay needed.
    expect(() => parseInventory(text, FILE)).not.toThrow()
  })

  const refused: Array<[string, string, string, string | undefined, RegExp, RegExp?]> = [
    ['a group name that is no label', ACL_INVENTORY.replace('groups = web\n', 'groups = Web_1\n'), 'groups = Web_1', 'groups', /`Web_1` is not a group name/],
    ['an empty entry in groups', ACL_INVENTORY.replace('groups = db\n', 'groups = db,\n'), 'groups = db,', 'groups', /empty entry/],
    ['a group listed twice', ACL_INVENTORY.replace('groups = db\n', 'groups = db, db\n'), 'groups = db, db', 'groups', /listed twice/],
    ['a shell character in groups', ACL_INVENTORY.replace('groups = db\n', 'groups = db$(id)\n'), 'groups = db$(id)', 'groups', /not a group name/],
    ['an [acl] key that is no group name', ACL_INVENTORY.replace('web = db\n', 'Web = db\n'), 'Web = db', 'Web', /not a group name/],
    ['an [acl] line without groups', ACL_INVENTORY.replace('web = db\n', 'web =\n'), 'web =', 'web', /has no value/],
    ['an [acl] group that is no node\'s (a typo)', ACL_INVENTORY.replace('web = db\n', 'web = dbs\n'), 'web = dbs', 'dbs', /`dbs` is no node's group/, /did you mean `db`/],
    ['a node that may peer with no one', ACL_INVENTORY.replace('groups = db\n', 'groups = admin\n').replace('ops = web, db', 'ops = web, db, admin').replace('ops = web, db, admin', 'ops = web'), 'groups = admin', 'groups', /\[node-c\] may peer with no node under \[acl\]/],
    ['a node without groups under [acl]', ACL_INVENTORY.replace('groups = web\n', ''), '[node-b]', 'groups', /\[node-b\] may peer with no node.*no `groups`/],
    ['two NAT-ed nodes that may peer, and no relay', ACL_INVENTORY.replace('relay = true\n', ''), 'nat = true', 'nat', /behind NAT and no public node has relay = true/],
    ['[acl] with topology = hub', ACL_INVENTORY.replace('cidr = 10.0.0.0/24\n', 'cidr = 10.0.0.0/24\ntopology = hub\n'), '[acl]', undefined, /\[acl\] is not supported with topology = hub/],
    ['a duplicate [acl] line', ACL_INVENTORY.replace('web = db\n', 'web = db\nweb = ops\n'), 'web = ops', 'web', /duplicate|twice|already/i],
  ]

  it.each(refused)('refuses %s: exit 2 with its line and key', (_name, text, at, key, message, hint) => {
    const line = at === 'nat = true' ? text.split('\n').lastIndexOf('nat = true') + 1 : lineOf(text, at)
    expectProblem(errorsOf(text), {line, section: at.startsWith('[') && at !== '[acl]' ? 'node-b' : undefined, key, message, ...(hint ? {hint} : {})})
  })

  it('add-node validation: the new node\'s groups are checked by the same rules', async () => {
    const {validateNewNode} = await import('../../../src/inventory/index.js')
    const fleet = parseInventory(ACL_INVENTORY, FILE)
    expect(validateNewNode(fleet, 'node-e', {host: '203.0.113.5', address: '10.0.0.5', groups: 'db'}).groups).toEqual(['db'])
    expect(() => validateNewNode(fleet, 'node-e', {host: '203.0.113.5', address: '10.0.0.5'})).toThrow(/may peer with no node/)
  })
})
