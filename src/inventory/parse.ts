/**
 * parseInventory: text → validated Fleet, or InventoryErrors listing every problem found.
 * validateNewNode: the same rules for one new node given as values (add-node's flags).
 */
import {dirname, resolve} from 'node:path'
import {parse as parseIni} from 'ini'
import {checkClients, type ClientDraft, isClientSection, readClient, toClientSpec} from './clients.js'
import {checkFleet} from './fleet-checks.js'
import {readAcl} from './acl.js'
import {ACL_SECTION, NETWORK_SECTION, type NodeKey, RESERVED_SECTIONS, SSH_SECTION} from './keys.js'
import type {ClientSpec, Fleet, NodeSpec} from './model.js'
import {Problems} from './problems.js'
import {type RawDocument, type RawEntry, type RawSection, scanInventory, stripBom} from './raw.js'
import {type NetworkRead, type NodeDraft, readNetwork, readNode, readSshDefaults} from './sections.js'
import {checkCidr, checkCidr6, checkNodeName, show} from './values.js'
import {subnetOf, subnetTexts} from './subnets.js'

/**
 * Parses and validates an inventory. `file` is the inventory's path: it names the file in messages, and
 * relative paths in the inventory resolve against its folder. Throws InventoryErrors (exit code 2).
 */
export function parseInventory(text: string, file: string): Fleet {
  const absoluteFile = resolve(file)
  const inventoryDir = dirname(absoluteFile)
  const problems = new Problems(absoluteFile)
  const body = stripBom(text)
  const raw = scanInventory(body, problems)
  if (!raw.hasContent) {
    problems.add({line: 0}, 'the inventory is empty', 'start from inventory.example.ini: a [network] section with cidr, then one [section] per server')
    problems.throwIfAny()
  }

  const sectionNamed = (name: string) => raw.sections.find((s) => s.name === name)
  const network = readNetwork(sectionNamed(NETWORK_SECTION), problems)
  const ssh = readSshDefaults(sectionNamed(SSH_SECTION), inventoryDir, problems)
  const memberSections = raw.sections.filter((s) => !RESERVED_SECTIONS.includes(s.name))
  memberSections.forEach((section) => checkSectionName(section, problems))
  const nodeSections = memberSections.filter((s) => !isClientSection(s))
  if (nodeSections.length === 0) {
    problems.add({line: 0}, 'there are no nodes', 'add one section per server, e.g.\n    [node-a]\n    host = 203.0.113.1\n    address = 10.0.0.1')
  }
  const nodes = nodeSections.map((section) => readNode(section, {network, ssh, inventoryDir}, problems))
  const clients = memberSections.filter(isClientSection).map((section) => readClient(section, network, problems))
  const aclSection = sectionNamed(ACL_SECTION)
  const acl = aclSection ? readAcl(aclSection, problems) : undefined
  checkFleet(nodes, {topology: network.settings.topology, topologyLine: network.lineOf('topology'), acl}, problems)
  checkClients(clients, nodes, problems)
  if (problems.count === 0) crossCheckWithIni(body, raw, problems)
  problems.throwIfAny()

  return {
    file: absoluteFile,
    dir: inventoryDir,
    network: network.settings,
    ssh,
    nodes: nodes.map(toNodeSpec),
    ...(acl ? {acl: acl.rules} : {}),
    ...(clients.length > 0 ? {clients: clients.map(toClientSpec)} : {}),
  }
}

function checkSectionName(section: RawSection, problems: Problems): void {
  const where = {line: section.line, section: section.name}
  const reserved = RESERVED_SECTIONS.find((r) => r === section.name.toLowerCase())
  if (reserved) {
    problems.add(where, `[${section.name}] is not a node name`, `section names are case-sensitive: write [${reserved}]`)
    return
  }
  const name = checkNodeName(section.name)
  if (!name.ok) problems.add(where, name.message, name.hint)
}

/**
 * The `ini` package is the parser of record: once the line scan and every check accepted the file, each
 * section and value must read the same through it. A difference is a line the two read differently, which
 * the checks above missed: refuse it rather than act on a value the user did not mean. (Run only on an
 * otherwise valid file, where a difference is news rather than an echo of a reported problem.)
 */
export function crossCheckWithIni(body: string, raw: RawDocument, problems: Problems): void {
  let decoded: Record<string, unknown>
  try {
    decoded = parseIni(body)
  } catch (error) {
    problems.add({line: 0}, `the INI parser failed: ${(error as Error).message}`)
    return
  }
  for (const section of raw.sections) {
    const parsed = decoded[section.name]
    if (typeof parsed !== 'object' || parsed === null) {
      problems.add({line: section.line, section: section.name}, 'the INI parser does not read this section', 'check the header line: a section header is [name] alone on its line')
      continue
    }
    for (const entry of section.entries.values()) {
      checkSameValue(entry, section, (parsed as Record<string, unknown>)[entry.key], problems)
    }
  }
}

function checkSameValue(entry: RawEntry, section: RawSection, parsed: unknown, problems: Problems): void {
  // ini turns true/false/null into JSON values; everything else stays a string.
  const scalar = parsed === null || (parsed !== undefined && typeof parsed !== 'object')
  if (scalar && String(parsed) === entry.value) return
  problems.add(
    {line: entry.line, section: section.name, key: entry.key},
    `the INI parser reads this value as ${parsed === undefined ? 'missing' : show(String(parsed))}, not ${show(entry.value)}`,
    'write the value plainly: no quotes, backslashes, ; or #',
  )
}

function toNodeSpec(draft: NodeDraft): NodeSpec {
  // Only called when no problem was reported, so host and address are there.
  const spec: NodeSpec = {
    name: draft.name,
    line: draft.line,
    host: draft.host as string,
    address: draft.address as string,
    ...(draft.address6 === undefined ? {} : {address6: draft.address6}),
    port: draft.port,
    nat: draft.nat,
    relay: draft.relay,
    ssh: draft.ssh,
  }
  if (draft.underlay !== undefined) spec.underlay = draft.underlay
  if (!draft.nat) {
    spec.endpointHost = draft.endpoint?.host ?? spec.host
    spec.endpointPort = draft.endpoint?.port ?? draft.port
    spec.endpointFromHost = draft.endpoint === undefined
  }
  if (draft.jump) spec.jump = draft.jump
  if (draft.exitVia !== undefined) spec.exitVia = draft.exitVia
  if (draft.dns !== undefined) spec.dns = draft.dns
  if (draft.groups !== undefined) spec.groups = draft.groups
  if (draft.subnets !== undefined) {
    spec.subnets = subnetTexts(draft.subnets)
    spec.subnetSnat = draft.subnetSnat ?? true
  }
  return spec
}

function toNodeDraft(spec: NodeSpec): NodeDraft {
  return {
    name: spec.name,
    line: spec.line,
    keyLines: new Map(),
    host: spec.host,
    address: spec.address,
    address6: spec.address6,
    endpoint: spec.endpointHost === undefined ? undefined : {host: spec.endpointHost, port: spec.endpointPort},
    port: spec.port,
    nat: spec.nat,
    relay: spec.relay,
    underlay: spec.underlay,
    ssh: spec.ssh,
    jump: spec.jump,
    exitVia: spec.exitVia,
    dns: spec.dns,
    groups: spec.groups,
    subnets: spec.subnets?.flatMap((text) => subnetOf(text) ?? []),
    subnetSnat: spec.subnets === undefined ? undefined : spec.subnetSnat,
  }
}

/** Values of a node's keys as given on a command line: booleans and numbers are written as in the file. */
export type NodeValues = Partial<Record<NodeKey, string | number | boolean>>

export interface ValidateNewNodeOptions {
  /** What to name as the file in messages (default: the inventory file). */
  origin?: string
}

/**
 * Validates a node that is not in the inventory yet (add-node) with exactly the rules of parseInventory,
 * including those against the existing nodes (unique name and address, jump, exit_via, relays).
 * Problems are reported at line 0, naming the key. Throws InventoryErrors (exit code 2).
 */
export function validateNewNode(fleet: Fleet, name: string, values: NodeValues, options: ValidateNewNodeOptions = {}): NodeSpec {
  const problems = new Problems(options.origin ?? fleet.file)
  const section = sectionFromValues(name, values)
  const existing = fleet.nodes.find((n) => n.name === name)
  const client = fleet.clients?.find((c) => c.name === name)
  if (existing) {
    problems.add({line: 0, section: name}, `a node named ${name} already exists (line ${existing.line})`, 'choose another name, or remove the existing node first')
  } else if (client) {
    problems.add({line: 0, section: name}, `a client named ${name} already exists (line ${client.line})`, 'choose another name')
  } else {
    checkSectionName(section, problems)
  }
  const network = networkReadOf(fleet)
  const node = readNode(section, {network, ssh: fleet.ssh, inventoryDir: fleet.dir}, problems)
  const nodes = [...fleet.nodes.map(toNodeDraft), node]
  // The rules as parsed (their lines are not known here: problems about them name line 0).
  const acl = fleet.acl ? {rules: fleet.acl, lines: new Map<string, number>(), line: 0} : undefined
  checkFleet(nodes, {topology: fleet.network.topology, topologyLine: 0, acl}, problems)
  checkClients((fleet.clients ?? []).map(toClientDraft), nodes, problems)
  problems.throwIfAny()
  return toNodeSpec(node)
}

/** Values of a client's keys as `client add` writes them. */
export type ClientValues = {public_key: string; address: string; via: string; full_tunnel?: true}

/**
 * Validates a client that is not in the inventory yet (`client add`) with exactly the rules of
 * parseInventory (name, key, address, via against the nodes and the other clients). Problems name line 0
 * and the key. Throws InventoryErrors (exit code 2).
 */
export function validateNewClient(fleet: Fleet, name: string, values: ClientValues, options: ValidateNewNodeOptions = {}): ClientSpec {
  const problems = new Problems(options.origin ?? fleet.file)
  const section = sectionFromValues(name, {client: true, ...values})
  const existing = fleet.clients?.find((c) => c.name === name)
  if (existing) problems.add({line: 0, section: name}, `a client named ${name} already exists (line ${existing.line})`, `choose another name, or \`wgfleet client remove ${name}\` first`)
  else checkSectionName(section, problems)
  const client = readClient(section, networkReadOf(fleet), problems)
  checkClients([...(fleet.clients ?? []).map(toClientDraft), client], fleet.nodes.map(toNodeDraft), problems)
  problems.throwIfAny()
  return toClientSpec(client)
}

function toClientDraft(spec: ClientSpec): ClientDraft {
  return {name: spec.name, line: spec.line, keyLines: new Map(), publicKey: spec.publicKey, address: spec.address, via: spec.via, fullTunnel: spec.fullTunnel}
}

function sectionFromValues(name: string, values: Record<string, string | number | boolean | undefined>): RawSection {
  const entries = new Map<string, RawEntry>()
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue
    entries.set(key, {key, value: String(value), line: 0, invalid: false})
  }
  return {name, line: 0, entries, invalid: false}
}

function networkReadOf(fleet: Fleet): NetworkRead {
  const cidr = checkCidr(fleet.network.cidr)
  const cidr6 = fleet.network.cidr6 === undefined ? undefined : checkCidr6(fleet.network.cidr6)
  return {settings: fleet.network, network: cidr.ok ? cidr.value : undefined, network6: cidr6?.ok ? cidr6.value : undefined, cidr6Written: cidr6 !== undefined, lineOf: () => 0}
}
