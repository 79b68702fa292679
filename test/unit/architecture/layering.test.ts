/**
 * The layering of src/ (.dependency-cruiser.cjs, drawn in docs/architecture.md) is enforced here: an
 * import that runs against it fails the fast suite, and the message names the rule it broke.
 */
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')

function cruise(cwd: string) {
  const r = spawnSync(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'err'], {cwd, encoding: 'utf8', timeout: 60_000})
  return {code: r.status, out: `${r.stdout}${r.stderr}`}
}

describe('layering', () => {
  it('src/ follows every rule', () => {
    const {code, out} = cruise(ROOT)
    expect(out, out).toMatch(/no dependency violations found/)
    expect(code).toBe(0)
  }, 60_000)

  it('refuses a planner that imports ssh2, and src/lib reaching up, naming each rule', () => {
    const {code, out} = cruise(join(ROOT, 'test', 'fixtures', 'layering'))
    expect(code).not.toBe(0)
    expect(out).toMatch(/error only-ssh-imports-ssh2: src\/plan\/imports-ssh2\.ts/)
    expect(out).toMatch(/error pure-core-does-no-io: src\/plan\/imports-ssh2\.ts/)
    expect(out).toMatch(/error lib-is-the-base: src\/lib\/imports-plan\.ts → src\/plan\/imports-ssh2\.ts/)
  }, 60_000)
})
