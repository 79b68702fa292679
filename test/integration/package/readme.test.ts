/**
 * README.md's command reference is what oclif's own `oclif readme` makes of the built commands (npm test
 * builds first): regenerated into a copy of the README by the same script as `npm run readme`, the section
 * between the markers comes out unchanged. When this fails, run `npm run readme` and commit README.md.
 */
import {copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {describe, expect, it} from 'vitest'

import {repoRoot, run, userEnv} from './helpers.js'

const START = '<!-- commands -->'
const STOP = '<!-- commandsstop -->'
const OUT_OF_DATE = "README.md's command reference is out of date: run `npm run readme` and commit README.md"

/** The generated section, markers included; the README must hold each marker exactly once. */
function commandsSection(text: string): string {
  for (const marker of [START, STOP]) expect(text.split(marker).length - 1, `${marker} once in the README`).toBe(1)
  return text.slice(text.indexOf(START), text.indexOf(STOP) + STOP.length)
}

const readme = () => readFileSync(join(repoRoot, 'README.md'), 'utf8')

interface Manifest {
  commands: Record<string, {hidden?: boolean; summary?: string; flags: Record<string, {hidden?: boolean}>}>
}
const readManifest = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest

describe("README's command reference", () => {
  it('is what oclif readme makes of the built commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgfleet-readme-'))
    try {
      const copy = join(dir, 'README.md')
      copyFileSync(join(repoRoot, 'README.md'), copy)
      const result = await run(process.execPath, [join(repoRoot, 'scripts', 'readme.js'), copy], {cwd: repoRoot, env: userEnv(), timeoutMs: 60_000})
      expect(result.code, result.stdout + result.stderr).toBe(0)
      expect(commandsSection(readme()), OUT_OF_DATE).toBe(commandsSection(readFileSync(copy, 'utf8')))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('documents every built command and every one of its flags', () => {
    const commandsDir = join(repoRoot, 'dist', 'commands')
    const built = readdirSync(commandsDir, {recursive: true, withFileTypes: true})
      .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
      .map((entry) => relative(commandsDir, join(entry.parentPath, entry.name)).replace(/\.js$/, '').replaceAll('/', ':'))
    const manifest = readManifest(join(repoRoot, 'oclif.manifest.json'))
    expect(Object.keys(manifest.commands).sort(), 'the manifest is from this build').toEqual(built.sort())
    expect(built.length).toBeGreaterThan(0)
    // The plugins package.json registers (oclif.plugins) bring their own commands, which the reference lists too.
    const plugins: string[] = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).oclif.plugins ?? []
    const pluginCommands = Object.fromEntries(
      plugins.flatMap((name) => Object.entries(readManifest(join(repoRoot, 'node_modules', name, 'oclif.manifest.json')).commands)).filter(([, command]) => !command.hidden),
    )
    expect(plugins.length === 0 || Object.keys(pluginCommands).length > 0, 'each registered plugin has a visible command').toBe(true)
    const documented = {...manifest.commands, ...pluginCommands}

    // One `## \`wgfleet ID ...\`` part per command, each naming the command's summary and flags.
    const parts = commandsSection(readme()).split(/^(?=## `wgfleet )/m).slice(1)
    // An id is its words (a topic's commands: `client add`), up to the first argument (NAME, [NODE]).
    expect(parts.map((part) => /^## `wgfleet ([a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)*)/.exec(part)![1]).sort()).toEqual(Object.keys(documented).map((id) => id.replaceAll(':', ' ')).sort())
    for (const [id, command] of Object.entries(documented)) {
      const part = parts.find((p) => p.startsWith(`## \`wgfleet ${id.replaceAll(':', ' ')}`))!
      if (command.summary) expect(part, OUT_OF_DATE).toContain(command.summary)
      for (const [flag, spec] of Object.entries(command.flags)) {
        if (!spec.hidden) expect(part, `${id} --${flag}: ${OUT_OF_DATE}`).toContain(`--${flag}`)
      }
    }
  })
})
