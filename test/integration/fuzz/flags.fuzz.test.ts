/**
 * Bad input, part 2: damaged flags and arguments, for every command (issue "Bad input").
 *
 * The commands and their flags come from oclif.manifest.json (npm run build writes it), so a new command
 * (doctor, …) is covered as soon as it is built: unknown flags, flags without their value, every integer
 * flag given text, nothing, a fraction, an exponent and values just outside its range, every boolean flag
 * given a value, every string flag given '', option flags given what is not an option, bad or missing
 * inventory paths, missing and extra arguments — plus what each command takes on top (add-node's node
 * name, host, address, ports, …; remove-node's node; status's --format, --stale-after, --output).
 *
 * Each case runs the built CLI in its own folder, with a valid inventory (the lab's seed scenario) whose
 * hosts all point at a TCP listener on 127.0.0.1 that counts connection attempts, and a usable SSH key, so
 * that a flag wrongly accepted shows up as a connection. Every case must end in exit code 2 with a message
 * (on stderr, or as the JSON error on stdout with --json), no stack trace, no "internal error", no
 * connection attempt, and the inventory byte-for-byte unchanged. A control run per command proves the
 * undamaged invocation does connect (or, for plan, succeed) — so each case's failure is the damage's.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {baseInventoryText} from '../../fuzz/inventory-damage.js'
import {repoRoot} from '../cli/helpers.js'
import {CLI_JOBS, type CaseFolder, describeFailure, pool, refusalProblems, removeCaseFolders, runCounted} from './cli-harness.js'

// ---- Known defects ------------------------------------------------------------------------------------------
// Cases that fail today because of a bug in src/ (reported to the lead). They still run: a known case
// that starts passing fails the test "known defects still reproduce" — then delete it from this list.

// Defects the fuzzing found are fixed, not listed: every case must pass.
export const KNOWN_FLAG_DEFECTS: ReadonlyArray<{id: string; what: string}> = []

// ---- the commands, from the manifest ---------------------------------------------------------------------------

interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  default?: unknown
  options?: string[]
  multiple?: boolean
  allowNo?: boolean
}

interface ManifestCommand {
  id: string
  args: Record<string, {name: string; required?: boolean}>
  flags: Record<string, ManifestFlag>
  /** false: any number of arguments (ssh-config's NODE...). */
  strict?: boolean
}

const manifestFile = join(repoRoot, 'oclif.manifest.json')
if (!existsSync(manifestFile)) throw new Error(`${manifestFile} is missing: run \`npm run build\` first`)
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands: Record<string, ManifestCommand>}
const commands = Object.values(manifest.commands).sort((a, b) => a.id.localeCompare(b.id))

/** Commands that never connect: their control run must succeed instead. */
const NON_CONNECTING = new Set(['plan', 'ssh-config', 'client:list'])

/**
 * What makes each command's invocation valid (so that it would connect): its arguments and required flags.
 * A command missing here gets 'node-b' for each required argument; its control run says if that is wrong.
 */
interface ValidInvocation {
  args: string[]
  flags: Record<string, string>
  /** The inventory the command needs instead of the base one (the base text given). */
  inventory?: (base: string) => string
  /** Files the command needs beside the inventory (written before every run, damaged or not). */
  prepare?: (folder: CaseFolder) => void
}

const PHONE_KEY = 'mK2PaJ6sBcBmUqOxN7DFoMPL1fBmIdN0QGvYGpS1uHk='
/** `client add` needs its via node's key pinned (an earlier init): state pins the relay's. */
const pinRelayKey = (folder: CaseFolder) => {
  mkdirSync(join(folder.dir, '.wgfleet'), {recursive: true})
  writeFileSync(join(folder.dir, '.wgfleet', 'state.json'), JSON.stringify({version: 1, nodes: {'node-a': {publicKey: 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE='}}}))
}
const withClient = (base: string) => `${base}\n[phone]\nclient = true\npublic_key = ${PHONE_KEY}\naddress = 10.0.0.50\nvia = node-a\n`

const VALID_INVOCATION: Record<string, ValidInvocation> = {
  'add-node': {args: ['node-e'], flags: {host: '127.0.0.1'}},
  'client:add': {args: ['laptop'], flags: {}, prepare: pinRelayKey},
  'client:list': {args: [], flags: {}, inventory: withClient},
  'client:remove': {args: ['phone'], flags: {}, inventory: withClient},
  'remove-node': {args: ['node-d'], flags: {}},
  'rotate-key': {args: ['node-b'], flags: {}},
  'rotate-psk': {args: [], flags: {}, inventory: (base) => base.replace('topology = mesh\n', 'topology = mesh\npreshared_keys = true\n')},
  // Without --live, graph connects nowhere.
  graph: {args: ['--live'], flags: {}},
}

function validInvocation(command: ManifestCommand): ValidInvocation {
  return VALID_INVOCATION[command.id] ?? {args: Object.values(command.args).filter((a) => a.required).map(() => 'node-b'), flags: {}}
}

/** Ranges of the integer flags (Flags.integer min/max in src/): values just outside them must be refused. */
const INTEGER_RANGES: Record<string, [number, number]> = {
  concurrency: [1, 500],
  'connect-timeout': [1, 600],
  'verify-timeout': [0, 600],
  'stale-after': [1, 31_536_000],
}

const isInteger = (flag: ManifestFlag) => flag.type === 'option' && (typeof flag.default === 'number' || flag.name in INTEGER_RANGES)

// ---- the cases -------------------------------------------------------------------------------------------------

interface Damage {
  /** What the damage is, as the user would type it: the case id is `<command>: <label>`. */
  label: string
  /** Arguments instead of the valid ones. */
  args?: string[]
  /** Flags of the valid invocation to leave out (the damage gives them, or their absence is the damage). */
  drop?: string[]
  /** Appended after the valid invocation ({inventory} and {dir} are replaced by the case's paths). */
  extra?: string[]
  /** Leave out `-i <inventory>` (the damage is about the inventory flag itself). */
  noInventory?: boolean
  env?: Record<string, string>
  /** Do not also run it with --json (the damage is about --json). */
  noJson?: boolean
  /** The damage itself has --json: the error is expected as JSON on stdout. */
  checkAsJson?: boolean
}

interface FlagCase extends Damage {
  id: string
  command: ManifestCommand
  json: boolean
}

/**
 * Damage that is handled the same way whatever the command (oclif's parser, the inventory loader) runs on
 * one command each, in turn, rather than on all: the suite stays fast and every command still gets some.
 */
function roundRobin(command: ManifestCommand, key: string, index: number, among: readonly ManifestCommand[] = commands): boolean {
  const offset = [...key].reduce((sum, ch) => sum + ch.charCodeAt(0), 0)
  return among[(index + offset) % among.length]?.id === command.id
}

function genericDamage(command: ManifestCommand): Damage[] {
  const hasArgs = Object.keys(command.args).length > 0
  const everyCommand: Damage[] = [
    {label: '--bogus', extra: ['--bogus']},
    command.strict === false
      ? {label: 'a node that is not in the inventory', extra: ['no-such-node']}
      : hasArgs
        ? {label: 'an extra argument', extra: ['node-b']}
        : {label: 'an unexpected argument', extra: ['extra']},
    {label: '-i /nonexistent/dir/inventory.ini', noInventory: true, extra: ['-i', '/nonexistent/dir/inventory.ini']},
    {label: '-i <a folder>', noInventory: true, extra: ['-i', '{dir}']},
  ]
  const inTurn: Damage[] = [
    {label: '-i without its value', noInventory: true, extra: ['-i']},
    {label: '-Z', extra: ['-Z']},
    {label: '--bogus=1', extra: ['--bogus=1']},
    {label: "-i ''", noInventory: true, extra: ['-i', '']},
    {label: '--inventory=', noInventory: true, extra: ['--inventory=']},
    {label: 'WGFLEET_INVENTORY=/nonexistent/inventory.ini and no -i', noInventory: true, env: {WGFLEET_INVENTORY: '/nonexistent/inventory.ini'}},
    {label: '--json=yes', extra: ['--json=yes'], noJson: true},
    {label: '-i given twice', extra: ['-i', '{inventory}']},
    {label: '-- --bogus', extra: ['--', '--bogus']},
  ]
  return [...everyCommand, ...inTurn.filter((d, i) => roundRobin(command, d.label, i))]
}

/** Integer values no integer flag takes; each integer flag gets 'abc' on every command and these in turn. */
const ODD_INTEGERS = ['', '1e9', '1.5', '-1', '99999999999999999999', '0x10', '５']

function flagDamage(command: ManifestCommand): Damage[] {
  const damage: Damage[] = []
  const optionFlags = Object.values(command.flags).filter((f) => f.type === 'option' && f.name !== 'inventory')
  for (const flag of Object.values(command.flags)) {
    const name = flag.name
    if (name === 'inventory' || name === 'json') continue
    const drop = [name]
    const withValue = (value: string): Damage => ({label: `--${name} ${JSON.stringify(value)}`, extra: [`--${name}`, value], drop})
    if (flag.type === 'boolean') {
      damage.push({label: `--${name}=maybe`, extra: [`--${name}=maybe`], drop})
      continue
    }
    // Without its value: oclif's parser answers that the same way for every flag; every other flag in turn.
    if (optionFlags.indexOf(flag) % 2 === 0) damage.push({label: `--${name} without its value`, extra: [`--${name}`], drop})
    if (isInteger(flag)) {
      damage.push(withValue('abc'))
      const having = commands.filter((c) => name in c.flags)
      const range = INTEGER_RANGES[name]
      const edges = range ? [String(range[0] - 1), String(range[1] + 1)] : []
      ;[...edges, ...ODD_INTEGERS].forEach((value, i) => {
        if (roundRobin(command, name, i, having)) damage.push(withValue(value))
      })
    } else if (flag.options) {
      for (const value of ['nonsense', '', flag.options[0]!.toUpperCase()]) damage.push(withValue(value))
    } else {
      damage.push(withValue(''))
    }
    if (name === optionFlags[0]?.name) damage.push({label: `--${name} given twice`, extra: [`--${name}`, 'x', `--${name}`, 'y'], drop})
  }
  return damage
}

/** What each command takes on top, beyond the generic damage. */
const SPECIFIC_DAMAGE: Record<string, Damage[]> = {
  'add-node': [
    {label: 'no NAME and no --host', args: [], drop: ['host']},
    {label: 'no --host', drop: ['host']},
    {label: 'no NAME', args: []},
    ...['Bad_Name', 'x;reboot', '', 'n'.repeat(64), 'node-a', 'network'].map((name) => ({label: `NAME ${JSON.stringify(name)}`, args: [name]})),
    ...[
      ['host', 'a;b'],
      ['host', '-oProxyCommand=reboot'],
      ['address', '10.0.0.1'],
      ['address', '10.9.9.9'],
      ['address', '10.0.0.5/24'],
      ['port', '70000'],
      ['ssh-port', '0'],
      ['ssh-user', 'root;id'],
      ['identity', "x'y"],
      ['endpoint', 'a b'],
      ['jump', 'node-e'],
      ['exit-via', 'node-c'],
      ['exit-via', 'node-b'],
    ].map(([flag, value]) => ({label: `--${flag} ${JSON.stringify(value)}`, extra: [`--${flag}=${value}`], drop: [flag!]})),
    {label: '--nat --endpoint 127.0.0.1', extra: ['--nat', '--endpoint', '127.0.0.1']},
    {label: '--nat --relay', extra: ['--nat', '--relay']},
  ],
  'remove-node': [
    {label: 'no NAME', args: []},
    ...['node-z', 'Bad_Name', 'x;reboot', '', 'network'].map((name) => ({label: `NAME ${JSON.stringify(name)}`, args: [name]})),
    {label: 'node-c, which node-d jumps through', args: ['node-c']},
    {label: 'node-a, the relay and node-b\'s exit', args: ['node-a']},
  ],
  'client:add': [
    {label: 'no NAME', args: []},
    ...['Bad_Name', 'x;reboot', '', 'network', 'node-b'].map((name) => ({label: `NAME ${JSON.stringify(name)}`, args: [name]})),
    ...[
      ['via', 'node-z'],
      ['via', 'node-c'],
      ['via', 'x;reboot'],
      ['address', '10.9.9.9'],
      ['address', '10.0.0.2'],
      ['address', 'nope'],
      ['dns', 'nope'],
      ['dns', '1.1.1.1;reboot'],
    ].map(([flag, value]) => ({label: `--${flag} ${JSON.stringify(value)}`, extra: [`--${flag}=${value}`]})),
    {label: '--output over an existing file', extra: ['--output', '{inventory}']},
  ],
  'client:remove': [
    {label: 'no NAME', args: []},
    ...['laptop', 'node-b', 'Bad_Name', 'x;reboot', ''].map((name) => ({label: `NAME ${JSON.stringify(name)}`, args: [name]})),
  ],
  'rotate-key': [
    {label: 'no NODE and no --all', args: []},
    {label: 'NODE and --all', extra: ['--all']},
    ...['node-z', 'Bad_Name', 'x;reboot', '', 'network'].map((name) => ({label: `NODE ${JSON.stringify(name)}`, args: [name]})),
  ],
  'rotate-psk': [
    ...['node-z', 'Bad_Name', 'x;reboot', '', 'network'].map((name) => ({label: `NODE ${JSON.stringify(name)}`, args: [name]})),
    {label: 'a NODE twice', args: ['node-b', 'node-b']},
  ],
  graph: [
    {label: '--json --format dot', extra: ['--json', '--format', 'dot'], noJson: true, checkAsJson: true},
    {label: '--format mermaid --json', extra: ['--format', 'mermaid', '--json'], noJson: true, checkAsJson: true},
  ],
  status: [
    {label: '--stale-after -5', extra: ['--stale-after', '-5']},
    {label: '--output /nonexistent/dir/file', extra: ['--output', '/nonexistent/dir/file']},
    {label: '--output <a folder>', extra: ['--output', '{dir}']},
    {label: '--output into a file as a folder', extra: ['--output', '{inventory}/status.prom']},
    {label: '--json --format prometheus', extra: ['--json', '--format', 'prometheus'], noJson: true, checkAsJson: true},
    {label: '--format table --json', extra: ['--format', 'table', '--json'], noJson: true, checkAsJson: true},
  ],
}

function casesOf(command: ManifestCommand): FlagCase[] {
  const damage = [...genericDamage(command), ...flagDamage(command), ...(SPECIFIC_DAMAGE[command.id] ?? [])]
  const cases: FlagCase[] = []
  damage.forEach((d, i) => {
    const id = `${command.id}: ${d.label}`
    cases.push({...d, id, command, json: false})
    // Every sixth case again with --json: the error must then be the one JSON document on stdout.
    if (!d.noJson && i % 6 === 1) cases.push({...d, id: `${id} [--json]`, command, json: true})
  })
  return cases
}

function argvOf(c: FlagCase, folder: CaseFolder): string[] {
  const valid = validInvocation(c.command)
  const fill = (s: string) => s.replaceAll('{inventory}', folder.inventory).replaceAll('{dir}', folder.dir)
  const flags = Object.entries(valid.flags).filter(([name]) => !(c.drop ?? []).includes(name)).flatMap(([name, value]) => [`--${name}`, value])
  valid.prepare?.(folder)
  return [
    ...c.command.id.split(':'),
    ...(c.json ? ['--json'] : []),
    ...(c.args ?? valid.args),
    ...(c.noInventory ? [] : ['-i', folder.inventory]),
    ...flags,
    ...(c.extra ?? []).map(fill),
  ]
}

function inventoryOf(command: ManifestCommand, port: number): string {
  const base = baseInventoryText(port)
  return validInvocation(command).inventory?.(base) ?? base
}

/** A known defect covers its case and the case's --json run. */
const known = (id: string) => KNOWN_FLAG_DEFECTS.some((d) => d.id === id || `${d.id} [--json]` === id)

// ---- the runs ---------------------------------------------------------------------------------------------------

describe('the commands under test', () => {
  it('are every command in the manifest, and include the ones of docs/design.md §1', () => {
    expect(commands.map((c) => c.id)).toEqual(expect.arrayContaining(['add-node', 'init', 'plan', 'remove-node', 'status']))
  })
})

describe.each(commands.map((c) => [c.id, c] as const))('wgfleet %s with damaged flags and arguments', (_id, command) => {
  const cases = casesOf(command)

  it(`control: the undamaged invocation ${NON_CONNECTING.has(command.id) ? 'succeeds' : 'dials the listener'}`, async () => {
    const run = await runCounted(`control-${command.id}`, (port) => ({
      bytes: inventoryOf(command, port),
      args: (folder) => argvOf({id: 'control', label: 'control', command, json: false}, folder),
    }))
    if (NON_CONNECTING.has(command.id)) {
      expect(run.code, run.stderr).toBe(0)
      expect(run.connections).toBe(0)
    } else {
      expect(run.connections, `wgfleet ${run.args.join(' ')} should connect; if it no longer does, fix VALID_INVOCATION. stderr: ${run.stderr}`).toBeGreaterThan(0)
    }
  }, 60_000)

  it(`${cases.length} cases: exit 2, a message, no stack trace, no connection, inventory untouched`, async () => {
    const failures: string[] = []
    const fixed: string[] = []
    await pool(cases, CLI_JOBS, async (c) => {
      const run = await runCounted(c.id, (port) => ({bytes: inventoryOf(command, port), args: (folder) => argvOf(c, folder), env: c.env}))
      const problems = refusalProblems(run, {json: c.json || Boolean(c.checkAsJson)})
      if (known(c.id)) {
        if (problems.length === 0) fixed.push(c.id)
      } else if (problems.length > 0) {
        failures.push(describeFailure(c.id, run, problems))
      }
    })
    expect(failures.length, `${failures.length} failing case(s):\n${failures.join('\n')}\n`).toBe(0)
    expect(fixed, 'known defects that no longer reproduce: delete them from KNOWN_FLAG_DEFECTS').toEqual([])
  }, 180_000)
})

describe('known defects', () => {
  it('name cases that exist', () => {
    const ids = new Set(commands.flatMap(casesOf).map((c) => c.id))
    expect(KNOWN_FLAG_DEFECTS.map((d) => d.id).filter((id) => !ids.has(id))).toEqual([])
  })
})

afterAll(() => removeCaseFolders())
