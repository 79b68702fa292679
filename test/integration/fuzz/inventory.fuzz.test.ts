/**
 * Bad input, part 1: damaged inventories (issue "Bad input").
 *
 * Over a thousand damaged inventories (test/fuzz/inventory-damage.ts: deleted and duplicated lines and
 * sections, swapped values, random bytes, 100 kB values, unicode, every key with every wrong type, shell
 * syntax, CRLF/BOM mixes, truncation, garbled headers, renamed keys, …) go through the inventory loader
 * in-process. Each must either give a Fleet — which must then be safe to act on and plan — or throw
 * InventoryErrors (exit code 2) whose every problem names file:line (the file alone for the whole file)
 * and carries a hint. Anything else — a TypeError, a RangeError, a plain Error — is a failure, printed
 * with the case id: `damageCase(id)` rebuilds the exact bytes.
 *
 * Then a subset, chosen the same way every run across every kind of damage, goes through the real built
 * CLI (npm run build first): `plan` (never connects: exit 0 or 2, the same verdict as in-process) and, for
 * the cases the loader refuses, `init` and one more connecting command — exit 2, a message, no stack trace
 * and no connection attempt on the listener the inventory's hosts point at.
 *
 * Reproduce or explore:
 *   WGFLEET_FUZZ_CASE=swap-values#17,unicode#3   only these cases
 *   WGFLEET_FUZZ_SEED=7                          another corpus (ids become 7:kind#n)
 *   WGFLEET_FUZZ_PER_KIND=500                    more cases per kind (wrong-type is always complete)
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {findUnsafeCharacter, isLabel, loadInventory, parseInventory} from '../../../src/inventory/index.js'
import type {Fleet} from '../../../src/inventory/model.js'
import {InventoryError, InventoryErrors} from '../../../src/lib/errors.js'
import {planFleet} from '../../../src/plan/index.js'
import {
  BASE_NODES,
  baseInventoryText,
  damageCase,
  type DamageCase,
  DEFAULT_FUZZ_SEED,
  generateDamageCases,
  MUTATION_KINDS,
  withPort,
} from '../../fuzz/inventory-damage.js'
import {repoRoot} from '../cli/helpers.js'
import {CLI_JOBS, describeFailure, INTERNAL_ERROR, pool, refusalProblems, removeCaseFolders, runCounted, STACK_TRACE} from './cli-harness.js'

// ---- Known defects ------------------------------------------------------------------------------------------
// Cases that fail today because of a bug in src/ (reported to the lead). They are still run: the test
// "known defects still reproduce" fails once one is fixed — then move its case back (delete it here).

type Invariant =
  | 'outcome'
  | 'names-file-and-line'
  | 'line-in-range'
  | 'has-hint'
  | 'no-placeholder-text'
  | 'no-raw-control-characters'
  | 'valid-fleet-is-safe'
  | 'valid-fleet-plans'
  | 'cli-plan'
  | 'cli-refused'

// Defects the fuzzing found are fixed, not listed: every case must pass.
export const KNOWN_INVENTORY_DEFECTS: ReadonlyArray<{invariant: Invariant; what: string; cases: readonly string[]}> = []

// ---- the corpus -----------------------------------------------------------------------------------------------

const SEED = Number(process.env.WGFLEET_FUZZ_SEED ?? DEFAULT_FUZZ_SEED)
const PER_KIND = Number(process.env.WGFLEET_FUZZ_PER_KIND ?? 80)
const ONLY = (process.env.WGFLEET_FUZZ_CASE ?? '').split(',').map((s) => s.trim()).filter(Boolean)

const cases: DamageCase[] = ONLY.length > 0 ? ONLY.map(damageCase) : generateDamageCases({perKind: PER_KIND, seed: SEED})

const knownDefect = (id: string, invariant: Invariant): boolean => KNOWN_INVENTORY_DEFECTS.some((d) => d.invariant === invariant && d.cases.includes(id))

// ---- the in-process check -------------------------------------------------------------------------------------

interface Violation {
  invariant: Invariant
  detail: string
}

type Verdict = {valid: true; fleet: Fleet} | {valid: false; errors: InventoryError[]}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
const PLACEHOLDER = /\bundefined\b|\bNaN\b|\[object \w+\]|\[native code\]/g
const CONFIG_LINE = /^(#.*|\[(Interface|Peer)\]|[A-Za-z]+ = [\x20-\x7e]*|)$/

function lineCountOf(text: string): number {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/).length
}

function decodes(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    return undefined
  }
}

/** The problems with how an inventory was refused. */
function checkRefusal(error: unknown, file: string, text: string | undefined): Violation[] {
  if (!(error instanceof InventoryErrors)) {
    const name = (error as Error | undefined)?.constructor?.name ?? typeof error
    return [{invariant: 'outcome', detail: `threw ${name}, not InventoryErrors: ${String((error as Error)?.stack ?? error).slice(0, 600)}`}]
  }
  const violations: Violation[] = []
  if (error.exitCode !== 2) violations.push({invariant: 'outcome', detail: `InventoryErrors with exit code ${error.exitCode}`})
  if (error.errors.length === 0) violations.push({invariant: 'outcome', detail: 'InventoryErrors with no problem in it'})
  const lines = text === undefined ? 0 : lineCountOf(text)
  for (const problem of error.errors) {
    if (!(problem instanceof InventoryError) || problem.exitCode !== 2) {
      violations.push({invariant: 'outcome', detail: `a problem that is not an InventoryError with exit code 2: ${String(problem)}`})
      continue
    }
    const {line} = problem.location
    const prefix = line > 0 ? `${file}:${line}: ` : `${file}: `
    if (!problem.message.startsWith(prefix) || problem.message.length <= prefix.length) {
      violations.push({invariant: 'names-file-and-line', detail: `expected "${prefix}…": ${JSON.stringify(problem.message.slice(0, 160))}`})
    }
    if (!Number.isInteger(line) || line < 0 || line > lines) {
      violations.push({invariant: 'line-in-range', detail: `line ${line} of a ${lines}-line file: ${JSON.stringify(problem.message.slice(0, 160))}`})
    }
    if (!problem.hint || problem.hint.trim() === '') violations.push({invariant: 'has-hint', detail: JSON.stringify(problem.message.slice(0, 160))})
    const said = `${problem.message}\n${problem.hint ?? ''}`
    const placeholders = [...said.matchAll(PLACEHOLDER)].map((m) => m[0]).filter((p) => !(text ?? '').includes(p))
    if (placeholders.length > 0) {
      violations.push({invariant: 'no-placeholder-text', detail: `${placeholders.join(', ')} in ${JSON.stringify(said.slice(0, 200))}`})
    }
    if (CONTROL.test(said)) {
      violations.push({invariant: 'no-raw-control-characters', detail: `a raw control character reaches the terminal: ${JSON.stringify(said.slice(0, 160))}`})
    }
  }
  return violations
}

const unsafe = (value: string | undefined): boolean => value !== undefined && (findUnsafeCharacter(value) !== undefined || value.startsWith('-') || /[^\x21-\x7e]/.test(value))

/** The problems with an accepted inventory: what the rest of wgfleet takes on trust (model.ts) must hold. */
function checkFleet(fleet: Fleet): Violation[] {
  const violations: Violation[] = []
  const bad = (detail: string) => violations.push({invariant: 'valid-fleet-is-safe', detail})
  if (!/^[a-zA-Z0-9_=+.-]{1,15}$/.test(fleet.network.interface) || fleet.network.interface.startsWith('-')) bad(`interface ${JSON.stringify(fleet.network.interface)}`)
  for (const value of [fleet.ssh.user, fleet.ssh.identity, fleet.ssh.knownHosts]) if (unsafe(value)) bad(`[ssh] value ${JSON.stringify(value)}`)
  const addresses = new Set<string>()
  for (const node of fleet.nodes) {
    if (!isLabel(node.name)) bad(`node name ${JSON.stringify(node.name)}`)
    if (addresses.has(node.address)) bad(`address ${node.address} used twice`)
    addresses.add(node.address)
    const values = [node.host, node.endpointHost, node.ssh.user, node.ssh.identity, node.jump?.kind === 'address' ? node.jump.host : undefined, node.jump?.kind === 'address' ? node.jump.user : undefined]
    for (const value of values) if (unsafe(value)) bad(`[${node.name}] value ${JSON.stringify(value)}`)
    for (const port of [node.port, node.ssh.port, node.endpointPort]) if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) bad(`[${node.name}] port ${port}`)
  }
  try {
    // As `wgfleet plan` calls it on a fresh folder: no public keys known yet.
    const plan = planFleet(fleet, {publicKeys: {}, facts: {}})
    for (const node of plan.nodes) {
      const wrong = node.config.split('\n').find((line) => !CONFIG_LINE.test(line))
      if (wrong !== undefined) violations.push({invariant: 'valid-fleet-plans', detail: `[${node.name}] renders the config line ${JSON.stringify(wrong)}`})
    }
  } catch (error) {
    violations.push({invariant: 'valid-fleet-plans', detail: `planning threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`})
  }
  return violations
}

let folder: string
const fileOf = (c: DamageCase) => join(folder, `${c.id.replace(/[:#]/g, '-')}.ini`)

/** Loads the case's file as the CLI does (read, strict UTF-8, parse): the verdict and what is wrong with it. */
async function check(c: DamageCase): Promise<{verdict?: Verdict; violations: Violation[]}> {
  const file = fileOf(c)
  const text = decodes(c.bytes)
  let verdict: Verdict | undefined
  let violations: Violation[]
  try {
    const fleet = await loadInventory(file)
    verdict = {valid: true, fleet}
    violations = checkFleet(fleet)
  } catch (error) {
    violations = checkRefusal(error, file, text)
    if (error instanceof InventoryErrors) verdict = {valid: false, errors: error.errors}
  }
  if (text === undefined) {
    // Not UTF-8: the loader refuses the file as a whole. The parser must also survive what a lenient
    // decoder would have made of it (U+FFFD in place of each bad sequence).
    const lossy = new TextDecoder('utf-8').decode(c.bytes)
    try {
      violations.push(...checkFleet(parseInventory(lossy, file)))
    } catch (error) {
      violations.push(...checkRefusal(error, file, lossy))
    }
  }
  return {verdict, violations}
}

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'wgfleet-inventory-fuzz-'))
  for (const c of cases) writeFileSync(fileOf(c), c.bytes)
})

describe('the damaged-inventory corpus', () => {
  it('starts from a valid base: the lab seed scenario, every host on 127.0.0.1', () => {
    const fleet = parseInventory(baseInventoryText(), join(tmpdir(), 'base.ini'))
    expect(fleet.nodes.map((n) => n.name)).toEqual([...BASE_NODES])
    expect(new Set(fleet.nodes.map((n) => n.host))).toEqual(new Set(['127.0.0.1']))
    expect(checkFleet(fleet)).toEqual([])
  })

  it.skipIf(ONLY.length > 0)('has at least 1,000 cases, every kind of damage, and is deterministic', () => {
    expect(cases.length).toBeGreaterThanOrEqual(1000)
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(MUTATION_KINDS))
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length)
    for (const c of cases.filter((_, i) => i % 97 === 0)) expect(damageCase(c.id).bytes.equals(c.bytes), c.id).toBe(true)
  })
})

describe('the oracle (so that a pass means something)', () => {
  const file = '/srv/inventory.ini'
  it('fails what the contract forbids', () => {
    const invariants = (error: unknown) => checkRefusal(error, file, 'x = y\n').map((v) => v.invariant)
    expect(invariants(new TypeError("Cannot read properties of undefined (reading 'line')"))).toEqual(['outcome'])
    expect(invariants(new RangeError('Maximum call stack size exceeded'))).toEqual(['outcome'])
    expect(invariants(new Error('plain'))).toEqual(['outcome'])
    const at = (line: number, message: string, hint?: string) => new InventoryErrors([new InventoryError({file, line}, message, hint)])
    expect(invariants(at(1, 'fine', 'hint'))).toEqual([])
    expect(invariants(new InventoryErrors([new InventoryError({file: '/elsewhere.ini', line: 1}, 'x', 'hint')]))).toEqual(['names-file-and-line'])
    expect(invariants(at(9, 'past the end', 'hint'))).toEqual(['line-in-range'])
    expect(invariants(at(1, 'no hint'))).toEqual(['has-hint'])
    expect(invariants(at(1, 'did you mean `[object Object]`?', 'hint'))).toEqual(['no-placeholder-text'])
    // InventoryError itself escapes control characters now; the oracle must still catch an error that does not.
    const raw = Object.assign(Object.create(InventoryError.prototype) as InventoryError, {
      message: `${file}:1: unknown key \`po\u001b[2Jrt\``, hint: 'hint', exitCode: 2, location: {file, line: 1},
    })
    expect(invariants(new InventoryErrors([raw]))).toEqual(['no-raw-control-characters'])
  })

  it('fails a run that crashed, connected or printed a stack trace', () => {
    const run = {code: 2, stdout: '', stderr: 'Error: x\n', connections: 0, inventoryUnchanged: true, written: Buffer.alloc(0)}
    expect(refusalProblems(run, {json: false})).toEqual([])
    expect(refusalProblems({...run, code: 1}, {json: false})).toHaveLength(1)
    expect(refusalProblems({...run, connections: 1}, {json: false})).toHaveLength(1)
    expect(refusalProblems({...run, stderr: 'TypeError: x\n    at f (/a/b.js:1:2)\n'}, {json: false}).join()).toMatch(/stack trace/)
    expect(refusalProblems({...run, stderr: 'wgfleet: internal error — this is a bug'}, {json: false}).join()).toMatch(/internal error/)
    expect(refusalProblems({...run, stdout: 'not json', stderr: ''}, {json: true}).join()).toMatch(/not one JSON document/)
  })
})

/** Per kind: how many cases the loader still accepted (printed at the end). */
const tally = new Map<string, {cases: number; valid: number}>()

describe.each(MUTATION_KINDS.filter((kind) => cases.some((c) => c.kind === kind)))('damage: %s', (kind) => {
  const ofKind = cases.filter((c) => c.kind === kind)
  it(`${ofKind.length} cases: a Fleet, or InventoryErrors (exit 2) naming file:line with a hint; never anything else`, async () => {
    const failures: string[] = []
    let valid = 0
    for (const c of ofKind) {
      const {verdict, violations} = await check(c)
      if (verdict?.valid) valid++
      for (const v of violations) {
        if (knownDefect(c.id, v.invariant)) continue
        failures.push(`${c.id} [${v.invariant}] ${v.detail}\n    damage: ${c.note}`)
      }
    }
    expect(failures.length, `${failures.length} problem(s); rebuild a case with damageCase(id) from test/fuzz/inventory-damage.ts\n${failures.join('\n')}\n`).toBe(0)
    tally.set(kind, {cases: ofKind.length, valid})
  }, 120_000)
})

// ---- through the real CLI --------------------------------------------------------------------------------------

/** Per kind: this many cases for `plan`, and this many refused ones for the connecting commands. */
const PLAN_PER_KIND = 3
const REFUSED_PER_KIND = 2
/** init first; then the others that connect, in turn (doctor once it is built). */
const CONNECTING: ReadonlyArray<readonly string[]> = [
  ['init', '--connect-timeout', '1'],
  ['init', '--dry-run', '--connect-timeout', '1'],
  ['status', '--connect-timeout', '1'],
  ['add-node', 'node-e', '--host', '127.0.0.1', '--connect-timeout', '1'],
  ['remove-node', 'node-b', '--connect-timeout', '1'],
  ...(builtCommands().includes('doctor') ? [['doctor', '--connect-timeout', '1']] : []),
]

function builtCommands(): string[] {
  try {
    return Object.keys((JSON.parse(readFileSync(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: object}).commands)
  } catch {
    return []
  }
}

/** `count` cases the loader refuses, taken across the kind's cases (a fixed stride, not the first ones). */
function pickRefused(ofKind: readonly DamageCase[], count: number): DamageCase[] {
  const picked: DamageCase[] = []
  const seen = new Set<number>()
  for (let k = 0; k < ofKind.length && picked.length < count; k++) {
    const index = (k * 13 + 5) % ofKind.length
    if (seen.has(index)) continue
    seen.add(index)
    const c = ofKind[index]!
    if (!acceptsBytes(withPort(c.bytes, 40000))) picked.push(c)
  }
  return picked
}

function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items]
  return Array.from({length: count}, (_, i) => items[Math.floor((i * items.length) / count)]!)
}

/** Whether the loader accepts the exact bytes a CLI case writes (the port differs from the corpus's). */
function acceptsBytes(bytes: Buffer): boolean {
  const text = decodes(bytes)
  if (text === undefined) return false
  try {
    parseInventory(text, join(tmpdir(), 'inventory.ini'))
    return true
  } catch {
    return false
  }
}

describe('through the built CLI', () => {
  // A few cases of every kind, plus the known CLI defects (so that their fix is noticed).
  const knownCli = KNOWN_INVENTORY_DEFECTS.filter((d) => d.invariant === 'cli-plan').flatMap((d) => d.cases)
  const spreadCases = MUTATION_KINDS.flatMap((kind) => spread(cases.filter((c) => c.kind === kind), PLAN_PER_KIND))
  const cliCases =
    ONLY.length > 0 ? cases : [...spreadCases, ...knownCli.filter((id) => !spreadCases.some((c) => c.id === id) && SEED === DEFAULT_FUZZ_SEED).map(damageCase)]

  it(`plan on ${cliCases.length} damaged inventories: exit 0 or 2 as the loader says, a message, no stack trace, no connection`, async () => {
    const failures: string[] = []
    const fixed: string[] = []
    await pool(cliCases, CLI_JOBS, async (c, index) => {
      const json = index % 2 === 1
      const run = await runCounted(c.id, (port) => ({bytes: withPort(c.bytes, port), args: (f) => ['plan', '-i', f.inventory, ...(json ? ['--json'] : [])]}))
      const accepted = acceptsBytes(run.written)
      const problems: string[] = []
      if (accepted) {
        if (run.code !== 0) problems.push(`exit code ${run.code} for an inventory the loader accepts, expected 0`)
        if (run.stdout.trim() === '') problems.push('no plan on stdout')
        if (json) {
          try {
            JSON.parse(run.stdout)
          } catch {
            problems.push('--json: stdout is not one JSON document')
          }
        }
        if (run.connections > 0) problems.push(`${run.connections} connection attempt(s)`)
        if (STACK_TRACE.test(run.stderr) || STACK_TRACE.test(run.stdout)) problems.push('a stack trace')
        if (INTERNAL_ERROR.test(run.stderr) || INTERNAL_ERROR.test(run.stdout)) problems.push('"internal error"')
      } else {
        problems.push(...refusalProblems(run, {json}))
        const where = `${run.folder.inventory}:`
        const said = json ? run.stdout : run.stderr
        if (!said.includes(where) && !said.includes(JSON.stringify(run.folder.inventory).slice(1, -1))) problems.push(`the message does not name ${run.folder.inventory}`)
      }
      if (knownDefect(c.id, 'cli-plan')) {
        if (problems.length === 0) fixed.push(`${c.id} [cli-plan]`)
      } else if (problems.length > 0) failures.push(describeFailure(c.id, run, problems, c.note))
    })
    expect(failures.length, `${failures.length} failing case(s):\n${failures.join('\n')}\n`).toBe(0)
    expect(fixed, `fixed — move these back out of KNOWN_INVENTORY_DEFECTS:\n${fixed.join('\n')}`).toEqual([])
  }, 180_000)

  it(`init (and in turn ${CONNECTING.slice(1).map((a) => a.filter((x) => x !== '--connect-timeout' && x !== '1').join(' ')).join(' | ')}) on ${REFUSED_PER_KIND} refused inventories of each kind: exit 2, a message, no connection attempt`, async () => {
    const refused = ONLY.length > 0 ? cases.filter((c) => !acceptsBytes(withPort(c.bytes, 40000))) : MUTATION_KINDS.flatMap((kind) => pickRefused(cases.filter((c) => c.kind === kind), REFUSED_PER_KIND))
    // Every case through init; every other case also through one more connecting command, in turn.
    const runs = refused.flatMap((c, i) => [
      {c, args: CONNECTING[0]!},
      ...(i % 2 === 0 ? [{c, args: CONNECTING[1 + ((i / 2) % (CONNECTING.length - 1))]!}] : []),
    ])
    const failures: string[] = []
    const fixed: string[] = []
    await pool(runs, CLI_JOBS, async ({c, args}, index) => {
      const json = index % 3 === 2
      const run = await runCounted(c.id, (port) => ({bytes: withPort(c.bytes, port), args: (f) => [...args, '-i', f.inventory, ...(json ? ['--json'] : [])]}))
      if (acceptsBytes(run.written)) return // the real port made it valid (not seen so far)
      const problems = refusalProblems(run, {json})
      if (!(json ? run.stdout : run.stderr).includes(run.folder.inventory)) problems.push(`the message does not name ${run.folder.inventory}`)
      if (knownDefect(c.id, 'cli-refused')) {
        if (problems.length === 0) fixed.push(`${c.id} [cli-refused]`)
      } else if (problems.length > 0) failures.push(describeFailure(`${c.id} (${args[0]})`, run, problems, c.note))
    })
    expect(failures.length, `${failures.length} failing case(s):\n${failures.join('\n')}\n`).toBe(0)
    expect(fixed, `fixed — move these back out of KNOWN_INVENTORY_DEFECTS:\n${fixed.join('\n')}`).toEqual([])
  }, 180_000)

  it('control: the undamaged base makes init dial the listener (so "no connection" above means something)', async () => {
    const run = await runCounted('control', (port) => ({bytes: baseInventoryText(port), args: (f) => ['init', '-i', f.inventory, '--connect-timeout', '1']}))
    expect(run.connections, `stderr: ${run.stderr}`).toBeGreaterThan(0)
    expect(run.code).toBe(1)
  }, 60_000)
})

afterAll(() => {
  rmSync(folder, {recursive: true, force: true})
  removeCaseFolders()
  if (tally.size === 0) return
  const total = [...tally.values()].reduce((sum, t) => sum + t.cases, 0)
  const valid = [...tally.values()].reduce((sum, t) => sum + t.valid, 0)
  const perKind = [...tally.entries()].map(([kind, t]) => `${kind} ${t.valid}/${t.cases}`).join(', ')
  console.log(`inventory fuzz: ${total} cases, ${valid} still valid, ${total - valid} refused (valid/cases: ${perKind})`)
})
